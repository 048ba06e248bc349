// <crowd-image-classifier-multi-select>: choose every category that applies to the image.
//
// Attributes: src, name, categories (a JSON array), header. Its value is
// {"labels": ["<category>", ...]}; at least one category must be chosen. Keys: 1–9 toggle
// the Nth category (through <crowd-form>), Enter submits.

import { CrowdImageClassifier } from "./crowd-image-classifier.js";

export class CrowdImageClassifierMultiSelect extends CrowdImageClassifier {
  #picked = new Set();

  connectedCallback() {
    if (!this.style.display) this.style.display = "block";
    super.connectedCallback();
  }

  get value() {
    const categories = this.categories;
    return { labels: categories.filter((_, index) => this.#picked.has(index)) };
  }

  categoriesChanged() {
    this.#picked.clear();
  }

  checkValidity() {
    return this.#picked.size > 0;
  }

  get validationMessage() {
    return "Choose at least one category: press its number or click it.";
  }

  /** Toggle the category at ``index`` (0-based); false when there is none. */
  choose(index) {
    const buttons = this.querySelectorAll(".qc-choice");
    if (!Number.isInteger(index) || index < 0 || index >= buttons.length) return false;
    if (this.#picked.has(index)) this.#picked.delete(index);
    else this.#picked.add(index);
    buttons.forEach((button, position) =>
      button.setAttribute("aria-pressed", String(this.#picked.has(position))),
    );
    this.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }
}

if (!customElements.get("crowd-image-classifier-multi-select")) {
  customElements.define("crowd-image-classifier-multi-select", CrowdImageClassifierMultiSelect);
}
