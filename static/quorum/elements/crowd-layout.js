// Layout and messages: <crowd-card>, <crowd-alert>, <crowd-toast>, <crowd-modal>,
// <crowd-instructions>, <short-instructions>, <full-instructions>.
//
// None of them has a value; <crowd-instructions> and <crowd-modal> open a dialog that
// Escape closes, and the crowd-form's I key opens <crowd-instructions>.

import { adoptStyles, boolAttribute, element, uniqueId } from "./_support.js";

function dialogWith(title, content) {
  const dialog = element("dialog", "qc-dialog");
  const titleId = uniqueId("qf-dialog-title");
  dialog.setAttribute("aria-labelledby", titleId);
  const head = element("div", "qc-dialog-head");
  const heading = element("h2", "", title);
  heading.id = titleId;
  const close = element("button", "qc-dialog-close", "Close");
  close.type = "button";
  close.addEventListener("click", () => dialog.close());
  head.append(heading, close);
  const body = element("div", "qc-dialog-body");
  body.append(...content);
  dialog.append(head, body);
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  return dialog;
}

function opener(host, fallback) {
  const text = host.getAttribute("link-text") || fallback;
  const type = host.getAttribute("link-type") || "link";
  const control = element("button", type === "button" ? "qf-button" : "qf-link", text);
  control.type = "button";
  return control;
}

export class CrowdCard extends HTMLElement {
  #built = false;

  connectedCallback() {
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    const parts = [];
    const image = this.getAttribute("image");
    if (image) {
      const img = element("img", "qf-card-image");
      img.src = image;
      img.alt = this.getAttribute("heading") || "";
      parts.push(img);
    }
    if (this.getAttribute("heading")) {
      parts.push(element("div", "qf-card-heading", this.getAttribute("heading")));
    }
    if (parts.length) this.prepend(...parts);
  }
}

export class CrowdAlert extends HTMLElement {
  #built = false;

  connectedCallback() {
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    const type = this.getAttribute("type") || "info";
    this.setAttribute("role", type === "error" || type === "warning" ? "alert" : "status");
    const body = element("div", "qf-alert-body");
    body.append(...this.childNodes);
    this.replaceChildren(body);
    if (boolAttribute(this, "dismissible")) {
      const close = element("button", "qf-link", "Dismiss");
      close.type = "button";
      close.addEventListener("click", () => this.remove());
      this.append(close);
    }
  }
}

export class CrowdToast extends HTMLElement {
  #timer = 0;

  connectedCallback() {
    adoptStyles();
    this.show();
  }

  disconnectedCallback() {
    clearTimeout(this.#timer);
  }

  /** Show `text` (or the element's content) for `duration` milliseconds (default 5000). */
  show(text) {
    const message = text ?? this.getAttribute("text") ?? this.textContent;
    const toast = element("div", "qf-toast", message);
    toast.setAttribute("role", "status");
    this.replaceChildren(toast);
    clearTimeout(this.#timer);
    const duration = Number(this.getAttribute("duration")) || 5000;
    this.#timer = setTimeout(() => toast.remove(), duration);
  }
}

export class CrowdModal extends HTMLElement {
  #dialog = null;

  connectedCallback() {
    if (this.#dialog) return;
    adoptStyles();
    const control = opener(this, "Open");
    this.#dialog = dialogWith(this.getAttribute("link-text") || "Details", [...this.childNodes]);
    control.addEventListener("click", () => this.open());
    this.replaceChildren(control, this.#dialog);
  }

  open() {
    if (!this.#dialog.open) this.#dialog.showModal();
  }

  close() {
    this.#dialog.close();
  }
}

export class CrowdInstructions extends HTMLElement {
  #dialog = null;

  connectedCallback() {
    if (this.#dialog) return;
    adoptStyles();
    const part = (tag) => this.querySelector(`:scope > ${tag}`);
    const summary = part("short-summary");
    const detailed = part("detailed-instructions");
    const examples = element("div", "qf-examples");
    for (const [tag, className, title] of [
      ["positive-example", "qf-positive", "Good example"],
      ["negative-example", "qf-negative", "Bad example"],
    ]) {
      for (const example of this.querySelectorAll(`:scope > ${tag}`)) {
        const box = element("section", className);
        box.append(element("h3", "", title), ...example.childNodes);
        examples.append(box);
      }
    }
    const content = [];
    if (summary) content.push(...summary.cloneNode(true).childNodes);
    if (detailed) content.push(...detailed.childNodes);
    if (examples.childNodes.length) content.push(examples);
    this.#dialog = dialogWith("Instructions", content);
    const control = opener(this, "View full instructions");
    control.append(" ", element("kbd", "", "I"));
    control.addEventListener("click", () => this.openInstructions());
    const kept = summary ? [summary] : [];
    this.replaceChildren(...kept, control, this.#dialog);
  }

  openInstructions() {
    if (this.#dialog && !this.#dialog.open) this.#dialog.showModal();
  }
}

/** Regions read by the classifiers; on their own they show their content. */
export class ShortInstructions extends HTMLElement {}

export class FullInstructions extends HTMLElement {
  connectedCallback() {
    const header = this.getAttribute("header");
    this.setAttribute("role", "region");
    this.setAttribute("aria-label", header || "Full instructions");
  }
}

for (const [tag, type] of [
  ["crowd-card", CrowdCard],
  ["crowd-alert", CrowdAlert],
  ["crowd-toast", CrowdToast],
  ["crowd-modal", CrowdModal],
  ["crowd-instructions", CrowdInstructions],
  ["short-instructions", ShortInstructions],
  ["full-instructions", FullInstructions],
]) {
  if (!customElements.get(tag)) customElements.define(tag, type);
}
