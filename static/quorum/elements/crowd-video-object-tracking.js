// <crowd-video-object-tracking> and <crowd-video-object-detection>: boxes on the frames of
// a video, with a timeline scrubber.
//
// Attributes: name, header, labels, and the frames: `frames` (a JSON array of URLs) or
// `frames-url` (a prefix the frame number is appended to) with `frame-count`;
// initial-value (tracking: the `tracks` of an earlier answer).
//
// Tracking: a box drawn on a frame starts an object whose id persists across frames. Moving
// or resizing its box on any frame makes that frame a keyframe; between keyframes the box
// moves linearly (interpolated), and before the first / after the last keyframe the object
// is absent. K makes the current frame a keyframe of the selected object (copying its box,
// so an object can be carried past its last keyframe). Delete removes the selected object.
// Its value: {"tracks": [{"objectId", "label", "keyframes": [{"frame", "left", "top",
// "width", "height"}]}], "frameCount", "inputImageProperties"}.
//
// Detection: every frame has its own boxes. Its value: {"frames": [{"frame",
// "boundingBoxes": [...]}], "frameCount", "inputImageProperties"}.
//
// Keys: , and . previous / next frame (Shift: 10 frames), Home / End first / last frame,
// K keyframe, P play / pause (boxes follow their interpolation frame by frame; a press on
// the image pauses), plus every key of <crowd-bounding-box>. The object list holds the
// clip's objects (tracks): selecting one goes to a frame where it is.

import { decodeImage, element, parseJsonAttribute, safeUrl } from "./annotation-canvas.js";
import { CrowdBoundingBox } from "./crowd-bounding-box.js";

const CACHE_FRAMES = 48;
const PREFETCH = 4;
const SAME = 0.01;
const PLAY_FPS = 10;

function lerp(a, b, t) {
  return a + (b - a) * t;
}

function rectOf(box) {
  return { left: box.left, top: box.top, width: box.width, height: box.height };
}

function sameRect(a, b) {
  return (
    Math.abs(a.left - b.left) < SAME &&
    Math.abs(a.top - b.top) < SAME &&
    Math.abs(a.width - b.width) < SAME &&
    Math.abs(a.height - b.height) < SAME
  );
}

export class CrowdVideoObjectTracking extends CrowdBoundingBox {
  tracks = []; // [{id, label, keyframes: {frame: rect}}]
  frame = 0;
  nextId = 1;
  #visible = new Set();
  #cache = new Map();
  #slider = null;
  #frameLabel = null;
  #keyframeLabel = null;
  #keyframeBar = null;
  #selectedTrack = 0;
  #playTimer = 0;
  #playButton = null;

  get interpolates() {
    return true;
  }

  get frameUrls() {
    const list = parseJsonAttribute(this.getAttribute("frames"), null);
    if (Array.isArray(list)) return list.map(String);
    const prefix = this.getAttribute("frames-url") || "";
    const count = Number.parseInt(this.getAttribute("frame-count") || "0", 10);
    return prefix && count > 0 ? Array.from({ length: count }, (_, n) => `${prefix}${n}`) : [];
  }

  get frameCount() {
    return this.frameUrls.length;
  }

  firstSource() {
    return this.frameUrls[0] || "";
  }

  // --- State: the tracks; the boxes of the current frame derive from them ---------------------
  state() {
    return { tracks: this.tracks, nextId: this.nextId };
  }

  setState(state) {
    this.tracks = Array.isArray(state?.tracks) ? structuredClone(state.tracks) : [];
    this.nextId = state?.nextId || this.tracks.reduce((m, t) => Math.max(m, t.id + 1), 1);
    this.#buildBoxes();
  }

  restoreInitial() {
    const initial = parseJsonAttribute(this.getAttribute("initial-value"), []);
    const labels = this.labels;
    this.tracks = (Array.isArray(initial) ? initial : []).map((track, index) => ({
      id: index + 1,
      label: labels.includes(track.label) ? track.label : labels[0],
      keyframes: Object.fromEntries(
        (track.keyframes || []).map((k) => [k.frame, rectOf(k)]),
      ),
    }));
    this.nextId = this.tracks.length + 1;
    this.#buildBoxes();
  }

  /** The box of ``track`` at ``frame``: a keyframe, an interpolation, or null. */
  boxAtFrame(track, frame) {
    const own = track.keyframes[frame];
    if (own) return own;
    if (!this.interpolates) return null;
    const frames = Object.keys(track.keyframes)
      .map(Number)
      .sort((a, b) => a - b);
    if (!frames.length || frame < frames[0] || frame > frames[frames.length - 1]) return null;
    let before = frames[0];
    for (const f of frames) {
      if (f <= frame) before = f;
      else {
        const a = track.keyframes[before];
        const b = track.keyframes[f];
        const t = (frame - before) / (f - before);
        return {
          left: lerp(a.left, b.left, t),
          top: lerp(a.top, b.top, t),
          width: lerp(a.width, b.width, t),
          height: lerp(a.height, b.height, t),
        };
      }
    }
    return null;
  }

  /** The id of the selected object, remembered on frames where it is not shown. */
  get selectedTrack() {
    return this.boxes[this.selected]?.track ?? this.#selectedTrack;
  }

  #buildBoxes() {
    const selectedId = this.selectedTrack;
    this.#selectedTrack = selectedId;
    this.boxes = [];
    this.#visible = new Set();
    for (const track of this.tracks) {
      const rect = this.boxAtFrame(track, this.frame);
      if (!rect) continue;
      this.#visible.add(track.id);
      this.boxes.push({
        label: track.label,
        ...rect,
        track: track.id,
        key: Boolean(track.keyframes[this.frame]),
        hidden: Boolean(track.hidden),
      });
    }
    this.selected = this.boxes.findIndex((box) => box.track === selectedId);
  }

  /** After an edit of the current frame's boxes: write them back into the tracks. */
  #syncBack() {
    const present = new Set();
    for (const box of this.boxes) {
      if (box.track === undefined) {
        box.track = this.nextId;
        this.nextId += 1;
        this.tracks.push({ id: box.track, label: box.label, keyframes: {} });
      }
      present.add(box.track);
      const track = this.tracks.find((t) => t.id === box.track);
      track.label = box.label;
      if (box.hidden) track.hidden = true;
      else delete track.hidden;
      const shown = this.boxAtFrame(track, this.frame);
      if (!shown || !sameRect(shown, box)) track.keyframes[this.frame] = rectOf(box);
    }
    // An object whose box was deleted here is deleted (every frame of it).
    this.tracks = this.tracks.filter((t) => present.has(t.id) || !this.#visible.has(t.id));
    this.#buildBoxes();
  }

  changed() {
    this.#syncBack();
    this.#updateTimeline();
    super.changed();
  }

  select(index) {
    super.select(index);
    this.#selectedTrack = this.boxes[index]?.track ?? 0;
    this.#updateTimeline();
  }

  // --- Frames -------------------------------------------------------------------------------
  imageLoaded() {
    this.#cache.set(0, Promise.resolve({ bitmap: this.bitmap }));
    for (let k = 1; k <= PREFETCH && k < this.frameCount; k += 1) this.#decode(k);
    this.#updateTimeline();
  }

  #decode(n) {
    let entry = this.#cache.get(n);
    if (!entry) {
      entry = decodeImage(safeUrl(this.frameUrls[n]));
      entry.catch(() => this.#cache.delete(n));
      this.#cache.set(n, entry);
      if (this.#cache.size > CACHE_FRAMES) {
        const [oldest, promise] = this.#cache.entries().next().value;
        this.#cache.delete(oldest);
        promise.then(({ bitmap }) => bitmap.close?.()).catch(() => {});
      }
    }
    return entry;
  }

  async gotoFrame(n) {
    const count = this.frameCount;
    if (!count) return;
    const target = Math.min(Math.max(Math.round(n), 0), count - 1);
    this.frame = target;
    this.#buildBoxes();
    this.#updateTimeline();
    this.invalidate();
    try {
      const { bitmap } = await this.#decode(target);
      if (this.frame === target) this.showPicture(bitmap);
    } catch {
      this.statusLine.textContent = `Frame ${target} could not be loaded.`;
    }
    for (let k = 1; k <= PREFETCH && target + k < count; k += 1) this.#decode(target + k);
    this.dispatchEvent(new CustomEvent("crowd-frame", { bubbles: true, detail: { frame: target } }));
  }

  belowStage(main) {
    const timeline = element("div", "qa-timeline");
    const previous = element("button", "qa-tool", "◀");
    previous.type = "button";
    previous.title = "Previous frame (,)";
    previous.addEventListener("click", () => this.gotoFrame(this.frame - 1));
    const next = element("button", "qa-tool", "▶");
    next.type = "button";
    next.title = "Next frame (.)";
    next.addEventListener("click", () => this.gotoFrame(this.frame + 1));
    this.#slider = element("input", "qa-scrubber");
    this.#slider.type = "range";
    this.#slider.min = "0";
    this.#slider.max = String(Math.max(this.frameCount - 1, 0));
    this.#slider.value = "0";
    this.#slider.setAttribute("aria-label", "Frame");
    this.#slider.addEventListener("input", () => this.gotoFrame(Number(this.#slider.value)));
    this.#slider.addEventListener("change", () => this.canvas.focus({ preventScroll: true }));
    this.#frameLabel = element("span", "qa-frame");
    this.#keyframeBar = element("div", "qa-keyframe-bar");
    this.#keyframeBar.setAttribute("aria-hidden", "true");
    const track = element("div", "qa-track");
    track.append(this.#slider, this.#keyframeBar);
    this.#playButton = element("button", "qa-tool qa-play");
    this.#playButton.type = "button";
    this.#playButton.setAttribute("aria-pressed", "false");
    this.#playButton.addEventListener("click", () => this.togglePlay());
    this.#showPlaying();
    timeline.append(this.#playButton, previous, track, next, this.#frameLabel);
    this.#keyframeLabel = element("p", "qa-keyframes qc-muted");
    main.append(timeline, this.#keyframeLabel);
    this.#updateTimeline();
  }

  #updateTimeline() {
    if (!this.#slider) return;
    this.#slider.value = String(this.frame);
    this.#frameLabel.textContent = `Frame ${this.frame + 1} / ${this.frameCount}`;
    const track = this.tracks.find((t) => t.id === this.selectedTrack);
    const frames = track
      ? Object.keys(track.keyframes)
          .map((f) => Number(f) + 1)
          .sort((a, b) => a - b)
      : [];
    // Ticks under the scrubber where the selected object has keyframes.
    const last = Math.max(this.frameCount - 1, 1);
    this.#keyframeBar.replaceChildren(
      ...frames.map((frame) => {
        const tick = element("span", "qa-keyframe-tick");
        tick.style.left = `${((frame - 1) / last) * 100}%`;
        tick.title = `Keyframe at frame ${frame}`;
        return tick;
      }),
    );
    this.#keyframeLabel.textContent = track
      ? `Object ${track.id} (${track.label}) — keyframes at frames ${frames.join(", ")}`
      : "Select a box to see its keyframes.";
  }

  // --- Playback -----------------------------------------------------------------------------
  get playing() {
    return this.#playTimer !== 0;
  }

  #showPlaying() {
    if (!this.#playButton) return;
    this.#playButton.replaceChildren(
      this.playing ? "❚❚ Pause " : "▶ Play ",
      element("kbd", "", "P"),
    );
    this.#playButton.setAttribute("aria-pressed", String(this.playing));
  }

  /** Play from the current frame (from the first at the end), or pause. */
  togglePlay() {
    if (this.playing) {
      this.pause();
      return;
    }
    if (this.frameCount < 2) return;
    if (this.frame >= this.frameCount - 1) this.gotoFrame(0);
    const step = async () => {
      if (!this.playing) return;
      if (this.frame >= this.frameCount - 1) {
        this.pause();
        return;
      }
      await this.gotoFrame(this.frame + 1); // waits for the frame: playback never skips one
      if (this.playing) this.#playTimer = setTimeout(step, 1000 / PLAY_FPS);
    };
    this.#playTimer = setTimeout(step, 1000 / PLAY_FPS);
    this.#showPlaying();
  }

  pause() {
    clearTimeout(this.#playTimer);
    this.#playTimer = 0;
    this.#showPlaying();
  }

  disconnectedCallback() {
    this.pause();
    super.disconnectedCallback();
  }

  pointerDown(point, event) {
    if (this.playing) this.pause(); // edits happen on a frame that stays put
    return super.pointerDown(point, event);
  }

  // --- The object list: the clip's objects ------------------------------------------------
  get objectNoun() {
    return "object";
  }

  get objectArray() {
    return null;
  }

  listObjects() {
    return this.tracks.map((track) => ({
      label: track.label,
      hidden: Boolean(track.hidden),
      text: `#${track.id} ${track.label}`,
    }));
  }

  selectedObject() {
    return this.tracks.findIndex((track) => track.id === this.selectedTrack);
  }

  /** Select a track; go to its first keyframe when it is not on this frame. */
  async selectObject(index) {
    const track = this.tracks[index];
    if (!track) return;
    delete track.hidden;
    this.#selectedTrack = track.id;
    this.selected = -1;
    if (!this.boxAtFrame(track, this.frame)) {
      const first = Math.min(...Object.keys(track.keyframes).map(Number));
      if (Number.isFinite(first)) await this.gotoFrame(first);
    }
    this.#buildBoxes();
    const shown = this.boxes.findIndex((box) => box.track === track.id);
    if (shown >= 0) this.select(shown);
    this.#updateTimeline();
    this.invalidate();
  }

  relabelObject(index, labelIndex) {
    const track = this.tracks[index];
    const label = this.labels[labelIndex];
    if (!track || !label || track.label === label) return;
    this.remember();
    track.label = label;
    this.#buildBoxes();
    this.changed();
  }

  deleteObject(index) {
    const track = this.tracks[index];
    if (!track) return;
    this.remember();
    this.tracks.splice(index, 1);
    this.#buildBoxes();
    this.changed();
  }

  toggleObjectHidden(index) {
    const track = this.tracks[index];
    if (!track) return;
    if (track.hidden) delete track.hidden;
    else track.hidden = true;
    this.#buildBoxes();
    if (track.hidden && this.selectedTrack === track.id) this.selected = -1;
    this.changed();
  }

  emptyAnswerNotice() {
    if (!this.ready || this.tracks.length) return "";
    return "No object is marked in this clip.";
  }

  ownKeys() {
    const keys = super.ownKeys();
    const video = [
      { keys: ["P"], does: "play / pause", brief: true },
      { keys: [",", "."], does: "previous / next frame (Shift: 10 frames)", brief: true },
      { keys: ["Home", "End"], does: "first / last frame" },
    ];
    if (this.interpolates) {
      video.push({ keys: ["K"], does: "keyframe here for the selected object" });
    }
    return [...video, ...keys];
  }

  statusText() {
    const mark = this.boxes[this.selected]?.key ? " · keyframe" : "";
    return `${super.statusText()}${mark} · ${this.tracks.length} object(s) in the clip`;
  }

  toolHint() {
    return `${super.toolHint()} · , . frames (Shift: 10) · Home/End · K keyframe · P play`;
  }

  handleKey(event) {
    const key = event.key;
    const step = event.shiftKey ? 10 : 1;
    if (key === "," || key === "<") return this.gotoFrame(this.frame - step) || true;
    if (key === "." || key === ">") return this.gotoFrame(this.frame + step) || true;
    if (key === "Home") return this.gotoFrame(0) || true;
    if (key === "End") return this.gotoFrame(this.frameCount - 1) || true;
    if (key === "p" || key === "P") {
      this.togglePlay();
      return true;
    }
    if (key === "k" || key === "K") {
      this.addKeyframe();
      return true;
    }
    return super.handleKey(event);
  }

  /** Make the current frame a keyframe of the selected object (copying the nearest box). */
  addKeyframe() {
    const track = this.tracks.find((t) => t.id === this.selectedTrack);
    if (!track || track.keyframes[this.frame]) return false;
    const frames = Object.keys(track.keyframes).map(Number);
    const nearest = frames.reduce((best, f) =>
      Math.abs(f - this.frame) < Math.abs(best - this.frame) ? f : best,
    );
    this.remember();
    track.keyframes[this.frame] = { ...(this.boxAtFrame(track, this.frame) || track.keyframes[nearest]) };
    this.#buildBoxes();
    super.changed();
    this.#updateTimeline();
    return true;
  }

  get value() {
    const size = this.imageProperties();
    const round = (rect) => ({
      left: Math.round(rect.left),
      top: Math.round(rect.top),
      width: Math.max(1, Math.round(rect.width)),
      height: Math.max(1, Math.round(rect.height)),
    });
    if (!this.interpolates) {
      const byFrame = new Map();
      for (const track of this.tracks) {
        for (const [frame, rect] of Object.entries(track.keyframes)) {
          const list = byFrame.get(Number(frame)) || [];
          list.push({ label: track.label, ...round(rect) });
          byFrame.set(Number(frame), list);
        }
      }
      return {
        frames: [...byFrame.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([frame, boundingBoxes]) => ({ frame, boundingBoxes })),
        frameCount: this.frameCount,
        inputImageProperties: size,
      };
    }
    return {
      tracks: this.tracks.map((track) => ({
        objectId: track.id,
        label: track.label,
        keyframes: Object.entries(track.keyframes)
          .map(([frame, rect]) => ({ frame: Number(frame), ...round(rect) }))
          .sort((a, b) => a.frame - b.frame),
      })),
      frameCount: this.frameCount,
      inputImageProperties: size,
    };
  }
}

/** Per-frame detection: the same tool without interpolation or ids across frames. */
export class CrowdVideoObjectDetection extends CrowdVideoObjectTracking {
  get interpolates() {
    return false;
  }

  toolHint() {
    return `${CrowdBoundingBox.prototype.toolHint.call(this)} · , . frames (Shift: 10) · Home/End · P play`;
  }

  emptyAnswerNotice() {
    if (!this.ready || this.tracks.length) return "";
    return "No box is marked on any frame of this clip.";
  }
}

if (!customElements.get("crowd-video-object-tracking")) {
  customElements.define("crowd-video-object-tracking", CrowdVideoObjectTracking);
}
if (!customElements.get("crowd-video-object-detection")) {
  customElements.define("crowd-video-object-detection", CrowdVideoObjectDetection);
}
