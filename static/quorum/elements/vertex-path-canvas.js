// The part of <crowd-polygon>, <crowd-polyline> and <crowd-line> that is the same for all
// three: labelled paths of clicked vertices, drawn one click at a time, selected, relabelled,
// their points dragged, deleted, with the same keys.
//
// A subclass says what its paths are: `listKey` (the answer's key), `noun`, `minVertices` /
// `maxVertices`, `canFinish(points)`, `addDrawingPoint(at)` (a click while drawing),
// `shapeAt(point)` (which path a click selects), `drawShapes(context)`, and which point of
// the path being drawn is highlighted (`highlightedDrawingPoint`).
//
// Keys: 1–9 label of the next path (relabel a path selected on purpose, not one just
// drawn), Enter or F finish the path being drawn, Backspace removes its last point, Escape
// cancels it (or deselects), Delete removes the selected path, Tab / Shift+Tab select the
// next / previous one.

import { AnnotationCanvas, colorOf, parseJsonAttribute } from "./annotation-canvas.js";

const NEAR_PX = 8;
const POINT_PX = 4;

function rounded(vertices) {
  return vertices.map((v) => ({ x: Math.round(v.x * 100) / 100, y: Math.round(v.y * 100) / 100 }));
}

/** Add the path through `vertices` to a context or a Path2D (open: the caller may close it). */
export function tracePath(target, vertices) {
  vertices.forEach((v, i) => (i ? target.lineTo(v.x, v.y) : target.moveTo(v.x, v.y)));
}

export class VertexPathCanvas extends AnnotationCanvas {
  shapes = [];
  selected = -1;
  drawing = null; // the points of the path being drawn
  #hover = null;
  #dragPoint = null;

  // --- What a subclass defines ---------------------------------------------------------------
  /** The answer's key for the list of paths. */
  get listKey() {
    return "shapes";
  }

  get noun() {
    return "shape";
  }

  /** Points a finished path has at least / at most. */
  get minVertices() {
    return 2;
  }

  get maxVertices() {
    return Infinity;
  }

  /** Whether the points drawn so far make a path that may be finished. */
  canFinish(points) {
    return points.length >= this.minVertices;
  }

  /** A click at `at` while a path is being drawn. */
  addDrawingPoint(at) {
    this.drawing.push(at);
  }

  /** The index of the path a click at `point` selects, or -1. */
  shapeAt(_point) {
    return -1;
  }

  /** Draw every finished path (the selection and the path being drawn come after). */
  drawShapes(_context) {}

  /** Which point of the path being drawn is shown in yellow (where a click finishes it). */
  get highlightedDrawingPoint() {
    return 0;
  }

  // --- Answer and state ----------------------------------------------------------------------
  state() {
    return this.shapes;
  }

  setState(state) {
    this.shapes = Array.isArray(state) ? structuredClone(state) : [];
    this.selected = -1;
    this.drawing = null;
  }

  restoreInitial() {
    const initial = parseJsonAttribute(this.getAttribute("initial-value"), []);
    const labels = this.labels;
    this.shapes = (Array.isArray(initial) ? initial : [])
      .filter(
        (shape) =>
          shape &&
          Array.isArray(shape.vertices) &&
          shape.vertices.length >= this.minVertices &&
          shape.vertices.length <= this.maxVertices,
      )
      .map((shape) => ({
        label: labels.includes(shape.label) ? shape.label : labels[0],
        vertices: shape.vertices.map((v) => ({ x: Number(v.x), y: Number(v.y) })),
      }));
  }

  get value() {
    return {
      [this.listKey]: this.shapes.map((shape) => ({
        label: shape.label,
        vertices: rounded(shape.vertices),
      })),
      inputImageProperties: this.imageProperties(),
    };
  }

  checkValidity() {
    return this.ready && !this.drawing;
  }

  statusText() {
    const drawing = this.drawing ? ` · drawing: ${this.drawing.length} point(s)` : "";
    const n = this.shapes.length;
    return `${n} ${this.noun}${n === 1 ? "" : "s"}${drawing}`;
  }

  get objectNoun() {
    return this.noun;
  }

  get objectArray() {
    return this.shapes;
  }

  /** How a path ends, for the key list (a subclass may say it differently). */
  get finishKeys() {
    return { keys: ["Enter", "F"], does: `finish the ${this.noun} being drawn` };
  }

  ownKeys() {
    return [
      { keys: ["click"], mouse: true, does: `add a point; click a ${this.noun} to select it` },
      this.finishKeys,
      { keys: ["Backspace"], does: "remove the last point while drawing" },
      { keys: ["Esc"], does: "cancel the drawing, or deselect" },
      { keys: ["Tab", "Shift+Tab"], does: `select the next / previous ${this.noun}`, brief: true },
      { keys: ["Delete"], does: `delete the selected ${this.noun}`, brief: true },
    ];
  }

  labelChosen(index) {
    const shape = this.shapes[this.selected];
    if (!shape || this.freshSelection || shape.label === this.labels[index]) return;
    this.remember();
    shape.label = this.labels[index];
    this.changed();
  }

  select(index) {
    this.selected = index;
    this.freshSelection = false;
    const shape = this.shapes[index];
    if (shape) this.choose(this.labels.indexOf(shape.label));
    this.invalidate();
  }

  // --- Drawing -------------------------------------------------------------------------------
  drawObjects(context) {
    this.drawShapes(context);
    if (this.drawing?.length) {
      context.strokeStyle = colorOf(this.currentLabel);
      context.setLineDash([6 / this.scale, 4 / this.scale]);
      context.beginPath();
      tracePath(context, this.drawing);
      if (this.#hover) context.lineTo(this.#hover.x, this.#hover.y);
      context.stroke();
      context.setLineDash([]);
    }
  }

  /** One Path2D per label holding every path of that label (closed when `closed`). */
  pathsByLabel(closed) {
    const paths = new Map();
    for (const shape of this.shapes) {
      if (shape.hidden) continue;
      let path = paths.get(shape.label);
      if (!path) {
        path = new Path2D();
        paths.set(shape.label, path);
      }
      tracePath(path, shape.vertices);
      if (closed) path.closePath();
    }
    return paths;
  }

  drawOverlay(context) {
    const points = [];
    const chosen = this.shapes[this.selected];
    if (chosen) points.push(...chosen.vertices.map((v) => [v, "#fff"]));
    if (this.drawing) {
      const highlighted = this.highlightedDrawingPoint;
      points.push(...this.drawing.map((v, i) => [v, i === highlighted ? "#ff0" : "#fff"]));
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

  // --- Pointer -------------------------------------------------------------------------------
  /** Whether two image points are within a few screen pixels of each other. */
  near(a, b) {
    return Math.hypot(a.x - b.x, a.y - b.y) * this.scale <= NEAR_PX;
  }

  /** How far (image units) a click may be from a path and still select it. */
  get nearDistance() {
    return NEAR_PX / this.scale;
  }

  pointerDown(point) {
    const at = this.clampPoint(point);
    if (this.drawing) {
      this.addDrawingPoint(at);
      this.invalidate();
      return true;
    }
    const chosen = this.shapes[this.selected];
    if (chosen) {
      const vertex = chosen.vertices.findIndex((v) => this.near(v, at));
      if (vertex >= 0) {
        this.remember();
        this.#dragPoint = { vertex, moved: false };
        return true;
      }
    }
    const hit = this.shapeAt(at);
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
      this.shapes[this.selected].vertices[this.#dragPoint.vertex] = at;
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

  /** Finish the path being drawn, if `canFinish` allows it; it becomes the selected one. */
  finish() {
    if (!this.drawing || !this.canFinish(this.drawing)) return false;
    this.remember();
    this.shapes.push({ label: this.labels[this.currentLabel] ?? "", vertices: this.drawing });
    this.drawing = null;
    this.#hover = null;
    this.selected = this.shapes.length - 1;
    this.freshSelection = true; // 1–9 now choose the next path's label, not this one's
    this.changed();
    return true;
  }

  // --- Keys ----------------------------------------------------------------------------------
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
    if (key === "Tab" && this.shapes.length) {
      const step = event.shiftKey ? -1 : 1;
      this.select((this.selected + step + this.shapes.length) % this.shapes.length);
      return true;
    }
    if (key === "Escape" && this.selected >= 0) {
      this.selected = -1;
      this.invalidate();
      return true;
    }
    if ((key === "Delete" || key === "Backspace") && this.shapes[this.selected]) {
      this.remember();
      this.shapes.splice(this.selected, 1);
      this.selected = -1;
      this.changed();
      return true;
    }
    return false;
  }
}
