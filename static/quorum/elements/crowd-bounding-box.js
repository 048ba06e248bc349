// <crowd-bounding-box>: draw, move, resize and delete labelled boxes on the image at `src`.
//
// Attributes: name, src, header, labels, initial-value (a JSON array of
// {label, left, top, width, height} — boxes to adjust), attributes (Quorum's: a JSON array
// of per-box flags such as ["occluded", "truncated"]). Its value:
//   {"boundingBoxes": [{"label", "left", "top", "width", "height"}],
//    "inputImageProperties": {"height", "width"}}
// plus "initialValueModified" (true / false) when there was an initial-value. JSON
// attributes may be written as JavaScript literals (bare keys, single quotes, trailing
// commas), as the managed service's templates often do.
//
// Mouse: drag on the image draws a box with the current label; click a box to select it,
// drag it to move, drag a handle to resize. Keys: 1–9 label of the next box (also relabels
// a box selected by a click, Tab or the object list; not the box just drawn), Tab / Shift+Tab select the next / previous box, arrows move the selected box (Shift:
// 10 px), Alt+arrows resize it, Delete or Backspace remove it, Escape deselects, O and T
// toggle the first two attributes, plus the common zoom / pan / undo keys.

import { AnnotationCanvas, colorOf, parseJsonAttribute } from "./annotation-canvas.js";

const HANDLE_PX = 7;
const MIN_SIZE = 1;
const TEXT_LIMIT = 300;
const HAIRLINE_FROM = 200;
const ATTRIBUTE_KEYS = ["o", "t"];

function normalise(start, end) {
  return {
    left: Math.min(start.x, end.x),
    top: Math.min(start.y, end.y),
    width: Math.abs(end.x - start.x),
    height: Math.abs(end.y - start.y),
  };
}

export class CrowdBoundingBox extends AnnotationCanvas {
  boxes = [];
  selected = -1;
  #drag = null;

  get boxAttributes() {
    const list = parseJsonAttribute(this.getAttribute("attributes"), []);
    return Array.isArray(list) ? list.map(String) : [];
  }

  state() {
    return this.boxes;
  }

  setState(state) {
    this.boxes = Array.isArray(state) ? state.map((box) => ({ ...box })) : [];
    this.selected = -1;
  }

  restoreInitial() {
    const initial = parseJsonAttribute(this.getAttribute("initial-value"), []);
    const labels = this.labels;
    this.boxes = (Array.isArray(initial) ? initial : [])
      .filter((box) => box && Number.isFinite(box.width) && Number.isFinite(box.height))
      .map((box) => ({
        label: labels.includes(box.label) ? box.label : labels[0],
        left: box.left,
        top: box.top,
        width: box.width,
        height: box.height,
      }));
    this.initialBoxes = this.hasAttribute("initial-value")
      ? JSON.stringify(this.#rounded())
      : null;
  }

  #rounded() {
    return this.boxes.map((box) => {
      const out = {
        label: box.label,
        left: Math.round(box.left),
        top: Math.round(box.top),
        width: Math.max(MIN_SIZE, Math.round(box.width)),
        height: Math.max(MIN_SIZE, Math.round(box.height)),
      };
      if (box.attributes && Object.keys(box.attributes).length) out.attributes = box.attributes;
      return out;
    });
  }

  get value() {
    const boundingBoxes = this.#rounded();
    const value = { boundingBoxes, inputImageProperties: this.imageProperties() };
    // As the managed service's element: whether the boxes given to adjust were changed.
    if (this.initialBoxes !== null && this.initialBoxes !== undefined) {
      value.initialValueModified = JSON.stringify(boundingBoxes) !== this.initialBoxes;
    }
    return value;
  }

  checkValidity() {
    return this.ready;
  }

  get validationMessage() {
    return "Wait for the image to load first.";
  }

  toolHint() {
    const flags = this.boxAttributes
      .slice(0, 2)
      .map((name, i) => `${ATTRIBUTE_KEYS[i].toUpperCase()} ${name}`)
      .join(" · ");
    return (
      "Drag to draw · click to select · drag handles to resize · Del delete · Tab next box · " +
      "arrows move (Alt: resize) · +/−/0 zoom · Space+drag pan · Ctrl+Z undo" +
      (flags ? ` · ${flags}` : "")
    );
  }

  statusText() {
    const selected = this.boxes[this.selected];
    const flags = selected?.attributes ? Object.keys(selected.attributes).join(", ") : "";
    return (
      `${this.boxes.length} box${this.boxes.length === 1 ? "" : "es"}` +
      (selected ? ` · selected: ${selected.label}${flags ? ` (${flags})` : ""}` : "")
    );
  }

  get objectNoun() {
    return "box";
  }

  get objectArray() {
    return this.boxes;
  }

  ownKeys() {
    const flags = this.boxAttributes
      .slice(0, 2)
      .map((name, i) => ({ keys: [ATTRIBUTE_KEYS[i].toUpperCase()], does: `toggle “${name}”` }));
    return [
      {
        keys: ["drag"],
        mouse: true,
        does: "draw a box; drag a box to move it, a handle to resize it",
      },
      { keys: ["Tab", "Shift+Tab"], does: "select the next / previous box", brief: true },
      { keys: ["←", "→", "↑", "↓"], does: "move the selected box (Shift: 10 px)" },
      { keys: ["Alt+arrows"], does: "resize the selected box" },
      { keys: ["Delete", "Backspace"], does: "delete the selected box", brief: true },
      { keys: ["Esc"], does: "deselect" },
      ...flags,
    ];
  }

  labelChosen(index) {
    const box = this.boxes[this.selected];
    if (!box || this.freshSelection || box.label === this.labels[index]) return;
    this.remember();
    box.label = this.labels[index];
    this.changed();
  }

  select(index) {
    this.selected = index;
    this.freshSelection = false;
    const box = this.boxes[index];
    if (box) this.choose(this.labels.indexOf(box.label));
    this.invalidate();
  }

  // --- Drawing ------------------------------------------------------------------------------
  drawObjects(context) {
    const view = this.visibleRect();
    const byLabel = new Map();
    let visible = 0;
    for (let i = 0; i < this.boxes.length; i += 1) {
      const box = this.boxes[i];
      if (
        box.hidden ||
        box.left > view.right ||
        box.top > view.bottom ||
        box.left + box.width < view.left ||
        box.top + box.height < view.top
      ) {
        continue;
      }
      let path = byLabel.get(box.label);
      if (!path) {
        path = new Path2D();
        byLabel.set(box.label, path);
      }
      path.rect(box.left, box.top, box.width, box.height);
      visible += 1;
    }
    // Many boxes in view: hairlines, which the rasteriser strokes far faster than wide lines.
    context.lineWidth = (visible > HAIRLINE_FROM ? 1 : 2) / this.scale;
    for (const [label, path] of byLabel) {
      context.strokeStyle = this.colorOfLabel(label);
      context.stroke(path);
    }
    const chosen = this.boxes[this.selected];
    if (chosen) {
      context.fillStyle = `${this.colorOfLabel(chosen.label)}33`;
      context.fillRect(chosen.left, chosen.top, chosen.width, chosen.height);
    }
    if (this.#drag?.kind === "draw") {
      const box = normalise(this.#drag.start, this.#drag.end);
      context.setLineDash([6 / this.scale, 4 / this.scale]);
      context.strokeStyle = colorOf(this.currentLabel);
      context.strokeRect(box.left, box.top, box.width, box.height);
      context.setLineDash([]);
    }
  }

  drawOverlay(context) {
    if (this.boxes.length <= TEXT_LIMIT) {
      context.font = "12px system-ui, sans-serif";
      context.textBaseline = "bottom";
      for (const box of this.boxes) {
        const corner = this.toScreen(box.left, box.top);
        if (box.hidden || box.width * this.scale < 24) continue;
        const flags = box.attributes ? Object.keys(box.attributes).join(", ") : "";
        const text = flags ? `${box.label} (${flags})` : box.label;
        const width = context.measureText(text).width + 6;
        context.fillStyle = this.colorOfLabel(box.label);
        context.fillRect(corner.x - 1, corner.y - 16, width, 16);
        context.fillStyle = "#fff";
        context.fillText(text, corner.x + 2, corner.y - 2);
      }
    }
    const chosen = this.boxes[this.selected];
    if (!chosen) return;
    context.fillStyle = "#fff";
    context.strokeStyle = this.colorOfLabel(chosen.label);
    context.lineWidth = 1.5;
    for (const [x, y] of this.#handles(chosen)) {
      const point = this.toScreen(x, y);
      context.fillRect(point.x - HANDLE_PX / 2, point.y - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
      context.strokeRect(point.x - HANDLE_PX / 2, point.y - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
    }
  }

  // Handles: corners and edge midpoints, named by which edges they move.
  #handles(box) {
    const { left, top, width, height } = box;
    const right = left + width;
    const bottom = top + height;
    const midX = left + width / 2;
    const midY = top + height / 2;
    return [
      [left, top, "nw"],
      [midX, top, "n"],
      [right, top, "ne"],
      [right, midY, "e"],
      [right, bottom, "se"],
      [midX, bottom, "s"],
      [left, bottom, "sw"],
      [left, midY, "w"],
    ];
  }

  #handleAt(point) {
    const box = this.boxes[this.selected];
    if (!box) return "";
    const reach = HANDLE_PX / this.scale;
    for (const [x, y, name] of this.#handles(box)) {
      if (Math.abs(point.x - x) <= reach && Math.abs(point.y - y) <= reach) return name;
    }
    return "";
  }

  /** The smallest box under the point, so nested boxes stay reachable. */
  boxAt(point) {
    let best = -1;
    let bestArea = Infinity;
    for (let i = 0; i < this.boxes.length; i += 1) {
      const box = this.boxes[i];
      if (
        !box.hidden &&
        point.x >= box.left &&
        point.x <= box.left + box.width &&
        point.y >= box.top &&
        point.y <= box.top + box.height
      ) {
        const area = box.width * box.height;
        if (area < bestArea) {
          best = i;
          bestArea = area;
        }
      }
    }
    return best;
  }

  // --- Pointer ------------------------------------------------------------------------------
  pointerDown(point) {
    const handle = this.#handleAt(point);
    if (handle) {
      this.remember();
      this.#drag = { kind: "resize", handle, origin: { ...this.boxes[this.selected] } };
      return true;
    }
    const hit = this.boxAt(point);
    if (hit >= 0) {
      this.select(hit);
      this.remember();
      this.#drag = { kind: "move", start: point, origin: { ...this.boxes[hit] }, moved: false };
      return true;
    }
    const start = this.clampPoint(point);
    this.#drag = { kind: "draw", start, end: start };
    this.selected = -1;
    this.invalidate();
    return true;
  }

  pointerMove(point) {
    const drag = this.#drag;
    if (!drag) {
      this.canvas.style.cursor = this.#handleAt(point)
        ? "nwse-resize"
        : this.boxAt(point) >= 0
          ? "move"
          : "crosshair";
      return;
    }
    const box = this.boxes[this.selected];
    if (drag.kind === "draw") {
      drag.end = this.clampPoint(point);
    } else if (drag.kind === "move" && box) {
      const dx = point.x - drag.start.x;
      const dy = point.y - drag.start.y;
      box.left = Math.min(Math.max(drag.origin.left + dx, 0), this.imageWidth - box.width);
      box.top = Math.min(Math.max(drag.origin.top + dy, 0), this.imageHeight - box.height);
      drag.moved = true;
    } else if (drag.kind === "resize" && box) {
      const p = this.clampPoint(point);
      const o = drag.origin;
      let left = o.left;
      let top = o.top;
      let right = o.left + o.width;
      let bottom = o.top + o.height;
      if (drag.handle.includes("w")) left = p.x;
      if (drag.handle.includes("e")) right = p.x;
      if (drag.handle.includes("n")) top = p.y;
      if (drag.handle.includes("s")) bottom = p.y;
      Object.assign(box, normalise({ x: left, y: top }, { x: right, y: bottom }));
    }
    this.invalidate();
  }

  pointerUp() {
    const drag = this.#drag;
    this.#drag = null;
    if (!drag) return;
    if (drag.kind === "draw") {
      const box = normalise(drag.start, drag.end);
      if (box.width * this.scale < 3 || box.height * this.scale < 3) {
        this.invalidate(); // a click on empty space: deselect only
        return;
      }
      this.remember();
      this.boxes.push({ label: this.labels[this.currentLabel] ?? "", ...box });
      this.selected = this.boxes.length - 1;
      this.freshSelection = true; // 1–9 now choose the next box's label, not this one's
      this.changed();
    } else if (drag.kind === "move" && !drag.moved) {
      this.forget();
      this.invalidate();
    } else {
      this.changed();
    }
  }

  // --- Keys ---------------------------------------------------------------------------------
  handleKey(event) {
    const key = event.key;
    const box = this.boxes[this.selected];
    if (key === "Tab") {
      if (!this.boxes.length) return false;
      const step = event.shiftKey ? -1 : 1;
      this.select((this.selected + step + this.boxes.length) % this.boxes.length);
      return true;
    }
    if (key === "Escape") {
      if (this.#drag) this.#drag = null;
      this.selected = -1;
      this.invalidate();
      return true;
    }
    if (!box) return false;
    if (key === "Delete" || key === "Backspace") {
      this.remember();
      this.boxes.splice(this.selected, 1);
      this.selected = Math.min(this.selected, this.boxes.length - 1);
      this.changed();
      return true;
    }
    const attribute = ATTRIBUTE_KEYS.indexOf(key.toLowerCase());
    if (attribute >= 0 && this.boxAttributes[attribute]) {
      const name = this.boxAttributes[attribute];
      this.remember();
      const flags = { ...(box.attributes || {}) };
      if (flags[name]) delete flags[name];
      else flags[name] = true;
      box.attributes = flags;
      this.changed();
      return true;
    }
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (moves[key]) {
      const step = event.shiftKey ? 10 : 1;
      const [dx, dy] = moves[key].map((v) => v * step);
      this.remember();
      if (event.altKey) {
        box.width = Math.max(MIN_SIZE, Math.min(box.width + dx, this.imageWidth - box.left));
        box.height = Math.max(MIN_SIZE, Math.min(box.height + dy, this.imageHeight - box.top));
      } else {
        box.left = Math.min(Math.max(box.left + dx, 0), this.imageWidth - box.width);
        box.top = Math.min(Math.max(box.top + dy, 0), this.imageHeight - box.height);
      }
      this.changed();
      return true;
    }
    return false;
  }
}

if (!customElements.get("crowd-bounding-box")) {
  customElements.define("crowd-bounding-box", CrowdBoundingBox);
}
