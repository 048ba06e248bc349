// <crowd-question-answer-generation>: write question–answer pairs about a text.
//
// Attributes (as the managed service's element): name, text, min-questions (default 1),
// max-questions, question-min-words (1), question-max-words, answer-min-words (1),
// answer-max-words, question-tags (a JSON array of strings; none shows no tags),
// allow-custom-question-tags. Select part of the text and press "Use selection" to take it
// as the answer (its code-point offsets are kept). Its value:
// {"questionAnswerPairs": [{"question", "answer", "answerStart"?, "answerEnd"?, "tags"}]}.
// Quorum's additions: text-format="markdown" shows the text as safe Markdown (_markdown.js;
// a selection taken as the answer then keeps no offsets); Ctrl+Enter adds a pair when the
// last one is written (or goes to its empty field), and submits the form at the maximum;
// Ctrl+Shift+Enter submits; `?` lists the keys (keyHelp).

import { adoptStyles, boolAttribute, element } from "./_support.js";
import { parseJsonAttribute } from "./canvas-support.js";
import { instructionsPanel, wordCount } from "./_regions.js";
import { renderMarkdown } from "./_markdown.js";

function intAttribute(host, name, fallback) {
  const value = Number.parseInt(host.getAttribute(name) ?? "", 10);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

export class CrowdQuestionAnswerGeneration extends HTMLElement {
  #built = false;
  #pairs = []; // {question, answer, answerStart, answerEnd, tags: Set, node}
  #list = null;
  #textNode = null;
  #addButton = null;
  #panel = null;

  connectedCallback() {
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    this.#build();
    this.addEventListener("keydown", (event) => this.#handleKey(event));
  }

  keyHelp() {
    return {
      title: "Question–answer pairs",
      keys: [
        { keys: ["Ctrl+Enter"], does: "add a pair (submit at the maximum)", brief: true },
        { keys: ["Ctrl+Shift+Enter"], does: "submit" },
        { keys: ["Tab"], does: "next field or tag" },
      ],
    };
  }

  get #markdown() {
    return (this.getAttribute("text-format") || "").toLowerCase() === "markdown";
  }

  #handleKey(event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.altKey) return;
    event.preventDefault();
    event.stopPropagation();
    const form = this.closest("crowd-form");
    if (event.shiftKey) {
      form?.submit();
      return;
    }
    const last = this.#pairs.at(-1);
    if (last && (!last.question.trim() || !last.answer.trim())) {
      const areas = last.node.querySelectorAll("textarea");
      (last.question.trim() ? areas[1] : areas[0])?.focus();
      return;
    }
    if (this.#pairs.length < this.limits.maxQuestions) this.addPair();
    else form?.submit();
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get limits() {
    return {
      minQuestions: intAttribute(this, "min-questions", 1),
      maxQuestions: intAttribute(this, "max-questions", Infinity),
      questionMin: intAttribute(this, "question-min-words", 1),
      questionMax: intAttribute(this, "question-max-words", Infinity),
      answerMin: intAttribute(this, "answer-min-words", 1),
      answerMax: intAttribute(this, "answer-max-words", Infinity),
    };
  }

  get tags() {
    const list = parseJsonAttribute(this.getAttribute("question-tags"), []);
    return Array.isArray(list) ? list.map(String).filter(Boolean) : [];
  }

  get value() {
    return {
      questionAnswerPairs: this.#pairs.map((pair) => {
        const out = { question: pair.question.trim(), answer: pair.answer.trim() };
        if (pair.answerStart !== null) {
          out.answerStart = pair.answerStart;
          out.answerEnd = pair.answerEnd;
        }
        out.tags = [...pair.tags];
        return out;
      }),
    };
  }

  checkValidity() {
    return this.#problem() === null;
  }

  get validationMessage() {
    return this.#problem() || "";
  }

  openInstructions() {
    this.#panel?.open();
  }

  /** Add an empty pair (false when the maximum is reached); returns its index. */
  addPair() {
    if (this.#pairs.length >= this.limits.maxQuestions) return false;
    const pair = { question: "", answer: "", answerStart: null, answerEnd: null, tags: new Set() };
    pair.node = this.#pairNode(pair, this.#pairs.length);
    this.#pairs.push(pair);
    this.#list.append(pair.node);
    this.#refresh();
    pair.node.querySelector("textarea")?.focus();
    return this.#pairs.length - 1;
  }

  #problem() {
    const limits = this.limits;
    if (this.#pairs.length < limits.minQuestions) {
      return `Write at least ${limits.minQuestions} question–answer pair${limits.minQuestions === 1 ? "" : "s"}.`;
    }
    for (const [index, pair] of this.#pairs.entries()) {
      const q = wordCount(pair.question);
      const a = wordCount(pair.answer);
      if (q < limits.questionMin || q > limits.questionMax) {
        return `Question ${index + 1} needs ${limits.questionMin}–${limits.questionMax === Infinity ? "any number of" : limits.questionMax} words.`;
      }
      if (a < limits.answerMin || a > limits.answerMax) {
        return `Answer ${index + 1} needs ${limits.answerMin}–${limits.answerMax === Infinity ? "any number of" : limits.answerMax} words.`;
      }
    }
    return null;
  }

  #refresh() {
    this.#addButton.disabled = this.#pairs.length >= this.limits.maxQuestions;
    this.#pairs.forEach((pair, index) => {
      pair.node.querySelector(".qq-title").textContent = `Pair ${index + 1}`;
    });
  }

  #selectionOffsets() {
    const selection = document.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    if (!this.#textNode.contains(range.startContainer) || !this.#textNode.contains(range.endContainer)) {
      return null;
    }
    const before = document.createRange();
    before.setStart(this.#textNode, 0);
    before.setEnd(range.startContainer, range.startOffset);
    const start = [...before.toString()].length;
    const text = range.toString();
    return { start, end: start + [...text].length, text };
  }

  #pairNode(pair) {
    const box = element("fieldset", "qq-pair");
    box.append(element("legend", "qq-title", "Pair"));
    const field = (label, key) => {
      const wrap = element("label", "qf-label", label);
      const area = element("textarea", "qf-field");
      area.rows = 2;
      area.setAttribute("data-crowd-internal", "");
      area.addEventListener("input", () => {
        pair[key] = area.value;
        if (key === "answer") pair.answerStart = pair.answerEnd = null;
        this.dispatchEvent(new Event("change", { bubbles: true }));
      });
      wrap.append(area);
      return [wrap, area];
    };
    const [questionLabel] = field("Question", "question");
    const [answerLabel, answerArea] = field("Answer", "answer");
    const use = element("button", "qf-button", "Use selection as the answer");
    use.type = "button";
    use.addEventListener("click", () => {
      const picked = this.#selectionOffsets();
      if (!picked) return;
      answerArea.value = picked.text;
      pair.answer = picked.text;
      pair.answerStart = this.#markdown ? null : picked.start;
      pair.answerEnd = this.#markdown ? null : picked.end;
      this.dispatchEvent(new Event("change", { bubbles: true }));
    });
    box.append(questionLabel, answerLabel, use);
    const tags = this.tags;
    if (tags.length || boolAttribute(this, "allow-custom-question-tags")) {
      const row = element("div", "qq-tags");
      row.append(element("span", "qf-label", "Tags"));
      for (const tag of tags) {
        const label = element("label", "qf-check-row");
        const box2 = element("input");
        box2.type = "checkbox";
        box2.setAttribute("data-crowd-internal", "");
        box2.addEventListener("change", () => {
          if (box2.checked) pair.tags.add(tag);
          else pair.tags.delete(tag);
        });
        label.append(box2, tag);
        row.append(label);
      }
      if (boolAttribute(this, "allow-custom-question-tags")) {
        const custom = element("input", "qf-field qq-custom-tag");
        custom.placeholder = "Your own tag, then Enter";
        custom.setAttribute("data-crowd-internal", "");
        custom.addEventListener("keydown", (event) => {
          if (event.key !== "Enter" || !custom.value.trim()) return;
          event.preventDefault();
          event.stopPropagation();
          pair.tags.add(custom.value.trim());
          row.append(element("span", "qq-tag", custom.value.trim()));
          custom.value = "";
        });
        row.append(custom);
      }
      box.append(row);
    }
    const remove = element("button", "qf-link", "Remove this pair");
    remove.type = "button";
    remove.addEventListener("click", () => {
      this.#pairs = this.#pairs.filter((other) => other !== pair);
      box.remove();
      this.#refresh();
    });
    box.append(remove);
    return box;
  }

  #build() {
    this.#panel = instructionsPanel(this);
    const main = element("section", "qc-main qq-main");
    if (this.getAttribute("header")) main.append(element("h2", "qc-header", this.getAttribute("header")));
    this.#textNode = element("div", "qq-text");
    if (this.#markdown) this.#textNode.append(renderMarkdown(this.getAttribute("text") || ""));
    else this.#textNode.textContent = this.getAttribute("text") || "";
    this.#list = element("div", "qq-list");
    this.#addButton = element("button", "qf-button", "Add a question");
    this.#addButton.type = "button";
    this.#addButton.addEventListener("click", () => this.addPair());
    main.append(this.#textNode, this.#list, this.#addButton);
    const layout = element("div", "qc-layout");
    layout.append(main, this.#panel.aside);
    this.replaceChildren(layout);
    for (let i = 0; i < this.limits.minQuestions && i < this.limits.maxQuestions; i += 1) this.addPair();
  }
}

if (!customElements.get("crowd-question-answer-generation")) {
  customElements.define("crowd-question-answer-generation", CrowdQuestionAnswerGeneration);
}
