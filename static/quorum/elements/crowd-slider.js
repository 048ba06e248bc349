// <crowd-slider>: a number on a range. Value: the number chosen.
//
// Attributes: name, min, max, step, value, disabled, editable (a number box beside it),
// pin (the value is always shown beside it), required.

import { adoptStyles, boolAttribute, element, uniqueId } from "./_support.js";

export class CrowdSlider extends HTMLElement {
  #range = null;
  #shown = null;
  #touched = false;

  connectedCallback() {
    if (this.#range) return;
    adoptStyles();
    const range = element("input", "qf-slider");
    range.type = "range";
    range.id = uniqueId("qf-slider");
    range.min = this.getAttribute("min") ?? "0";
    range.max = this.getAttribute("max") ?? "100";
    range.step = this.getAttribute("step") ?? "1";
    range.value = this.getAttribute("value") ?? range.min;
    range.disabled = boolAttribute(this, "disabled");
    range.setAttribute("aria-label", this.getAttribute("label") || this.name || "Value");
    const row = element("div", "qf-slider-row");
    row.append(range);
    if (boolAttribute(this, "editable")) {
      const box = element("input", "qf-field");
      box.type = "number";
      box.min = range.min;
      box.max = range.max;
      box.step = range.step;
      box.value = range.value;
      box.style.width = "6rem";
      box.setAttribute("aria-label", `${range.getAttribute("aria-label")} (number)`);
      box.addEventListener("input", () => {
        range.value = box.value;
        this.#changed();
      });
      range.addEventListener("input", () => {
        box.value = range.value;
      });
      row.append(box);
    } else {
      this.#shown = element("output", "qf-pin", range.value);
      row.append(this.#shown);
    }
    range.addEventListener("input", () => this.#changed());
    this.replaceChildren(row);
    this.#range = range;
  }

  #changed() {
    this.#touched = true;
    if (this.#shown) this.#shown.textContent = this.#range.value;
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get value() {
    return Number(this.#range ? this.#range.value : this.getAttribute("value") || 0);
  }

  set value(number) {
    if (this.#range) {
      this.#range.value = String(number);
      this.#changed();
    }
  }

  checkValidity() {
    return !boolAttribute(this, "required") || this.#touched || this.hasAttribute("value");
  }

  get validationMessage() {
    return `Set “${this.getAttribute("label") || this.name}” first.`;
  }

  focus() {
    this.#range?.focus();
  }
}

if (!customElements.get("crowd-slider")) customElements.define("crowd-slider", CrowdSlider);
