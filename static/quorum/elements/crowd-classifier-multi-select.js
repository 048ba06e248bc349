// <crowd-classifier-multi-select>: choose any number of `categories` for the target.
//
// Attributes: name, categories (JSON array), header, exclusion-category ({"text": "..."}:
// an extra choice that clears the others). Child regions as <crowd-classifier>.
// Its value is {"labels": ["<category>", ...]} in the order of the categories.

import { adoptStyles, jsonAttribute } from "./_support.js";
import { CrowdClassifier, parseCategories } from "./crowd-classifier.js";

export class CrowdClassifierMultiSelect extends CrowdClassifier {
  #chosen = new Set();

  connectedCallback() {
    adoptStyles();
    super.connectedCallback();
    this.classList.add("qf-multi");
    const group = this.querySelector(".qc-choices");
    if (group) group.setAttribute("aria-label", "Categories (choose any)");
  }

  get exclusion() {
    const raw = jsonAttribute(this, "exclusion-category", null);
    if (!raw) return "";
    return typeof raw === "string" ? raw : String(raw.text || "");
  }

  get categories() {
    const list = parseCategories(this.getAttribute("categories"));
    return this.exclusion ? [...list, this.exclusion] : list;
  }

  set categories(list) {
    super.categories = list;
  }

  get value() {
    const categories = this.categories;
    const labels = [...this.#chosen].sort((a, b) => a - b).map((index) => categories[index]);
    return { labels };
  }

  categoriesChanged() {
    this.#chosen.clear();
  }

  checkValidity() {
    return this.#chosen.size > 0;
  }

  get validationMessage() {
    return "Choose at least one category: press its number or click it.";
  }

  /** Toggle the category at ``index``; the exclusion category clears the rest. */
  choose(index) {
    const buttons = [...this.querySelectorAll(".qc-choice")];
    if (!Number.isInteger(index) || index < 0 || index >= buttons.length) return false;
    const exclusionIndex = this.exclusion ? buttons.length - 1 : -1;
    if (this.#chosen.has(index)) this.#chosen.delete(index);
    else {
      if (index === exclusionIndex) this.#chosen.clear();
      else this.#chosen.delete(exclusionIndex);
      this.#chosen.add(index);
    }
    buttons.forEach((button, position) =>
      button.setAttribute("aria-pressed", String(this.#chosen.has(position))),
    );
    this.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }
}

if (!customElements.get("crowd-classifier-multi-select")) {
  customElements.define("crowd-classifier-multi-select", CrowdClassifierMultiSelect);
}
