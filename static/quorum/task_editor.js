// A task UI without a lease, started from a stored answer: the reviewer's editor (accept with
// Enter, fix with the labelers' tools, reject with a reason) and a labeler's revise page.
//
// The task's <crowd-form> has no lease, so its submit only previews the answer; this module
// takes that answer and sends it to the page's endpoint (a review fix, or a revision). In the
// "view" mode (the item page) the element only shows the label: inert, without its buttons.

import "./elements/index.js";
import { ApiError, api } from "./api.js";

const config = JSON.parse(document.getElementById("task-editor-data").textContent);
const host = document.getElementById("task-host");
const statusBar = document.getElementById("editor-status");

function say(text, tone = "info") {
  statusBar.textContent = text;
  statusBar.dataset.tone = tone;
  statusBar.hidden = !text;
}

function answerElement(root) {
  return [...root.querySelectorAll("[name]")].find((node) => node.localName.includes("-"));
}

async function load() {
  let html;
  try {
    ({ data: html } = await api(config.ui_url, { accept: "text/html" }));
  } catch (error) {
    say(error.message, "error");
    return;
  }
  const template = document.createElement("template");
  // Rendered by the server in a sandbox with everything escaped; inserted markup never runs.
  template.innerHTML = html;
  const element = answerElement(template.content);
  const start = config.start || {};
  if (element && start.initial !== undefined) {
    element.setAttribute("initial-value", JSON.stringify(start.initial));
  }
  const single = element && start.choose && start.choose.length === 1 && !element.localName.includes("multi");
  if (single) element.setAttribute("value", start.choose[0]);
  host.replaceChildren(template.content);
  const live = answerElement(host);
  if (live && start.choose && !single && typeof live.choose === "function") {
    const categories = JSON.parse(live.getAttribute("categories") || "[]");
    for (const label of start.choose) {
      const index = categories.indexOf(label);
      if (index >= 0) live.choose(index);
    }
  }
  // No lease: nothing to skip (the button's class would override a hidden attribute).
  for (const node of host.querySelectorAll(".crowd-form-skip")) node.style.display = "none";
  for (const node of host.querySelectorAll(".crowd-form-submit")) {
    node.firstChild.textContent = config.mode === "review" ? "Accept or save fix " : "Save my answer ";
  }
  if (config.mode === "view") {
    host.inert = true;
    for (const node of host.querySelectorAll(".crowd-form-actions")) node.style.display = "none";
  }
  host.dataset.ready = "true";
}

async function send(json, done) {
  say("Saving…", "info");
  try {
    const { data } = await api(config.submit_url, { method: "POST", json });
    done(data);
  } catch (error) {
    const detail = error instanceof ApiError ? error.message : `${error.message}`;
    say(`Not saved: ${detail}`, "error");
  }
}

function afterReview(data) {
  const words = { accepted: "Accepted.", fixed: "Fixed.", rejected: "Rejected: the item went back." };
  say(`${words[data.outcome] || "Saved."} Loading the next item…`, "ok");
  const next = data.next_item_id ? `${config.next_url}?item=${data.next_item_id}` : config.next_url;
  window.setTimeout(() => window.location.assign(next), 400);
}

host.addEventListener("crowd-form-preview", (event) => {
  event.stopPropagation();
  if (config.mode === "revise") {
    send({ answer: event.detail }, () => {
      say("Your answer is revised.", "ok");
      window.setTimeout(() => window.location.assign(config.next_url), 400);
    });
  } else if (!config.has_start) {
    // This task type's element can't start from the label: Enter accepts it as it is.
    send({ action: "accept" }, afterReview);
  } else {
    send({ action: "fix", answer: event.detail }, afterReview);
  }
});

const acceptButton = document.getElementById("review-accept");
if (acceptButton) acceptButton.addEventListener("click", () => send({ action: "accept" }, afterReview));
const fixButton = document.getElementById("review-fix");
if (fixButton) {
  fixButton.addEventListener("click", () => {
    const form = host.querySelector("crowd-form");
    const { answer, problem } = form.collect();
    if (problem) say(problem, "warn");
    else send({ action: "fix", answer }, afterReview);
  });
}
const rejectForm = document.getElementById("review-reject");
if (rejectForm) {
  rejectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = rejectForm.elements.reason.value;
    const sendTo = rejectForm.elements.send_to.value;
    send({ action: "reject", reason, send_to: sendTo }, afterReview);
  });
}

load();
