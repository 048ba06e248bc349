// <crowd-video-classifier>: choose one of `categories` for a video clip shown frame by frame.
//
// Attributes: name, categories, header, and the frames: `frames` (a JSON array of URLs) or
// `frames-url` (a prefix the frame number is appended to) with `frame-count`. A scrubber
// and a play button (P) step through the frames; , and . step one frame. Its value is
// {"label": "<category>"}, as <crowd-classifier>'s.

import { parseJsonAttribute, safeUrl } from "./annotation-canvas.js";
import { CrowdClassifier } from "./crowd-classifier.js";

const PLAY_FPS = 10;

export class CrowdVideoClassifier extends CrowdClassifier {
  #image = null;
  #slider = null;
  #timer = 0;
  #frame = 0;
  #onKey = (event) => {
    if (event.target instanceof HTMLInputElement || document.querySelector("dialog[open]")) return;
    if (event.key === ",") this.show(this.#frame - 1);
    else if (event.key === ".") this.show(this.#frame + 1);
    else if (event.key === "p" || event.key === "P") this.togglePlay();
    else return;
    event.preventDefault();
  };

  connectedCallback() {
    if (!this.style.display) this.style.display = "block";
    document.addEventListener("keydown", this.#onKey);
    super.connectedCallback();
  }

  disconnectedCallback() {
    document.removeEventListener("keydown", this.#onKey);
    clearInterval(this.#timer);
  }

  keyHelp() {
    const own = super.keyHelp();
    return {
      title: own?.title || "Clip",
      keys: [
        { keys: ["P"], does: "play / pause", brief: true },
        { keys: [",", "."], does: "previous / next frame", brief: true },
        ...(own?.keys || []),
      ],
    };
  }

  get frameUrls() {
    const list = parseJsonAttribute(this.getAttribute("frames"), null);
    if (Array.isArray(list)) return list.map(String);
    const prefix = this.getAttribute("frames-url") || "";
    const count = Number.parseInt(this.getAttribute("frame-count") || "0", 10);
    return prefix && count > 0 ? Array.from({ length: count }, (_, n) => `${prefix}${n}`) : [];
  }

  show(n) {
    const urls = this.frameUrls;
    if (!urls.length || !this.#image) return;
    this.#frame = Math.min(Math.max(n, 0), urls.length - 1);
    this.#image.src = safeUrl(urls[this.#frame]);
    this.#slider.value = String(this.#frame);
    // Warm the browser cache for the next frames so playback does not stall.
    for (let k = 1; k <= 3 && this.#frame + k < urls.length; k += 1) {
      new Image().src = safeUrl(urls[this.#frame + k]);
    }
  }

  togglePlay() {
    if (this.#timer) {
      clearInterval(this.#timer);
      this.#timer = 0;
      return;
    }
    this.#timer = setInterval(() => {
      if (this.#frame >= this.frameUrls.length - 1) this.togglePlay();
      else this.show(this.#frame + 1);
    }, 1000 / PLAY_FPS);
  }

  renderTarget() {
    const figure = document.createElement("figure");
    figure.className = "qc-image";
    const urls = this.frameUrls;
    if (!urls.length) {
      figure.textContent = "This task has no frames to show.";
      return figure;
    }
    this.#image = document.createElement("img");
    this.#image.alt = "The clip, frame by frame";
    this.#image.decoding = "async";
    const controls = document.createElement("div");
    controls.className = "qa-timeline";
    const play = document.createElement("button");
    play.type = "button";
    play.className = "qc-more";
    play.textContent = "Play / pause (P)";
    play.addEventListener("click", () => this.togglePlay());
    this.#slider = document.createElement("input");
    this.#slider.type = "range";
    this.#slider.min = "0";
    this.#slider.max = String(urls.length - 1);
    this.#slider.setAttribute("aria-label", "Frame");
    this.#slider.addEventListener("input", () => this.show(Number(this.#slider.value)));
    controls.append(play, this.#slider);
    figure.append(this.#image, controls);
    queueMicrotask(() => this.show(0));
    return figure;
  }
}

if (!customElements.get("crowd-video-classifier")) {
  customElements.define("crowd-video-classifier", CrowdVideoClassifier);
}
