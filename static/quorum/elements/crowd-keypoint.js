// <crowd-keypoint>: place labelled points on the image at `src`.
//
// Attributes: name, src, header, labels (the keypoint names), initial-value (a JSON array of
// {label, x, y}). Its value: {"keypoints": [{"label", "x", "y"}], "inputImageProperties"}.
//
// Mouse: click places a point with the current label, and the next label not yet placed
// becomes current (so a skeleton is placed in label order); click a point to select it,
// drag it to move it. Keys: 1–9 label (also relabels the selected point), Tab / Shift+Tab
// select the next / previous point, arrows move it (Shift: 10 px), Delete removes it,
// Escape deselects, plus zoom / pan / undo.

import { AnnotationCanvas, parseJsonAttribute } from "./annotation-canvas.js";

const POINT_PX = 5;
const GRAB_PX = 9;

export class CrowdKeypoint extends AnnotationCanvas {
  points = [];
  selected = -1;
  #drag = null;

  state() {
    return this.points;
  }

  setState(state) {
    this.points = Array.isArray(state) ? state.map((p) => ({ ...p })) : [];
    this.selected = -1;
  }

  restoreInitial() {
    const initial = parseJsonAttribute(this.getAttribute("initial-value"), []);
    const labels = this.labels;
    this.points = (Array.isArray(initial) ? initial : [])
      .filter((p) => p && Number.isFinite(p.x) && Number.isFinite(p.y))
      .map((p) => ({ label: labels.includes(p.label) ? p.label : labels[0], x: p.x, y: p.y }));
  }

  get value() {
    return {
      keypoints: this.points.map((p) => ({
        label: p.label,
        x: Math.round(p.x * 100) / 100,
        y: Math.round(p.y * 100) / 100,
      })),
      inputImageProperties: this.imageProperties(),
    };
  }

  checkValidity() {
    return this.ready;
  }

  get validationMessage() {
    return "Wait for the image to load first.";
  }

  toolHint() {
    return (
      "Click to place the current label · drag a point to move it · Tab next · arrows move · " +
      "Del delete · +/−/0 zoom · Space+drag pan · Ctrl+Z undo"
    );
  }

  statusText() {
    const chosen = this.points[this.selected];
    const n = this.points.length;
    return `${n} point${n === 1 ? "" : "s"}${chosen ? ` · selected: ${chosen.label}` : ""}`;
  }

  get objectNoun() {
    return "point";
  }

  get objectArray() {
    return this.points;
  }

  ownKeys() {
    return [
      {
        keys: ["click"],
        mouse: true,
        does: "place the current label (the next unplaced one follows)",
      },
      { keys: ["Tab", "Shift+Tab"], does: "select the next / previous point", brief: true },
      { keys: ["←", "→", "↑", "↓"], does: "move the selected point (Shift: 10 px)" },
      { keys: ["Delete"], does: "delete the selected point", brief: true },
      { keys: ["Esc"], does: "deselect" },
    ];
  }

  labelChosen(index) {
    const point = this.points[this.selected];
    if (!point || point.label === this.labels[index]) return;
    this.remember();
    point.label = this.labels[index];
    this.changed();
  }

  select(index) {
    this.selected = index;
    const point = this.points[index];
    if (point) this.choose(this.labels.indexOf(point.label));
    this.invalidate();
  }

  drawOverlay(context) {
    // One path per label: a thousand points cost a handful of fills, not a thousand.
    const paths = new Map();
    for (const point of this.points) {
      if (point.hidden) continue;
      const p = this.toScreen(point.x, point.y);
      let path = paths.get(point.label);
      if (!path) {
        path = new Path2D();
        paths.set(point.label, path);
      }
      path.moveTo(p.x + POINT_PX, p.y);
      path.arc(p.x, p.y, POINT_PX, 0, Math.PI * 2);
    }
    context.lineWidth = 1.5;
    context.strokeStyle = "#000";
    for (const [label, path] of paths) {
      context.fillStyle = this.colorOfLabel(label);
      context.fill(path);
      context.stroke(path);
    }
    const chosen = this.points[this.selected];
    if (chosen) {
      const p = this.toScreen(chosen.x, chosen.y);
      context.strokeStyle = "#fff";
      context.lineWidth = 2;
      context.beginPath();
      context.arc(p.x, p.y, POINT_PX + 3, 0, Math.PI * 2);
      context.stroke();
    }
    if (this.points.length > 300) return;
    context.font = "12px system-ui, sans-serif";
    context.textBaseline = "middle";
    for (const point of this.points) {
      if (point.hidden) continue;
      const p = this.toScreen(point.x, point.y);
      context.fillStyle = this.colorOfLabel(point.label);
      context.fillText(point.label, p.x + POINT_PX + 3, p.y);
    }
  }

  pointAt(at) {
    let best = -1;
    let bestDistance = GRAB_PX;
    this.points.forEach((point, index) => {
      if (point.hidden) return;
      const distance = Math.hypot(point.x - at.x, point.y - at.y) * this.scale;
      if (distance <= bestDistance) {
        best = index;
        bestDistance = distance;
      }
    });
    return best;
  }

  pointerDown(point) {
    const at = this.clampPoint(point);
    const hit = this.pointAt(at);
    if (hit >= 0) {
      this.select(hit);
      this.remember();
      this.#drag = { moved: false };
      return true;
    }
    this.remember();
    this.points.push({ label: this.labels[this.currentLabel] ?? "", ...at });
    this.selected = -1;
    const placed = new Set(this.points.map((p) => p.label));
    const next = this.labels.findIndex((label) => !placed.has(label));
    if (next >= 0) this.choose(next);
    this.changed();
    return true;
  }

  pointerMove(point) {
    if (!this.#drag || !this.points[this.selected]) return;
    Object.assign(this.points[this.selected], this.clampPoint(point));
    this.#drag.moved = true;
    this.invalidate();
  }

  pointerUp() {
    if (!this.#drag) return;
    const { moved } = this.#drag;
    this.#drag = null;
    if (moved) this.changed();
    else this.forget();
  }

  handleKey(event) {
    const key = event.key;
    if (key === "Tab" && this.points.length) {
      const step = event.shiftKey ? -1 : 1;
      this.select((this.selected + step + this.points.length) % this.points.length);
      return true;
    }
    if (key === "Escape") {
      this.selected = -1;
      this.invalidate();
      return true;
    }
    const point = this.points[this.selected];
    if (!point) return false;
    if (key === "Delete" || key === "Backspace") {
      this.remember();
      this.points.splice(this.selected, 1);
      this.selected = -1;
      this.changed();
      return true;
    }
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (moves[key] && !event.altKey) {
      const step = event.shiftKey ? 10 : 1;
      this.remember();
      Object.assign(
        point,
        this.clampPoint({ x: point.x + moves[key][0] * step, y: point.y + moves[key][1] * step }),
      );
      this.changed();
      return true;
    }
    return false;
  }
}

if (!customElements.get("crowd-keypoint")) {
  customElements.define("crowd-keypoint", CrowdKeypoint);
}
