// The flow dashboard: draws human–model agreement per hour with the console's bar chart.

import { drawLabelsOverTime } from "../chart.js";

const chart = document.getElementById("labels-chart");
const data = chart && document.getElementById(chart.dataset.source);
if (data) drawLabelsOverTime(chart, JSON.parse(data.textContent));
