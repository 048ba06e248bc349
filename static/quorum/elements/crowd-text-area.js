// <crowd-text-area>: a multi-line text field. Value: the text typed.
//
// Attributes: name, label, placeholder, rows, max-rows, value, max-length, char-counter,
// disabled, required.

import { CrowdTextField } from "./crowd-input.js";

export class CrowdTextArea extends CrowdTextField {
  static fieldTag = "textarea";

  configure(field) {
    field.rows = Number(this.getAttribute("rows")) || 3;
    const maxRows = Number(this.getAttribute("max-rows"));
    if (maxRows) field.style.maxHeight = `${maxRows * 1.6}em`;
  }
}

if (!customElements.get("crowd-text-area")) customElements.define("crowd-text-area", CrowdTextArea);
