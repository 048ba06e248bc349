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

// A PDF cannot be shown inside a sandboxed frame: browsers run no PDF viewer there, whatever
// the frame allows. A template's <iframe> over a signed media link of this server (what
// `grant_read_access` makes) is shown by the page instead, above the task, in a frame of
// its own; here it leaves a note. The page is told only the link's path, so it frames
// nothing but its own signed media.
const SIGNED_MEDIA_PATH = "/api/v1/media/signed/";
const MAX_LIFTED = 3;

function liftSignedMedia() {
  let lifted = 0;
  for (const frame of document.querySelectorAll("iframe[src]")) {
    if (lifted >= MAX_LIFTED) break;
    let url;
    try {
      url = new URL(frame.getAttribute("src"), location.href);
    } catch {
      continue;
    }
    if (url.host !== location.host || !url.pathname.startsWith(SIGNED_MEDIA_PATH)) continue;
    lifted += 1;
    frameNotify("media", { path: url.pathname, title: frame.getAttribute("title") || "" });
    const note = document.createElement("p");
    note.className = "task-media-note";
    note.textContent = "The document is shown above the task.";
    frame.replaceWith(note);
  }
}

liftSignedMedia();
document.dispatchEvent(new CustomEvent("all-crowd-elements-ready", { bubbles: true }));
new ResizeObserver(reportHeight).observe(document.body);
reportHeight();
frameNotify("ready", { instructions: Boolean(withInstructions()) });
