// <crowd-instance-segmentation>: paint each object of the image at `src` as its own instance.
//
// Attributes: name, src, header, labels. Its value is the managed service's shape:
//   {"inputImageProperties": {"height", "width"},
//    "instances": [{"color": "#rrggbb", "label": "<label>"}, ...],
//    "labeledImage": {"pngImageData": "<base64 PNG>"}}
// where the PNG is at the image's size, each instance's pixels in that instance's colour
// (one colour per instance, never white) and white where there is none. Instances that end
// up with no pixels are left out of `instances`.
//
// The tools are <crowd-semantic-segmentation>'s (B brush, E eraser, P polygon fill, [ ]
// brush size, Ctrl+Z undo, zoom and pan). Painting with a label adds to the current instance
// while it has that label; otherwise the stroke starts a new instance. N starts a new
// instance of the current label; Tab / Shift+Tab make the next / previous instance current
// (to add to it or erase from it); 1–9 pick the label of the next instance. At most 255
// instances.

import { colorOf } from "./annotation-canvas.js";
import { CrowdSemanticSegmentation } from "./crowd-semantic-segmentation.js";

const MAX_INSTANCES = 255;
const BASE_COLORS = 16;

function hex(rgb) {
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

function rgbOfHex(color) {
  const n = Number.parseInt(color.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function hslToRgb(hue, saturation, lightness) {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [channel(0), channel(8), channel(4)];
}

/** Distinct instance colours: the label palette first, then hues a golden angle apart. */
function instanceColors(count) {
  const colors = [];
  const seen = new Set(["#ffffff"]);
  for (let i = 0; colors.length < count; i += 1) {
    const color =
      i < BASE_COLORS
        ? colorOf(i)
        : hex(hslToRgb((i * 137.508) % 360, 0.75, [0.35, 0.5, 0.65][i % 3]));
    if (seen.has(color)) continue;
    seen.add(color);
    colors.push(color);
  }
  return colors;
}

const COLORS = instanceColors(MAX_INSTANCES);

export class CrowdInstanceSegmentation extends CrowdSemanticSegmentation {
  instances = []; // [{label, color, rgb}]; label map value k + 1 is instance k
  current = -1; // the instance strokes add to; -1: the next stroke starts one

  snapshot() {
    const map = super.snapshot();
    return map && { map, instances: this.instances.map((i) => ({ ...i })), current: this.current };
  }

  restoreSnapshot(snapshot) {
    if (!snapshot) return;
    this.instances = snapshot.instances;
    this.current = snapshot.current;
    super.restoreSnapshot(snapshot.map);
  }

  rgbOfValue(value) {
    return this.instances[value - 1]?.rgb ?? [255, 255, 255];
  }

  paintValue() {
    if (this.tool === "eraser") return 0;
    const label = this.labels[this.currentLabel] ?? "";
    if (this.instances[this.current]?.label !== label) {
      if (this.instances.length >= MAX_INSTANCES) {
        this.statusLine.textContent = `At most ${MAX_INSTANCES} instances: erase or reuse one.`;
        return this.current >= 0 ? this.current + 1 : 0;
      }
      const color = COLORS[this.instances.length];
      this.instances.push({ label, color, rgb: rgbOfHex(color) });
      this.current = this.instances.length - 1;
    }
    return this.current + 1;
  }

  /** Start a new instance with the next stroke. */
  newInstance() {
    this.current = -1;
    this.invalidate();
  }

  /** Make instance `index` current (its label becomes the current label). */
  selectInstance(index) {
    const instance = this.instances[index];
    if (!instance) return;
    this.current = index;
    this.choose(this.labels.indexOf(instance.label));
  }

  get objectNoun() {
    return "instance";
  }

  objectRow(value) {
    const instance = this.instances[value - 1];
    return {
      label: instance?.label ?? "",
      hidden: Boolean(this.hiddenValues[value]),
      text: `#${value} ${instance?.label ?? ""}`,
    };
  }

  selectedValue() {
    return this.current + 1;
  }

  selectObject(index) {
    const value = this.rowValue(index);
    if (!value) return;
    this.hiddenValues[value] = 0;
    this.selectInstance(value - 1);
    this.refreshAll();
  }

  relabelObject(index, labelIndex) {
    const instance = this.instances[this.rowValue(index) - 1];
    const label = this.labels[labelIndex];
    if (!instance || !label || instance.label === label) return;
    this.remember();
    instance.label = label;
    this.changed();
  }

  ownKeys() {
    return [
      ...super.ownKeys(),
      { keys: ["N"], does: "start a new instance", brief: true },
      { keys: ["Tab", "Shift+Tab"], does: "make the next / previous instance current" },
    ];
  }

  labelChosen(index) {
    // A different label: the next stroke starts a new instance (paintValue sees the change).
    if (this.instances[this.current]?.label !== this.labels[index]) this.invalidate();
  }

  get value() {
    const used = new Set(this.labelMap);
    return {
      inputImageProperties: this.imageProperties(),
      instances: this.instances
        .filter((_, index) => used.has(index + 1))
        .map(({ color, label }) => ({ color, label })),
      labeledImage: { pngImageData: this.labelMapPng() },
    };
  }

  toolHint() {
    return (
      "B brush · E eraser · P polygon fill (click points, F or first point to fill) · " +
      "N new instance · Tab next instance · [ ] brush size · 1–9 label · +/−/0 zoom · " +
      "Space+drag pan · Ctrl+Z undo"
    );
  }

  statusText() {
    const what = this.tool === "polygon" ? "polygon fill" : `${this.tool} ${this.brush}px`;
    const instance = this.instances[this.current];
    const label = this.labels[this.currentLabel] ?? "—";
    const target =
      instance && instance.label === label ? `${label} #${this.current + 1}` : `new ${label}`;
    const n = this.instances.length;
    return `${what} · ${n} instance${n === 1 ? "" : "s"} · painting: ${target}`;
  }

  handleKey(event) {
    const key = event.key.toLowerCase();
    if (!this.drawing && key === "n") {
      this.newInstance();
      return true;
    }
    if (!this.drawing && key === "tab" && this.instances.length) {
      const step = event.shiftKey ? -1 : 1;
      const count = this.instances.length;
      const from = this.current < 0 ? (step > 0 ? -1 : 0) : this.current;
      this.selectInstance((from + step + count) % count);
      return true;
    }
    return super.handleKey(event);
  }
}

if (!customElements.get("crowd-instance-segmentation")) {
  customElements.define("crowd-instance-segmentation", CrowdInstanceSegmentation);
}
