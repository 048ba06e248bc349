// The work page: lease the next task of a job, show its UI, count down the lease, repeat.

import "./elements/index.js";
import { ApiError, api } from "./api.js";
import { renderLegend } from "./elements/key-help.js";
import { connectTaskFrame } from "./task-frame-host.js";

const WARN_BELOW_MS = 60_000;
const IGNORED_SKEW_MS = 2_000;

const host = document.getElementById("task-host");
const statusBar = document.getElementById("work-status");
const timer = document.getElementById("lease-timer");
const doneCount = document.getElementById("done-count");
const legend = document.getElementById("keys-help");
const jobId = host.dataset.jobId;
const jobsUrl = host.dataset.jobsUrl || "/work/";

let deadline = 0;
let ticker = 0;
let answered = 0;

function action(label, onClick) {
  const node = document.createElement("button");
  node.type = "button";
  node.className = "button button-primary";
  node.textContent = label;
  node.addEventListener("click", onClick);
  return node;
}

function link(label, href) {
  const node = document.createElement("a");
  node.className = "button";
  node.href = href;
  node.textContent = label;
  return node;
}

/** Show ``text`` (and buttons) above the task; an empty text hides the bar. */
function say(text, tone = "info", controls = []) {
  const line = document.createElement("span");
  line.textContent = text;
  statusBar.replaceChildren(line, ...controls);
  statusBar.dataset.tone = tone;
  statusBar.hidden = !text;
  if (controls.length) controls[0].focus();
}

function stopTimer() {
  clearInterval(ticker);
  ticker = 0;
}

function clockSkew(response) {
  const date = response && response.headers.get("Date");
  const server = date ? Date.parse(date) : Number.NaN;
  const skew = Number.isNaN(server) ? 0 : server - Date.now();
  return Math.abs(skew) < IGNORED_SKEW_MS ? 0 : skew;
}

function tick() {
  const left = deadline - Date.now();
  if (left <= 0) {
    leaseRanOut();
    return;
  }
  const seconds = Math.ceil(left / 1000);
  const minutes = Math.floor(seconds / 60);
  timer.textContent = `${minutes}:${String(seconds % 60).padStart(2, "0")} left`;
  timer.dataset.tone = left < WARN_BELOW_MS ? "warn" : "ok";
  timer.title = "Time left on this task before it goes back to the pool";
}

function startTimer(expiresAt, response) {
  stopTimer();
  deadline = Date.parse(expiresAt) - clockSkew(response);
  timer.hidden = false;
  tick();
  ticker = setInterval(tick, 250);
}

function leaseRanOut() {
  stopTimer();
  timer.textContent = "Time is up";
  timer.dataset.tone = "error";
  host.inert = true;
  say("Time is up: this task went back to the pool and nothing was sent.", "warn", [
    action("Get a new task", nextTask),
  ]);
}

function nothingLeft() {
  stopTimer();
  timer.hidden = true;
  host.replaceChildren();
  say("Nothing is left for you in this job right now. Thank you!", "done", [
    link("Back to my jobs", jobsUrl),
  ]);
}

function showError(error) {
  stopTimer();
  timer.hidden = true;
  say(error.message, "error", [action("Try again", nextTask), link("Back to my jobs", jobsUrl)]);
}

async function showLease(lease, response, note = "") {
  let html;
  try {
    ({ data: html } = await api(`/work/assignments/${lease.assignment_id}/ui`, {
      accept: "text/html",
    }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      say("This task is no longer yours.", "warn", [action("Get a new task", nextTask)]);
    } else {
      showError(error);
    }
    return;
  }
  host.dataset.assignmentId = String(lease.assignment_id);
  host.dataset.itemId = String(lease.item.id);
  // Rendered by the server in a sandbox with everything escaped; inserted markup never runs
  // (a custom template is a sandboxed frame on an opaque origin: task-frame-host.js).
  host.innerHTML = html;
  connectTaskFrame(host, lease);
  host.inert = false;
  // The legend names the keys of this task's elements (each declares its own).
  if (legend) renderLegend(legend, host);
  say(note, "info");
  startTimer(lease.expires_at, response);
}

async function resumeHeldLease(heldIds) {
  let result;
  try {
    result = await api(`/api/v1/jobs/${jobId}/tasks/mine`);
  } catch (error) {
    showError(error);
    return;
  }
  const leases = result.data || [];
  const lease = leases.find((held) => held.assignment_id === heldIds[0]) || leases[0];
  if (!lease) {
    say("Your open task ended meanwhile.", "warn", [action("Get a new task", nextTask)]);
    return;
  }
  await showLease(lease, result.response, "You already had this task open; here it is again.");
}

async function nextTask() {
  stopTimer();
  host.replaceChildren();
  delete host.dataset.assignmentId;
  say("Loading your next task…", "info");
  let result;
  try {
    result = await api(`/api/v1/jobs/${jobId}/tasks/next`, { method: "POST" });
  } catch (error) {
    if (error instanceof ApiError && error.code === "too_many_leases") {
      await resumeHeldLease(error.details.assignments || []);
    } else {
      showError(error);
    }
    return;
  }
  if (result.status === 204) {
    const retryAfter = Number(result.response.headers.get("Retry-After"));
    if (retryAfter > 0) {
      waitForItems(retryAfter);
    } else {
      nothingLeft();
    }
    return;
  }
  await showLease(result.data, result.response);
}

// Issue 16: a streaming job takes new items at any time; its empty claim says when to ask
// again, and the page asks without a reload, showing the next item as soon as one comes.
let waitingTimer = null;
function waitForItems(seconds) {
  stopTimer();
  timer.hidden = true;
  host.replaceChildren();
  if (!host.dataset.waiting) {
    say("No items right now: new ones show up here as soon as they arrive.", "info", [
      link("Back to my jobs", jobsUrl),
    ]);
    host.dataset.waiting = "1";
  }
  clearTimeout(waitingTimer);
  waitingTimer = setTimeout(() => {
    delete host.dataset.waiting;
    nextTaskQuietly();
  }, seconds * 1000);
}

async function nextTaskQuietly() {
  // The claim again, without "Loading…" flashing over the waiting message.
  let result;
  try {
    result = await api(`/api/v1/jobs/${jobId}/tasks/next`, { method: "POST" });
  } catch (error) {
    showError(error);
    return;
  }
  if (result.status === 204) {
    host.dataset.waiting = "1";
    const retryAfter = Number(result.response.headers.get("Retry-After"));
    if (retryAfter > 0) waitForItems(retryAfter);
    else nothingLeft();
    return;
  }
  await showLease(result.data, result.response);
}

host.addEventListener("quorum:submitted", () => {
  answered += 1;
  doneCount.textContent = String(answered);
  nextTask();
});
host.addEventListener("quorum:skipped", () => nextTask());
host.addEventListener("quorum:lease-ended", (event) => {
  stopTimer();
  timer.hidden = true;
  host.inert = true;
  say(event.detail.message, "warn", [action("Get a new task", nextTask)]);
});

/** A reload (or a second tab) shows the task this labeler already holds before asking for
 * another: no claim refused for too many tasks, no second lease held out of sight. */
async function start() {
  let result = null;
  try {
    result = await api(`/api/v1/jobs/${jobId}/tasks/mine`);
  } catch {
    // The claim below asks again and says what went wrong.
  }
  const lease = result && (result.data || [])[0];
  if (lease) {
    await showLease(lease, result.response, "You already had this task open; here it is again.");
  } else {
    await nextTask();
  }
}

start();
