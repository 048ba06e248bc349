// <crowd-image-classifier>: choose one of `categories` for the image at `src`.
//
// Attributes: src, name, categories (a JSON array of strings), header, overlay (what an
// earlier job drew, shown over the image: {"boundingBoxes": {"value": [{label, left, top,
// width, height}]}}). Child regions: <short-instructions>, <full-instructions header="...">.
// Its value is {"label": "<category>"}.

import { CrowdClassifier } from "./crowd-classifier.js";

const SAFE_PROTOCOLS = new Set(["http:", "https:", "data:", "blob:"]);

function safeImageUrl(raw) {
  if (!raw) return "";
  try {
    const url = new URL(raw, document.baseURI);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : "";
  } catch {
    return "";
  }
}

export class CrowdImageClassifier extends CrowdClassifier {
  renderTarget() {
    const figure = document.createElement("figure");
    figure.className = "qc-image";
    const src = safeImageUrl(this.getAttribute("src"));
    if (!src) {
      figure.textContent = "This task has no image to show.";
      return figure;
    }
    const image = document.createElement("img");
    image.alt = this.getAttribute("header") || "The image to classify";
    image.decoding = "async";
    image.addEventListener("error", () => {
      const note = document.createElement("figcaption");
      note.className = "qc-image-error";
      note.textContent = "The image could not be loaded. Skip this task (S) if it stays blank.";
      figure.append(note);
    });
    image.src = src;
    const boxes = overlayBoxes(this.getAttribute("overlay"));
    if (boxes.length) {
      const frame = document.createElement("span");
      frame.className = "qc-image-frame";
      Object.assign(frame.style, { position: "relative", display: "inline-block" });
      const canvas = document.createElement("canvas");
      canvas.className = "qc-image-overlay";
      Object.assign(canvas.style, {
        position: "absolute",
        inset: "0",
        width: "100%",
        height: "100%",
        pointerEvents: "none",
      });
      image.addEventListener("load", () => drawOverlay(canvas, image, boxes));
      frame.append(image, canvas);
      figure.append(frame);
    } else {
      figure.append(image);
    }
    return figure;
  }
}

const OVERLAY_MAX_SIDE = 2048;

function overlayBoxes(raw) {
  if (!raw) return [];
  try {
    const value = JSON.parse(raw)?.boundingBoxes?.value;
    return Array.isArray(value) ? value.filter((box) => box && Number.isFinite(box.width)) : [];
  } catch {
    return [];
  }
}

/** Draw the earlier job's boxes on a canvas laid over the image, scaled to its pixels. */
function drawOverlay(canvas, image, boxes) {
  const scale = Math.min(1, OVERLAY_MAX_SIDE / Math.max(image.naturalWidth, image.naturalHeight));
  canvas.width = Math.round(image.naturalWidth * scale);
  canvas.height = Math.round(image.naturalHeight * scale);
  const context = canvas.getContext("2d");
  context.scale(scale, scale);
  context.lineWidth = 2 / scale;
  context.strokeStyle = "#f58231";
  context.fillStyle = "#f58231";
  context.font = `${Math.round(14 / scale)}px system-ui, sans-serif`;
  for (const box of boxes) {
    context.strokeRect(box.left, box.top, box.width, box.height);
    if (box.label) context.fillText(String(box.label), box.left + 2 / scale, box.top - 4 / scale);
  }
}

if (!customElements.get("crowd-image-classifier")) {
  customElements.define("crowd-image-classifier", CrowdImageClassifier);
}
