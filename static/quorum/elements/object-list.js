// The object list beside an annotation element's image: one row per object (a box, a
// polygon, a track, a painted label …) to select it, relabel it, hide it from the view, or
// delete it. It asks the element for its rows (`listObjects()`, `selectedObject()`) and calls
// `selectObject`, `relabelObject`, `toggleObjectHidden` and `deleteObject` (annotation-canvas.js
// has the versions over an array of {label}; the video and mask elements their own). It is
// redrawn on the element's next frame after a change or a new selection, never per frame.

import { colorOf, element } from "./canvas-support.js";

const LISTED_OBJECTS = 300; // rows shown; more are counted, not listed

export class ObjectList {
  #owner;
  #title;
  #list;
  #dirty = true;
  #selected = -2;

  constructor(owner) {
    this.#owner = owner;
    this.section = element("section", "qa-objects");
    this.#title = element("h3", "qc-side-title qa-objects-title", "Objects");
    this.#list = element("ol", "qa-object-list");
    this.#list.setAttribute("aria-label", "Objects");
    this.#list.addEventListener("click", (event) => this.#clicked(event));
    this.#list.addEventListener("change", (event) => {
      const index = Number(event.target.closest("li").dataset.index);
      owner.relabelObject(index, Number(event.target.value));
      owner.canvas.focus({ preventScroll: true });
    });
    this.section.append(this.#title, this.#list);
  }

  /** The objects changed: redraw the rows on the next frame. */
  markChanged() {
    this.#dirty = true;
  }

  #clicked(event) {
    const control = event.target.closest("button[data-action]");
    if (!control) return;
    const index = Number(control.closest("li").dataset.index);
    const owner = this.#owner;
    const action = control.dataset.action;
    if (action === "select") owner.selectObject(index);
    else if (action === "hide") owner.toggleObjectHidden(index);
    else if (action === "delete") owner.deleteObject(index);
    owner.invalidate();
  }

  /** Redraw when the objects or the selection changed since the last time. */
  refresh() {
    const owner = this.#owner;
    const selected = owner.selectedObject();
    if (!this.#dirty && selected === this.#selected) return;
    this.#dirty = false;
    this.#selected = selected;
    const rows = owner.listObjects() || [];
    const noun = owner.objectNoun;
    this.#title.textContent = `Objects (${rows.length})`;
    const items = rows
      .slice(0, LISTED_OBJECTS)
      .map((row, index) => this.#row(row, index, index === selected, noun));
    if (rows.length > LISTED_OBJECTS) {
      const more = `…and ${rows.length - LISTED_OBJECTS} more`;
      items.push(element("li", "qa-object-more qc-muted", more));
    }
    if (!rows.length) items.push(element("li", "qa-object-none qc-muted", `No ${noun} yet.`));
    this.#list.replaceChildren(...items);
  }

  #row(row, index, current, noun) {
    const labels = this.#owner.labels;
    const number = index + 1;
    const item = element("li", "qa-object");
    item.dataset.index = String(index);
    if (current) item.setAttribute("aria-current", "true");
    if (row.hidden) item.dataset.hidden = "";
    const pick = element("button", "qa-object-pick");
    pick.type = "button";
    pick.dataset.action = "select";
    pick.title = `Select ${noun} ${number}`;
    const swatch = element("span", "qa-swatch");
    swatch.style.background = colorOf(labels.indexOf(row.label));
    pick.append(swatch, row.text || `${number}. ${row.label}`);
    const relabel = element("select", "qa-object-label");
    relabel.setAttribute("aria-label", `Label of ${noun} ${number}`);
    labels.forEach((label, position) => {
      const option = element("option", "", label);
      option.value = String(position);
      option.selected = label === row.label;
      relabel.append(option);
    });
    const shown = row.hidden ? "Show" : "Hide";
    const hide = element("button", "qa-object-hide", shown);
    hide.type = "button";
    hide.dataset.action = "hide";
    hide.setAttribute("aria-pressed", String(Boolean(row.hidden)));
    hide.setAttribute("aria-label", `${shown} ${noun} ${number}`);
    const remove = element("button", "qa-object-delete", "✕");
    remove.type = "button";
    remove.dataset.action = "delete";
    remove.setAttribute("aria-label", `Delete ${noun} ${number}`);
    item.append(pick, relabel, hide, remove);
    return item;
  }
}
