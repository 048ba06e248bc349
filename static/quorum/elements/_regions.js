// The instructions regions of an element (<short-instructions>, <full-instructions>) as a
// side panel with a dialog, shared by the newer elements (ranking, Q&A, the two reviews).

import { element, uniqueId } from "./_support.js";

/** Move the element's own instruction regions into an aside; returns {aside, open}. */
export function instructionsPanel(host) {
  const shortInstructions = host.querySelector(":scope > short-instructions");
  const fullInstructions = host.querySelector(":scope > full-instructions");
  const aside = element("aside", "qc-side");
  aside.append(element("h3", "qc-side-title", "Instructions"));
  if (shortInstructions) aside.append(shortInstructions);
  let dialog = null;
  if (fullInstructions && fullInstructions.childNodes.length) {
    dialog = element("dialog", "qc-dialog");
    const titleId = uniqueId("qr-dialog-title");
    dialog.setAttribute("aria-labelledby", titleId);
    const head = element("div", "qc-dialog-head");
    const title = element("h2", "", fullInstructions.getAttribute("header") || "Instructions");
    title.id = titleId;
    const close = element("button", "qc-dialog-close", "Close");
    close.type = "button";
    close.addEventListener("click", () => dialog.close());
    head.append(title, close);
    const body = element("div", "qc-dialog-body");
    body.append(fullInstructions);
    dialog.append(head, body);
    const more = element("button", "qc-more");
    more.type = "button";
    more.append("Full instructions ", element("kbd", "", "I"));
    more.addEventListener("click", () => dialog.showModal());
    aside.append(more, dialog);
  }
  return {
    aside,
    open() {
      if (dialog && !dialog.open) dialog.showModal();
    },
  };
}

/** Words in a text, as the word limits count them. */
export function wordCount(text) {
  const words = String(text || "").trim().match(/\S+/g);
  return words ? words.length : 0;
}

export const SAFE_PROTOCOLS = new Set(["http:", "https:", "data:", "blob:"]);

export function safeUrl(raw) {
  if (!raw) return "";
  try {
    const url = new URL(raw, document.baseURI);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : "";
  } catch {
    return "";
  }
}
