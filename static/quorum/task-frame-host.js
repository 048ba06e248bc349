// The work page's end of a custom template's isolated frame (labeling/task_ui/frame.py).
//
// The frame runs on an opaque origin and cannot call the API; it asks this page by
// postMessage. Only messages from that frame's window are heard, only the known actions
// with the expected shapes are done, and always for the lease this page shows: the frame
// never names a URL or a lease. Results go back to the frame; a submit or skip that
// succeeded is announced on the host as quorum:submitted / quorum:skipped, a lease that is
// gone as quorum:lease-ended, exactly as the built-in task UIs do.

import { ApiError, NetworkError, api } from "./api.js";

const LEASE_GONE = new Set(["lease_expired", "lease_closed", "not_your_lease", "not_found"]);
const MAX_ANSWER_CHARS = 512 * 1024;
const MIN_HEIGHT = 160;
const MAX_HEIGHT = 20_000;
const FORWARDED_KEYS = /^(?:[1-9]|Enter|s|S|i|I)$/;
const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);
const ACTIONS = {
  submit: { path: "submit", done: "submitted" },
  skip: { path: "skip", done: "skipped" },
  release: { path: "release", done: "released" },
};

let current = null; // {host, frame, assignmentId, expiresAt}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function reply(frame, id, body) {
  // The frame's origin is opaque, so it cannot be named; the reply holds nothing secret.
  frame.contentWindow?.postMessage({ quorum: "task-page", action: "result", id, ...body }, "*");
}

function tell(action, body = {}) {
  if (!current) return;
  current.frame.contentWindow?.postMessage({ quorum: "task-page", action, ...body }, "*");
}

async function perform(state, id, action, data) {
  const spec = ACTIONS[action];
  let json;
  if (action === "submit") {
    if (!isPlainObject(data.answer)) {
      reply(state.frame, id, { ok: false, status: 400, code: "bad_answer", message: "The answer must be an object." });
      return;
    }
    const text = JSON.stringify(data.answer);
    if (text.length > MAX_ANSWER_CHARS) {
      reply(state.frame, id, { ok: false, status: 413, code: "answer_too_large", message: "The answer is too large." });
      return;
    }
    json = { answer: JSON.parse(text) };
  }
  const url = `/api/v1/assignments/${state.assignmentId}/${spec.path}`;
  try {
    await api(url, { method: "POST", json });
  } catch (error) {
    const alreadyDone =
      error instanceof ApiError && error.code === "lease_closed" && error.details.status === spec.done;
    if (!alreadyDone) {
      if (error instanceof NetworkError) {
        reply(state.frame, id, { ok: false, network: true, message: error.message });
        return;
      }
      reply(state.frame, id, {
        ok: false,
        status: error.status,
        code: error.code,
        message: error.message,
        details: error.details,
      });
      if (LEASE_GONE.has(error.code) && current === state) {
        state.host.dispatchEvent(
          new CustomEvent("quorum:lease-ended", { detail: { message: error.message, code: error.code } }),
        );
      }
      return;
    }
  }
  reply(state.frame, id, { ok: true, status: 200 });
  if (current !== state) return;
  const event = spec.done === "submitted" ? "quorum:submitted" : "quorum:skipped";
  state.host.dispatchEvent(
    new CustomEvent(event, { detail: { assignmentId: state.assignmentId, answer: json ? json.answer : null } }),
  );
}

function onMessage(event) {
  const state = current;
  if (!state || event.source !== state.frame.contentWindow || event.origin !== "null") return;
  const data = event.data;
  if (!isPlainObject(data) || data.quorum !== "task-frame" || typeof data.action !== "string") return;
  if (data.action === "resize") {
    const height = Number(data.height);
    if (Number.isFinite(height)) {
      state.frame.style.height = `${Math.min(Math.max(Math.ceil(height), MIN_HEIGHT), MAX_HEIGHT)}px`;
    }
  } else if (data.action === "media") {
    showMedia(state, data.path, data.title);
  } else if (data.action === "ready") {
    state.ready = true;
    if (state.expiresAt) tell("lease", { expiresAt: state.expiresAt });
    for (const key of state.keys.splice(0)) tell("key", { key });
  } else if (Object.hasOwn(ACTIONS, data.action) && Number.isSafeInteger(data.id)) {
    if (state.busy) {
      reply(state.frame, data.id, { ok: false, status: 409, code: "busy", message: "Still sending the last request…" });
      return;
    }
    state.busy = true;
    perform(state, data.id, data.action, data).finally(() => {
      state.busy = false;
    });
  }
}

// A signed media link the template frames (a PDF item): shown here, on the page's own origin,
// where the browser's PDF viewer runs (it never runs in a sandboxed frame). Only this
// server's signed media paths; the media endpoint answers them with a policy that runs no
// script and lets only this origin frame them.
const SIGNED_MEDIA = /^\/api\/v1\/media\/signed\/[A-Za-z0-9_\-:.]{1,4000}$/;
const MAX_MEDIA_FRAMES = 3;

function showMedia(state, path, title) {
  if (typeof path !== "string" || !SIGNED_MEDIA.test(path)) return;
  const shown = state.host.querySelectorAll("iframe.task-media");
  if (shown.length >= MAX_MEDIA_FRAMES || [...shown].some((frame) => frame.dataset.path === path)) return;
  const media = document.createElement("iframe");
  media.className = "task-media";
  media.dataset.path = path;
  media.title = typeof title === "string" && title ? title.slice(0, 200) : "Document";
  media.setAttribute("referrerpolicy", "no-referrer");
  media.src = path;
  state.frame.before(media);
}

function onKey(event) {
  if (!current || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof Element && (TYPING_TAGS.has(target.tagName) || target.isContentEditable)) return;
  if (target instanceof Element && target.closest("a, button")) return;
  if (!FORWARDED_KEYS.test(event.key) || current.host.inert) return;
  event.preventDefault();
  // Keys pressed while the frame is still loading wait for it.
  if (current.ready) tell("key", { key: event.key });
  else if (current.keys.length < 5) current.keys.push(event.key);
}

window.addEventListener("message", onMessage);
document.addEventListener("keydown", onKey);

/** Start talking to the task frame just put into ``host`` (if there is one) for ``lease``. */
export function connectTaskFrame(host, lease) {
  const frame = host.querySelector("iframe.task-frame");
  if (!frame) {
    current = null;
    return false;
  }
  current = {
    host,
    frame,
    assignmentId: lease.assignment_id,
    expiresAt: lease.expires_at || "",
    busy: false,
    ready: false,
    keys: [],
  };
  frame.addEventListener("load", () => frame.focus());
  return true;
}

/** Open the frame's full instructions (the page's own instructions control). */
export function openFrameInstructions() {
  tell("open-instructions");
}
