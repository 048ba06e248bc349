// <crowd-polyline> and <crowd-line>: trace open lines on the image at `src`.
//
// Attributes (both): name, src, header, labels, initial-value (a JSON array of
// {label, vertices: [{x, y}]}: lines to start from). Their values, the managed service's:
//   <crowd-polyline>: {"polylines": [{"label", "vertices": [{"x", "y"}, ...]}],
//                      "inputImageProperties": {"height", "width"}}
//   <crowd-line>:     {"lines": [{"label", "vertices": [{"x", "y"}, {"x", "y"}]}],
//                      "inputImageProperties": {"height", "width"}}
// A polyline has two or more vertices and may cross itself; a line has exactly two.
//
// Mouse: click to add points. A polyline ends with Enter or F (or a click on its last
// point); a line ends by itself at its second point. Click on a line to select it; drag one
// of the selected line's points to move it.
// Keys: 1–9 label (also relabels the selected line), Backspace removes the last point while
// drawing, Escape cancels the line being drawn (or deselects), Delete removes the selected
// line, Tab / Shift+Tab select the next / previous one, plus zoom / pan / undo.

import { AnnotationCanvas, colorOf, parseJsonAttribute } from "./annotation-canvas.js";

const NEAR_PX = 8;
const POINT_PX = 4;

/** Distance from p to the segment a–b (image units). */
function segmentDistance(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length2 = dx * dx + dy * dy;
  const t = length2 ? Math.min(1, Math.max(0, ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2)) : 0;
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

function rounded(vertices) {
  return vertices.map((v) => ({ x: Math.round(v.x * 100) / 100, y: Math.round(v.y * 100) / 100 }));
}

export class CrowdPolyline extends AnnotationCanvas {
  lines = [];
  selected = -1;
  drawing = null; // the points of the line being drawn
  #hover = null;
  #dragPoint = null;

  /** The answer's key for the list of lines. */
  get listKey() {
    return "polylines";
  }

  /** Points a finished line has at most (a polyline: any number). */
  get maxVertices() {
    return Infinity;
  }

  get noun() {
    return "polyline";
  }

  state() {
    return this.lines;
  }

  setState(state) {
    this.lines = Array.isArray(state) ? structuredClone(state) : [];
    this.selected = -1;
    this.drawing = null;
  }

  restoreInitial() {
    const initial = parseJsonAttribute(this.getAttribute("initial-value"), []);
    const labels = this.labels;
    this.lines = (Array.isArray(initial) ? initial : [])
      .filter(
        (line) =>
          line &&
          Array.isArray(line.vertices) &&
          line.vertices.length >= 2 &&
          line.vertices.length <= this.maxVertices,
      )
      .map((line) => ({
        label: labels.includes(line.label) ? line.label : labels[0],
        vertices: line.vertices.map((v) => ({ x: Number(v.x), y: Number(v.y) })),
      }));
  }

  get value() {
    return {
      [this.listKey]: this.lines.map((line) => ({
        label: line.label,
        vertices: rounded(line.vertices),
      })),
      inputImageProperties: this.imageProperties(),
    };
  }

  checkValidity() {
    return this.ready && !this.drawing;
  }

  get validationMessage() {
    if (!this.drawing) return "Wait for the image to load first.";
    return this.maxVertices === 2
      ? "Place the second point of the line you are drawing, or press Escape."
      : "Finish the polyline you are drawing (Enter or F), or press Escape.";
  }

  toolHint() {
    const finish =
      this.maxVertices === 2 ? "the second click ends a line" : "Enter or F ends a polyline";
    return (
      `Click to add points · ${finish} · Backspace removes a point · Esc cancels · ` +
      "click a line to select · drag a point to move it · Del delete · Tab next · " +
      "+/−/0 zoom · Space+drag pan · Ctrl+Z undo"
    );
  }

  statusText() {
    const drawing = this.drawing ? ` · drawing: ${this.drawing.length} point(s)` : "";
    const n = this.lines.length;
    return `${n} ${this.noun}${n === 1 ? "" : "s"}${drawing}`;
  }

  labelChosen(index) {
    const line = this.lines[this.selected];
    if (!line || line.label === this.labels[index]) return;
    this.remember();
    line.label = this.labels[index];
    this.changed();
  }

  select(index) {
    this.selected = index;
    const line = this.lines[index];
    if (line) this.choose(this.labels.indexOf(line.label));
    this.invalidate();
  }

  #trace(context, vertices) {
    vertices.forEach((v, i) => (i ? context.lineTo(v.x, v.y) : context.moveTo(v.x, v.y)));
  }

  drawObjects(context) {
    const paths = new Map();
    for (const line of this.lines) {
      let path = paths.get(line.label);
      if (!path) {
        path = new Path2D();
        paths.set(line.label, path);
      }
      this.#trace(path, line.vertices);
    }
    context.lineWidth = 2 / this.scale;
    context.lineJoin = "round";
    context.lineCap = "round";
    for (const [label, path] of paths) {
      context.strokeStyle = this.colorOfLabel(label);
      context.stroke(path);
    }
    const chosen = this.lines[this.selected];
    if (chosen) {
      context.lineWidth = 4 / this.scale;
      context.strokeStyle = this.colorOfLabel(chosen.label);
      context.beginPath();
      this.#trace(context, chosen.vertices);
      context.stroke();
    }
    if (this.drawing?.length) {
      context.lineWidth = 2 / this.scale;
      context.strokeStyle = colorOf(this.currentLabel);
      context.setLineDash([6 / this.scale, 4 / this.scale]);
      context.beginPath();
      this.#trace(context, this.drawing);
      if (this.#hover) context.lineTo(this.#hover.x, this.#hover.y);
      context.stroke();
      context.setLineDash([]);
    }
  }

  drawOverlay(context) {
    const points = [];
    const chosen = this.lines[this.selected];
    if (chosen) points.push(...chosen.vertices.map((v) => [v, "#fff"]));
    if (this.drawing) {
      const last = this.drawing.length - 1;
      points.push(...this.drawing.map((v, i) => [v, i === last ? "#ff0" : "#fff"]));
    }
    context.lineWidth = 1.5;
    context.strokeStyle = "#000";
    for (const [v, fill] of points) {
      const p = this.toScreen(v.x, v.y);
      context.fillStyle = fill;
      context.beginPath();
      context.arc(p.x, p.y, POINT_PX, 0, Math.PI * 2);
      context.fill();
      context.stroke();
    }
  }

  #near(a, b) {
    return Math.hypot(a.x - b.x, a.y - b.y) * this.scale <= NEAR_PX;
  }

  /** The line passing nearest the point (within a few screen pixels), or -1. */
  lineAt(point) {
    let best = -1;
    let bestDistance = NEAR_PX / this.scale;
    this.lines.forEach((line, index) => {
      for (let i = 1; i < line.vertices.length; i += 1) {
        const distance = segmentDistance(point, line.vertices[i - 1], line.vertices[i]);
        if (distance <= bestDistance) {
          best = index;
          bestDistance = distance;
        }
      }
    });
    return best;
  }

  pointerDown(point) {
    const at = this.clampPoint(point);
    if (this.drawing) {
      const last = this.drawing[this.drawing.length - 1];
      if (this.drawing.length >= 2 && this.#near(at, last)) this.finish();
      else if (!this.#near(at, last)) {
        this.drawing.push(at);
        if (this.drawing.length >= this.maxVertices) this.finish();
      }
      this.invalidate();
      return true;
    }
    const chosen = this.lines[this.selected];
    if (chosen) {
      const vertex = chosen.vertices.findIndex((v) => this.#near(v, at));
      if (vertex >= 0) {
        this.remember();
        this.#dragPoint = { vertex, moved: false };
        return true;
      }
    }
    const hit = this.lineAt(at);
    if (hit >= 0) {
      this.select(hit);
      return true;
    }
    this.selected = -1;
    this.drawing = [at];
    this.invalidate();
    return true;
  }

  pointerMove(point) {
    const at = this.clampPoint(point);
    if (this.#dragPoint) {
      this.lines[this.selected].vertices[this.#dragPoint.vertex] = at;
      this.#dragPoint.moved = true;
      this.invalidate();
    } else if (this.drawing) {
      this.#hover = at;
      this.invalidate();
    }
  }

  pointerUp() {
    if (!this.#dragPoint) return;
    const { moved } = this.#dragPoint;
    this.#dragPoint = null;
    if (moved) this.changed();
    else this.forget();
  }

  /** End the line being drawn (it needs two points). */
  finish() {
    if (!this.drawing || this.drawing.length < 2) return false;
    this.remember();
    this.lines.push({ label: this.labels[this.currentLabel] ?? "", vertices: this.drawing });
    this.drawing = null;
    this.#hover = null;
    this.selected = this.lines.length - 1;
    this.changed();
    return true;
  }

  handleKey(event) {
    const key = event.key;
    if (this.drawing) {
      if (key === "Enter" || key === "f" || key === "F") {
        this.finish();
        return true;
      }
      if (key === "Backspace") {
        this.drawing.pop();
        if (!this.drawing.length) this.drawing = null;
        this.invalidate();
        return true;
      }
      if (key === "Escape") {
        this.drawing = null;
        this.#hover = null;
        this.invalidate();
        return true;
      }
      return false;
    }
    if (key === "Tab" && this.lines.length) {
      const step = event.shiftKey ? -1 : 1;
      this.select((this.selected + step + this.lines.length) % this.lines.length);
      return true;
    }
    if (key === "Escape" && this.selected >= 0) {
      this.selected = -1;
      this.invalidate();
      return true;
    }
    if ((key === "Delete" || key === "Backspace") && this.lines[this.selected]) {
      this.remember();
      this.lines.splice(this.selected, 1);
      this.selected = -1;
      this.changed();
      return true;
    }
    return false;
  }
}

/** <crowd-line>: a polyline of exactly two points, submitted as `lines`. */
export class CrowdLine extends CrowdPolyline {
  get listKey() {
    return "lines";
  }

  get maxVertices() {
    return 2;
  }

  get noun() {
    return "line";
  }
}

if (!customElements.get("crowd-polyline")) {
  customElements.define("crowd-polyline", CrowdPolyline);
}
if (!customElements.get("crowd-line")) {
  customElements.define("crowd-line", CrowdLine);
}
