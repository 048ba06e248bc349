// The job dashboard: upload an import and follow its progress, draw the chart, confirm stops.

import { ApiError, api, csrfToken, sleep } from "./api.js";
import { drawLabelsOverTime } from "./chart.js";
import { fillFigures, followLive, refreshFrom } from "./live.js";

const POLL_MS = 700;
const FINISHED = new Set(["succeeded", "failed"]);
const REFRESHED_SECTIONS = ["job-head", "job-figures", "recent-imports-box", "label-distribution-box"];
const LABEL_SECTIONS = ["label-distribution-box", "labels-over-time", "worker-stats-box"];
const LABELS_REFRESH_MS = 15_000;
let labelsShown = null;
let labelsRefreshedAt = 0;

// --- Confirmation before a form that cannot be undone ----------------------------------------
function bindConfirmations() {
  for (const form of document.querySelectorAll("form[data-confirm]:not([data-bound])")) {
    form.dataset.bound = "true";
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}
bindConfirmations();

// --- The chart ---------------------------------------------------------------------------------
function drawChart() {
  const chart = document.getElementById("labels-chart");
  const chartData = chart && document.getElementById(chart.dataset.source);
  if (chartData) drawLabelsOverTime(chart, JSON.parse(chartData.textContent));
}
drawChart();

// --- Import --------------------------------------------------------------------------------------
const forms = document.querySelectorAll("form.import-form");
const run = document.getElementById("import-run");
const phase = document.getElementById("import-phase");
const detail = document.getElementById("import-detail");
const bar = document.getElementById("import-progress");
const message = document.getElementById("import-message");
const errors = document.getElementById("import-errors");

function show(state, text, tone = "info") {
  phase.textContent = state;
  phase.dataset.state = state;
  bar.dataset.state = state;
  message.textContent = text;
  message.dataset.tone = tone;
}

/** POST the form data with upload progress (fetch cannot report it); resolves to the JSON. */
function upload(url, data, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.setRequestHeader("Accept", "application/json");
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      const body = request.response;
      if (request.status >= 200 && request.status < 300) {
        resolve(body);
        return;
      }
      const error = body && body.error;
      reject(
        new ApiError(
          request.status,
          (error && error.code) || `http_${request.status}`,
          (error && error.message) || `The server answered ${request.status}.`,
          (error && error.details) || {},
        ),
      );
    });
    request.addEventListener("error", () => reject(new Error("Could not reach the server.")));
    request.send(data);
  });
}

function listErrors(importRun) {
  errors.replaceChildren(
    ...(importRun.errors || []).map((problem) => {
      const item = document.createElement("li");
      const where = document.createElement("strong");
      // An uploaded file is named; a manifest's line is numbered.
      where.textContent = problem.file !== undefined ? problem.file : `Line ${problem.line}`;
      item.append(where, `: ${problem.reason}`);
      return item;
    }),
  );
  const hidden = importRun.error_count - (importRun.errors || []).length;
  if (hidden > 0) {
    const more = document.createElement("li");
    more.className = "muted";
    more.textContent = `…and ${hidden} more bad line(s) or file(s).`;
    errors.append(more);
  }
}

/** Swap the server-rendered sections for fresh ones from this page (a GET: nothing changes). */
async function refreshSections() {
  const { data: html } = await api(window.location.pathname, { accept: "text/html" });
  const fresh = new DOMParser().parseFromString(html, "text/html");
  for (const id of REFRESHED_SECTIONS) {
    const current = document.getElementById(id);
    const replacement = fresh.getElementById(id);
    if (current && replacement) current.replaceWith(replacement);
  }
  bindConfirmations();
}

async function follow(importId) {
  for (;;) {
    const { data } = await api(`/api/v1/imports/${importId}`);
    const progress = data.progress || {};
    bar.value = progress.fraction || 0;
    detail.textContent = `${data.lines_read} line(s) read`;
    if (FINISHED.has(data.status)) return data;
    show(progress.phase || data.status, "");
    await sleep(POLL_MS);
  }
}

async function importFiles(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const input = form.querySelector('input[type="file"]');
  const button = form.querySelector('button[type="submit"]');
  run.hidden = false;
  errors.replaceChildren();
  detail.textContent = "";
  if (!input.files.length) {
    show("waiting", "Choose a file to import first.", "warn");
    return;
  }
  const data = new FormData();
  for (const file of input.files) data.append(input.name, file);
  button.disabled = true;
  bar.value = 0;
  show("uploading", "");
  try {
    const started = await upload(form.dataset.url, data, (share) => {
      bar.value = share;
      detail.textContent = `${Math.round(share * 100)} % uploaded`;
    });
    bar.value = 0;
    show("queued", "");
    const finished = await follow(started.id);
    if (finished.status === "succeeded") {
      show("succeeded", `Imported ${finished.items_created} item(s).`, "ok");
      form.reset();
      await refreshSections();
    } else {
      show("failed", finished.message || "The import failed; nothing was imported.", "error");
      listErrors(finished);
      await refreshSections();
    }
  } catch (error) {
    show("failed", error.message, "error");
  } finally {
    button.disabled = false;
  }
}

for (const form of forms) {
  form.addEventListener("submit", importFiles);
  form.querySelector('button[type="submit"]').disabled = false;
}

// --- Live figures (issue 14): the job's shared snapshot, polled; no reload ---------------------
function showLatest(answers) {
  const list = document.getElementById("latest-answers");
  if (!list || !answers.length) return;
  list.replaceChildren(
    ...answers.map((answer) => {
      const item = document.createElement("li");
      const when = new Date(answer.submitted_at).toLocaleTimeString();
      item.textContent = `${when} · ${answer.worker} · item ${answer.item_id}${answer.label ? ` · ${answer.label}` : ""}`;
      return item;
    }),
  );
}

const figures = document.getElementById("job-figures");
if (figures && figures.dataset.liveUrl) {
  followLive(figures.dataset.liveUrl, async (snapshot) => {
    // New labels: the label table, the chart and the workers' figures are the server's page,
    // fetched again when the labeled count has moved, at most every LABELS_REFRESH_MS (a
    // busy job changes it at every poll; the page's queries are per viewer).
    const labelsOnServer = snapshot.items_labeled;
    if (labelsShown === null) labelsShown = labelsOnServer;
    if (labelsShown !== labelsOnServer && Date.now() - labelsRefreshedAt >= LABELS_REFRESH_MS) {
      labelsRefreshedAt = Date.now();
      try {
        await refreshFrom(window.location.pathname, LABEL_SECTIONS);
        labelsShown = labelsOnServer;
        drawChart();
      } catch {
        // Kept as they were; the next snapshot tries again.
      }
    }
    const current = document.getElementById("job-figures");
    fillFigures(current, snapshot, "data-count");
    const items = document.getElementById("items-progress");
    if (items) {
      items.max = snapshot.items_total || 1;
      items.value = snapshot.items_labeled;
    }
    const answers = document.getElementById("answers-progress");
    if (answers) {
      answers.max = snapshot.answers_needed || 1;
      answers.value = snapshot.answers_total;
    }
    showLatest(snapshot.recent_answers);
  });
}
