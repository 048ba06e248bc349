// <crowd-checkbox>: a check box. Value: {"<value>": true|false}, value defaulting to "on".
//
// Attributes: name, value, checked, disabled, required, toggles (shown as a switch).
// The element's text is its label.

import { adoptStyles, boolAttribute, element, uniqueId } from "./_support.js";

export class CrowdCheckbox extends HTMLElement {
  #box = null;

  connectedCallback() {
    if (this.#box) return;
    adoptStyles();
    const id = uniqueId("qf-check");
    const box = element("input", "qf-check");
    box.type = "checkbox";
    box.id = id;
    box.checked = boolAttribute(this, "checked");
    box.disabled = boolAttribute(this, "disabled");
    box.required = boolAttribute(this, "required");
    if (boolAttribute(this, "toggles")) box.setAttribute("role", "switch");
    box.addEventListener("change", () =>
      this.dispatchEvent(new Event("change", { bubbles: true })),
    );
    const label = element("label", "qf-check-row");
    label.htmlFor = id;
    label.append(box, ...this.childNodes);
    this.replaceChildren(label);
    this.#box = box;
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get checked() {
    return this.#box ? this.#box.checked : boolAttribute(this, "checked");
  }

  set checked(on) {
    if (this.#box) this.#box.checked = Boolean(on);
  }

  get value() {
    return { [this.getAttribute("value") || "on"]: this.checked };
  }

  checkValidity() {
    return !boolAttribute(this, "required") || this.checked;
  }

  get validationMessage() {
    return `Check “${this.textContent.trim() || this.name}” first.`;
  }

  focus() {
    this.#box?.focus();
  }
}

if (!customElements.get("crowd-checkbox")) customElements.define("crowd-checkbox", CrowdCheckbox);
