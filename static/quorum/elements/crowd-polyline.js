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

import { tracePath, VertexPathCanvas } from "./vertex-path-canvas.js";

/** Distance from p to the segment a–b (image units). */
function segmentDistance(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length2 = dx * dx + dy * dy;
  const t = length2 ? Math.min(1, Math.max(0, ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2)) : 0;
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

export class CrowdPolyline extends VertexPathCanvas {
  get listKey() {
    return "polylines";
  }

  get noun() {
    return "polyline";
  }

  /** The last point is where a click ends the line. */
  get highlightedDrawingPoint() {
    return this.drawing ? this.drawing.length - 1 : -1;
  }

  /** A click on the last point ends the line; a line also ends at its `maxVertices`-th point. */
  addDrawingPoint(at) {
    const last = this.drawing[this.drawing.length - 1];
    if (this.drawing.length >= 2 && this.near(at, last)) this.finish();
    else if (!this.near(at, last)) {
      this.drawing.push(at);
      if (this.drawing.length >= this.maxVertices) this.finish();
    }
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

  drawShapes(context) {
    context.lineWidth = 2 / this.scale;
    context.lineJoin = "round";
    context.lineCap = "round";
    for (const [label, path] of this.pathsByLabel(false)) {
      context.strokeStyle = this.colorOfLabel(label);
      context.stroke(path);
    }
    const chosen = this.shapes[this.selected];
    if (chosen) {
      context.lineWidth = 4 / this.scale;
      context.strokeStyle = this.colorOfLabel(chosen.label);
      context.beginPath();
      tracePath(context, chosen.vertices);
      context.stroke();
      context.lineWidth = 2 / this.scale; // the line being drawn, drawn next
    }
  }

  /** The line passing nearest the point (within a few screen pixels), or -1. */
  shapeAt(point) {
    let best = -1;
    let bestDistance = this.nearDistance;
    this.shapes.forEach((line, index) => {
      if (line.hidden) return;
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

  get finishKeys() {
    return { keys: ["click"], mouse: true, does: "the second click ends the line" };
  }
}

if (!customElements.get("crowd-polyline")) {
  customElements.define("crowd-polyline", CrowdPolyline);
}
if (!customElements.get("crowd-line")) {
  customElements.define("crowd-line", CrowdLine);
}
