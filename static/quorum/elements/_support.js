// Small helpers shared by the form elements, and their style sheet (adopted, so no <style>
// tag is needed under the strict Content-Security-Policy).

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

let uniqueCount = 0;

export function uniqueId(prefix) {
  uniqueCount += 1;
  return `${prefix}-${uniqueCount}`;
}

export function boolAttribute(node, name) {
  const value = node.getAttribute(name);
  return value !== null && value !== "false";
}

/** JSON from an attribute, or `fallback` when it is absent or broken. */
export function jsonAttribute(node, name, fallback) {
  const raw = node.getAttribute(name);
  if (!raw) return fallback;
  try {
    return JSON.parse(raw);
  } catch {
    return fallback;
  }
}

const CSS = `
crowd-input, crowd-text-area, crowd-slider, crowd-checkbox, crowd-radio-group { display: block; margin: .5rem 0; }
.qf-label { display: block; font-weight: 600; margin-bottom: .25rem; }
.qf-field { width: 100%; box-sizing: border-box; padding: .45rem .6rem; border: 1px solid #9aa4b2; border-radius: 6px; font: inherit; }
.qf-field:focus-visible, .qf-check:focus-visible, .qf-slider:focus-visible { outline: 3px solid #2563eb; outline-offset: 1px; }
.qf-field[aria-invalid="true"] { border-color: #b91c1c; }
.qf-error { color: #b91c1c; font-size: .875rem; margin: .25rem 0 0; }
.qf-counter { color: #555; font-size: .8rem; text-align: right; }
.qf-check-row { display: inline-flex; gap: .4rem; align-items: center; margin-right: 1rem; }
.qf-slider-row { display: flex; gap: .75rem; align-items: center; }
.qf-slider { flex: 1; }
crowd-card { display: block; border: 1px solid #d0d7de; border-radius: 8px; overflow: hidden; margin: .5rem 0; }
.qf-card-heading { font-weight: 600; padding: .6rem .9rem; border-bottom: 1px solid #e5e7eb; }
.qf-card-image { display: block; max-width: 100%; }
crowd-card > .card-content, crowd-card > .qf-card-body { padding: .6rem .9rem; }
crowd-alert { display: flex; gap: .5rem; align-items: flex-start; padding: .6rem .9rem; border-radius: 6px; border: 1px solid; margin: .5rem 0; }
crowd-alert[type="error"] { background: #fef2f2; border-color: #fca5a5; }
crowd-alert[type="success"] { background: #f0fdf4; border-color: #86efac; }
crowd-alert[type="warning"] { background: #fffbeb; border-color: #fcd34d; }
crowd-alert:not([type]), crowd-alert[type="info"] { background: #eff6ff; border-color: #93c5fd; }
.qf-alert-body { flex: 1; }
.qf-toast { position: fixed; bottom: 1.5rem; left: 50%; transform: translateX(-50%); background: #111827; color: #fff; padding: .6rem 1rem; border-radius: 6px; z-index: 50; }
.qf-button { display: inline-flex; gap: .35rem; align-items: center; padding: .45rem .9rem; border-radius: 6px; border: 1px solid #9aa4b2; background: #fff; font: inherit; cursor: pointer; }
.qf-button[data-variant="primary"] { background: #1d4ed8; color: #fff; border-color: #1d4ed8; }
.qf-button[data-variant="link"] { border: 0; background: none; color: #1d4ed8; text-decoration: underline; }
.qf-button:focus-visible, .qf-link:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
.qf-link { background: none; border: 0; color: #1d4ed8; text-decoration: underline; cursor: pointer; font: inherit; padding: 0; }
.qf-examples { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.qf-positive { border-left: 4px solid #16a34a; padding-left: .6rem; }
.qf-negative { border-left: 4px solid #dc2626; padding-left: .6rem; }
.qf-multi .qc-choice[aria-pressed="true"]::after { content: " ✓"; }
.qe-layout { display: grid; grid-template-columns: minmax(0, 1fr) 16rem; gap: 1rem; }
.qe-labels { display: flex; flex-wrap: wrap; gap: .4rem; margin-bottom: .6rem; }
.qe-label { padding: .3rem .6rem; border: 2px solid var(--qe-color); border-radius: 6px; background: #fff; font: inherit; cursor: pointer; }
.qe-label[aria-pressed="true"] { background: var(--qe-color); color: #fff; }
.qe-doc { white-space: pre-wrap; line-height: 1.9; font-size: 1.02rem; max-height: 60vh; overflow-y: auto; border: 1px solid #d0d7de; border-radius: 6px; padding: .75rem 1rem; }
.qe-doc:focus-visible { outline: 3px solid #2563eb; outline-offset: 1px; }
.qe-chunk { content-visibility: auto; contain-intrinsic-size: auto 40rem; }
.qe-entity { border-bottom: 3px solid var(--qe-color); background: color-mix(in srgb, var(--qe-color) 18%, transparent); border-radius: 2px; }
.qe-entity[data-depth="1"] { padding-bottom: 3px; }
.qe-doc:focus .qe-caret { background: #fde047; outline: 1px solid #a16207; }
.qe-selection { background: #bfdbfe; }
.qe-status { font-size: .9rem; color: #374151; min-height: 1.3rem; }
.qe-list { list-style: none; padding: 0; margin: 0; max-height: 55vh; overflow-y: auto; }
.qe-list li { display: flex; gap: .4rem; align-items: baseline; padding: .2rem 0; border-bottom: 1px solid #eee; }
.qe-list .qe-swatch { width: .7rem; height: .7rem; border-radius: 2px; background: var(--qe-color); flex: none; }
.qe-list q { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
@media (width <= 52rem) { .qe-layout { grid-template-columns: minmax(0, 1fr); } }
.qr-prompt { padding: .6rem .9rem; border: 1px solid #d0d7de; border-radius: 6px; margin-bottom: .75rem; background: #f8fafc; }
.qr-table { border-collapse: collapse; width: 100%; }
.qr-table th, .qr-table td { border-bottom: 1px solid #e5e7eb; padding: .4rem; vertical-align: top; text-align: left; }
.qr-response { white-space: pre-wrap; }
.qr-rank { width: auto; }
.qq-text { white-space: pre-wrap; border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem .9rem; margin-bottom: .75rem; max-height: 40vh; overflow-y: auto; }
.qq-pair { border: 1px solid #d0d7de; border-radius: 6px; margin: 0 0 .6rem; padding: .5rem .8rem; }
.qq-tags { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: .4rem 0; }
.qq-tag { background: #e0e7ff; border-radius: 4px; padding: .1rem .4rem; }
.qv-layout { display: grid; grid-template-columns: minmax(0, 1fr) minmax(16rem, 24rem); gap: 1rem; }
.qv-frame { position: relative; display: inline-block; max-width: 100%; }
.qv-frame img { display: block; max-width: 100%; }
.qv-box { position: absolute; border: 2px solid #2563eb; pointer-events: none; }
.qv-box-value { border-color: #16a34a; }
.qv-box-on { outline: 3px solid #f59e0b; }
.qv-pairs { padding-left: 1.2rem; }
.qv-pair { display: grid; grid-template-columns: 1fr auto 1fr; gap: .4rem; align-items: center; margin-bottom: .4rem; }
.qv-exclusion { margin-top: .6rem; }
.qv-frame img { user-select: none; -webkit-user-drag: none; }
.qv-box-edit { pointer-events: auto; cursor: move; touch-action: none; }
.qv-box-edit:focus-visible { outline: 3px solid #2563eb; outline-offset: 1px; }
.qv-handle { position: absolute; right: -6px; bottom: -6px; width: 10px; height: 10px; background: #fff; border: 2px solid #1f2937; cursor: nwse-resize; }
.qv-drawing { cursor: crosshair; touch-action: none; }
.qv-drawing .qv-box-edit { pointer-events: none; }
.qv-box-ghost { border-style: dashed; border-color: #f59e0b; }
.qv-box-low { border-color: #dc2626; }
.qv-pair:has(.qv-delete) { grid-template-columns: 1fr auto 1fr auto; }
.qv-low .qv-key, .qv-low .qv-value { background: #fef2f2; border-color: #dc2626; }
.qv-warn { color: #b91c1c; font-weight: 600; }
.qv-status { min-height: 1.2rem; color: #374151; font-size: .9rem; }
.qv-conf { color: #4b5563; font-size: .85em; margin-left: .3rem; }
.qc-choice.qv-flagged { border-color: #dc2626; }
.qp-prompt { padding: .6rem .9rem; border: 1px solid #d0d7de; border-radius: 6px; margin-bottom: .75rem; background: #f8fafc; max-height: 30vh; overflow-y: auto; }
.qp-pair { display: grid; grid-template-columns: 1fr 1fr; gap: .75rem; }
.qp-response { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .9rem; max-height: 45vh; overflow-y: auto; min-width: 0; }
.qp-response-title { margin: 0 0 .4rem; font-size: .95rem; }
.qp-choices, .qp-strengths { margin-top: .6rem; }
.qp-strength:disabled { opacity: .45; }
.qs-dimensions { margin-top: .6rem; }
.qs-dimension { display: grid; grid-template-columns: minmax(7rem, 12rem) auto auto; gap: .5rem; align-items: center; padding: .25rem .4rem; border-radius: 6px; }
.qs-dimension.qs-current { outline: 2px solid #2563eb; background: #eff6ff; }
.qs-dimension-name { font-weight: 600; }
.qs-sync { margin: .4rem 0; }
.qs-rationale { width: 100%; }
.qq-shortcut { margin: .3rem 0; color: #4b5563; font-size: .9rem; }
.ql-tabs { display: flex; gap: .3rem; margin-bottom: .5rem; flex-wrap: wrap; }
.ql-tab { border: 1px solid #d0d7de; border-radius: 6px; background: #fff; padding: .2rem .6rem; }
.ql-tab[aria-selected="true"] { background: #2563eb; color: #fff; }
.ql-tab[data-ranked="true"]::after { content: " ✓"; }
.ql-list { list-style: none; padding: 0; margin: 0; }
.ql-row { display: grid; grid-template-columns: 4.5rem minmax(0, 1fr); gap: .5rem; border: 1px solid #d0d7de; border-radius: 6px; padding: .4rem .6rem; margin-bottom: .4rem; cursor: pointer; }
.ql-row[aria-selected="true"] { outline: 2px solid #2563eb; background: #eff6ff; }
.ql-rank { font-weight: 700; font-size: 1.1rem; }
.ql-tie { font-weight: 400; font-size: .85rem; color: #92400e; }
.ql-text { max-height: 30vh; overflow-y: auto; }
.qm-p { margin: .35rem 0; overflow-wrap: anywhere; }
.qm-h { font-weight: 700; margin: .5rem 0 .25rem; }
.qm-pre { background: #0f172a; color: #e2e8f0; padding: .6rem .8rem; border-radius: 6px; overflow-x: auto; white-space: pre; }
.qm-pre code { background: none; color: inherit; padding: 0; border: 0; font-family: ui-monospace, monospace; }
.qm-code { background: #eef2f7; border-radius: 3px; padding: 0 .2rem; font-family: ui-monospace, monospace; }
.qm-list { margin: .3rem 0; padding-left: 1.4rem; }
@media (width <= 52rem) { .qp-pair { grid-template-columns: minmax(0, 1fr); } }
.qb-criteria { margin: .6rem 0; }
.qb-row { display: flex; gap: .75rem; align-items: center; justify-content: space-between; padding: .25rem .4rem; border-radius: 6px; }
.qb-row.qb-current { background: #eff6ff; outline: 2px solid #93c5fd; }
.qb-scores { display: inline-flex; gap: .3rem; }
`;

let adopted = false;

export function adoptStyles() {
  if (adopted || typeof CSSStyleSheet === "undefined") return;
  adopted = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
