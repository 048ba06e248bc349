// Inside a custom template's isolated frame: define the elements, announce them with the
// managed service's `all-crowd-elements-ready` event, and keep the page informed (height,
// instructions) and the template informed (the lease's end time, as `quorum:lease`).

import "./elements/index.js";
import { frameNotify, onPageMessage } from "./elements/_frame.js";

const MAX_REPORTED_HEIGHT = 20_000;

function withInstructions() {
  return [...document.querySelectorAll("*")].find(
    (node) => node.localName.includes("-") && typeof node.openInstructions === "function",
  );
}

onPageMessage("lease", ({ expiresAt }) => {
  if (typeof expiresAt !== "string") return;
  document.documentElement.dataset.leaseExpiresAt = expiresAt;
  document.dispatchEvent(new CustomEvent("quorum:lease", { detail: { expiresAt } }));
});

onPageMessage("open-instructions", () => withInstructions()?.openInstructions());

onPageMessage("key", ({ key }) => {
  if (typeof key !== "string" || key.length > 10) return;
  const target = document.activeElement || document.body;
  target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
});

let lastHeight = 0;
function reportHeight() {
  const height = Math.min(Math.ceil(document.body.scrollHeight) + 24, MAX_REPORTED_HEIGHT);
  if (height === lastHeight) return;
  lastHeight = height;
  frameNotify("resize", { height });
}

document.dispatchEvent(new CustomEvent("all-crowd-elements-ready", { bubbles: true }));
new ResizeObserver(reportHeight).observe(document.body);
reportHeight();
frameNotify("ready", { instructions: Boolean(withInstructions()) });
