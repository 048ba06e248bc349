// <crowd-pairwise-preference>: which of two responses to one prompt is better, and by how much.
//
// Attributes: name, prompt, response-a, response-b (plain text; shown as safe Markdown, see
// _markdown.js), header, value (a preference shown pre-selected: a model's, in a review). Child regions: <short-instructions>, <full-instructions>.
// Keys: A or ← — A is better; B or → — B is better; T or ↓ — a tie; 1–3 the strength
// (1 slightly, 2 clearly, 3 much better; 1 until changed); Enter submits (the form's key).
// Its value: {"preference": "A" | "B" | "tie", "strength": 1 | 2 | 3}, null until chosen.

import { adoptStyles, element } from "./_support.js";
import { instructionsPanel } from "./_regions.js";
import { renderMarkdown } from "./_markdown.js";

const CHOICES = [
  { preference: "A", key: "A", text: "A is better" },
  { preference: "tie", key: "T", text: "Tie" },
  { preference: "B", key: "B", text: "B is better" },
];
const STRENGTHS = ["slightly", "clearly", "much"];
const KEY_TO_PREFERENCE = { a: "A", arrowleft: "A", b: "B", arrowright: "B", t: "tie", arrowdown: "tie" };
const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);

export class CrowdPairwisePreference extends HTMLElement {
  #built = false;
  #preference = null;
  #strength = 1;
  #choiceButtons = [];
  #strengthButtons = [];
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

  get value() {
    return this.#preference ? { preference: this.#preference, strength: this.#strength } : null;
  }

  checkValidity() {
    return this.#preference !== null;
  }

  get validationMessage() {
    return this.#preference ? "" : "Choose A, B or a tie first: press A, B or T.";
  }

  keyHelp() {
    return {
      title: "Pairwise preference",
      keys: [
        { keys: ["A", "←"], does: "A is better", brief: true },
        { keys: ["B", "→"], does: "B is better", brief: true },
        { keys: ["T", "↓"], does: "a tie", brief: true },
        { keys: ["1", "3"], range: true, does: "strength: slightly, clearly, much better", brief: true },
      ],
    };
  }

  /** Set the preference ("A", "B" or "tie"); false for anything else. */
  prefer(preference) {
    if (!CHOICES.some((choice) => choice.preference === preference)) return false;
    this.#preference = preference;
    this.#refresh();
    this.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  /** The form's digit keys: strength 1..3 (``index`` 0..2). */
  choose(index) {
    if (!Number.isInteger(index) || index < 0 || index >= STRENGTHS.length) return false;
    this.#strength = index + 1;
    this.#refresh();
    this.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  openInstructions() {
    this.#panel?.open();
  }

  #handleKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element && (TYPING_TAGS.has(target.tagName) || target.isContentEditable)) return;
    if (document.querySelector("dialog[open]")) return;
    const form = this.closest("crowd-form");
    if (form?.disabled) return;
    const preference = KEY_TO_PREFERENCE[event.key.toLowerCase()];
    if (!preference) return;
    event.preventDefault();
    this.prefer(preference);
  }

  #refresh() {
    for (const button of this.#choiceButtons) {
      button.setAttribute("aria-pressed", String(button.dataset.preference === this.#preference));
    }
    this.#strengthButtons.forEach((button, index) => {
      button.setAttribute("aria-pressed", String(index + 1 === this.#strength));
      button.disabled = this.#preference === "tie";
    });
  }

  #response(label, text) {
    const column = element("section", "qp-response");
    column.dataset.response = label;
    column.append(element("h3", "qp-response-title", `Response ${label}`), renderMarkdown(text));
    return column;
  }

  #build() {
    this.#panel = instructionsPanel(this);
    const main = element("section", "qc-main qp-main");
    if (this.getAttribute("header")) main.append(element("h2", "qc-header", this.getAttribute("header")));
    const prompt = element("div", "qp-prompt");
    prompt.append(element("h3", "qp-response-title", "Prompt"), renderMarkdown(this.getAttribute("prompt") || ""));
    const pair = element("div", "qp-pair");
    pair.append(
      this.#response("A", this.getAttribute("response-a") || ""),
      this.#response("B", this.getAttribute("response-b") || ""),
    );
    const choices = element("div", "qc-choices qp-choices");
    choices.setAttribute("role", "group");
    choices.setAttribute("aria-label", "Which response is better");
    this.#choiceButtons = CHOICES.map((choice) => {
      const button = element("button", "qc-choice");
      button.type = "button";
      button.dataset.preference = choice.preference;
      button.setAttribute("aria-pressed", "false");
      button.append(element("kbd", "", choice.key), element("span", "qc-choice-label", choice.text));
      button.addEventListener("click", () => this.prefer(choice.preference));
      choices.append(button);
      return button;
    });
    const strengths = element("div", "qc-choices qp-strengths");
    strengths.setAttribute("role", "group");
    strengths.setAttribute("aria-label", "Strength");
    this.#strengthButtons = STRENGTHS.map((word, index) => {
      const button = element("button", "qc-choice qp-strength");
      button.type = "button";
      button.append(element("kbd", "", String(index + 1)), element("span", "qc-choice-label", word));
      button.addEventListener("click", () => this.choose(index));
      strengths.append(button);
      return button;
    });
    main.append(prompt, pair, choices, strengths);
    // A review of a model's judgment pre-selects it: value="A" | "B" | "tie".
    const initial = this.getAttribute("value");
    if (CHOICES.some((choice) => choice.preference === initial)) this.#preference = initial;
    const layout = element("div", "qc-layout");
    layout.append(main, this.#panel.aside);
    this.replaceChildren(layout);
    this.#refresh();
  }
}

if (!customElements.get("crowd-pairwise-preference")) {
  customElements.define("crowd-pairwise-preference", CrowdPairwisePreference);
}
