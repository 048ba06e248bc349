// The quality page, live: the answer counts follow the job's shared snapshot, and the estimates
// are refreshed when a re-estimation has ended (once per re-estimation, not per poll).

import { fillFigures, followLive, refreshFrom } from "./live.js";

const SECTIONS = ["quality-figures", "quality-charts", "quality-workers", "quality-hot-spots"];
const live = document.getElementById("quality-live");

followLive(live.dataset.liveUrl, async (snapshot, previous) => {
  fillFigures(document.getElementById("quality-live"), snapshot, "data-live");
  if (previous && previous.quality_estimated_at !== snapshot.quality_estimated_at) {
    await refreshFrom(window.location.pathname, ["quality-head", ...SECTIONS]);
    fillFigures(document.getElementById("quality-live"), snapshot, "data-live");
  }
});
