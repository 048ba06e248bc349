// The frame's end of the channel to the work page, when a custom template runs in Quorum's
// isolated task frame (an opaque origin: no cookies, no API). Submit, skip and release are
// requests the page carries out and answers; the page also sends the lease's end time,
// "open the instructions" and the keys pressed while its own document had the focus.
//
// Messages to the page: {quorum: "task-frame", action, id?, ...}; from the page:
// {quorum: "task-page", action, id?, ...}, accepted only from the parent window and origin.

const root = document.documentElement;
export const inFrame = root.hasAttribute("data-quorum-frame") && window.parent !== window;
// The page's origin as the browser knows it (right behind a proxy that ends TLS too); the
// server's idea of it otherwise. The frame may only be framed by Quorum's own pages anyway
// (its policy says frame-ancestors 'self').
const pageOrigin =
  (inFrame && location.ancestorOrigins && location.ancestorOrigins[0]) ||
  root.dataset.pageOrigin ||
  "";
const pending = new Map();
const handlers = new Map();
let nextId = 1;

function post(message) {
  window.parent.postMessage({ quorum: "task-frame", ...message }, pageOrigin);
}

/** Ask the page to do ``action``; resolves to its reply {ok, status, code, message, ...}. */
export function frameRequest(action, payload = {}) {
  const id = nextId;
  nextId += 1;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    post({ ...payload, id, action });
  });
}

/** Tell the page something that needs no answer (the frame's height, that it is ready). */
export function frameNotify(action, payload = {}) {
  if (inFrame) post({ ...payload, action });
}

/** Run ``handler(message)`` for the page's messages of ``action``. */
export function onPageMessage(action, handler) {
  handlers.set(action, handler);
}

if (inFrame) {
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || event.origin !== pageOrigin) return;
    const data = event.data;
    if (!data || typeof data !== "object" || data.quorum !== "task-page") return;
    if (typeof data.action !== "string") return;
    if (data.action === "result") {
      const resolve = pending.get(data.id);
      if (!resolve) return;
      pending.delete(data.id);
      resolve(data);
      return;
    }
    const handler = handlers.get(data.action);
    if (handler) handler(data);
  });
}
