// <crowd-image-classifier>: choose one of `categories` for the image at `src`.
//
// Attributes: src, name, categories (a JSON array of strings), header. Child regions:
// <short-instructions>, <full-instructions header="...">. Its value is {"label": "<category>"}.

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
    figure.append(image);
    return figure;
  }
}

if (!customElements.get("crowd-image-classifier")) {
  customElements.define("crowd-image-classifier", CrowdImageClassifier);
}
