// The data manager: pick rows (or every item that matches the filters), run a bulk action and
// follow its progress, and keep the figures and the first page live while people work.

import { ApiError, api, sleep } from "./api.js";
import { fillFigures, followLive, refreshFrom } from "./live.js";

const POLL_MS = 500;
const TABLE_REFRESH_MIN_MS = 5000;
const FINISHED = new Set(["succeeded", "failed"]);

const box = document.getElementById("dm-table-box");
const jobId = box.dataset.jobId;
const maxPicked = Number(box.dataset.maxPicked);
const filters = JSON.parse(document.getElementById("dm-filter-values").textContent);
const form = document.getElementById("bulk-form");
const countOut = document.getElementById("bulk-count");
const allMatching = document.getElementById("select-all-matching");
const matchingCount = document.getElementById("matching-count");
const kind = document.getElementById("bulk-kind");
const run = document.getElementById("bulk-run");
const bar = document.getElementById("bulk-progress");
const phase = document.getElementById("bulk-phase");
const detail = document.getElementById("bulk-detail");
const message = document.getElementById("bulk-message");
const download = document.getElementById("bulk-download");

const picked = new Set();
let everyMatch = null; // the count, once "all that match" is chosen
let busy = false;
let lastTableRefresh = 0;

function selectedCount() {
  return everyMatch !== null ? everyMatch : picked.size;
}

function render() {
  countOut.textContent = String(selectedCount());
  form.hidden = selectedCount() === 0;
  for (const box of document.querySelectorAll("#items-table .pick")) {
    box.checked = everyMatch !== null || picked.has(Number(box.value));
  }
  const pageBoxes = [...document.querySelectorAll("#items-table .pick")];
  const pageAll = pageBoxes.length > 0 && pageBoxes.every((pick) => pick.checked);
  document.getElementById("select-page").checked = pageAll;
  allMatching.hidden = !pageAll || everyMatch !== null;
  document.getElementById("bulk-priority-field").hidden = kind.value !== "priority";
  document.getElementById("bulk-format-field").hidden = kind.value !== "export";
}

async function offerAllMatching() {
  const query = new URLSearchParams(filters).toString();
  const { data } = await api(`/api/v1/jobs/${jobId}/items/count?${query}`);
  matchingCount.textContent = String(data.count);
  allMatching.dataset.count = String(data.count);
}

function bindTable() {
  const table = document.getElementById("items-table");
  table.addEventListener("change", (event) => {
    const target = event.target;
    if (target.id === "select-page") {
      everyMatch = null;
      for (const pick of table.querySelectorAll(".pick")) {
        if (target.checked) picked.add(Number(pick.value));
        else picked.delete(Number(pick.value));
      }
      if (target.checked) offerAllMatching();
    } else if (target.classList.contains("pick")) {
      if (everyMatch !== null) {
        // Leaving "all that match": keep this page's rows but the one unticked.
        everyMatch = null;
        for (const pick of table.querySelectorAll(".pick")) picked.add(Number(pick.value));
      }
      if (target.checked) picked.add(Number(target.value));
      else picked.delete(Number(target.value));
    }
    render();
  });
}

allMatching.addEventListener("click", () => {
  everyMatch = Number(allMatching.dataset.count || 0);
  render();
});
document.getElementById("clear-selection").addEventListener("click", () => {
  picked.clear();
  everyMatch = null;
  render();
});
kind.addEventListener("change", render);

function show(state, text, tone = "info") {
  run.hidden = false;
  phase.textContent = state;
  phase.dataset.state = state;
  message.textContent = text;
  message.dataset.tone = tone;
}

async function refreshTable() {
  lastTableRefresh = Date.now();
  await refreshFrom(window.location.pathname + window.location.search, ["dm-table"]);
  bindTable();
  render();
}

async function follow(actionId) {
  for (;;) {
    const { data } = await api(`/api/v1/jobs/${jobId}/bulk-actions/${actionId}`);
    bar.value = data.fraction;
    detail.textContent = `${data.done} of ${data.total} item(s)`;
    if (FINISHED.has(data.status)) return data;
    show(data.status, "");
    await sleep(POLL_MS);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const count = selectedCount();
  if (everyMatch === null && picked.size > maxPicked) {
    show("refused", `Pick at most ${maxPicked} rows, or select all that match.`, "error");
    return;
  }
  const title = kind.options[kind.selectedIndex].textContent;
  if (kind.value === "delete") {
    if (!window.confirm(`Delete ${count} item(s)? This cannot be undone.`)) return;
  }
  const params = {};
  if (kind.value === "priority") params.priority = Number(document.getElementById("bulk-priority").value);
  if (kind.value === "export") params.format = document.getElementById("bulk-format").value;
  const selection = everyMatch !== null ? { filters } : { ids: [...picked] };
  busy = true;
  download.hidden = true;
  bar.value = 0;
  show("queued", `${title}: ${count} item(s)`);
  try {
    const { data: started } = await api(`/api/v1/jobs/${jobId}/bulk-actions`, {
      method: "POST",
      json: { kind: kind.value, selection, params },
    });
    const finished = await follow(started.id);
    if (finished.status === "succeeded") {
      const left = finished.skipped ? ` (${finished.skipped} left as they were)` : "";
      show("succeeded", `${title}: done for ${finished.done - finished.skipped} item(s)${left}.`, "ok");
      if (finished.download_url) {
        download.href = finished.download_url;
        download.hidden = false;
      }
      picked.clear();
      everyMatch = null;
      await refreshTable();
    } else {
      show("failed", finished.message || "The action failed.", "error");
    }
  } catch (error) {
    show("failed", error instanceof ApiError ? error.message : String(error.message), "error");
  } finally {
    busy = false;
  }
});

bindTable();
render();

// --- Live -----------------------------------------------------------------------------------
const live = document.getElementById("dm-live");
const onFirstPage = box.dataset.firstPage === "true";
followLive(live.dataset.liveUrl, async (snapshot, previous) => {
  fillFigures(live, snapshot, "data-live");
  const changed = previous && previous.answers_total !== snapshot.answers_total;
  const quiet = !busy && selectedCount() === 0;
  if (changed && onFirstPage && quiet && Date.now() - lastTableRefresh > TABLE_REFRESH_MIN_MS) {
    document.getElementById("dm-live-state").textContent = "· updated";
    await refreshTable();
  }
});
