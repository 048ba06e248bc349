// <crowd-entity-annotation>: mark spans of a text with labels (named entity recognition).
//
// Attributes: name, text, labels (JSON: ["PER", ...] or [{"label", "shortDisplayName",
// "fullDisplayName"}]), header, initial-value ({"entities": [...]}), and Quorum's own
// allow-overlap (spans may overlap) and tokens (JSON [[start, end], ...]: a pre-tokenized
// text; raw text is split into words and single symbols). Child regions:
// <short-instructions>, <full-instructions>.
//
// Its value is {"entities": [{"label", "startOffset", "endOffset"}]} with offsets counted in
// Unicode code points, as Python counts them, not in the UTF-16 units of JS strings.
//
// Mouse: select text, then click a label (or choose the label first). Keyboard, on the
// focused text: ←/→ move the caret by a token, Shift+←/→ extend the selection, Home/End,
// ↑/↓ ten tokens, 1–9 and 0 label the selection, Delete removes the entity at the caret,
// Escape collapses the selection. The text is rendered in chunks whose layout the browser
// skips while they are off screen, and only the chunks that change are redrawn, so
// documents of 100,000 characters stay responsive.

import { adoptStyles, boolAttribute, element, jsonAttribute } from "./_support.js";

const CHUNK_CODE_POINTS = 1500;
const CHUNK_SLACK_CODE_POINTS = 600; // how far past the size a chunk may run to end well
const PAGE_TOKENS = 10;
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777",
  "#65a30d", "#7c3aed", "#b45309"];
const LABEL_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];
const WORD = /[\p{L}\p{N}\p{M}_'’-]+|[^\s]/gu;

/** Code-point view of a JS string: the offsets Python would give. */
export class CodePointText {
  constructor(text) {
    this.text = text;
    const length16 = text.length;
    this.fromUtf16 = new Int32Array(length16 + 1);
    const toUtf16 = [];
    let points = 0;
    for (let unit = 0; unit < length16; ) {
      const code = text.codePointAt(unit);
      const width = code > 0xffff ? 2 : 1;
      toUtf16.push(unit);
      this.fromUtf16[unit] = points;
      if (width === 2) this.fromUtf16[unit + 1] = points + 1;
      unit += width;
      points += 1;
    }
    toUtf16.push(length16);
    this.fromUtf16[length16] = points;
    this.toUtf16 = Int32Array.from(toUtf16);
    this.length = points;
  }

  slice(start, end) {
    return this.text.slice(this.toUtf16[start], this.toUtf16[end]);
  }
}

function normaliseLabels(raw) {
  const list = Array.isArray(raw) ? raw : [];
  return list
    .map((item) => (typeof item === "string" ? { label: item } : item))
    .filter((item) => item && typeof item.label === "string" && item.label)
    .map((item, index) => ({
      label: item.label,
      short: item.shortDisplayName || item.label,
      full: item.fullDisplayName || item.label,
      color: COLORS[index % COLORS.length],
    }));
}

export class CrowdEntityAnnotation extends HTMLElement {
  #built = false;
  #text = null;
  #starts = null; // token start offsets (code points)
  #ends = null;
  #labels = [];
  #entities = [];
  #caret = 0; // token index
  #anchor = 0; // token index where the selection began
  #pending = null; // a mouse selection waiting for a label: [start, end]
  #keyboardSelection = false; // the caret was moved since the last label
  #active = -1; // label chosen before selecting
  #chunks = [];
  #chunkStarts = null;
  #doc = null;
  #status = null;
  #list = null;
  #labelButtons = [];

  connectedCallback() {
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    this.#text = new CodePointText(this.getAttribute("text") || "");
    this.#labels = normaliseLabels(jsonAttribute(this, "labels", []));
    this.#tokenize(jsonAttribute(this, "tokens", null));
    const initial = jsonAttribute(this, "initial-value", null);
    for (const entity of (initial && initial.entities) || []) this.#addEntity(entity, true);
    this.#build();
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get allowOverlap() {
    return boolAttribute(this, "allow-overlap");
  }

  get value() {
    return {
      entities: this.#entities.map(({ label, startOffset, endOffset }) => ({
        label,
        startOffset,
        endOffset,
      })),
    };
  }

  checkValidity() {
    return true; // a text without entities is a valid answer
  }

  /** Label the code-point range [start, end) with the label at ``labelIndex``. */
  annotate(start, end, labelIndex) {
    const label = this.#labels[labelIndex];
    if (!label) return this.#say(`There is no label ${labelIndex + 1}.`), false;
    return this.#addEntity({ label: label.label, startOffset: start, endOffset: end });
  }

  /** Select the tokens covering the code-point range [start, end) (for scripts and tests). */
  selectRange(start, end) {
    this.#anchor = this.#tokenAt(start);
    this.#moveCaret(this.#tokenAt(Math.max(start, end - 1)), true);
  }

  openInstructions() {
    this.querySelector("dialog")?.showModal();
  }

  // --- Tokens and entities ------------------------------------------------------------------

  #tokenize(given) {
    const starts = [];
    const ends = [];
    if (Array.isArray(given) && given.length) {
      for (const pair of given) {
        if (Array.isArray(pair) && pair[1] > pair[0] && pair[1] <= this.#text.length) {
          starts.push(pair[0]);
          ends.push(pair[1]);
        }
      }
    } else {
      for (const match of this.#text.text.matchAll(WORD)) {
        starts.push(this.#text.fromUtf16[match.index]);
        ends.push(this.#text.fromUtf16[match.index + match[0].length]);
      }
    }
    if (!starts.length && this.#text.length) {
      starts.push(0);
      ends.push(this.#text.length);
    }
    this.#starts = Int32Array.from(starts);
    this.#ends = Int32Array.from(ends);
  }

  /** The token holding code point ``offset`` (or the nearest one before it). */
  #tokenAt(offset) {
    let low = 0;
    let high = this.#starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.#starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return Math.max(0, low);
  }

  #selection() {
    if (this.#pending) return this.#pending;
    if (!this.#starts.length) return null;
    const first = Math.min(this.#anchor, this.#caret);
    const last = Math.max(this.#anchor, this.#caret);
    return [this.#starts[first], this.#ends[last]];
  }

  #addEntity(entity, quiet = false) {
    const start = Number(entity.startOffset);
    const end = Number(entity.endOffset);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start
        || end > this.#text.length) {
      if (!quiet) this.#say("That span is outside the text.");
      return false;
    }
    if (!this.#labels.some((label) => label.label === entity.label)) return false;
    const same = this.#entities.find((e) => e.startOffset === start && e.endOffset === end
      && e.label === entity.label);
    if (same) return false;
    const clash = this.#entities.find((e) => e.startOffset < end && start < e.endOffset);
    if (clash && !this.allowOverlap) {
      if (!quiet) {
        this.#say(`That overlaps “${this.#text.slice(clash.startOffset, clash.endOffset)}” ` +
          `(${clash.label}); this job does not allow overlapping spans. Delete it first.`);
      }
      return false;
    }
    this.#entities.push({ label: entity.label, startOffset: start, endOffset: end });
    this.#entities.sort((a, b) => a.startOffset - b.startOffset || a.endOffset - b.endOffset);
    if (!quiet) {
      this.#redraw(start, end);
      this.#renderList();
      this.#say(`Labeled “${this.#text.slice(start, end)}” as ${entity.label}.`);
      this.dispatchEvent(new Event("change", { bubbles: true }));
    }
    return true;
  }

  #removeAtCaret() {
    const offset = this.#starts[this.#caret];
    const index = this.#entities.findLastIndex(
      (e) => e.startOffset <= offset && offset < e.endOffset,
    );
    if (index < 0) return this.#say("No entity at the caret.");
    this.#remove(index);
  }

  #remove(index) {
    const [removed] = this.#entities.splice(index, 1);
    this.#redraw(removed.startOffset, removed.endOffset);
    this.#renderList();
    this.#say(`Removed ${removed.label} “${this.#text.slice(removed.startOffset,
      removed.endOffset)}”.`);
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // --- Building and drawing -----------------------------------------------------------------

  #build() {
    const shortInstructions = this.querySelector(":scope > short-instructions");
    const fullInstructions = this.querySelector(":scope > full-instructions");
    const main = element("section", "qe-main");
    const header = this.getAttribute("header");
    if (header) main.append(element("h2", "qc-header", header));
    const labels = element("div", "qe-labels");
    labels.setAttribute("role", "group");
    labels.setAttribute("aria-label", "Labels");
    this.#labelButtons = this.#labels.map((label, index) => {
      const button = element("button", "qe-label");
      button.type = "button";
      button.style.setProperty("--qe-color", label.color);
      button.title = label.full;
      button.setAttribute("aria-pressed", "false");
      if (index < LABEL_KEYS.length) button.append(element("kbd", "", LABEL_KEYS[index]), " ");
      button.append(label.short);
      button.addEventListener("click", () => this.#chooseLabel(index));
      labels.append(button);
      return button;
    });
    this.#doc = element("div", "qe-doc");
    this.#doc.tabIndex = 0;
    this.#doc.setAttribute("role", "application");
    this.#doc.setAttribute("aria-roledescription", "text to annotate");
    this.#doc.setAttribute("aria-label",
      "Text to annotate. Arrow keys move by word, Shift with arrows selects, " +
      "number keys label the selection, Delete removes the entity at the caret.");
    this.#doc.addEventListener("keydown", (event) => this.#onKey(event));
    this.#doc.addEventListener("mouseup", () => this.#onMouseUp());
    this.#status = element("p", "qe-status");
    this.#status.setAttribute("role", "status");
    this.#status.setAttribute("aria-live", "polite");
    main.append(labels, this.#doc, this.#status);
    this.#buildChunks();

    const side = element("aside", "qc-side");
    side.append(element("h3", "qc-side-title", "Entities"));
    this.#list = element("ul", "qe-list");
    side.append(this.#list);
    if (shortInstructions) side.append(shortInstructions);
    const layout = element("div", "qe-layout");
    layout.append(main, side);
    this.replaceChildren(layout);
    if (fullInstructions) {
      const dialog = element("dialog", "qc-dialog");
      const close = element("button", "qc-dialog-close", "Close");
      close.type = "button";
      close.addEventListener("click", () => dialog.close());
      dialog.append(close, fullInstructions);
      this.append(dialog);
    }
    this.#renderList();
    this.#focusOnOpen();
  }

  /** The text takes the focus when the task opens (keys work at once), unless the page has
   * put it somewhere already. */
  #focusOnOpen() {
    const focus = () => {
      const active = document.activeElement;
      if (this.isConnected && !this.closest("[inert]") && (!active || active === document.body)) {
        this.#doc.focus({ preventScroll: true });
      }
    };
    focus();
    requestAnimationFrame(focus); // the first try may come before the page is laid out
  }

  keyHelp() {
    const count = Math.min(this.#labels.length, LABEL_KEYS.length);
    const last = LABEL_KEYS[count - 1] ?? "1";
    return {
      title: this.getAttribute("header") || "Text",
      keys: [
        { keys: ["←", "→"], does: "move the caret by a word (on the focused text)", brief: true },
        { keys: ["Shift+←", "Shift+→"], does: "extend the selection", brief: true },
        { keys: ["↑", "↓"], does: "ten words back / on" },
        { keys: ["Home", "End"], does: "start / end of the text" },
        { keys: ["1", last], range: true, does: "label the selection", brief: true },
        { keys: ["Delete", "Backspace"], does: "remove the entity at the caret" },
        { keys: ["Esc"], does: "collapse the selection" },
      ],
    };
  }

  #buildChunks() {
    const starts = [0];
    let next = CHUNK_CODE_POINTS;
    // Chunks start on a token so a token is never split between two of them, preferably
    // after a line break or a sentence's end, where the break between blocks is not seen.
    for (let token = 1; token < this.#starts.length; token += 1) {
      if (this.#starts[token] < next) continue;
      const gap = this.#text.slice(this.#ends[token - 1], this.#starts[token]);
      const previous = this.#text.slice(this.#starts[token - 1], this.#ends[token - 1]);
      const natural = gap.includes("\n") || /^[.!?;:]$/u.test(previous);
      if (natural || this.#starts[token] >= next + CHUNK_SLACK_CODE_POINTS) {
        starts.push(this.#starts[token]);
        next = this.#starts[token] + CHUNK_CODE_POINTS;
      }
    }
    this.#chunkStarts = Int32Array.from(starts);
    this.#chunks = starts.map(() => {
      const chunk = element("div", "qe-chunk");
      this.#doc.append(chunk);
      return chunk;
    });
    this.#chunks.forEach((_, index) => this.#drawChunk(index));
  }

  #chunkOf(offset) {
    let low = 0;
    let high = this.#chunkStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.#chunkStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  #chunkEnd(index) {
    return index + 1 < this.#chunkStarts.length ? this.#chunkStarts[index + 1] : this.#text.length;
  }

  #redraw(start, end) {
    const last = this.#chunkOf(Math.max(start, end - 1));
    for (let index = this.#chunkOf(start); index <= last; index += 1) this.#drawChunk(index);
  }

  #drawChunk(index) {
    const chunkStart = this.#chunkStarts[index];
    const chunkEnd = this.#chunkEnd(index);
    const selection = this.#selection();
    const caretToken = this.#starts.length ? this.#caret : -1;
    const caretRange = caretToken >= 0
      ? [this.#starts[caretToken], this.#ends[caretToken]] : null;
    const inside = this.#entities.filter(
      (e) => e.startOffset < chunkEnd && chunkStart < e.endOffset,
    );
    const cuts = new Set([chunkStart, chunkEnd]);
    const clip = (value) => Math.min(chunkEnd, Math.max(chunkStart, value));
    for (const e of inside) {
      cuts.add(clip(e.startOffset));
      cuts.add(clip(e.endOffset));
    }
    for (const range of [selection, caretRange]) {
      if (range) {
        cuts.add(clip(range[0]));
        cuts.add(clip(range[1]));
      }
    }
    const points = [...cuts].sort((a, b) => a - b);
    const nodes = [];
    for (let i = 0; i + 1 < points.length; i += 1) {
      const [from, to] = [points[i], points[i + 1]];
      if (from === to) continue;
      const span = element("span", "", this.#text.slice(from, to));
      span.dataset.start = String(from);
      const covering = inside.filter((e) => e.startOffset <= from && to <= e.endOffset);
      if (covering.length) {
        const top = covering[covering.length - 1];
        const label = this.#labels.find((l) => l.label === top.label);
        span.classList.add("qe-entity");
        span.style.setProperty("--qe-color", label ? label.color : "#555");
        span.dataset.depth = String(Math.min(covering.length - 1, 1));
        span.title = covering.map((e) => e.label).join(", ");
      }
      if (selection && selection[0] <= from && to <= selection[1]) {
        span.classList.add("qe-selection");
      }
      // Shown only while the text has focus (CSS), so focus changes redraw nothing.
      if (caretRange && caretRange[0] <= from && to <= caretRange[1]) {
        span.classList.add("qe-caret");
      }
      nodes.push(span);
    }
    this.#chunks[index].replaceChildren(...nodes);
  }

  #renderList() {
    const items = this.#entities.map((entity, index) => {
      const label = this.#labels.find((l) => l.label === entity.label);
      const item = element("li");
      const swatch = element("span", "qe-swatch");
      swatch.style.setProperty("--qe-color", label ? label.color : "#555");
      const remove = element("button", "qf-link", "Delete");
      remove.type = "button";
      remove.setAttribute("aria-label", `Delete ${entity.label} ${this.#text.slice(
        entity.startOffset, entity.endOffset)}`);
      remove.addEventListener("click", () => this.#remove(index));
      item.append(swatch, element("strong", "", entity.label),
        element("q", "", this.#text.slice(entity.startOffset, entity.endOffset)), remove);
      return item;
    });
    if (!items.length) items.push(element("li", "qc-muted", "None yet."));
    this.#list.replaceChildren(...items);
  }

  #say(text) {
    if (this.#status) this.#status.textContent = text;
  }

  // --- Input ------------------------------------------------------------------------------

  /** A label's button or key: label the selection, or choose the label for the next one. */
  #chooseLabel(index) {
    const range = this.#pending || (this.#keyboardSelection ? this.#selection() : null);
    if (range) {
      this.annotate(range[0], range[1], index);
      this.#collapse();
      return true;
    }
    if (index < 0 || index >= this.#labels.length) return false;
    this.#active = this.#active === index ? -1 : index;
    this.#labelButtons.forEach((button, position) =>
      button.setAttribute("aria-pressed", String(position === this.#active)),
    );
    this.#say(this.#active >= 0
      ? `${this.#labels[index].label} chosen: now select the text to label.` : "");
    return true;
  }

  /** The crowd-form's number keys, when the text itself is not focused. */
  choose(index) {
    return this.#chooseLabel(index);
  }

  #moveCaret(token, extend) {
    if (!this.#starts.length) return;
    const before = this.#selection();
    const oldCaret = this.#caret;
    this.#pending = null;
    this.#keyboardSelection = true;
    this.#caret = Math.min(this.#starts.length - 1, Math.max(0, token));
    if (!extend) this.#anchor = this.#caret;
    const after = this.#selection();
    this.#redraw(Math.min(before[0], this.#starts[oldCaret]),
      Math.max(before[1], this.#ends[oldCaret]));
    this.#redraw(after[0], after[1]);
    const caretSpan = this.#chunks[this.#chunkOf(this.#starts[this.#caret])]
      .querySelector(".qe-caret");
    caretSpan?.scrollIntoView({ block: "nearest" });
    const [start, end] = after;
    const shown = end - start > 60
      ? `${this.#text.slice(start, start + 28)}…${this.#text.slice(end - 28, end)}`
      : this.#text.slice(start, end);
    this.#say(`${extend ? "Selected" : "At"} “${shown}” (${start}–${end}).`);
  }

  #collapse() {
    const range = this.#selection();
    this.#pending = null;
    this.#keyboardSelection = false;
    this.#anchor = this.#caret;
    if (range) this.#redraw(range[0], range[1]);
    this.#redraw(this.#starts[this.#caret] ?? 0, this.#ends[this.#caret] ?? 0);
  }

  #onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const { key, shiftKey } = event;
    const moves = {
      ArrowRight: this.#caret + 1,
      ArrowLeft: this.#caret - 1,
      ArrowDown: this.#caret + PAGE_TOKENS,
      ArrowUp: this.#caret - PAGE_TOKENS,
      Home: 0,
      End: this.#starts.length - 1,
    };
    if (key in moves) {
      event.preventDefault();
      this.#moveCaret(moves[key], shiftKey);
    } else if (LABEL_KEYS.includes(key)) {
      event.preventDefault();
      const range = this.#selection();
      if (range) this.annotate(range[0], range[1], LABEL_KEYS.indexOf(key));
      this.#collapse();
    } else if (key === "Delete" || key === "Backspace") {
      event.preventDefault();
      this.#removeAtCaret();
    } else if (key === "Escape") {
      event.preventDefault();
      this.#collapse();
    }
  }

  #offsetOf(node, offset) {
    const holder = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    const span = holder?.closest("[data-start]");
    if (!span || !this.#doc.contains(span)) return null;
    const before = node.nodeType === Node.TEXT_NODE ? node.data.slice(0, offset) : "";
    return Number(span.dataset.start) + [...before].length;
  }

  #onMouseUp() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed) return;
    let start = this.#offsetOf(selection.anchorNode, selection.anchorOffset);
    let end = this.#offsetOf(selection.focusNode, selection.focusOffset);
    if (start === null || end === null) return;
    if (start > end) [start, end] = [end, start];
    // Trim white space, then snap a pre-tokenized text to whole tokens.
    while (start < end && /\s/u.test(this.#text.slice(start, start + 1))) start += 1;
    while (end > start && /\s/u.test(this.#text.slice(end - 1, end))) end -= 1;
    if (start >= end) return;
    if (this.hasAttribute("tokens")) {
      start = this.#starts[this.#tokenAt(start)];
      end = this.#ends[this.#tokenAt(end - 1)];
    }
    selection.removeAllRanges();
    if (this.#active >= 0) {
      this.annotate(start, end, this.#active);
      return;
    }
    const before = this.#selection();
    this.#pending = [start, end];
    if (before) this.#redraw(before[0], before[1]);
    this.#redraw(start, end);
    this.#say(`Selected “${this.#text.slice(start, end)}”: press a label's number or click it.`);
  }
}

if (!customElements.get("crowd-entity-annotation")) {
  customElements.define("crowd-entity-annotation", CrowdEntityAnnotation);
}
