// Live figures of a job: every viewer polls the job's one shared snapshot (GET
// /api/v1/jobs/{id}/live, computed at most every 2 s from the counter shards, whoever watches),
// so the page follows the work without a reload and without load per viewer x job size.

import { api, sleep } from "./api.js";

export const LIVE_POLL_MS = 2500;
const HIDDEN_POLL_MS = 15000;

/** Call ``onSnapshot(snapshot, previous)`` with each new snapshot until the page goes away. */
export async function followLive(url, onSnapshot) {
  let previous = null;
  for (;;) {
    try {
      const { data } = await api(url);
      if (!previous || data.computed_at !== previous.computed_at) {
        onSnapshot(data, previous);
        previous = data;
      }
    } catch {
      // Offline or signed out for a moment: keep the figures shown and try again.
    }
    await sleep(document.hidden ? HIDDEN_POLL_MS : LIVE_POLL_MS);
  }
}

/** Write the snapshot's figures into the elements marked ``[attribute=name]`` under ``root``. */
export function fillFigures(root, snapshot, attribute) {
  for (const element of root.querySelectorAll(`[${attribute}]`)) {
    const value = snapshot[element.getAttribute(attribute)];
    if (value === undefined || value === null) continue;
    if (element instanceof HTMLProgressElement) element.value = value;
    else element.textContent = String(value);
  }
}

/** Swap the elements with these ids for fresh ones from a GET of ``url`` (changes nothing). */
export async function refreshFrom(url, ids) {
  const { data: html } = await api(url, { accept: "text/html" });
  const fresh = new DOMParser().parseFromString(html, "text/html");
  for (const id of ids) {
    const current = document.getElementById(id);
    const replacement = fresh.getElementById(id);
    if (current && replacement) current.replaceWith(replacement);
  }
}
