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

import { tracePath, VertexPathCanvas } from "./vertex-path-canvas.js";

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

export class CrowdPolygon extends VertexPathCanvas {
  get listKey() {
    return "polygons";
  }

  get noun() {
    return "polygon";
  }

  get minVertices() {
    return 3;
  }

  get finishKeys() {
    return { keys: ["Enter", "F"], does: "close the polygon (or click its first point)" };
  }

  /** A polygon closes with three points and some area. */
  canFinish(points) {
    return points.length >= 3 && area(points) > 0;
  }

  /** A click on the first point (with three or more placed) closes the polygon. */
  addDrawingPoint(at) {
    if (this.drawing.length >= 3 && this.near(at, this.drawing[0])) this.finish();
    else this.drawing.push(at);
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

  drawShapes(context) {
    // Many polygons: hairlines and no tint, which the rasteriser draws far faster.
    const many = this.shapes.length > MANY_POLYGONS;
    context.lineWidth = (many ? 1 : 2) / this.scale;
    for (const [label, path] of this.pathsByLabel(true)) {
      context.strokeStyle = this.colorOfLabel(label);
      if (!many) {
        context.fillStyle = `${this.colorOfLabel(label)}22`;
        context.fill(path, "evenodd");
      }
      context.stroke(path);
    }
    const chosen = this.shapes[this.selected];
    if (chosen) {
      context.fillStyle = `${this.colorOfLabel(chosen.label)}55`;
      context.beginPath();
      tracePath(context, chosen.vertices);
      context.closePath();
      context.fill();
    }
  }

  /** The smallest polygon containing the point (so one inside another stays selectable), or -1. */
  shapeAt(point) {
    let best = -1;
    let bestArea = Infinity;
    this.shapes.forEach((polygon, index) => {
      if (polygon.hidden || !contains(polygon.vertices, point.x, point.y)) return;
      const size = area(polygon.vertices);
      if (size < bestArea) {
        best = index;
        bestArea = size;
      }
    });
    return best;
  }
}

if (!customElements.get("crowd-polygon")) {
  customElements.define("crowd-polygon", CrowdPolygon);
}
