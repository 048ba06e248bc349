// <crowd-input>: a one-line text field. Value: the text typed (a number for type="number").
//
// Attributes: name, label, placeholder, type, value, required, disabled, max-length,
// min-length, pattern, allowed-pattern, auto-focus, auto-validate, char-counter,
// error-message.

import { adoptStyles, boolAttribute, element, uniqueId } from "./_support.js";

export class CrowdTextField extends HTMLElement {
  static fieldTag = "input";
  #built = false;
  #field = null;
  #error = null;
  #counter = null;

  connectedCallback() {
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    const id = uniqueId("qf-field");
    const field = element(this.constructor.fieldTag, "qf-field");
    field.id = id;
    this.configure(field);
    for (const [attribute, property] of [
      ["placeholder", "placeholder"],
      ["max-length", "maxLength"],
      ["min-length", "minLength"],
    ]) {
      if (this.hasAttribute(attribute)) field[property] = this.getAttribute(attribute);
    }
    field.required = boolAttribute(this, "required");
    field.disabled = boolAttribute(this, "disabled");
    field.value = this.getAttribute("value") || "";
    this.#field = field;
    this.#error = element("p", "qf-error");
    this.#error.id = `${id}-error`;
    this.#error.hidden = true;
    field.setAttribute("aria-describedby", this.#error.id);
    const parts = [];
    const label = this.getAttribute("label");
    if (label) {
      const labelNode = element("label", "qf-label", label);
      labelNode.htmlFor = id;
      parts.push(labelNode);
    } else {
      field.setAttribute("aria-label", this.getAttribute("placeholder") || this.name);
    }
    parts.push(field, this.#error);
    if (boolAttribute(this, "char-counter")) {
      this.#counter = element("div", "qf-counter");
      parts.push(this.#counter);
    }
    field.addEventListener("input", () => this.#onInput());
    field.addEventListener("blur", () => {
      if (boolAttribute(this, "auto-validate")) this.reportValidity();
    });
    this.replaceChildren(...parts);
    this.#updateCounter();
    if (boolAttribute(this, "auto-focus")) queueMicrotask(() => field.focus());
  }

  configure(field) {
    field.type = this.getAttribute("type") || "text";
    if (this.hasAttribute("pattern")) field.pattern = this.getAttribute("pattern");
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get value() {
    if (!this.#field) return this.getAttribute("value") || "";
    if (this.#field.type === "number" && this.#field.value !== "") return Number(this.#field.value);
    return this.#field.value;
  }

  set value(text) {
    if (this.#field) this.#field.value = String(text);
    else this.setAttribute("value", String(text));
    this.#updateCounter();
  }

  checkValidity() {
    return this.#field ? this.#field.checkValidity() : true;
  }

  get validationMessage() {
    const custom = this.getAttribute("error-message");
    const label = this.getAttribute("label") || this.name;
    return `${label}: ${custom || (this.#field ? this.#field.validationMessage : "")}`;
  }

  reportValidity() {
    const valid = this.checkValidity();
    this.#field.setAttribute("aria-invalid", String(!valid));
    this.#error.hidden = valid;
    this.#error.textContent = valid ? "" : this.validationMessage;
    return valid;
  }

  focus() {
    this.#field?.focus();
  }

  #onInput() {
    const allowed = this.getAttribute("allowed-pattern");
    if (allowed && this.#field.tagName === "INPUT") {
      const pattern = new RegExp(allowed);
      const kept = [...this.#field.value].filter((char) => pattern.test(char)).join("");
      if (kept !== this.#field.value) this.#field.value = kept;
    }
    this.#updateCounter();
    if (!this.#error.hidden) this.reportValidity();
  }

  #updateCounter() {
    if (!this.#counter || !this.#field) return;
    const max = this.getAttribute("max-length");
    const length = [...this.#field.value].length;
    this.#counter.textContent = max ? `${length} / ${max}` : String(length);
  }
}

export class CrowdInput extends CrowdTextField {}

if (!customElements.get("crowd-input")) customElements.define("crowd-input", CrowdInput);
