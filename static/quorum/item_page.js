// The item page (console): the item with every worker's answer drawn in its own colour, a
// toggle per worker, and J/K to the next / previous item of the data manager's filter.
//
// Image answers (boxes, polygons, polylines, lines, keypoints) are drawn as SVG over the
// image, and masks as a see-through overlay per worker (made by the server in the worker's
// colour); video answers (tracks, per-frame boxes) as each worker's boxes on the frame the
// slider picks; text answers (spans) as one highlighted copy of the text per worker.

const SVG = "http://www.w3.org/2000/svg";
const CONSOLIDATED_COLOUR = "#111111";
const data = JSON.parse(document.getElementById("item-viewer-data").textContent);
const host = document.getElementById("item-viewer");

function inner(answer) {
  if (!answer || typeof answer !== "object") return {};
  const values = Object.values(answer);
  if (values.length === 1 && values[0] && typeof values[0] === "object" && !Array.isArray(values[0])) {
    return values[0];
  }
  return answer;
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

/** The shapes of one answer (or of the consolidated value) as SVG nodes. */
function shapes(value, colour) {
  const group = [];
  const v = inner(value);
  const title = (node, label) => {
    const t = svg("title", {});
    t.textContent = label || "";
    node.append(t);
    return node;
  };
  for (const box of v.boundingBoxes || v.boxes || []) {
    group.push(title(svg("rect", { x: box.left, y: box.top, width: box.width, height: box.height,
      fill: "none", stroke: colour, "stroke-width": 3, "vector-effect": "non-scaling-stroke",
      "data-label": box.label }), box.label));
  }
  for (const key of ["polygons", "polylines", "lines"]) {
    for (const shape of v[key] || []) {
      const points = (shape.vertices || []).map((p) => `${p.x},${p.y}`).join(" ");
      const tag = key === "polygons" ? "polygon" : "polyline";
      group.push(title(svg(tag, { points, fill: "none", stroke: colour, "stroke-width": 3,
        "vector-effect": "non-scaling-stroke", "data-label": shape.label }), shape.label));
    }
  }
  for (const point of v.keypoints || []) {
    group.push(title(svg("circle", { cx: point.x, cy: point.y, r: 6, fill: colour,
      "data-label": point.label }), point.label));
  }
  return group;
}

function imageSize(values) {
  for (const value of values) {
    const v = inner(value);
    const size = v.inputImageProperties || v.image_size;
    if (size && size.width && size.height) return size;
  }
  return null;
}

/** A mask overlay (an inline PNG at the image's size) as an SVG image node. */
function maskNode(src, size) {
  if (!src || !size) return [];
  return [svg("image", { href: src, x: 0, y: 0, width: size.width, height: size.height,
    preserveAspectRatio: "none", "data-mask": "true" })];
}

function drawImage() {
  const figure = document.createElement("div");
  figure.className = "item-figure";
  const image = document.createElement("img");
  image.src = data.media_url;
  image.alt = "The item's image";
  image.id = "item-image";
  const layers = svg("svg", { class: "item-layers", "aria-hidden": "true",
    preserveAspectRatio: "none" });
  const setBox = (size) => layers.setAttribute("viewBox", `0 0 ${size.width} ${size.height}`);
  const known = imageSize([...data.answers.map((a) => a.answer), data.consolidated]);
  if (known) setBox(known);
  image.addEventListener("load", () => {
    if (!known) setBox({ width: image.naturalWidth, height: image.naturalHeight });
  });
  data.answers.forEach((answer, index) => {
    const g = svg("g", { "data-layer": index, "data-worker-name": answer.worker });
    g.append(...maskNode(answer.mask, known), ...shapes(answer.answer, answer.colour));
    layers.append(g);
  });
  if (data.consolidated) {
    const g = svg("g", { "data-layer": "consolidated", "stroke-dasharray": "6 4" });
    g.append(...maskNode(data.consolidated_mask, known), ...shapes(data.consolidated, CONSOLIDATED_COLOUR));
    g.style.display = "none";
    layers.append(g);
  }
  figure.append(image, layers);
  host.append(figure);
}

/** The box of an answer's or a consolidated label's object on ``frame`` (tracks interpolate
 * between keyframes, as the tracking element does; per-frame detections do not). */
function videoBoxes(value, frame) {
  const v = inner(value);
  const boxes = [];
  for (const track of v.tracks || []) {
    const keys = (track.keyframes || track.frames || []).slice().sort((a, b) => a.frame - b.frame);
    let box = keys.find((k) => k.frame === frame) || null;
    if (!box && keys.length && frame > keys[0].frame && frame < keys[keys.length - 1].frame) {
      const after = keys.findIndex((k) => k.frame > frame);
      const a = keys[after - 1];
      const b = keys[after];
      const t = (frame - a.frame) / (b.frame - a.frame);
      const lerp = (p, q) => p + (q - p) * t;
      box = { left: lerp(a.left, b.left), top: lerp(a.top, b.top),
        width: lerp(a.width, b.width), height: lerp(a.height, b.height) };
    }
    if (box) boxes.push({ ...box, label: track.label });
  }
  for (const row of v.frames || []) {
    if (row.frame === frame) boxes.push(...(row.boundingBoxes || row.boxes || []));
  }
  return boxes;
}

function drawVideo() {
  const figure = document.createElement("div");
  figure.className = "item-figure";
  const image = document.createElement("img");
  image.alt = "The item's video frame";
  image.id = "item-image";
  const layers = svg("svg", { class: "item-layers", "aria-hidden": "true",
    preserveAspectRatio: "none" });
  const known = imageSize([...data.answers.map((a) => a.answer), data.consolidated]);
  if (known) layers.setAttribute("viewBox", `0 0 ${known.width} ${known.height}`);
  const groups = data.answers.map((answer, index) =>
    svg("g", { "data-layer": index, "data-worker-name": answer.worker }));
  const consolidated = data.consolidated
    ? svg("g", { "data-layer": "consolidated", "stroke-dasharray": "6 4" })
    : null;
  if (consolidated) consolidated.style.display = "none";
  layers.append(...groups, ...(consolidated ? [consolidated] : []));
  const count = Math.max(1, data.frame_count || inner(data.consolidated).frame_count || 1);
  const slider = document.createElement("input");
  slider.type = "range";
  slider.id = "frame-slider";
  slider.min = "0";
  slider.max = String(count - 1);
  slider.value = "0";
  slider.setAttribute("aria-label", "Frame");
  const caption = document.createElement("span");
  caption.id = "frame-caption";
  caption.className = "muted small";
  const show = () => {
    const frame = Number(slider.value);
    image.src = `${data.frames_url}${frame}`;
    caption.textContent = `Frame ${frame + 1} / ${count}`;
    data.answers.forEach((answer, index) => {
      groups[index].replaceChildren(...shapes({ boxes: videoBoxes(answer.answer, frame) }, answer.colour));
    });
    if (consolidated) {
      consolidated.replaceChildren(...shapes({ boxes: videoBoxes(data.consolidated, frame) }, CONSOLIDATED_COLOUR));
    }
    host.dataset.frame = String(frame);
  };
  slider.addEventListener("input", show);
  const controls = document.createElement("div");
  controls.className = "frame-controls";
  controls.append(slider, caption);
  figure.append(image, layers);
  host.append(figure, controls);
  show();
}

/** Code-point offsets (as Python counts them) to the JS string's UTF-16 indexes. */
function spanText(text, spans, colour, name) {
  const chars = Array.from(text);
  const row = document.createElement("div");
  row.className = "span-row";
  row.dataset.layer = name;
  const marks = [...spans].sort((a, b) => a.startOffset - b.startOffset);
  let at = 0;
  for (const span of marks) {
    if (span.startOffset < at) continue; // overlapping spans: the first one shown
    row.append(chars.slice(at, span.startOffset).join(""));
    const mark = document.createElement("mark");
    mark.style.background = `${colour}33`;
    mark.style.borderBottom = `2px solid ${colour}`;
    mark.title = span.label;
    mark.dataset.label = span.label;
    mark.textContent = chars.slice(span.startOffset, span.endOffset).join("");
    row.append(mark);
    at = span.endOffset;
  }
  row.append(chars.slice(at).join(""));
  return row;
}

function drawText() {
  const anyEntities =
    data.answers.some((a) => Array.isArray(inner(a.answer).entities)) ||
    (data.consolidated && Array.isArray(data.consolidated.entities));
  if (!anyEntities) {
    const text = document.createElement("p");
    text.className = "qc-text";
    text.textContent = data.text;
    host.append(text);
    return;
  }
  data.answers.forEach((answer, index) => {
    const row = spanText(data.text, inner(answer.answer).entities || [], answer.colour, index);
    const who = document.createElement("strong");
    who.textContent = `${answer.worker}: `;
    row.prepend(who);
    host.append(row);
  });
  if (data.consolidated) {
    const row = spanText(data.text, data.consolidated.entities || [], CONSOLIDATED_COLOUR, "consolidated");
    const who = document.createElement("strong");
    who.textContent = "consolidated: ";
    row.prepend(who);
    row.style.display = "none";
    host.append(row);
  }
}

// The page's policy refuses inline style attributes; colours are set here instead.
for (const swatch of document.querySelectorAll(".swatch[data-colour]")) {
  swatch.style.background = swatch.dataset.colour;
}

if (data.media_url) drawImage();
else if (data.frames_url) drawVideo();
else if (typeof data.text === "string") drawText();

for (const toggle of document.querySelectorAll("#worker-toggles input[data-worker]")) {
  toggle.addEventListener("change", () => {
    for (const layer of host.querySelectorAll(`[data-layer="${toggle.dataset.worker}"]`)) {
      layer.style.display = toggle.checked ? "" : "none";
    }
  });
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  const target = event.target;
  if (target instanceof Element && target.closest("input, textarea, select, [contenteditable]")) return;
  const url = event.key === "j" || event.key === "J" ? data.next : event.key === "k" || event.key === "K" ? data.previous : "";
  if (url) {
    event.preventDefault();
    window.location.assign(url);
  }
});

host.dataset.ready = "true";
