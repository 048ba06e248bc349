// <crowd-rubric-rating>: a Likert score per criterion for one response, with a rationale.
//
// Attributes: name, prompt, response (plain text, shown as safe Markdown: _markdown.js),
// criteria (a JSON array of names), scale (the top score, 5 by default), header. Child
// regions: <short-instructions>, <full-instructions>.
// Keys: 1–scale rate the current criterion and move to the next; ↑/↓ the previous / next
// criterion; Enter submits (the form's key; not while typing the rationale).
// Its value: {"ratings": {"<criterion>": 1..scale}, "rationale": "..."}.

import { adoptStyles, element, jsonAttribute } from "./_support.js";
import { instructionsPanel } from "./_regions.js";
import { renderMarkdown } from "./_markdown.js";

const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);

export class CrowdRubricRating extends HTMLElement {
  #built = false;
  #scores = [];
  #current = 0;
  #rows = [];
  #rationale = null;
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

  get criteria() {
    const list = jsonAttribute(this, "criteria", []);
    return Array.isArray(list) ? list.map((item) => String(item ?? "")).filter(Boolean) : [];
  }

  get scale() {
    const scale = Number(this.getAttribute("scale") || 5);
    return Number.isInteger(scale) && scale >= 2 && scale <= 9 ? scale : 5;
  }

  get value() {
    const ratings = {};
    this.criteria.forEach((name, index) => {
      if (this.#scores[index]) ratings[name] = this.#scores[index];
    });
    return { ratings, rationale: this.#rationale ? this.#rationale.value : "" };
  }

  checkValidity() {
    return this.#missing() < 0;
  }

  get validationMessage() {
    const missing = this.#missing();
    return missing < 0 ? "" : `Rate “${this.criteria[missing]}” first: press 1–${this.scale}.`;
  }

  keyHelp() {
    return {
      title: "Rubric",
      keys: [
        { keys: ["1", String(this.scale)], range: true, does: "rate the current criterion", brief: true },
        { keys: ["↑", "↓"], does: "previous / next criterion", brief: true },
      ],
    };
  }

  /** The form's digit keys: rate the current criterion ``index + 1`` and move on. */
  choose(index) {
    if (!Number.isInteger(index) || index < 0 || index >= this.scale || !this.#rows.length) return false;
    this.rate(this.#current, index + 1);
    if (this.#current < this.#rows.length - 1) this.#current += 1;
    this.#refresh();
    return true;
  }

  /** Rate criterion ``c`` (0-based) ``score`` (1..scale); false when out of range. */
  rate(c, score) {
    if (c < 0 || c >= this.#rows.length || score < 1 || score > this.scale) return false;
    this.#scores[c] = score;
    this.#refresh();
    this.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  openInstructions() {
    this.#panel?.open();
  }

  #missing() {
    return this.criteria.findIndex((_, index) => !this.#scores[index]);
  }

  #handleKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element && (TYPING_TAGS.has(target.tagName) || target.isContentEditable)) return;
    if (document.querySelector("dialog[open]") || this.closest("crowd-form")?.disabled) return;
    const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    this.#current = Math.min(Math.max(this.#current + step, 0), this.#rows.length - 1);
    this.#refresh();
  }

  #refresh() {
    this.#rows.forEach((row, c) => {
      row.classList.toggle("qb-current", c === this.#current);
      row.querySelectorAll(".qb-score").forEach((button) => {
        button.setAttribute("aria-pressed", String(Number(button.dataset.score) === this.#scores[c]));
      });
    });
  }

  #build() {
    this.#panel = instructionsPanel(this);
    const main = element("section", "qc-main qb-main");
    if (this.getAttribute("header")) main.append(element("h2", "qc-header", this.getAttribute("header")));
    const prompt = element("div", "qp-prompt");
    prompt.append(element("h3", "qp-response-title", "Prompt"), renderMarkdown(this.getAttribute("prompt") || ""));
    const response = element("section", "qp-response");
    response.append(element("h3", "qp-response-title", "Response"), renderMarkdown(this.getAttribute("response") || ""));
    const table = element("div", "qb-criteria");
    table.setAttribute("role", "group");
    table.setAttribute("aria-label", "Criteria");
    const criteria = this.criteria;
    this.#scores = criteria.map(() => 0);
    this.#rows = criteria.map((name, c) => {
      const row = element("div", "qb-row");
      row.dataset.criterion = name;
      row.append(element("span", "qb-name", name));
      const scores = element("span", "qb-scores");
      for (let score = 1; score <= this.scale; score += 1) {
        const button = element("button", "qc-choice qb-score", String(score));
        button.type = "button";
        button.dataset.score = String(score);
        button.setAttribute("aria-label", `${name}: ${score}`);
        button.addEventListener("click", () => {
          this.#current = c;
          this.rate(c, score);
        });
        scores.append(button);
      }
      row.append(scores);
      table.append(row);
      return row;
    });
    const label = element("label", "qf-label", "Rationale");
    this.#rationale = element("textarea", "qf-field qb-rationale");
    this.#rationale.rows = 3;
    this.#rationale.maxLength = 5000;
    this.#rationale.setAttribute("data-crowd-internal", "");
    label.append(this.#rationale);
    main.append(prompt, response, table, label);
    const layout = element("div", "qc-layout");
    layout.append(main, this.#panel.aside);
    this.replaceChildren(layout);
    this.#refresh();
  }
}

if (!customElements.get("crowd-rubric-rating")) {
  customElements.define("crowd-rubric-rating", CrowdRubricRating);
}
