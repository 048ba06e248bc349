// <crowd-radio-group> holding <crowd-radio-button>s: one choice out of several.
//
// Each <crowd-radio-button name="..." value="..."> answers {"<value>": true|false}, as the
// managed service's elements do; the group only makes them exclusive and keyboard-navigable
// (arrow keys move and choose, as native radio buttons do). Group attribute:
// allow-empty-selection. Button attributes: name, value, checked, disabled.

import { adoptStyles, boolAttribute, element, uniqueId } from "./_support.js";

export class CrowdRadioButton extends HTMLElement {
  #radio = null;

  connectedCallback() {
    if (this.#radio) return;
    adoptStyles();
    const group = this.closest("crowd-radio-group");
    const radio = element("input", "qf-check");
    radio.type = "radio";
    radio.id = uniqueId("qf-radio");
    radio.name = group ? group.groupKey : radio.id; // groups the native radios for arrow keys
    radio.dataset.crowdInternal = "";
    radio.checked = boolAttribute(this, "checked");
    radio.disabled = boolAttribute(this, "disabled");
    radio.addEventListener("change", () =>
      this.dispatchEvent(new Event("change", { bubbles: true })),
    );
    const label = element("label", "qf-check-row");
    label.htmlFor = radio.id;
    label.append(radio, ...this.childNodes);
    this.replaceChildren(label);
    this.#radio = radio;
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get checked() {
    return this.#radio ? this.#radio.checked : boolAttribute(this, "checked");
  }

  set checked(on) {
    if (this.#radio) this.#radio.checked = Boolean(on);
  }

  get value() {
    return { [this.getAttribute("value") || "on"]: this.checked };
  }

  focus() {
    this.#radio?.focus();
  }
}

export class CrowdRadioGroup extends HTMLElement {
  #key = uniqueId("qf-radio-group");

  connectedCallback() {
    adoptStyles();
    this.setAttribute("role", "radiogroup");
  }

  get groupKey() {
    return this.#key;
  }

  get buttons() {
    return [...this.querySelectorAll("crowd-radio-button")];
  }

  /** The value of the chosen button, or "" when none is chosen. */
  get selected() {
    const chosen = this.buttons.find((button) => button.checked);
    return chosen ? chosen.getAttribute("value") || "on" : "";
  }

  checkValidity() {
    return boolAttribute(this, "allow-empty-selection") || this.selected !== "" || !this.required;
  }

  get required() {
    return boolAttribute(this, "required");
  }

  get validationMessage() {
    return "Choose one of the options first.";
  }
}

if (!customElements.get("crowd-radio-group")) {
  customElements.define("crowd-radio-group", CrowdRadioGroup);
}
if (!customElements.get("crowd-radio-button")) {
  customElements.define("crowd-radio-button", CrowdRadioButton);
}
