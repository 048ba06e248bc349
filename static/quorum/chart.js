// A small stacked bar chart in inline SVG: consolidated labels per hour, one colour per label.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 240;
const MARGIN = { top: 12, right: 12, bottom: 34, left: 40 };
const MAX_X_LABELS = 12;
export const PALETTE = [
  "#2563eb",
  "#d97706",
  "#059669",
  "#dc2626",
  "#7c3aed",
  "#0891b2",
  "#db2777",
  "#65a30d",
  "#ea580c",
  "#4b5563",
];

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceStep(max, ticks) {
  const raw = Math.max(max, 1) / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return Math.max(1, Math.round(step));
}

function hourLabel(iso, previous) {
  const date = new Date(iso);
  const time = `${String(date.getHours()).padStart(2, "0")}:00`;
  const day = date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  const previousDay = previous
    ? new Date(previous).toLocaleDateString(undefined, { month: "short", day: "numeric" })
    : "";
  return day !== previousDay ? `${day} ${time}` : time;
}

/** Draw ``data`` ({hours: [iso…], series: [{label, counts: […]}]}) into ``container``. */
export function drawLabelsOverTime(container, data) {
  const hours = (data && data.hours) || [];
  const series = (data && data.series) || [];
  if (!hours.length || !series.length) return;
  const totals = hours.map((_, i) => series.reduce((sum, s) => sum + (s.counts[i] || 0), 0));
  const step = niceStep(Math.max(...totals), 4);
  const top = Math.max(step, Math.ceil(Math.max(...totals) / step) * step);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const band = plotWidth / hours.length;
  const barWidth = Math.min(band * 0.7, 56);
  const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;

  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": `Consolidated labels per hour over ${hours.length} hour(s)`,
    class: "chart-svg",
  });
  for (let value = 0; value <= top; value += step) {
    chart.append(
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value), class: "chart-grid" }),
      svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end", class: "chart-tick" }, String(value)),
    );
  }
  const every = Math.ceil(hours.length / MAX_X_LABELS);
  hours.forEach((hour, i) => {
    const x = MARGIN.left + band * i + (band - barWidth) / 2;
    let base = 0;
    series.forEach((s, index) => {
      const count = s.counts[i] || 0;
      if (!count) return;
      const rect = svg("rect", {
        x,
        y: y(base + count),
        width: barWidth,
        height: y(base) - y(base + count),
        fill: PALETTE[index % PALETTE.length],
      });
      rect.append(svg("title", {}, `${s.label}: ${count} (${hourLabel(hour)})`));
      chart.append(rect);
      base += count;
    });
    if (i % every === 0) {
      chart.append(
        svg(
          "text",
          { x: x + barWidth / 2, y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle", class: "chart-tick" },
          hourLabel(hour, i >= every ? hours[i - every] : null),
        ),
      );
    }
  });
  chart.append(
    svg("line", {
      x1: MARGIN.left,
      x2: WIDTH - MARGIN.right,
      y1: y(0),
      y2: y(0),
      class: "chart-axis",
    }),
  );

  const legend = document.createElement("ul");
  legend.className = "chart-legend";
  series.forEach((s, index) => {
    const item = document.createElement("li");
    const swatch = svg("svg", { width: 12, height: 12, "aria-hidden": "true" });
    swatch.append(svg("rect", { width: 12, height: 12, rx: 2, fill: PALETTE[index % PALETTE.length] }));
    const total = s.counts.reduce((sum, n) => sum + n, 0);
    item.append(swatch, ` ${s.label} (${total})`);
    legend.append(item);
  });
  container.replaceChildren(chart, legend);
}
