// The review service's two built-in review elements.
//
// <crowd-rekognition-detect-moderation-labels>: confirm or change an image's moderation
// labels. Attributes: src, header, categories (strings, or objects with a `name`, in JSON or
// the JavaScript style the documented template's Liquid loop writes), exclusion-category (a
// button that clears and disables the categories: the answer is then empty). Keys 1–9 toggle
// a category (through <crowd-form>). Its answer, under a fixed key:
// {"AWS/Rekognition/DetectModerationLabels/Image/V3": {"ModerationLabels": [...]}} holding
// the chosen categories as given (whole objects, or strings). Quorum's attributes for its
// built-in moderation review: initial-value (JSON names checked at the start: the detected
// labels) and flagged (names the review's conditions picked, outlined); a category object's
// confidence (0–100) is shown beside its name.
//
// <crowd-textract-analyze-document>: review a document's key–value pairs. Attributes: src,
// header, initial-value (the analysis's blocks), block-types (only KEY_VALUE_SET), keys (the
// important keys: [{importantFormKey, importantFormKeyAliases}]), no-key-edit,
// no-geometry-edit. Each detected key is listed with its value's text (editable) and shown
// as a box on the page image; an important key that was not detected can be added with its
// value; with no-key-edit a detected key's text stays as detected. With no-geometry-edit
// (as the managed element requires) boxes stay as detected; without it (Quorum's built-in
// document review) a reviewer moves and resizes them (mouse, or arrows and Shift+arrows on a
// focused box), deletes a wrong pair, and adds a key by drawing its value's box ("Add a
// key", or after adding a missing important key; Escape skips drawing). Quorum's attributes
// confidence-threshold (0–100: pairs below it are highlighted) and flagged (block ids the
// review's conditions picked) mark what to check first. Its answer, under a fixed key:
// {"AWS/Textract/AnalyzeDocument/Forms/V1": {"blocks": [...]}}.

import { adoptStyles, boolAttribute, element } from "./_support.js";
import { parseJsonAttribute } from "./canvas-support.js";
import { instructionsPanel, safeUrl } from "./_regions.js";
import { boxOf, drawBox, makeEditable, place, setBox } from "./_box-editor.js";

const KEYED = 9;
let createdCount = 0;

function imageFigure(host, alt) {
  const figure = element("figure", "qc-image qv-figure");
  const src = safeUrl(host.getAttribute("src"));
  if (!src) {
    figure.textContent = "This task has no image to show.";
    return [figure, null];
  }
  const frame = element("div", "qv-frame");
  const image = element("img");
  image.alt = alt;
  image.src = src;
  frame.append(image);
  figure.append(frame);
  return [figure, frame];
}

export class CrowdRekognitionDetectModerationLabels extends HTMLElement {
  #built = false;
  #chosen = new Set();
  #excluded = false;
  #buttons = [];
  #exclusionButton = null;
  #panel = null;

  static answerKey = "AWS/Rekognition/DetectModerationLabels/Image/V3";

  connectedCallback() {
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    this.#build();
  }

  get answerKey() {
    return CrowdRekognitionDetectModerationLabels.answerKey;
  }

  get categories() {
    const list = parseJsonAttribute(this.getAttribute("categories"), []);
    return (Array.isArray(list) ? list : []).filter(
      (item) => typeof item === "string" || (item && typeof item === "object" && item.name),
    );
  }

  get value() {
    if (this.#excluded) return { ModerationLabels: [] };
    const categories = this.categories;
    return { ModerationLabels: [...this.#chosen].sort((a, b) => a - b).map((i) => categories[i]) };
  }

  checkValidity() {
    return this.#excluded || this.#chosen.size > 0;
  }

  get validationMessage() {
    const none = this.getAttribute("exclusion-category") ? " (or the exclusion button)" : "";
    return `Choose every category that applies${none}.`;
  }

  openInstructions() {
    this.#panel?.open();
  }

  /** Toggle the category at ``index``; false when there is none or they are excluded. */
  choose(index) {
    if (this.#excluded || !Number.isInteger(index) || index < 0 || index >= this.#buttons.length) {
      return false;
    }
    if (this.#chosen.has(index)) this.#chosen.delete(index);
    else this.#chosen.add(index);
    this.#sync();
    return true;
  }

  #sync() {
    this.#buttons.forEach((button, index) => {
      button.setAttribute("aria-pressed", String(this.#chosen.has(index)));
      button.disabled = this.#excluded;
    });
    this.#exclusionButton?.setAttribute("aria-pressed", String(this.#excluded));
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }

  #build() {
    this.#panel = instructionsPanel(this);
    const main = element("section", "qc-main");
    const header = this.getAttribute("header");
    if (header) main.append(element("h2", "qc-header", header));
    const [figure] = imageFigure(this, header || "The image to review");
    const group = element("div", "qc-choices qf-multi");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Moderation categories (choose any)");
    const listOf = (name) => {
      const list = parseJsonAttribute(this.getAttribute(name), []);
      return Array.isArray(list) ? list.map(String) : [];
    };
    const initial = listOf("initial-value");
    const flagged = listOf("flagged");
    this.#buttons = this.categories.map((category, index) => {
      const button = element("button", "qc-choice");
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      if (index < KEYED) button.append(element("kbd", "", String(index + 1)));
      const name = typeof category === "string" ? category : String(category.name);
      const parent = typeof category === "object" && category.parentName ? category.parentName : "";
      button.append(element("span", "qc-choice-label", parent ? `${name} (${parent})` : name));
      if (typeof category === "object" && typeof category.confidence === "number") {
        button.append(element("span", "qv-conf", `${category.confidence.toFixed(0)}%`));
      }
      if (flagged.includes(name)) button.classList.add("qv-flagged");
      if (initial.includes(name)) this.#chosen.add(index);
      button.addEventListener("click", () => this.choose(index));
      group.append(button);
      return button;
    });
    main.append(figure, group);
    const exclusion = this.getAttribute("exclusion-category");
    if (exclusion) {
      const raw = parseJsonAttribute(exclusion, exclusion);
      const text = typeof raw === "object" && raw ? String(raw.text || "None") : String(raw);
      this.#exclusionButton = element("button", "qc-choice qv-exclusion", text);
      this.#exclusionButton.type = "button";
      this.#exclusionButton.setAttribute("aria-pressed", "false");
      this.#exclusionButton.addEventListener("click", () => {
        this.#excluded = !this.#excluded;
        this.#chosen.clear();
        this.#sync();
      });
      main.append(this.#exclusionButton);
    }
    const layout = element("div", "qc-layout");
    layout.append(main, this.#panel.aside);
    this.replaceChildren(layout);
    this.#buttons.forEach((button, index) => button.setAttribute("aria-pressed", String(this.#chosen.has(index))));
  }
}

function keyNames(raw) {
  const list = parseJsonAttribute(raw, []);
  return (Array.isArray(list) ? list : [])
    .map((item) => (typeof item === "string" ? { importantFormKey: item } : item))
    .filter((item) => item && typeof item.importantFormKey === "string" && item.importantFormKey)
    .map((item) => ({
      key: item.importantFormKey,
      aliases: Array.isArray(item.importantFormKeyAliases) ? item.importantFormKeyAliases.map(String) : [],
    }));
}

const normal = (text) => String(text || "").trim().toLowerCase().replace(/[:\s]+$/, "");

export class CrowdTextractAnalyzeDocument extends HTMLElement {
  #built = false;
  #blocks = [];
  #byId = new Map();
  #list = null;
  #frame = null;
  #panel = null;
  #status = null;

  static answerKey = "AWS/Textract/AnalyzeDocument/Forms/V1";

  connectedCallback() {
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    const initial = parseJsonAttribute(this.getAttribute("initial-value"), []);
    const blocks = Array.isArray(initial) ? initial : initial?.blocks || initial?.Blocks || [];
    this.#blocks = blocks.filter((block) => block && typeof block === "object").map((b) => structuredClone(b));
    for (const block of this.#blocks) if (block.id) this.#byId.set(block.id, block);
    this.#build();
  }

  get answerKey() {
    return CrowdTextractAnalyzeDocument.answerKey;
  }

  get value() {
    // A block whose text is in its WORD children (as the analysis gives keys) carries it
    // itself: the words are not part of the answer.
    return {
      blocks: this.#blocks
        .filter((block) => block.blockType === "KEY_VALUE_SET")
        .map((block) => (typeof block.text === "string" ? block : { ...block, text: this.#text(block) })),
    };
  }

  checkValidity() {
    return true;
  }

  get validationMessage() {
    return "";
  }

  openInstructions() {
    this.#panel?.open();
  }

  /** The detected key blocks, each with its value block (or null). */
  get pairs() {
    return this.#blocks
      .filter((block) => block.blockType === "KEY_VALUE_SET" && (block.entityTypes || []).includes("KEY"))
      .map((key) => ({ key, value: this.#valueOf(key) }));
  }

  /** Set the value text of the pair whose key reads ``keyText``; false when there is none. */
  setValue(keyText, text) {
    const pair = this.pairs.find(({ key }) => normal(this.#text(key)) === normal(keyText));
    if (!pair || !pair.value) return false;
    pair.value.text = String(text);
    this.#render();
    return true;
  }

  /** Add a key the analysis missed, with its value (no box). */
  addKey(keyText, valueText) {
    createdCount += 1;
    const stamp = `${Date.now().toString(36)}-${createdCount}`;
    const valueBlock = {
      blockType: "KEY_VALUE_SET",
      id: `quorum-value-${stamp}`,
      entityTypes: ["VALUE"],
      text: String(valueText),
    };
    const keyBlock = {
      blockType: "KEY_VALUE_SET",
      id: `quorum-key-${stamp}`,
      entityTypes: ["KEY"],
      text: String(keyText),
      relationships: [{ type: "VALUE", ids: [valueBlock.id] }],
    };
    for (const block of [keyBlock, valueBlock]) {
      this.#blocks.push(block);
      this.#byId.set(block.id, block);
    }
    this.#render();
    this.dispatchEvent(new Event("change", { bubbles: true }));
    return { key: keyBlock, value: valueBlock };
  }

  /** Delete the pair whose key block is ``keyBlock`` (its key and value blocks). */
  deletePair(keyBlock) {
    const value = this.#valueOf(keyBlock);
    const gone = new Set([keyBlock, value].filter(Boolean));
    this.#blocks = this.#blocks.filter((block) => !gone.has(block));
    for (const block of gone) this.#byId.delete(block.id);
    this.#render();
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }

  get geometryEditable() {
    return this.getAttribute("no-geometry-edit") === null;
  }

  /** Let the reviewer draw the box of ``block`` (then focus ``field``). */
  #drawFor(block, field) {
    if (!this.#frame || !this.geometryEditable) return;
    this.#status?.replaceChildren(
      element("span", "", "Drag on the page to draw the value's box (Escape: no box)."),
    );
    drawBox(this.#frame, (box) => {
      this.#status?.replaceChildren();
      if (box) setBox(block, box);
      this.#render();
      this.dispatchEvent(new Event("change", { bubbles: true }));
      const rows = [...this.#list.querySelectorAll(".qv-pair")];
      const row = rows.find((candidate) => candidate.dataset.keyId === field);
      row?.querySelector(".qv-key")?.focus();
    });
  }

  #valueOf(key) {
    for (const relation of key.relationships || []) {
      if (relation.type !== "VALUE") continue;
      for (const id of relation.ids || []) if (this.#byId.has(id)) return this.#byId.get(id);
    }
    return null;
  }

  #text(block) {
    if (!block) return "";
    if (typeof block.text === "string") return block.text;
    const words = [];
    for (const relation of block.relationships || []) {
      if (relation.type !== "CHILD") continue;
      for (const id of relation.ids || []) {
        const child = this.#byId.get(id);
        if (child && typeof child.text === "string") words.push(child.text);
      }
    }
    return words.join(" ");
  }

  #box(block, className, label, onDelete = null) {
    const box = boxOf(block);
    if (!this.#frame || !box) return;
    const mark = element("div", `qv-box ${className}`);
    place(mark, box);
    if (this.geometryEditable) {
      makeEditable(this.#frame, mark, block, {
        label,
        onChange: () => this.dispatchEvent(new Event("change", { bubbles: true })),
        onDelete,
      });
    }
    this.#frame.append(mark);
    return mark;
  }

  #isLow(key, value) {
    const threshold = Number.parseFloat(this.getAttribute("confidence-threshold") ?? "");
    const flagged = parseJsonAttribute(this.getAttribute("flagged"), []);
    if (Array.isArray(flagged) && (flagged.includes(key.id) || (value && flagged.includes(value.id)))) {
      return true;
    }
    if (!Number.isFinite(threshold)) return false;
    const scores = [key, value].filter((b) => b && typeof b.confidence === "number").map((b) => b.confidence);
    return scores.length > 0 && Math.min(...scores) < threshold;
  }

  #render() {
    if (!this.#list) return;
    this.#frame?.querySelectorAll(".qv-box").forEach((box) => box.remove());
    const keyEditable = !boolAttribute(this, "no-key-edit") && this.getAttribute("no-key-edit") === null;
    const rows = this.pairs.map(({ key, value }, index) => {
      const row = element("li", "qv-pair");
      row.dataset.keyId = key.id;
      const low = this.#isLow(key, value);
      row.classList.toggle("qv-low", low);
      const scores = [key, value].filter((b) => b && typeof b.confidence === "number").map((b) => b.confidence);
      const confidence = scores.length ? ` · ${Math.min(...scores).toFixed(0)}%` : "";
      const keyField = element("input", "qf-field qv-key");
      keyField.value = this.#text(key);
      keyField.readOnly = !keyEditable;
      keyField.setAttribute("aria-label", `Key ${index + 1}`);
      keyField.setAttribute("data-crowd-internal", "");
      keyField.addEventListener("input", () => {
        key.text = keyField.value;
      });
      const valueField = element("input", "qf-field qv-value");
      valueField.value = this.#text(value);
      valueField.setAttribute("aria-label", `Value of ${this.#text(key) || `key ${index + 1}`}`);
      valueField.setAttribute("data-crowd-internal", "");
      valueField.disabled = !value;
      valueField.addEventListener("input", () => {
        if (value) value.text = valueField.value;
        this.dispatchEvent(new Event("change", { bubbles: true }));
      });
      const keyText = this.#text(key) || `key ${index + 1}`;
      const remover = keyEditable ? () => this.deletePair(key) : null;
      const keyBox = this.#box(key, "qv-box-key", `Box of key ${keyText}`, remover);
      const valueBox = this.#box(value, "qv-box-value", `Box of the value of ${keyText}`, remover);
      for (const box of [keyBox, valueBox]) box?.classList.toggle("qv-box-low", low);
      const highlight = (on) => [keyBox, valueBox].forEach((box) => box?.classList.toggle("qv-box-on", on));
      for (const field of [keyField, valueField]) {
        field.addEventListener("focus", () => highlight(true));
        field.addEventListener("blur", () => highlight(false));
      }
      const arrow = element("span", low ? "qv-confidence qv-warn" : "qv-confidence qc-muted", `→${confidence}`);
      if (low) arrow.title = "Low confidence: check this pair";
      row.append(keyField, arrow, valueField);
      if (keyEditable) {
        const remove = element("button", "qf-button qv-delete", "×");
        remove.type = "button";
        remove.setAttribute("aria-label", `Delete the pair ${keyText}`);
        remove.addEventListener("click", () => this.deletePair(key));
        row.append(remove);
      }
      return row;
    });
    this.#list.replaceChildren(...rows);
  }

  #missingKeys() {
    const present = new Set(this.pairs.map(({ key }) => normal(this.#text(key))));
    return keyNames(this.getAttribute("keys")).filter(
      ({ key, aliases }) => ![key, ...aliases].some((name) => present.has(normal(name))),
    );
  }

  #build() {
    this.#panel = instructionsPanel(this);
    const main = element("section", "qc-main");
    const header = this.getAttribute("header");
    if (header) main.append(element("h2", "qc-header", header));
    const [figure, frame] = imageFigure(this, header || "The document to review");
    this.#frame = frame;
    this.#list = element("ol", "qv-pairs");
    const adder = element("div", "qv-adder");
    const missing = this.#missingKeys();
    if (missing.length) {
      const missingLabel = element("p", "qc-muted", "Important keys not found:");
      adder.append(missingLabel);
      for (const { key } of missing) {
        const add = element("button", "qf-button qv-add-missing", `Add “${key}”`);
        add.type = "button";
        add.addEventListener("click", () => {
          const added = this.addKey(key, "");
          add.remove();
          if (!adder.querySelector(".qv-add-missing")) missingLabel.remove();
          this.#list.lastElementChild?.querySelector(".qv-value")?.focus();
          this.#drawFor(added.value, added.key.id);
        });
        adder.append(add);
      }
    }
    const keyEditable = this.getAttribute("no-key-edit") === null;
    if (keyEditable && this.geometryEditable) {
      const addNew = element("button", "qf-button qv-add-key", "Add a key");
      addNew.type = "button";
      addNew.addEventListener("click", () => {
        const added = this.addKey("", "");
        this.#drawFor(added.value, added.key.id);
      });
      adder.append(addNew);
    }
    this.#status = element("p", "qv-status");
    this.#status.setAttribute("role", "status");
    adder.append(this.#status);
    const side = element("div", "qv-side");
    side.append(this.#list, adder);
    const body = element("div", "qv-layout");
    body.append(figure, side);
    main.append(body);
    const layout = element("div", "qc-layout");
    layout.append(main, this.#panel.aside);
    this.replaceChildren(layout);
    this.#render();
  }
}

for (const [tag, type] of [
  ["crowd-rekognition-detect-moderation-labels", CrowdRekognitionDetectModerationLabels],
  ["crowd-textract-analyze-document", CrowdTextractAnalyzeDocument],
]) {
  if (!customElements.get(tag)) customElements.define(tag, type);
}
