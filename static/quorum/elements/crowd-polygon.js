// <crowd-polygon>: outline objects with labelled polygons on the image at `src`.
//
// Attributes: name, src, header, labels, initial-value (a JSON array of
// {label, vertices: [{x, y}]}). Its value:
//   {"polygons": [{"label", "vertices": [{"x", "y"}, ...]}], "inputImageProperties": {...}}
//
// Mouse: click to add points; click the first point (or press Enter, or F) to close the
// polygon. Click inside a polygon to select it, drag one of its points to move that point.
// Keys: 1–9 label (also relabels the selected polygon), Backspace removes the last point
// while drawing, Escape cancels the polygon being drawn (or deselects), Delete removes the
// selected polygon, Tab / Shift+Tab select the next / previous one, plus zoom / pan / undo.

import { AnnotationCanvas, colorOf, parseJsonAttribute } from "./annotation-canvas.js";

const CLOSE_PX = 8;
const POINT_PX = 4;
const MANY_POLYGONS = 200;

function contains(vertices, x, y) {
  let inside = false;
  for (let i = 0, j = vertices.length - 1; i < vertices.length; j = i, i += 1) {
    const a = vertices[i];
    const b = vertices[j];
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

function area(vertices) {
  let sum = 0;
  for (let i = 0, j = vertices.length - 1; i < vertices.length; j = i, i += 1) {
    sum += vertices[j].x * vertices[i].y - vertices[i].x * vertices[j].y;
  }
  return Math.abs(sum) / 2;
}

export class CrowdPolygon extends AnnotationCanvas {
  polygons = [];
  selected = -1;
  drawing = null; // the points of the polygon being drawn
  #hover = null;
  #dragPoint = null;

  state() {
    return this.polygons;
  }

  setState(state) {
    this.polygons = Array.isArray(state) ? structuredClone(state) : [];
    this.selected = -1;
    this.drawing = null;
  }

  restoreInitial() {
    const initial = parseJsonAttribute(this.getAttribute("initial-value"), []);
    const labels = this.labels;
    this.polygons = (Array.isArray(initial) ? initial : [])
      .filter((p) => p && Array.isArray(p.vertices) && p.vertices.length >= 3)
      .map((p) => ({
        label: labels.includes(p.label) ? p.label : labels[0],
        vertices: p.vertices.map((v) => ({ x: Number(v.x), y: Number(v.y) })),
      }));
  }

  get value() {
    return {
      polygons: this.polygons.map((p) => ({
        label: p.label,
        vertices: p.vertices.map((v) => ({
          x: Math.round(v.x * 100) / 100,
          y: Math.round(v.y * 100) / 100,
        })),
      })),
      inputImageProperties: this.imageProperties(),
    };
  }

  checkValidity() {
    return this.ready && !this.drawing;
  }

  get validationMessage() {
    return this.drawing
      ? "Close the polygon you are drawing (click its first point or press F), or press Escape."
      : "Wait for the image to load first.";
  }

  toolHint() {
    return (
      "Click to add points · click the first point or F to close · Backspace removes a point · " +
      "Esc cancels · click inside to select · drag a point to move it · Del delete · " +
      "Tab next · +/−/0 zoom · Space+drag pan · Ctrl+Z undo"
    );
  }

  statusText() {
    const drawing = this.drawing ? ` · drawing: ${this.drawing.length} point(s)` : "";
    const n = this.polygons.length;
    return `${n} polygon${n === 1 ? "" : "s"}${drawing}`;
  }

  labelChosen(index) {
    const polygon = this.polygons[this.selected];
    if (!polygon || polygon.label === this.labels[index]) return;
    this.remember();
    polygon.label = this.labels[index];
    this.changed();
  }

  select(index) {
    this.selected = index;
    const polygon = this.polygons[index];
    if (polygon) this.choose(this.labels.indexOf(polygon.label));
    this.invalidate();
  }

  drawObjects(context) {
    const paths = new Map();
    for (const polygon of this.polygons) {
      let path = paths.get(polygon.label);
      if (!path) {
        path = new Path2D();
        paths.set(polygon.label, path);
      }
      const [first, ...rest] = polygon.vertices;
      path.moveTo(first.x, first.y);
      for (const v of rest) path.lineTo(v.x, v.y);
      path.closePath();
    }
    // Many polygons: hairlines and no tint, which the rasteriser draws far faster.
    const many = this.polygons.length > MANY_POLYGONS;
    context.lineWidth = (many ? 1 : 2) / this.scale;
    for (const [label, path] of paths) {
      context.strokeStyle = this.colorOfLabel(label);
      if (!many) {
        context.fillStyle = `${this.colorOfLabel(label)}22`;
        context.fill(path, "evenodd");
      }
      context.stroke(path);
    }
    const chosen = this.polygons[this.selected];
    if (chosen) {
      context.fillStyle = `${this.colorOfLabel(chosen.label)}55`;
      context.beginPath();
      chosen.vertices.forEach((v, i) => (i ? context.lineTo(v.x, v.y) : context.moveTo(v.x, v.y)));
      context.closePath();
      context.fill();
    }
    if (this.drawing?.length) {
      context.strokeStyle = colorOf(this.currentLabel);
      context.setLineDash([6 / this.scale, 4 / this.scale]);
      context.beginPath();
      this.drawing.forEach((v, i) => (i ? context.lineTo(v.x, v.y) : context.moveTo(v.x, v.y)));
      if (this.#hover) context.lineTo(this.#hover.x, this.#hover.y);
      context.stroke();
      context.setLineDash([]);
    }
  }

  drawOverlay(context) {
    const points = [];
    const chosen = this.polygons[this.selected];
    if (chosen) points.push(...chosen.vertices.map((v) => [v, "#fff"]));
    if (this.drawing) points.push(...this.drawing.map((v, i) => [v, i === 0 ? "#ff0" : "#fff"]));
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
    return Math.hypot(a.x - b.x, a.y - b.y) * this.scale <= CLOSE_PX;
  }

  polygonAt(point) {
    let best = -1;
    let bestArea = Infinity;
    this.polygons.forEach((polygon, index) => {
      if (!contains(polygon.vertices, point.x, point.y)) return;
      const size = area(polygon.vertices);
      if (size < bestArea) {
        best = index;
        bestArea = size;
      }
    });
    return best;
  }

  pointerDown(point) {
    const at = this.clampPoint(point);
    if (this.drawing) {
      if (this.drawing.length >= 3 && this.#near(at, this.drawing[0])) this.close();
      else this.drawing.push(at);
      this.invalidate();
      return true;
    }
    const chosen = this.polygons[this.selected];
    if (chosen) {
      const vertex = chosen.vertices.findIndex((v) => this.#near(v, at));
      if (vertex >= 0) {
        this.remember();
        this.#dragPoint = { vertex, moved: false };
        return true;
      }
    }
    const hit = this.polygonAt(at);
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
      const polygon = this.polygons[this.selected];
      polygon.vertices[this.#dragPoint.vertex] = at;
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

  /** Close the polygon being drawn (it needs three points and some area). */
  close() {
    if (!this.drawing || this.drawing.length < 3 || area(this.drawing) <= 0) return false;
    this.remember();
    this.polygons.push({ label: this.labels[this.currentLabel] ?? "", vertices: this.drawing });
    this.drawing = null;
    this.#hover = null;
    this.selected = this.polygons.length - 1;
    this.changed();
    return true;
  }

  handleKey(event) {
    const key = event.key;
    if (this.drawing) {
      if (key === "Enter" || key === "f" || key === "F") {
        this.close();
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
    if (key === "Tab" && this.polygons.length) {
      const step = event.shiftKey ? -1 : 1;
      this.select((this.selected + step + this.polygons.length) % this.polygons.length);
      return true;
    }
    if (key === "Escape") {
      this.selected = -1;
      this.invalidate();
      return true;
    }
    if ((key === "Delete" || key === "Backspace") && this.polygons[this.selected]) {
      this.remember();
      this.polygons.splice(this.selected, 1);
      this.selected = -1;
      this.changed();
      return true;
    }
    return false;
  }
}

if (!customElements.get("crowd-polygon")) {
  customElements.define("crowd-polygon", CrowdPolygon);
}
