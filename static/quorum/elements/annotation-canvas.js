// The drawing surface every image annotation element builds on (<crowd-bounding-box>,
// <crowd-polygon>, <crowd-polyline>, <crowd-line>, <crowd-keypoint>,
// <crowd-semantic-segmentation>, <crowd-instance-segmentation>, the video tracker).
//
// One <canvas> draws the image and every object: no DOM node per object, so 1,000 boxes
// cost one path per label. Drawing happens only when something changed, once per animation
// frame. The image is decoded off the main thread (img.decode(), then createImageBitmap)
// before it is first drawn, so a 20-megapixel photo does not stall the page.
//
// Common attributes: name, src, header, labels (JSON array of strings or {label} objects).
// Common keys: 1–9 pick the Nth label (via <crowd-form>), + / - zoom, 0 fit the image,
// arrows pan (when nothing is selected), Space + drag or the middle / right button pans,
// the mouse wheel zooms at the pointer, Ctrl+Z / Ctrl+Shift+Z undo and redo, I instructions.
// Work in progress is kept in sessionStorage per lease until the answer is submitted, so a
// reload or a failed submit loses nothing.
//
// Elements whose answer is a list of objects (boxes, polygons, lines, points, tracks, mask
// labels or instances) get an object list beside the image: select, relabel, hide (for the
// view only: a hidden object stays in the answer) and delete. A shape just drawn stays
// selected so it can be adjusted, but 1–9 then only choose the label of the NEXT shape; a
// shape selected on purpose (click, Tab, the list) is relabelled by 1–9. With no object at
// all, <crowd-form> asks before submitting "no objects" (`emptyAnswerNotice`).
// Each element declares its keys in `keyHelp()` (the `?` list and the legend read them).
// `readonly` (issue 16, verification of an earlier label): the element shows its
// `initial-value` and nothing changes it: a drag pans, only the view's keys work (zoom, pan,
// and a video's frames), it keeps no draft and never asks about an empty answer.

import { parseCategories } from "./crowd-classifier.js";
import { colorOf, decodeImage, element, imagePyramid, safeUrl } from "./canvas-support.js";
import { ObjectList } from "./object-list.js";

export {
  colorOf,
  decodeImage,
  element,
  imagePyramid,
  looseToJson,
  parseJsonAttribute,
  safeUrl,
} from "./canvas-support.js";

const MAX_SCALE = 32;
const WHEEL_ZOOM = 0.0015;
const PAN_STEP = 60;
const UNDO_DEPTH = 100;
const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);
// The keys a read-only element still takes: the view's, and a video's frames and playback.
const VIEW_KEYS = new Set([
  "+", "=", "-", "_", "0", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown",
  ",", ".", "<", ">", "Home", "End", "p", "P", " ",
]);

let stylesheet = null;
let dialogCount = 0;

/** Load the elements' stylesheet once; resolves when it applies (or failed to load). */
function addStylesheet() {
  if (stylesheet) return stylesheet;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./crowd-annotation.css", import.meta.url).href;
  stylesheet = new Promise((resolve) => {
    link.addEventListener("load", resolve, { once: true });
    link.addEventListener("error", resolve, { once: true });
  });
  document.head.append(link);
  return stylesheet;
}

function isTyping(target) {
  return target instanceof Element && (TYPING_TAGS.has(target.tagName) || target.isContentEditable);
}

export class AnnotationCanvas extends HTMLElement {
  #built = false;
  #frame = 0;
  #undo = [];
  #redo = [];
  #panning = null;
  #spaceDown = false;
  #viewMoved = false;
  #styled = Promise.resolve(); // until the labeler zooms or pans, the image follows the stage's size
  #dialog = null;
  #labelButtons = [];
  #objectList = null;
  #onKey = (event) => this.#handleKey(event);
  #onKeyUp = (event) => {
    if (event.key === " ") this.#spaceDown = false;
  };

  // Image and view: screen = image * scale + offset (in CSS pixels of the canvas).
  bitmap = null;
  levels = []; // smaller copies of a large image: [{factor, bitmap}], largest first
  imageWidth = 0;
  imageHeight = 0;
  scale = 1;
  offsetX = 0;
  offsetY = 0;
  canvas = null;
  context = null;
  currentLabel = 0;
  renderCount = 0;
  // The selected object was just drawn, not picked: 1–9 choose the next label, not relabel it.
  freshSelection = false;

  static get observedAttributes() {
    return ["labels"];
  }

  connectedCallback() {
    // A script may have set `labels` before the element was defined: apply it now.
    if (Object.hasOwn(this, "labels")) {
      const early = this.labels;
      delete this.labels;
      this.labels = early;
    }
    // Capture: the element sees a key before <crowd-form> (Enter closes a polygon first).
    document.addEventListener("keydown", this.#onKey, { capture: true });
    document.addEventListener("keyup", this.#onKeyUp);
    if (this.#built) return;
    this.#built = true;
    this.#styled = addStylesheet();
    this.#build();
    this.restoreInitial();
    this.#restoreDraft();
    this.#load();
  }

  disconnectedCallback() {
    document.removeEventListener("keydown", this.#onKey, { capture: true });
    document.removeEventListener("keyup", this.#onKeyUp);
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get labels() {
    return parseCategories(this.getAttribute("labels"));
  }

  /** Writable, as the managed service's elements are: a template script may set the list
   * (strings or {label} objects) and the label bar is rebuilt. */
  set labels(list) {
    const labels = Array.isArray(list) ? list : parseCategories(String(list ?? ""));
    this.setAttribute(
      "labels",
      JSON.stringify(labels.map((item) => (item && typeof item === "object" ? item.label : item))),
    );
  }

  attributeChangedCallback(name, previous, value) {
    if (name !== "labels" || previous === value || !this.#built || !this.canvas) return;
    const toolbar = this.querySelector(".qa-labels");
    for (const old of this.#labelButtons) old.remove();
    this.#labelButtons = this.#labelButtonsFor(this.labels);
    toolbar?.prepend(...this.#labelButtons);
    this.currentLabel = Math.min(this.currentLabel, Math.max(this.labels.length - 1, 0));
    this.#labelButtons.forEach((button, position) =>
      button.setAttribute("aria-pressed", String(position === this.currentLabel)),
    );
    this.labelsChanged();
    this.invalidate();
  }

  /** Subclasses whose state depends on the labels (a palette) refresh it here. */
  labelsChanged() {}

  get ready() {
    return this.bitmap !== null;
  }

  /** Shown, not edited: the earlier label of a verification task. */
  get readOnly() {
    return this.hasAttribute("readonly");
  }

  // --- What subclasses provide --------------------------------------------------------------
  /** The objects' state as a JSON-able value (undo, drafts). */
  state() {
    return null;
  }
  setState(_state) {}
  /** Fill the state from the `initial-value` attribute. */
  restoreInitial() {}
  /** Draw the objects; the context is already in image coordinates. */
  drawObjects(_context) {}
  /** Draw overlays in screen coordinates (handles, labels). */
  drawOverlay(_context) {}
  pointerDown(_point, _event) {
    return false;
  }
  pointerMove(_point, _event) {}
  pointerUp(_point, _event) {}
  /** Element-specific keys; return true when handled. */
  handleKey(_event) {
    return false;
  }
  /** A label was picked (1–9 or a click); the selected object may take it. */
  labelChosen(_index) {}
  /** A line under the image saying what the tools do. */
  toolHint() {
    return "";
  }
  statusText() {
    return "";
  }
  /** The noun of one object ("box"), for the list and the empty-answer question. */
  get objectNoun() {
    return "object";
  }
  /** The array of {label, hidden?} objects the list shows and edits, or null (no list). */
  get objectArray() {
    return null;
  }
  /** The key declaration of the element's own keys (the common ones are added). */
  ownKeys() {
    return [];
  }

  // --- The object list: by default over `objectArray`; elements with derived objects override.
  /** The rows of the list: [{label, hidden, text?}], or null when there is no list. */
  listObjects() {
    const objects = this.objectArray;
    return objects && objects.map((o) => ({ label: o.label, hidden: Boolean(o.hidden) }));
  }

  /** The row of the selected object, or -1. */
  selectedObject() {
    return Number.isInteger(this.selected) ? this.selected : -1;
  }

  selectObject(index) {
    const object = this.objectArray?.[index];
    if (!object) return;
    object.hidden = false;
    this.select(index);
  }

  relabelObject(index, labelIndex) {
    const object = this.objectArray?.[index];
    const label = this.labels[labelIndex];
    if (!object || label === undefined || object.label === label) return;
    this.remember();
    object.label = label;
    this.changed();
  }

  deleteObject(index) {
    const objects = this.objectArray;
    if (!objects?.[index]) return;
    this.remember();
    objects.splice(index, 1);
    this.selected = -1;
    this.changed();
  }

  toggleObjectHidden(index) {
    const object = this.objectArray?.[index];
    if (!object) return;
    object.hidden = !object.hidden;
    if (object.hidden && this.selected === index) this.selected = -1;
    this.changed();
  }

  /** Why the answer is empty ("" when it is not): <crowd-form> asks before submitting it. */
  emptyAnswerNotice() {
    const objects = this.listObjects();
    if (!this.ready || objects === null || objects.length) return "";
    return `No ${this.objectNoun} is marked on this image.`;
  }

  keyHelp() {
    const noun = this.objectNoun;
    if (this.readOnly) {
      return {
        title: this.getAttribute("header") || "Image",
        keys: [
          { keys: ["+", "−"], does: "zoom in / out" },
          { keys: ["0"], does: "fit the image" },
          { keys: ["←", "→", "↑", "↓"], does: "pan (also a drag)" },
          ...(this.frameCount ? [{ keys: [",", "."], does: "previous / next frame", brief: true }] : []),
        ],
      };
    }
    return {
      title: this.getAttribute("header") || "Image",
      keys: [
        ...this.ownKeys(),
        {
          keys: ["1", "9"],
          range: true,
          does: `label of the next ${noun} (relabels the ${noun} you selected)`,
          brief: true,
        },
        { keys: ["+", "−"], does: "zoom in / out" },
        { keys: ["0"], does: "fit the image" },
        { keys: ["←", "→", "↑", "↓"], does: `pan (with no ${noun} selected)` },
        { keys: ["Space+drag"], does: "pan (also the middle or right button)" },
        { keys: ["Ctrl+Z", "Ctrl+Shift+Z"], does: "undo / redo" },
      ],
    };
  }

  // --- Shared behaviour ---------------------------------------------------------------------
  choose(index) {
    if (!Number.isInteger(index) || index < 0 || index >= this.labels.length) return false;
    this.currentLabel = index;
    this.#labelButtons.forEach((button, position) =>
      button.setAttribute("aria-pressed", String(position === index)),
    );
    this.labelChosen(index);
    this.invalidate();
    return true;
  }

  openInstructions() {
    if (this.#dialog && !this.#dialog.open) this.#dialog.showModal();
  }

  /** Record the state before a change, so Ctrl+Z can bring it back. */
  remember() {
    this.#undo.push(this.snapshot());
    if (this.#undo.length > this.undoDepth) this.#undo.shift();
    this.#redo.length = 0;
  }

  /** How many steps Ctrl+Z goes back. */
  get undoDepth() {
    return UNDO_DEPTH;
  }

  /** A copy of the state for the undo stack (JSON text unless a subclass keeps pixels). */
  snapshot() {
    return JSON.stringify(this.state());
  }

  restoreSnapshot(snapshot) {
    this.setState(JSON.parse(snapshot));
  }

  /** A change is complete: keep the draft, redraw, tell the form. */
  changed() {
    this.#objectList?.markChanged();
    this.#saveDraft();
    this.invalidate();
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }

  /** Drop the last remembered state (a press that changed nothing after all). */
  forget() {
    this.#undo.pop();
  }

  undo() {
    if (!this.#undo.length) return;
    this.#redo.push(this.snapshot());
    this.restoreSnapshot(this.#undo.pop());
    this.changed();
  }

  redo() {
    if (!this.#redo.length) return;
    this.#undo.push(this.snapshot());
    this.restoreSnapshot(this.#redo.pop());
    this.changed();
  }

  /** Draw at once (a benchmark times this); changes otherwise go through invalidate(). */
  renderNow() {
    this.#render();
  }

  invalidate() {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#render();
    });
  }

  toImage(event) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: (event.clientX - rect.left - this.offsetX) / this.scale,
      y: (event.clientY - rect.top - this.offsetY) / this.scale,
    };
  }

  toScreen(x, y) {
    return { x: x * this.scale + this.offsetX, y: y * this.scale + this.offsetY };
  }

  clampPoint(point) {
    return {
      x: Math.min(Math.max(point.x, 0), this.imageWidth),
      y: Math.min(Math.max(point.y, 0), this.imageHeight),
    };
  }

  fit() {
    if (!this.imageWidth) return;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    this.scale = Math.min(width / this.imageWidth, height / this.imageHeight);
    this.offsetX = (width - this.imageWidth * this.scale) / 2;
    this.offsetY = (height - this.imageHeight * this.scale) / 2;
    this.#viewMoved = false;
    this.invalidate();
  }

  zoomAt(factor, screenX, screenY) {
    const minimum = Math.min(
      this.canvas.clientWidth / Math.max(this.imageWidth, 1),
      this.canvas.clientHeight / Math.max(this.imageHeight, 1),
    ) / 4;
    const scale = Math.min(Math.max(this.scale * factor, minimum), MAX_SCALE);
    this.offsetX = screenX - ((screenX - this.offsetX) * scale) / this.scale;
    this.offsetY = screenY - ((screenY - this.offsetY) * scale) / this.scale;
    this.scale = scale;
    this.#viewMoved = true;
    this.invalidate();
  }

  panBy(dx, dy) {
    this.offsetX += dx;
    this.offsetY += dy;
    this.#viewMoved = true;
    this.invalidate();
  }

  colorOfLabel(label) {
    return colorOf(this.labels.indexOf(label));
  }

  imageProperties() {
    return { height: this.imageHeight, width: this.imageWidth };
  }

  // --- Building and loading -----------------------------------------------------------------
  #build() {
    const shortInstructions = this.querySelector(":scope > short-instructions");
    const fullInstructions = this.querySelector(":scope > full-instructions");
    const main = element("section", "qc-main qa-main");
    const header = this.getAttribute("header");
    if (header) main.append(element("h2", "qc-header", header));

    const toolbar = element("div", "qa-labels");
    toolbar.setAttribute("role", "group");
    toolbar.setAttribute("aria-label", "Labels");
    this.#labelButtons = this.#labelButtonsFor(this.labels);
    toolbar.append(...this.#labelButtons);
    this.extraControls(toolbar);

    const stage = element("div", "qa-stage");
    this.canvas = element("canvas", "qa-canvas");
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", header || "Image to annotate");
    stage.append(this.canvas);
    this.context = this.canvas.getContext("2d");
    this.statusLine = element("p", "qa-status", "Loading the image…");
    this.statusLine.setAttribute("aria-live", "polite");
    const hint = element("p", "qa-hint qc-muted", this.toolHint());
    main.append(toolbar, stage);
    this.belowStage(main);
    main.append(this.statusLine, hint);

    const side = element("aside", "qc-side");
    if (this.listObjects() !== null) {
      this.#objectList = new ObjectList(this);
      side.append(this.#objectList.section);
    }
    side.append(element("h3", "qc-side-title", "Instructions"));
    if (shortInstructions) side.append(shortInstructions);
    if (fullInstructions) {
      this.#dialog = this.#instructionsDialog(fullInstructions);
      const more = element("button", "qc-more");
      more.type = "button";
      more.append("Full instructions ", element("kbd", "", "I"));
      more.addEventListener("click", () => this.openInstructions());
      side.append(more);
    }
    const layout = element("div", "qc-layout qa-layout");
    layout.append(main, side);
    this.replaceChildren(layout);
    if (this.#dialog) this.append(this.#dialog);

    new ResizeObserver(() => this.#resize()).observe(stage);
    this.canvas.addEventListener("pointerdown", (event) => this.#down(event));
    this.canvas.addEventListener("pointermove", (event) => this.#move(event));
    this.canvas.addEventListener("pointerup", (event) => this.#up(event));
    this.canvas.addEventListener("pointercancel", (event) => this.#up(event));
    this.canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    this.canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const rect = this.canvas.getBoundingClientRect();
        this.zoomAt(
          Math.exp(-event.deltaY * WHEEL_ZOOM),
          event.clientX - rect.left,
          event.clientY - rect.top,
        );
      },
      { passive: false },
    );
  }

  #labelButtonsFor(labels) {
    return labels.map((label, index) => {
      const button = element("button", "qa-label");
      button.type = "button";
      button.setAttribute("aria-pressed", String(index === this.currentLabel));
      const swatch = element("span", "qa-swatch");
      swatch.style.background = colorOf(index);
      if (index < 9) button.append(element("kbd", "", String(index + 1)));
      button.append(swatch, element("span", "", label));
      button.addEventListener("click", () => this.choose(index));
      return button;
    });
  }

  /** Subclasses may add buttons beside the labels. */
  extraControls(_toolbar) {}

  /** Subclasses may add controls under the image (the video timeline). */
  belowStage(_main) {}

  /** The URL of the first picture to show (a video element: its first frame). */
  firstSource() {
    return this.getAttribute("src");
  }

  /** Show another picture of the same size (a video frame), keeping the view. */
  showPicture(bitmap) {
    this.bitmap = bitmap;
    this.levels = [];
    this.invalidate();
  }

  /** The smallest copy of the image that still has a pixel per device pixel at this zoom. */
  pictureForScale(deviceScale) {
    let best = this.bitmap;
    for (const level of this.levels) {
      if (level.factor >= deviceScale) best = level.bitmap;
    }
    return best;
  }

  async #load() {
    const src = safeUrl(this.firstSource());
    if (!src) {
      this.statusLine.textContent = "This task has no image to show.";
      return;
    }
    try {
      // Decode while the stylesheet loads; lay out only once the stage has its size.
      const [{ bitmap, width, height }] = await Promise.all([decodeImage(src), this.#styled]);
      this.bitmap = bitmap;
      this.imageWidth = width;
      this.imageHeight = height;
    } catch {
      this.statusLine.textContent =
        "The image could not be loaded. Skip this task (S) if it stays blank.";
      return;
    }
    this.#resize();
    this.fit();
    this.imageLoaded();
    this.setAttribute("data-ready", "");
    this.dispatchEvent(new Event("crowd-image-ready", { bubbles: true }));
    const bitmap = this.bitmap;
    const levels = await imagePyramid(bitmap, this.imageWidth, this.imageHeight);
    if (this.bitmap === bitmap) {
      this.levels = levels;
      this.invalidate();
    }
  }

  /** Called once the image is known (size set); subclasses may prepare buffers. */
  imageLoaded() {}

  #resize() {
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    if (!width || !height) return;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    // The stage may get its size late (the stylesheet loads after the element): refit
    // until the labeler has moved the view.
    if (!this.#viewMoved) this.fit();
    this.invalidate();
  }

  #render() {
    this.#objectList?.refresh();
    const context = this.context;
    const started = performance.now();
    const ratio = window.devicePixelRatio || 1;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.bitmap) return;
    context.setTransform(
      ratio * this.scale,
      0,
      0,
      ratio * this.scale,
      ratio * this.offsetX,
      ratio * this.offsetY,
    );
    context.imageSmoothingEnabled = this.scale < 2;
    const picture = this.pictureForScale(this.scale * ratio);
    context.drawImage(picture, 0, 0, this.imageWidth, this.imageHeight);
    this.drawObjects(context);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.drawOverlay(context);
    this.renderCount += 1;
    this.lastRenderMs = performance.now() - started;
    const zoom = `${Math.round(this.scale * 100)}%`;
    const text = `${this.imageWidth}×${this.imageHeight} · zoom ${zoom} · ${this.statusText()}`;
    if (this.statusLine.textContent !== text) this.statusLine.textContent = text;
  }

  visibleRect() {
    return {
      left: -this.offsetX / this.scale,
      top: -this.offsetY / this.scale,
      right: (this.canvas.clientWidth - this.offsetX) / this.scale,
      bottom: (this.canvas.clientHeight - this.offsetY) / this.scale,
    };
  }

  // --- Pointer ------------------------------------------------------------------------------
  #down(event) {
    if (!this.ready) return;
    this.canvas.focus({ preventScroll: true });
    this.canvas.setPointerCapture(event.pointerId);
    if (event.button === 1 || event.button === 2 || this.#spaceDown) {
      this.#panning = { x: event.clientX, y: event.clientY };
      return;
    }
    if (event.button !== 0) return;
    if (this.readOnly) {
      this.#panning = { x: event.clientX, y: event.clientY };
      return;
    }
    this.pointerDown(this.toImage(event), event);
  }

  #move(event) {
    if (this.#panning) {
      this.panBy(event.clientX - this.#panning.x, event.clientY - this.#panning.y);
      this.#panning = { x: event.clientX, y: event.clientY };
      return;
    }
    if (!this.ready) return;
    this.pointerMove(this.toImage(event), event);
  }

  #up(event) {
    if (this.#panning) {
      this.#panning = null;
      return;
    }
    if (!this.ready) return;
    this.pointerUp(this.toImage(event), event);
  }

  // --- Keys ---------------------------------------------------------------------------------
  #handleKey(event) {
    if (event.defaultPrevented || isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (!this.isConnected || this.closest("[inert]")) return;
    const key = event.key;
    if (this.readOnly && (event.ctrlKey || event.metaKey || event.altKey || !VIEW_KEYS.has(key))) {
      return;
    }
    if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "Z")) {
      event.preventDefault();
      if (event.shiftKey) this.redo();
      else this.undo();
      return;
    }
    if ((event.ctrlKey || event.metaKey) && (key === "y" || key === "Y")) {
      event.preventDefault();
      this.redo();
      return;
    }
    if (event.ctrlKey || event.metaKey) return;
    if (this.handleKey(event)) {
      event.preventDefault();
      return;
    }
    if (event.altKey) return;
    if (key === " ") {
      this.#spaceDown = true;
      if (event.target === this.canvas) event.preventDefault();
      return;
    }
    const centreX = this.canvas.clientWidth / 2;
    const centreY = this.canvas.clientHeight / 2;
    const pans = {
      ArrowLeft: [PAN_STEP, 0],
      ArrowRight: [-PAN_STEP, 0],
      ArrowUp: [0, PAN_STEP],
      ArrowDown: [0, -PAN_STEP],
    };
    if (key === "+" || key === "=") this.zoomAt(1.25, centreX, centreY);
    else if (key === "-" || key === "_") this.zoomAt(0.8, centreX, centreY);
    else if (key === "0") this.fit();
    else if (pans[key]) this.panBy(...pans[key]);
    else return;
    event.preventDefault();
  }

  // --- Drafts -------------------------------------------------------------------------------
  #draftKey() {
    const holder = this.closest("[data-assignment-id]");
    const form = this.closest("crowd-form");
    const lease = form?.getAttribute("assignment-id") || holder?.dataset.assignmentId;
    if (this.readOnly) return "";
    return lease ? `quorum-draft:${lease}:${this.localName}:${this.name}` : "";
  }

  /** Whether work in progress is kept in sessionStorage (pixel maps are too big for it). */
  get keepsDrafts() {
    return true;
  }

  #saveDraft() {
    const key = this.keepsDrafts ? this.#draftKey() : "";
    if (!key) return;
    try {
      sessionStorage.setItem(key, JSON.stringify(this.state()));
    } catch {
      // Storage full or off: the work is still in the page.
    }
  }

  #restoreDraft() {
    const key = this.keepsDrafts ? this.#draftKey() : "";
    if (!key) return;
    this.closest("crowd-form")?.addEventListener("quorum:submitted", () =>
      sessionStorage.removeItem(key),
    );
    const draft = sessionStorage.getItem(key);
    if (!draft) return;
    try {
      this.setState(JSON.parse(draft));
    } catch {
      sessionStorage.removeItem(key);
    }
  }

  #instructionsDialog(fullInstructions) {
    dialogCount += 1;
    const titleId = `qa-dialog-title-${dialogCount}`;
    const dialog = element("dialog", "qc-dialog");
    dialog.setAttribute("aria-labelledby", titleId);
    const head = element("div", "qc-dialog-head");
    const title = element("h2", "", fullInstructions.getAttribute("header") || "Instructions");
    title.id = titleId;
    const close = element("button", "qc-dialog-close", "Close");
    close.type = "button";
    close.addEventListener("click", () => dialog.close());
    head.append(title, close);
    const body = element("div", "qc-dialog-body");
    body.append(fullInstructions);
    dialog.append(head, body);
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    return dialog;
  }
}
