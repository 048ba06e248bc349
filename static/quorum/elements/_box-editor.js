// Boxes over an image that a reviewer moves, resizes or draws, in fractions of the image
// (the analysis's boundingBox: left, top, width, height from 0 to 1).
//
// Mouse: drag a box to move it, drag its corner handle to resize it. Keyboard (the box has
// the focus): arrows move it by 1 %, Shift+arrows resize it, Delete removes what it belongs
// to (when the caller allows it). drawBox() lets the reviewer drag
// a new box on the image; Escape cancels.

import { element } from "./_support.js";

const STEP = 0.01;
const MIN_SIZE = 0.005;
const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

function fractionAt(frame, event) {
  const rect = frame.getBoundingClientRect();
  return {
    x: clamp((event.clientX - rect.left) / rect.width, 0, 1),
    y: clamp((event.clientY - rect.top) / rect.height, 0, 1),
  };
}

export function boxOf(block) {
  const box = block?.geometry?.boundingBox;
  if (!box) return null;
  return {
    left: Number(box.left),
    top: Number(box.top),
    width: Number(box.width),
    height: Number(box.height ?? box.weight),
  };
}

export function setBox(block, box) {
  const rounded = Object.fromEntries(
    ["width", "height", "left", "top"].map((name) => [name, Math.round(box[name] * 1e6) / 1e6]),
  );
  block.geometry = { ...(block.geometry || {}), boundingBox: rounded };
  const { left, top, width, height } = rounded;
  block.geometry.polygon = [
    { x: left, y: top },
    { x: left + width, y: top },
    { x: left + width, y: top + height },
    { x: left, y: top + height },
  ];
}

export function place(mark, box) {
  Object.assign(mark.style, {
    left: `${box.left * 100}%`,
    top: `${box.top * 100}%`,
    width: `${box.width * 100}%`,
    height: `${box.height * 100}%`,
  });
}

/** Make ``mark`` (showing ``block``'s box inside ``frame``) movable and resizable. */
export function makeEditable(frame, mark, block, { label, onChange, onDelete = null }) {
  mark.classList.add("qv-box-edit");
  mark.tabIndex = 0;
  mark.setAttribute("role", "button");
  mark.setAttribute("aria-label", `${label}: arrows move, Shift+arrows resize`);
  const handle = element("span", "qv-handle");
  mark.append(handle);
  const commit = (box) => {
    setBox(block, box);
    place(mark, box);
    onChange();
  };
  mark.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    const start = fractionAt(frame, event);
    const origin = boxOf(block);
    const resizing = event.target === handle;
    mark.setPointerCapture(event.pointerId);
    const move = (moveEvent) => {
      const at = fractionAt(frame, moveEvent);
      const dx = at.x - start.x;
      const dy = at.y - start.y;
      const box = resizing
        ? {
            ...origin,
            width: clamp(origin.width + dx, MIN_SIZE, 1 - origin.left),
            height: clamp(origin.height + dy, MIN_SIZE, 1 - origin.top),
          }
        : {
            ...origin,
            left: clamp(origin.left + dx, 0, 1 - origin.width),
            top: clamp(origin.top + dy, 0, 1 - origin.height),
          };
      setBox(block, box);
      place(mark, box);
    };
    const up = () => {
      mark.removeEventListener("pointermove", move);
      mark.removeEventListener("pointerup", up);
      commit(boxOf(block));
    };
    mark.addEventListener("pointermove", move);
    mark.addEventListener("pointerup", up);
  });
  mark.addEventListener("keydown", (event) => {
    if (onDelete && (event.key === "Delete" || event.key === "Backspace")) {
      event.preventDefault();
      event.stopPropagation();
      onDelete();
      return;
    }
    const delta = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP] }[
      event.key
    ];
    if (!delta) return;
    event.preventDefault();
    event.stopPropagation();
    const box = boxOf(block);
    const [dx, dy] = delta;
    if (event.shiftKey) {
      box.width = clamp(box.width + dx, MIN_SIZE, 1 - box.left);
      box.height = clamp(box.height + dy, MIN_SIZE, 1 - box.top);
    } else {
      box.left = clamp(box.left + dx, 0, 1 - box.width);
      box.top = clamp(box.top + dy, 0, 1 - box.height);
    }
    commit(box);
  });
}

/** Let the reviewer drag a new box on ``frame``; ``onDone(box)`` gets it (null: Escape). */
export function drawBox(frame, onDone) {
  frame.classList.add("qv-drawing");
  const ghost = element("div", "qv-box qv-box-ghost");
  let start = null;
  const finish = (box) => {
    frame.classList.remove("qv-drawing");
    frame.removeEventListener("pointerdown", down);
    document.removeEventListener("keydown", escape, true);
    ghost.remove();
    onDone(box);
  };
  const current = (event) => {
    const at = fractionAt(frame, event);
    return {
      left: Math.min(start.x, at.x),
      top: Math.min(start.y, at.y),
      width: Math.abs(at.x - start.x),
      height: Math.abs(at.y - start.y),
    };
  };
  const down = (event) => {
    event.preventDefault();
    start = fractionAt(frame, event);
    frame.setPointerCapture(event.pointerId);
    frame.append(ghost);
    place(ghost, { left: start.x, top: start.y, width: 0, height: 0 });
    const move = (moveEvent) => place(ghost, current(moveEvent));
    const up = (upEvent) => {
      frame.removeEventListener("pointermove", move);
      frame.removeEventListener("pointerup", up);
      const box = current(upEvent);
      if (box.width < MIN_SIZE || box.height < MIN_SIZE) return; // a click: keep drawing
      finish(box);
    };
    frame.addEventListener("pointermove", move);
    frame.addEventListener("pointerup", up);
  };
  const escape = (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    event.stopPropagation();
    finish(null);
  };
  frame.addEventListener("pointerdown", down);
  document.addEventListener("keydown", escape, true);
}
