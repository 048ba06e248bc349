// <crowd-button>: a button; form-action="submit" submits the enclosing <crowd-form>.
//
// Attributes: disabled, form-action (submit|reset), href, target, icon, icon-url,
// icon-align (left|right), loading, variant (primary|normal|link|icon).

import { adoptStyles, boolAttribute, element } from "./_support.js";

export class CrowdButton extends HTMLElement {
  #control = null;

  connectedCallback() {
    if (this.#control) return;
    adoptStyles();
    const href = this.getAttribute("href");
    const control = element(href ? "a" : "button", "qf-button");
    if (href) {
      control.href = href;
      if (this.getAttribute("target")) control.target = this.getAttribute("target");
      control.rel = "noopener";
    } else {
      control.type = "button";
      control.disabled = boolAttribute(this, "disabled") || boolAttribute(this, "loading");
    }
    control.dataset.variant = this.getAttribute("variant") || "normal";
    const iconUrl = this.getAttribute("icon-url");
    const icon = iconUrl ? element("img", "qf-icon") : null;
    if (icon) {
      icon.src = iconUrl;
      icon.alt = "";
      icon.width = 16;
    }
    const label = [...this.childNodes];
    if (icon && this.getAttribute("icon-align") === "right") control.append(...label, icon);
    else if (icon) control.append(icon, ...label);
    else control.append(...label);
    if (boolAttribute(this, "loading")) control.setAttribute("aria-busy", "true");
    control.addEventListener("click", () => this.#act());
    this.replaceChildren(control);
    this.#control = control;
  }

  #act() {
    const form = this.closest("crowd-form");
    const action = this.getAttribute("form-action");
    if (!form) return;
    if (action === "submit") form.submit();
    else if (action === "reset") form.reset?.();
  }

  focus() {
    this.#control?.focus();
  }
}

if (!customElements.get("crowd-button")) customElements.define("crowd-button", CrowdButton);
