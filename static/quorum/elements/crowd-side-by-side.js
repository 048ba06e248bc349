// <crowd-side-by-side>: two model outputs on one prompt, judged on each dimension and overall.
//
// Attributes: name, prompt, response-a, response-b (plain text; shown as safe Markdown, see
// _markdown.js), dimensions (a JSON array of names; "overall" is added last when missing),
// header, label-a / label-b (column titles, "Response A" / "Response B" by default).
// Child regions: <short-instructions>, <full-instructions>.
// Keys (on the current dimension, highlighted): 1 A is better, 2 a tie, 3 B is better;
// Shift+1 / Shift+2 / Shift+3 the strength (slightly, better, much better) and on to the next
// dimension; ↑ / ↓ the previous / next dimension; Y scrolls A and B together or not;
// Enter submits (the form's key); keys typed in the rationale stay text.
// Its value: {"dimensions": {"<name>": {"preference": "A" | "B" | "tie", "strength": 1..3}},
// "rationale": "..."}.

import { adoptStyles, element } from "./_support.js";
import { instructionsPanel } from "./_regions.js";
import { renderMarkdown } from "./_markdown.js";
import { parseJsonAttribute } from "./canvas-support.js";

const SIDES = [
  { preference: "A", key: "1", text: "A" },
  { preference: "tie", key: "2", text: "Tie" },
  { preference: "B", key: "3", text: "B" },
];
const STRENGTHS = ["slightly", "better", "much better"];
const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);

export class CrowdSideBySide extends HTMLElement {
  #built = false;
  #choices = []; // per dimension: {preference, strength}
  #rows = [];
  #current = 0;
  #sync = true;
  #syncBox = null;
  #rationale = null;
  #columns = [];
  #panel = null;
  #onKey = (event) => this.#handleKey(event);

  connectedCallback() {
    document.addEventListener("keydown", this.#onKey);
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    this.#build();
  }

  disconnectedCallback() {
    document.removeEventListener("keydown", this.#onKey);
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get dimensions() {
    const list = parseJsonAttribute(this.getAttribute("dimensions"), []);
    const names = (Array.isArray(list) ? list : []).map(String).filter(Boolean);
    return names.includes("overall") ? names : [...names, "overall"];
  }

  get value() {
    const dimensions = {};
    this.dimensions.forEach((name, d) => {
      const choice = this.#choices[d];
      if (choice.preference) dimensions[name] = { preference: choice.preference, strength: choice.strength };
    });
    return { dimensions, rationale: this.#rationale ? this.#rationale.value : "" };
  }

  checkValidity() {
    return this.#problem() === null;
  }

  get validationMessage() {
    return this.#problem() || "";
  }

  keyHelp() {
    return {
      title: "Side by side",
      keys: [
        { keys: ["1"], does: "A is better (current dimension)", brief: true },
        { keys: ["2"], does: "a tie", brief: true },
        { keys: ["3"], does: "B is better", brief: true },
        { keys: ["Shift+1", "Shift+3"], range: true, does: "strength: slightly, better, much better; next dimension", brief: true },
        { keys: ["↑", "↓"], does: "previous / next dimension" },
        { keys: ["Y"], does: "scroll A and B together, or each on its own" },
      ],
    };
  }

  /** The form's digit keys: 0 A, 1 tie, 2 B on the current dimension. */
  choose(index) {
    const side = SIDES[index];
    if (!side) return false;
    this.prefer(this.#current, side.preference);
    if (side.preference === "tie") this.focusDimension(this.#current + 1);
    return true;
  }

  /** Set dimension ``d``'s preference ("A", "B" or "tie"); false for anything else. */
  prefer(d, preference) {
    if (!this.#choices[d] || !SIDES.some((side) => side.preference === preference)) return false;
    this.#choices[d].preference = preference;
    this.#current = d;
    this.#changed();
    return true;
  }

  /** Set dimension ``d``'s strength (1..3). */
  strengthen(d, strength) {
    if (!this.#choices[d] || ![1, 2, 3].includes(strength)) return false;
    this.#choices[d].strength = strength;
    this.#current = d;
    this.#changed();
    return true;
  }

  focusDimension(d) {
    this.#current = Math.max(0, Math.min(this.#rows.length - 1, d));
    this.#refresh();
    this.#rows[this.#current]?.scrollIntoView({ block: "nearest" });
  }

  openInstructions() {
    this.#panel?.open();
  }

  #problem() {
    const missing = this.dimensions.find((_, d) => !this.#choices[d]?.preference);
    return missing ? `Choose A, B or a tie on “${missing}” (keys 1, 2, 3).` : null;
  }

  #changed() {
    this.#refresh();
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }

  #handleKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element && (TYPING_TAGS.has(target.tagName) || target.isContentEditable)) return;
    if (document.querySelector("dialog[open]")) return;
    if (this.closest("crowd-form")?.disabled) return;
    const digit = /^Digit([1-3])$/.exec(event.code || "");
    if (event.shiftKey && digit) {
      event.preventDefault();
      this.strengthen(this.#current, Number(digit[1]));
      this.focusDimension(this.#current + 1);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      this.focusDimension(this.#current + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "y" || event.key === "Y") {
      event.preventDefault();
      this.#sync = !this.#sync;
      this.#syncBox.checked = this.#sync;
    }
  }

  #refresh() {
    this.#rows.forEach((row, d) => {
      const choice = this.#choices[d];
      row.classList.toggle("qs-current", d === this.#current);
      row.setAttribute("aria-current", String(d === this.#current));
      for (const button of row.querySelectorAll("[data-preference]")) {
        button.setAttribute("aria-pressed", String(button.dataset.preference === choice.preference));
      }
      for (const button of row.querySelectorAll("[data-strength]")) {
        button.setAttribute("aria-pressed", String(Number(button.dataset.strength) === choice.strength));
        button.disabled = choice.preference === "tie";
      }
    });
  }

  #column(label, text) {
    const column = element("section", "qp-response qs-response");
    column.dataset.response = label;
    column.append(element("h3", "qp-response-title", label), renderMarkdown(text));
    column.addEventListener("scroll", () => {
      if (!this.#sync || this.#columns.length !== 2) return;
      const other = this.#columns.find((node) => node !== column);
      const range = column.scrollHeight - column.clientHeight;
      const share = range > 0 ? column.scrollTop / range : 0;
      const target = Math.round(share * (other.scrollHeight - other.clientHeight));
      if (Math.abs(other.scrollTop - target) > 1) other.scrollTop = target;
    });
    return column;
  }

  #dimensionRow(name, d) {
    const row = element("div", "qs-dimension");
    row.dataset.dimension = name;
    row.append(element("span", "qs-dimension-name", name));
    const sides = element("div", "qc-choices qs-sides");
    sides.setAttribute("role", "group");
    sides.setAttribute("aria-label", `${name}: which is better`);
    for (const side of SIDES) {
      const button = element("button", "qc-choice");
      button.type = "button";
      button.dataset.preference = side.preference;
      button.append(element("kbd", "", side.key), element("span", "qc-choice-label", side.text));
      button.addEventListener("click", () => this.prefer(d, side.preference));
      sides.append(button);
    }
    const strengths = element("div", "qc-choices qs-strengths");
    strengths.setAttribute("role", "group");
    strengths.setAttribute("aria-label", `${name}: by how much`);
    STRENGTHS.forEach((word, index) => {
      const button = element("button", "qc-choice qp-strength");
      button.type = "button";
      button.dataset.strength = String(index + 1);
      button.append(element("kbd", "", `⇧${index + 1}`), element("span", "qc-choice-label", word));
      button.addEventListener("click", () => this.strengthen(d, index + 1));
      strengths.append(button);
    });
    row.append(sides, strengths);
    row.addEventListener("click", () => {
      this.#current = d;
      this.#refresh();
    });
    return row;
  }

  #build() {
    this.#panel = instructionsPanel(this);
    const main = element("section", "qc-main qs-main");
    if (this.getAttribute("header")) main.append(element("h2", "qc-header", this.getAttribute("header")));
    const prompt = element("div", "qp-prompt");
    prompt.append(element("h3", "qp-response-title", "Prompt"), renderMarkdown(this.getAttribute("prompt") || ""));
    const pair = element("div", "qp-pair");
    this.#columns = [
      this.#column(this.getAttribute("label-a") || "Response A", this.getAttribute("response-a") || ""),
      this.#column(this.getAttribute("label-b") || "Response B", this.getAttribute("response-b") || ""),
    ];
    pair.append(...this.#columns);
    const syncLabel = element("label", "qf-check-row qs-sync");
    this.#syncBox = element("input");
    this.#syncBox.type = "checkbox";
    this.#syncBox.checked = true;
    this.#syncBox.setAttribute("data-crowd-internal", "");
    this.#syncBox.addEventListener("change", () => {
      this.#sync = this.#syncBox.checked;
    });
    syncLabel.append(this.#syncBox, " Scroll A and B together ", element("kbd", "", "Y"));
    const dimensions = this.dimensions;
    this.#choices = dimensions.map(() => ({ preference: null, strength: 1 }));
    this.#rows = dimensions.map((name, d) => this.#dimensionRow(name, d));
    const table = element("div", "qs-dimensions");
    table.append(...this.#rows);
    const rationaleLabel = element("label", "qf-label", "Rationale");
    this.#rationale = element("textarea", "qf-field qs-rationale");
    this.#rationale.rows = 3;
    this.#rationale.setAttribute("data-crowd-internal", "");
    this.#rationale.addEventListener("input", () => this.dispatchEvent(new Event("change", { bubbles: true })));
    rationaleLabel.append(this.#rationale);
    main.append(prompt, pair, syncLabel, table, rationaleLabel);
    const layout = element("div", "qc-layout");
    layout.append(main, this.#panel.aside);
    this.replaceChildren(layout);
    this.#refresh();
  }
}

if (!customElements.get("crowd-side-by-side")) {
  customElements.define("crowd-side-by-side", CrowdSideBySide);
}
