// <crowd-form>: wraps a task, collects its answers and submits them for the worker's lease.
//
// Every child with a `name` and a `value` contributes `answer[name] = value`, so a form with
// <crowd-classifier name="sentiment"> submits {"answer": {"sentiment": {"label": "..."}}}.
// The lease is the `assignment-id` attribute or the nearest [data-assignment-id] ancestor;
// without one the form is a preview and only shows the answer it would send.
//
// Keys (not while typing in a field, nor with a dialog open): 1–9 choose the Nth category,
// Enter submits, S skips, I opens the full instructions, ? lists the keys of every element
// in the form (each element declares its own in `keyHelp()`; see key-help.js).
//
// An element whose answer is empty may say so (`emptyAnswerNotice()`, e.g. an image with no
// boxes): the form then asks before it submits that empty answer.
//
// Events (bubbling): quorum:submitted, quorum:skipped, quorum:lease-ended {message}.
//
// Before collecting, it dispatches a cancelable `submit` event on itself, so a template's
// `onsubmit` (attribute or property) or submit listener can check the answer, fill hidden
// inputs, or stop the submit with preventDefault (or `return false`), as the managed
// service's crowd-form does. Its own Submit button is added only when the template has no
// submit control of its own (crowd-button form-action="submit", a type="submit" button).
// <short-instructions> and <full-instructions> placed in the form itself (not in an element
// that shows its own) go to an instructions panel at the top. In Quorum's isolated task
// frame, submit, skip and release are carried out by the work page (_frame.js).

import { ApiError, NetworkError, api, sleep } from "../api.js";
import { openKeyHelp } from "./key-help.js";
import { frameRequest, inFrame } from "./_frame.js";

const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000];
const RETRY_STATUSES = new Set([502, 503, 504]);
const LEASE_GONE = new Set(["lease_expired", "lease_closed", "not_your_lease", "not_found"]);
const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);
const NATIVE_FIELDS = new Set(["INPUT", "TEXTAREA", "SELECT"]);
const OWN_SUBMIT = 'crowd-button[form-action="submit"], button[type="submit"], input[type="submit"]';
const NATIVE_SUBMIT = 'button[type="submit"], input[type="submit"]';
// Elements whose answer goes under a fixed key rather than a `name` (the review service's).
const FIXED_KEY_ELEMENTS = "crowd-textract-analyze-document, crowd-rekognition-detect-moderation-labels";

function button(className, label, key) {
  const node = document.createElement("button");
  node.type = "button";
  node.className = className;
  node.append(label);
  if (key) {
    const kbd = document.createElement("kbd");
    kbd.textContent = key;
    node.append(" ", kbd);
  }
  return node;
}

function isTyping(target) {
  return target instanceof Element && (TYPING_TAGS.has(target.tagName) || target.isContentEditable);
}

export class CrowdForm extends HTMLElement {
  #built = false;
  #busy = false;
  #ended = false;
  #message = null;
  #submitButton = null;
  #skipButton = null;
  #confirmDialog = null;
  #instructions = null;
  #onKey = (event) => this.#handleKey(event);

  connectedCallback() {
    document.addEventListener("keydown", this.#onKey);
    if (this.#built) return;
    this.#built = true;
    const actions = document.createElement("div");
    actions.className = "crowd-form-actions";
    this.#message = document.createElement("p");
    this.#message.className = "crowd-form-message";
    this.#message.setAttribute("role", "status");
    this.#message.setAttribute("aria-live", "polite");
    this.#skipButton = button("button crowd-form-skip", "Skip", "S");
    this.#skipButton.addEventListener("click", () => this.skip());
    this.#submitButton = button("button button-primary crowd-form-submit", "Submit", "Enter");
    this.#submitButton.addEventListener("click", () => this.submit());
    const keysButton = button("button crowd-form-keys", "Keys", "?");
    keysButton.addEventListener("click", () => this.openKeyHelp());
    actions.append(this.#message, keysButton, this.#skipButton);
    if (!this.querySelector(OWN_SUBMIT)) actions.append(this.#submitButton);
    this.append(actions);
    this.#buildInstructions();
    this.addEventListener("change", () => this.#say(""));
    this.addEventListener("click", (event) => {
      const control = event.target instanceof Element && event.target.closest(NATIVE_SUBMIT);
      if (!control || !this.contains(control) || control.disabled) return;
      event.preventDefault();
      this.submit();
    });
  }

  /** Instructions written in the form itself, shown in a panel at its top. */
  #buildInstructions() {
    const mine = (node) => {
      for (let up = node.parentElement; up && up !== this; up = up.parentElement) {
        if (up.localName.startsWith("crowd-")) return false;
      }
      return true;
    };
    const shorts = [...this.querySelectorAll("short-instructions")].filter(mine);
    const fulls = [...this.querySelectorAll("full-instructions")].filter(mine);
    if (!shorts.length && !fulls.length) return;
    const panel = document.createElement("aside");
    panel.className = "crowd-form-instructions";
    const heading = document.createElement("h2");
    heading.textContent = "Instructions";
    panel.append(heading, ...shorts);
    if (fulls.length) {
      const dialog = document.createElement("dialog");
      dialog.className = "qc-dialog";
      const close = button("qc-dialog-close", "Close");
      close.addEventListener("click", () => dialog.close());
      const title = document.createElement("h2");
      title.textContent = fulls[0].getAttribute("header") || "Full instructions";
      const head = document.createElement("div");
      head.className = "qc-dialog-head";
      head.append(title, close);
      const body = document.createElement("div");
      body.className = "qc-dialog-body";
      body.append(...fulls);
      dialog.append(head, body);
      const more = button("qc-more", "Full instructions", "I");
      more.addEventListener("click", () => this.openInstructions());
      panel.append(more, dialog);
      this.#instructions = dialog;
    }
    this.prepend(panel);
  }

  /** Open the full instructions written in the form (or those of the first element). */
  openInstructions() {
    if (this.#instructions) {
      if (!this.#instructions.open) this.#instructions.showModal();
      return true;
    }
    const [withInstructions] = this.#elementsWith("openInstructions");
    if (!withInstructions) return false;
    withInstructions.openInstructions();
    return true;
  }

  disconnectedCallback() {
    document.removeEventListener("keydown", this.#onKey);
  }

  get assignmentId() {
    const own = this.getAttribute("assignment-id");
    if (own) return own;
    const holder = this.closest("[data-assignment-id]");
    return holder ? holder.dataset.assignmentId : "";
  }

  get disabled() {
    return this.#ended || this.hasAttribute("disabled") || this.closest("[inert]") !== null;
  }

  /** The answer object, keyed by each named child, and the first problem found (or null). */
  collect() {
    const answer = {};
    let problem = null;
    for (const node of this.querySelectorAll(`[name], ${FIXED_KEY_ELEMENTS}`)) {
      // Fields an element draws for itself (data-crowd-internal) answer through the element.
      if (node.closest("crowd-form") !== this || node.hasAttribute("data-crowd-internal")) continue;
      const name = node.answerKey || node.getAttribute("name");
      if (node.localName.includes("-")) {
        if (typeof node.checkValidity === "function" && !node.checkValidity()) {
          problem ??= node.validationMessage || `Answer “${name}” first.`;
          continue;
        }
        if ("value" in node) answer[name] = node.value;
      } else if (NATIVE_FIELDS.has(node.tagName)) {
        if (!node.checkValidity()) problem ??= `${name}: ${node.validationMessage}`;
        if (node.type === "checkbox") answer[name] = node.checked;
        else if (node.type === "radio") {
          if (node.checked) answer[name] = node.value;
        } else if (!["button", "submit", "reset", "file"].includes(node.type)) {
          answer[name] = node.value;
        }
      }
    }
    return { answer, problem };
  }

  /** The form's own keys (the elements inside declare theirs). */
  keyHelp() {
    return {
      title: "Task",
      keys: [
        { keys: ["Enter"], does: "submit", brief: true },
        { keys: ["S"], does: "skip" },
        { keys: ["I"], does: "full instructions" },
        { keys: ["?"], does: "this list of keys" },
      ],
    };
  }

  openKeyHelp() {
    return openKeyHelp(this);
  }

  /** What the elements say is empty in the answer ("" when nothing is). */
  emptyAnswerNotice() {
    return this.#elementsWith("emptyAnswerNotice")
      .filter((node) => !node.hasAttribute("readonly")) // an earlier label shown, not an answer
      .map((node) => node.emptyAnswerNotice())
      .filter(Boolean)
      .join(" ");
  }

  async submit({ confirmed = false } = {}) {
    if (this.#busy || this.disabled) return;
    // The template's own checks first: its onsubmit may fill hidden inputs or stop here.
    if (!this.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }))) return;
    const { answer, problem } = this.collect();
    if (problem) {
      this.#say(problem, "warn");
      return;
    }
    const empty = confirmed ? "" : this.emptyAnswerNotice();
    if (empty) {
      this.#askBeforeEmpty(empty);
      return;
    }
    const id = inFrame ? "frame" : this.assignmentId;
    if (!id) {
      this.#say(`Preview — this form would submit ${JSON.stringify(answer)}`, "info");
      this.dispatchEvent(new CustomEvent("crowd-form-preview", { bubbles: true, detail: answer }));
      return;
    }
    await this.#send("submit", `/api/v1/assignments/${id}/submit`, { answer }, "Submitting…");
  }

  /** Ask before an empty answer is submitted; Enter (on its button) confirms, Escape not. */
  #askBeforeEmpty(notice) {
    if (!this.#confirmDialog) {
      const dialog = document.createElement("dialog");
      dialog.className = "qc-dialog crowd-form-confirm";
      dialog.setAttribute("aria-labelledby", "crowd-form-confirm-title");
      const title = document.createElement("h2");
      title.id = "crowd-form-confirm-title";
      title.textContent = "Submit “no objects”?";
      const text = document.createElement("p");
      text.className = "crowd-form-confirm-text";
      const actions = document.createElement("div");
      actions.className = "crowd-form-confirm-actions";
      const back = button("button crowd-form-confirm-back", "Keep working", "Esc");
      back.addEventListener("click", () => dialog.close());
      const yes = button("button button-primary crowd-form-confirm-yes", "Submit “no objects”");
      yes.addEventListener("click", () => {
        dialog.close();
        this.submit({ confirmed: true });
      });
      actions.append(back, yes);
      const body = document.createElement("div");
      body.className = "qc-dialog-body";
      body.append(title, text, actions);
      dialog.append(body);
      this.append(dialog);
      this.#confirmDialog = dialog;
    }
    this.#confirmDialog.querySelector(".crowd-form-confirm-text").textContent =
      `${notice} Is there really nothing to mark?`;
    this.#confirmDialog.showModal();
    this.#confirmDialog.querySelector(".crowd-form-confirm-yes").focus();
    this.#say("Nothing is marked yet: confirm or keep working.", "warn");
  }

  async skip() {
    if (this.#busy || this.disabled) return;
    const id = inFrame ? "frame" : this.assignmentId;
    if (!id) return;
    await this.#send("skip", `/api/v1/assignments/${id}/skip`, undefined, "Skipping…");
  }

  /** Give the task back without skipping it (another worker, or you later, may take it). */
  async release() {
    if (this.#busy || this.disabled) return;
    const id = inFrame ? "frame" : this.assignmentId;
    if (!id) return;
    await this.#send("release", `/api/v1/assignments/${id}/release`, undefined, "Giving it back…");
  }

  /** In the isolated frame the page makes the call; its reply becomes the same errors. */
  async #viaPage(action, json) {
    const reply = await frameRequest(action, json ? { answer: json.answer } : {});
    if (reply.ok) return reply;
    if (reply.network) throw new NetworkError(String(reply.message || "Network trouble."));
    throw new ApiError(reply.status, reply.code, String(reply.message || "Refused."), reply.details);
  }

  /** POST to the lease; retry while the network fails, so a given answer is never lost. */
  async #send(action, url, json, pending) {
    this.#busy = true;
    this.#setEnabled(false);
    this.#say(pending, "info");
    const done = { submit: "submitted", skip: "skipped", release: "released" }[action];
    const call = inFrame
      ? () => this.#viaPage(action, json)
      : () => api(url, { method: "POST", json });
    try {
      await this.#withRetries(call);
    } catch (error) {
      // A retry after a lost response finds the lease already closed by our first try.
      const alreadyDone =
        error instanceof ApiError && error.code === "lease_closed" && error.details.status === done;
      if (!alreadyDone) {
        this.#fail(error, action);
        return;
      }
    }
    this.#say({ submit: "Saved.", skip: "Skipped.", release: "Given back." }[action], "ok");
    this.dispatchEvent(
      new CustomEvent(`quorum:${done === "released" ? "skipped" : done}`, {
        bubbles: true,
        detail: { assignmentId: this.assignmentId, answer: json ? json.answer : null },
      }),
    );
  }

  async #withRetries(call) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        const transient =
          error instanceof NetworkError ||
          (error instanceof ApiError && RETRY_STATUSES.has(error.status));
        if (!transient || attempt >= RETRY_DELAYS_MS.length) throw error;
        const delay = RETRY_DELAYS_MS[attempt];
        this.#say(`Network trouble; trying again in ${delay / 1000} s…`, "warn");
        await sleep(delay);
      }
    }
  }

  #fail(error, action) {
    this.#busy = false;
    if (error instanceof ApiError && LEASE_GONE.has(error.code)) {
      this.#ended = true;
      this.#say(error.message, "error");
      this.dispatchEvent(
        new CustomEvent("quorum:lease-ended", {
          bubbles: true,
          detail: { message: error.message, code: error.code },
        }),
      );
      return;
    }
    this.#setEnabled(true);
    if (error instanceof NetworkError || (error instanceof ApiError && error.status >= 500)) {
      const what = action === "submit" ? "Your answer is still here" : "The task is still yours";
      this.#say(`${error.message} ${what}: press Enter or ${action} again.`, "error");
    } else {
      this.#say(error.message, "error");
    }
  }

  #setEnabled(enabled) {
    this.#submitButton.disabled = !enabled;
    this.#skipButton.disabled = !enabled;
  }

  #say(text, tone = "info") {
    if (!this.#message) return;
    this.#message.textContent = text;
    this.#message.dataset.tone = tone;
  }

  #elementsWith(method) {
    return [...this.querySelectorAll("*")].filter(
      (node) => node.localName.includes("-") && typeof node[method] === "function",
    );
  }

  #handleKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (this.disabled || isTyping(event.target) || document.querySelector("dialog[open]")) return;
    const key = event.key;
    if (/^[1-9]$/.test(key)) {
      const [chooser] = this.#elementsWith("choose");
      if (!chooser) return;
      event.preventDefault();
      if (!chooser.choose(Number(key) - 1)) this.#say(`There is no category ${key}.`, "warn");
    } else if (key === "Enter") {
      // A focused link or button keeps its own Enter, except the category buttons.
      // Focus can still sit in a dialog that has just closed, until the browser moves it.
      const control = event.target instanceof Element && event.target.closest("a, button");
      const inClosedDialog = control && control.closest("dialog:not([open])");
      if (control && !control.classList.contains("qc-choice") && !inClosedDialog) return;
      event.preventDefault();
      this.submit();
    } else if (key === "s" || key === "S") {
      event.preventDefault();
      this.skip();
    } else if (key === "?") {
      event.preventDefault();
      this.openKeyHelp();
    } else if (key === "i" || key === "I") {
      if (this.openInstructions()) event.preventDefault();
    }
  }
}

if (!customElements.get("crowd-form")) {
  customElements.define("crowd-form", CrowdForm);
}
