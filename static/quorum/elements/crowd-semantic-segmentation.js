// <crowd-semantic-segmentation>: paint every pixel of the image at `src` with a label.
//
// Attributes: name, src, header, labels, initial-value ({"src": "<PNG>", "labelMappings":
// {"<label>": {"color"}}}: an earlier map to correct). Its value is the managed service's shape:
//   {"inputImageProperties": {"height", "width"},
//    "labelMappings": {"<label>": {"color": "#rrggbb"}},
//    "labeledImage": {"pngImageData": "<base64 PNG>"}}
// where the PNG is the label map at the image's size: each pixel its label's colour, white
// where there is none.
//
// Tools: B brush, E eraser, P polygon fill (click points; click the first point, Enter or F
// fills it; Backspace drops the last point; Escape cancels). [ and ] shrink and grow the
// brush. 1–9 pick the label to paint. Plus zoom / pan / undo (Ctrl+Z, 20 steps).
//
// The object list holds one row per label with painted pixels (instances in the instance
// element): select it (paint with it), relabel (its pixels take another label), hide (in
// the view only) or delete (its pixels are cleared).
//
// The label map is a byte per pixel; painting updates only the touched rectangle of the
// overlay, and the overlay is drawn over the image at half opacity.

import {
  AnnotationCanvas,
  colorOf,
  decodeImage,
  element,
  parseJsonAttribute,
  safeUrl,
} from "./annotation-canvas.js";

const TOOLS = [
  ["brush", "Brush", "B"],
  ["eraser", "Eraser", "E"],
  ["polygon", "Polygon fill", "P"],
];
const MIN_BRUSH = 1;
const MAX_BRUSH = 200;
const CLOSE_PX = 8;

function rgbOf(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export class CrowdSemanticSegmentation extends AnnotationCanvas {
  labelMap = null; // Uint8Array: 0 none, k + 1 label k
  tool = "brush";
  brush = 12;
  drawing = null;
  #mask = null; // canvas of the overlay at image size
  #maskContext = null;
  #pixels = null; // ImageData of the overlay
  #painting = null;
  #hover = null;
  #toolButtons = new Map();
  #rowValues = []; // the label-map value of each row of the object list
  hiddenValues = new Uint8Array(256); // 1: the value is not drawn (the view only)

  get undoDepth() {
    return 20;
  }

  get keepsDrafts() {
    return false;
  }

  snapshot() {
    return this.labelMap ? this.labelMap.slice() : null;
  }

  restoreSnapshot(snapshot) {
    if (!snapshot) return;
    this.labelMap.set(snapshot);
    this.#refresh(0, 0, this.imageWidth, this.imageHeight);
  }

  extraControls(toolbar) {
    for (const [tool, title, key] of TOOLS) {
      const button = element("button", "qa-tool");
      button.type = "button";
      button.setAttribute("aria-pressed", String(tool === this.tool));
      button.append(element("kbd", "", key), title);
      button.addEventListener("click", () => this.useTool(tool));
      this.#toolButtons.set(tool, button);
      toolbar.append(button);
    }
  }

  useTool(tool) {
    this.tool = tool;
    this.drawing = null;
    for (const [name, button] of this.#toolButtons) {
      button.setAttribute("aria-pressed", String(name === tool));
    }
    this.invalidate();
  }

  imageLoaded() {
    const { imageWidth: width, imageHeight: height } = this;
    this.labelMap = new Uint8Array(width * height);
    this.#mask = document.createElement("canvas");
    this.#mask.width = width;
    this.#mask.height = height;
    this.#maskContext = this.#mask.getContext("2d");
    this.#pixels = this.#maskContext.createImageData(width, height);
    this.palette = this.labels.map((_, index) => rgbOf(colorOf(index)));
    this.#loadInitial();
  }

  /**
   * `initial-value`: {"src": "<label map PNG>", "labelMappings": {"<label>": {"color"}}},
   * an earlier map to correct. Its pixels take the label whose colour they have.
   */
  async #loadInitial() {
    const initial = parseJsonAttribute(this.getAttribute("initial-value"), null);
    const src = initial && safeUrl(initial.src);
    if (!src) return;
    const byColor = new Map();
    for (const [label, mapping] of Object.entries(initial.labelMappings || {})) {
      const index = this.labels.indexOf(label);
      if (index >= 0 && mapping?.color) byColor.set(mapping.color.toLowerCase(), index + 1);
    }
    try {
      const { bitmap, width, height } = await decodeImage(src);
      if (width !== this.imageWidth || height !== this.imageHeight) return;
      const reader = document.createElement("canvas");
      reader.width = width;
      reader.height = height;
      const context = reader.getContext("2d", { willReadFrequently: true });
      context.drawImage(bitmap, 0, 0);
      const data = context.getImageData(0, 0, width, height).data;
      const hex = (v) => v.toString(16).padStart(2, "0");
      for (let i = 0; i < this.labelMap.length; i += 1) {
        const o = i * 4;
        if (data[o + 3] === 0) continue;
        const color = `#${hex(data[o])}${hex(data[o + 1])}${hex(data[o + 2])}`;
        this.labelMap[i] = byColor.get(color) || 0;
      }
    } catch {
      this.statusLine.textContent = "The earlier label map could not be loaded.";
      return;
    }
    this.#refresh(0, 0, this.imageWidth, this.imageHeight);
    this.setAttribute("data-initial-loaded", "");
  }

  /** The colour of a label map value (k + 1: label k); subclasses paint other things. */
  rgbOfValue(value) {
    return this.palette[value - 1];
  }

  /** The label map as a PNG at the image's size, base64: each value its colour, 0 white. */
  labelMapPng() {
    const { imageWidth: width, imageHeight: height } = this;
    const out = document.createElement("canvas");
    out.width = width;
    out.height = height;
    const context = out.getContext("2d");
    const image = context.createImageData(width, height);
    const data = image.data;
    const colors = new Map();
    for (let i = 0; i < this.labelMap.length; i += 1) {
      const value = this.labelMap[i];
      let rgb = colors.get(value);
      if (!rgb) {
        rgb = value ? this.rgbOfValue(value) : [255, 255, 255];
        colors.set(value, rgb);
      }
      const o = i * 4;
      data[o] = rgb[0];
      data[o + 1] = rgb[1];
      data[o + 2] = rgb[2];
      data[o + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    return out.toDataURL("image/png").split(",")[1];
  }

  get value() {
    const labelMappings = {};
    this.labels.forEach((label, index) => {
      labelMappings[label] = { color: colorOf(index) };
    });
    return {
      inputImageProperties: this.imageProperties(),
      labelMappings,
      labeledImage: { pngImageData: this.labelMapPng() },
    };
  }

  checkValidity() {
    return this.ready && !this.drawing;
  }

  get validationMessage() {
    return this.drawing
      ? "Fill or cancel the polygon you are drawing first (F or Escape)."
      : "Wait for the image to load first.";
  }

  toolHint() {
    return (
      "B brush · E eraser · P polygon fill (click points, F or first point to fill) · " +
      "[ ] brush size · 1–9 label · +/−/0 zoom · Space+drag pan · Ctrl+Z undo"
    );
  }

  statusText() {
    const what = this.tool === "polygon" ? "polygon fill" : `${this.tool} ${this.brush}px`;
    return `${what} · label: ${this.labels[this.currentLabel] ?? "—"}`;
  }

  /** Pixels of each label, for a status line or a test. */
  counts() {
    const counts = new Array(this.labels.length + 1).fill(0);
    for (const value of this.labelMap) counts[value] += 1;
    return counts;
  }

  // --- The object list: one row per label-map value that has pixels -----------------------
  get objectNoun() {
    return "painted region";
  }

  /** The label-map values that have pixels, ascending. */
  presentValues() {
    if (!this.labelMap) return [];
    const seen = new Uint8Array(256);
    for (const value of this.labelMap) seen[value] = 1;
    const values = [];
    for (let value = 1; value < 256; value += 1) if (seen[value]) values.push(value);
    return values;
  }

  /** The list row of a label-map value (the instance element shows instances). */
  objectRow(value) {
    return { label: this.labels[value - 1] ?? "", hidden: Boolean(this.hiddenValues[value]) };
  }

  /** The value that is "selected": the label painted with. */
  selectedValue() {
    return this.currentLabel + 1;
  }

  listObjects() {
    this.#rowValues = this.presentValues();
    return this.#rowValues.map((value) => this.objectRow(value));
  }

  selectedObject() {
    return this.#rowValues.indexOf(this.selectedValue());
  }

  /** The value of list row `index` (undefined when there is none). */
  rowValue(index) {
    return this.#rowValues[index];
  }

  selectObject(index) {
    const value = this.rowValue(index);
    if (!value) return;
    this.hiddenValues[value] = 0;
    this.choose(value - 1);
    this.refreshAll();
  }

  /** Move every pixel of one value to another (0: clear them). */
  replaceValue(from, to) {
    const map = this.labelMap;
    for (let i = 0; i < map.length; i += 1) if (map[i] === from) map[i] = to;
    this.refreshAll();
  }

  relabelObject(index, labelIndex) {
    const value = this.rowValue(index);
    if (!value || value === labelIndex + 1 || !this.labels[labelIndex]) return;
    this.remember();
    this.replaceValue(value, labelIndex + 1);
    this.changed();
  }

  deleteObject(index) {
    const value = this.rowValue(index);
    if (!value) return;
    this.remember();
    this.replaceValue(value, 0);
    this.changed();
  }

  toggleObjectHidden(index) {
    const value = this.rowValue(index);
    if (!value) return;
    this.hiddenValues[value] = this.hiddenValues[value] ? 0 : 1;
    this.refreshAll();
    this.changed();
  }

  emptyAnswerNotice() {
    if (!this.ready || !this.labelMap || this.presentValues().length) return "";
    return "Nothing is painted on this image.";
  }

  ownKeys() {
    return [
      { keys: ["B"], does: "brush", brief: true },
      { keys: ["E"], does: "eraser", brief: true },
      { keys: ["P"], does: "polygon fill (click points; F, Enter or the first point fills)" },
      { keys: ["[", "]"], does: "smaller / larger brush" },
      { keys: ["Backspace"], does: "remove the last polygon point" },
      { keys: ["Esc"], does: "cancel the polygon" },
    ];
  }

  // --- Painting -----------------------------------------------------------------------------
  /** The value a stroke paints: 0 with the eraser, else the current label's. */
  paintValue() {
    return this.tool === "eraser" ? 0 : this.currentLabel + 1;
  }

  #dab(cx, cy, value) {
    const r = this.brush;
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(this.imageWidth - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(this.imageHeight - 1, Math.ceil(cy + r));
    const r2 = r * r;
    for (let y = y0; y <= y1; y += 1) {
      const dy = y + 0.5 - cy;
      const row = y * this.imageWidth;
      for (let x = x0; x <= x1; x += 1) {
        const dx = x + 0.5 - cx;
        if (dx * dx + dy * dy <= r2) this.labelMap[row + x] = value;
      }
    }
    return [x0, y0, x1 + 1, y1 + 1];
  }

  #stroke(from, to) {
    const value = this.paintValue();
    const distance = Math.hypot(to.x - from.x, to.y - from.y);
    const steps = Math.max(1, Math.ceil(distance / Math.max(1, this.brush / 2)));
    let box = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i <= steps; i += 1) {
      const t = i / steps;
      const [a, b, c, d] = this.#dab(from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t, value);
      box = [Math.min(box[0], a), Math.min(box[1], b), Math.max(box[2], c), Math.max(box[3], d)];
    }
    this.#refresh(box[0], box[1], box[2] - box[0], box[3] - box[1]);
  }

  /** Fill a polygon by scanlines: pixel centres inside (even-odd) take the label. */
  fillPolygon(points, value) {
    const ys = points.map((p) => p.y);
    const y0 = Math.max(0, Math.floor(Math.min(...ys)));
    const y1 = Math.min(this.imageHeight - 1, Math.ceil(Math.max(...ys)));
    let left = Infinity;
    let right = -Infinity;
    for (let y = y0; y <= y1; y += 1) {
      const cy = y + 0.5;
      const crossings = [];
      for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
        const a = points[i];
        const b = points[j];
        if (a.y > cy !== b.y > cy) crossings.push(a.x + ((cy - a.y) * (b.x - a.x)) / (b.y - a.y));
      }
      crossings.sort((p, q) => p - q);
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        const from = Math.max(0, Math.ceil(crossings[k] - 0.5));
        const to = Math.min(this.imageWidth - 1, Math.floor(crossings[k + 1] - 0.5));
        if (to < from) continue;
        this.labelMap.fill(value, y * this.imageWidth + from, y * this.imageWidth + to + 1);
        left = Math.min(left, from);
        right = Math.max(right, to + 1);
      }
    }
    if (right > left) this.#refresh(left, y0, right - left, y1 - y0 + 1);
  }

  /** Redraw the whole overlay from the label map (after a subclass changed colours). */
  refreshAll() {
    this.#refresh(0, 0, this.imageWidth, this.imageHeight);
  }

  /** Copy a rectangle of the label map into the overlay's pixels. */
  #refresh(x, y, width, height) {
    if (width <= 0 || height <= 0) return;
    const data = this.#pixels.data;
    for (let row = y; row < y + height; row += 1) {
      for (let col = x; col < x + width; col += 1) {
        const i = row * this.imageWidth + col;
        const o = i * 4;
        const value = this.labelMap[i];
        if (value && !this.hiddenValues[value]) {
          const [r, g, b] = this.rgbOfValue(value);
          data[o] = r;
          data[o + 1] = g;
          data[o + 2] = b;
          data[o + 3] = 255;
        } else {
          data[o + 3] = 0;
        }
      }
    }
    this.#maskContext.putImageData(this.#pixels, 0, 0, x, y, width, height);
    this.invalidate();
  }

  drawObjects(context) {
    if (!this.#mask) return;
    context.globalAlpha = 0.5;
    context.imageSmoothingEnabled = false;
    context.drawImage(this.#mask, 0, 0);
    context.globalAlpha = 1;
    if (this.drawing?.length) {
      context.strokeStyle = colorOf(this.currentLabel);
      context.lineWidth = 2 / this.scale;
      context.beginPath();
      this.drawing.forEach((p, i) => (i ? context.lineTo(p.x, p.y) : context.moveTo(p.x, p.y)));
      if (this.#hover) context.lineTo(this.#hover.x, this.#hover.y);
      context.stroke();
    }
  }

  drawOverlay(context) {
    if (!this.#hover || this.tool === "polygon") return;
    const p = this.toScreen(this.#hover.x, this.#hover.y);
    context.strokeStyle = "#fff";
    context.lineWidth = 1;
    context.beginPath();
    context.arc(p.x, p.y, this.brush * this.scale, 0, Math.PI * 2);
    context.stroke();
  }

  pointerDown(point) {
    const at = this.clampPoint(point);
    if (this.tool === "polygon") {
      if (!this.drawing) this.drawing = [at];
      else if (
        this.drawing.length >= 3 &&
        Math.hypot(at.x - this.drawing[0].x, at.y - this.drawing[0].y) * this.scale <= CLOSE_PX
      ) {
        this.fill();
      } else this.drawing.push(at);
      this.invalidate();
      return true;
    }
    this.remember();
    this.#painting = at;
    this.#stroke(at, at);
    return true;
  }

  pointerMove(point) {
    const at = this.clampPoint(point);
    this.#hover = at;
    if (this.#painting) {
      this.#stroke(this.#painting, at);
      this.#painting = at;
    } else {
      this.invalidate();
    }
  }

  pointerUp() {
    if (!this.#painting) return;
    this.#painting = null;
    this.changed();
  }

  /** Fill the polygon being drawn with the current label (or none with the eraser). */
  fill() {
    if (!this.drawing || this.drawing.length < 3) return false;
    this.remember();
    this.fillPolygon(this.drawing, this.paintValue());
    this.drawing = null;
    this.changed();
    return true;
  }

  handleKey(event) {
    const key = event.key.toLowerCase();
    if (this.drawing) {
      if (key === "enter" || key === "f") return this.fill() || true;
      if (key === "backspace") {
        this.drawing.pop();
        if (!this.drawing.length) this.drawing = null;
        this.invalidate();
        return true;
      }
      if (key === "escape") {
        this.drawing = null;
        this.invalidate();
        return true;
      }
    }
    if (key === "b") this.useTool("brush");
    else if (key === "e") this.useTool("eraser");
    else if (key === "p") this.useTool("polygon");
    else if (key === "[") this.brush = Math.max(MIN_BRUSH, Math.round(this.brush / 1.25));
    else if (key === "]") this.brush = Math.min(MAX_BRUSH, Math.round(this.brush * 1.25) + 1);
    else return false;
    this.invalidate();
    return true;
  }
}

if (!customElements.get("crowd-semantic-segmentation")) {
  customElements.define("crowd-semantic-segmentation", CrowdSemanticSegmentation);
}
