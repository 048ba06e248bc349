// The template editor: live preview on a sample item, errors with line and column, save a
// version, attach the template to a draft job. The preview is rendered by the server's
// sandbox (POST /api/v1/templates/preview) and shown with Quorum's own crowd-* elements.

import "./elements/index.js";
import { ApiError, api } from "./api.js";

const PREVIEW_DELAY_MS = 350;
const CSS = `
.te-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1rem; }
.te-label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
.te-code { width: 100%; box-sizing: border-box; font-family: ui-monospace, monospace; font-size: .85rem; line-height: 1.45; tab-size: 2; }
.te-actions { display: flex; gap: .6rem; align-items: center; margin-top: .6rem; flex-wrap: wrap; }
.te-error { border: 1px solid #fca5a5; background: #fef2f2; border-radius: 6px; padding: .5rem .8rem; margin-bottom: .75rem; }
.te-error p { margin: 0 0 .4rem; font-family: ui-monospace, monospace; white-space: pre-wrap; }
.te-preview { border: 1px dashed #9aa4b2; border-radius: 6px; padding: .75rem; min-height: 12rem; }
@media (max-width: 900px) { .te-grid { grid-template-columns: 1fr; } }
`;

const sheet = new CSSStyleSheet();
sheet.replaceSync(CSS);
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];

const root = document.getElementById("template-editor");
const templateId = root.dataset.templateId;
const source = document.getElementById("te-source");
const sample = document.getElementById("te-sample");
const position = document.getElementById("te-position");
const preview = document.getElementById("te-preview");
const errorBox = document.getElementById("te-error");
const errorText = document.getElementById("te-error-text");
const saved = document.getElementById("te-saved");
const versionLabel = document.getElementById("te-version");

let timer = 0;
let sequence = 0;
let errorAt = null;

const initial = document.getElementById("te-sample-json");
sample.value = JSON.stringify(initial ? JSON.parse(initial.textContent) : {}, null, 2);

/** The sample as an object; throws a readable error for broken JSON. */
function sampleValue() {
  const text = sample.value.trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`The sample item is not valid JSON: ${error.message}`);
  }
}

/** Character index of a 1-based line and column in the textarea's text. */
function indexOf(text, line, column) {
  let index = 0;
  for (let current = 1; current < line; current += 1) {
    const next = text.indexOf("\n", index);
    if (next < 0) return text.length;
    index = next + 1;
  }
  return Math.min(text.length, index + column - 1);
}

function showPosition() {
  const before = source.value.slice(0, source.selectionStart);
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  position.textContent = `Line ${line}, column ${column}`;
}

function showError(message, at) {
  errorAt = at;
  errorText.textContent = message;
  errorBox.hidden = false;
  document.getElementById("te-error-go").hidden = !at;
}

function clearError() {
  errorAt = null;
  errorBox.hidden = true;
}

async function renderPreview() {
  const mine = (sequence += 1);
  let body;
  try {
    body = { source: source.value, sample: sampleValue() };
  } catch (error) {
    showError(error.message, null);
    return;
  }
  try {
    const { data } = await api("/api/v1/templates/preview", { method: "POST", json: body });
    if (mine !== sequence) return; // a newer edit is on its way
    clearError();
    // The sandbox escaped the data; the markup is the manager's own template. No script
    // inserted this way runs; the crowd-* elements upgrade as they are inserted.
    preview.innerHTML = data.html;
  } catch (error) {
    if (mine !== sequence) return;
    if (error instanceof ApiError && error.code === "template_error") {
      const { line, column } = error.details;
      showError(error.message, { line, column });
    } else {
      showError(error.message, null);
    }
  }
}

function schedulePreview() {
  clearTimeout(timer);
  timer = setTimeout(renderPreview, PREVIEW_DELAY_MS);
}

async function save() {
  saved.textContent = "Saving…";
  try {
    const { data } = await api(`/api/v1/templates/${templateId}/versions`, {
      method: "POST",
      json: { source: source.value, sample: sampleValue() },
    });
    versionLabel.textContent = String(data.number);
    saved.textContent = `Saved as version ${data.number}.`;
  } catch (error) {
    saved.textContent = "Not saved.";
    const at = error instanceof ApiError && error.code === "template_error" ? error.details : null;
    showError(error.message, at);
  }
}

async function attach() {
  const jobId = document.getElementById("te-job").value;
  if (!jobId) {
    saved.textContent = "Choose a draft job first.";
    return;
  }
  try {
    const { data } = await api(`/api/v1/jobs/${jobId}/template`, {
      method: "POST",
      json: { template_id: Number(templateId) },
    });
    saved.textContent = `The job now uses version ${data.version}.`;
  } catch (error) {
    saved.textContent = error.message;
  }
}

document.getElementById("te-error-go").addEventListener("click", () => {
  if (!errorAt) return;
  const index = indexOf(source.value, errorAt.line, errorAt.column);
  source.focus();
  source.setSelectionRange(index, index);
  showPosition();
});
source.addEventListener("input", schedulePreview);
sample.addEventListener("input", schedulePreview);
for (const event of ["keyup", "click", "select"]) source.addEventListener(event, showPosition);
source.addEventListener("keydown", (event) => {
  if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.altKey) {
    // Tab indents inside the editor; Escape then Tab leaves it (keyboard users keep a way out).
    if (source.dataset.escaped === "1") {
      source.dataset.escaped = "";
      return;
    }
    event.preventDefault();
    source.setRangeText("  ", source.selectionStart, source.selectionEnd, "end");
    schedulePreview();
  } else if (event.key === "Escape") {
    source.dataset.escaped = "1";
  }
});
document.getElementById("te-save").addEventListener("click", save);
document.getElementById("te-attach").addEventListener("click", attach);
renderPreview();
