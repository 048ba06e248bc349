// The keyboard-first layout of <crowd-text-ranking layout="list">: per dimension, the
// responses as an ordered list the labeler rearranges with keys.
//
// ↑ / ↓ select a response; Shift+↑ / Shift+↓ (or U / D) move it up / down; T ties it with
// the one above (again: untie); K keeps the order shown as this dimension's ranking; ← / →
// the previous / next dimension. A dimension counts as ranked once something was moved,
// tied or kept. Ranks are dense: "1, 1, 2" for a tie at the top.

import { element } from "./_support.js";
import { renderMarkdown } from "./_markdown.js";

const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);

export const LIST_KEYS = [
  { keys: ["↑", "↓"], does: "select a response", brief: true },
  { keys: ["Shift+↑", "Shift+↓"], does: "move it up / down (also U / D)", brief: true },
  { keys: ["T"], does: "tie it with the one above (again: untie)", brief: true },
  { keys: ["K"], does: "keep the order shown" },
  { keys: ["←", "→"], does: "previous / next dimension" },
];

/** One dimension's order: ``order`` response indices, ``tied[p]`` ties position p to p−1. */
export class DimensionOrder {
  constructor(count, allowTie) {
    this.order = [...Array(count).keys()];
    this.tied = Array(count).fill(false);
    this.allowTie = allowTie;
    this.touched = false;
  }

  /** The ranks in the order of the responses (dense, 1 = best). */
  ranks() {
    const ranks = Array(this.order.length).fill(0);
    let rank = 0;
    this.order.forEach((response, position) => {
      if (position === 0 || !this.tied[position]) rank += 1;
      ranks[response] = rank;
    });
    return ranks;
  }

  move(position, step) {
    const target = position + step;
    if (target < 0 || target >= this.order.length) return position;
    [this.order[position], this.order[target]] = [this.order[target], this.order[position]];
    this.touched = true;
    return target;
  }

  toggleTie(position) {
    if (position <= 0 || !this.allowTie) return false;
    this.tied[position] = !this.tied[position];
    this.touched = true;
    return true;
  }
}

/** The list view of all dimensions; ``onChange`` after every change. */
export class RankingList {
  constructor(host, responses, dimensions, onChange) {
    this.host = host;
    this.responses = responses;
    this.dimensions = dimensions;
    this.orders = dimensions.map((d) => new DimensionOrder(responses.length, d.allowTie));
    this.current = 0;
    this.selected = 0;
    this.onChange = onChange;
    this.node = element("div", "ql-list-view");
    this.tabs = element("div", "ql-tabs");
    this.tabs.setAttribute("role", "tablist");
    this.list = element("ol", "ql-list");
    this.list.setAttribute("aria-label", "Responses, best first");
    this.node.append(this.tabs, this.list);
    this.render();
  }

  ranks(d) {
    const order = this.orders[d];
    return order.touched ? order.ranks() : order.order.map(() => 0);
  }

  handleKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element && (TYPING_TAGS.has(target.tagName) || target.isContentEditable)) return;
    if (document.querySelector("dialog[open]")) return;
    if (this.host.closest("crowd-form")?.disabled) return;
    const order = this.orders[this.current];
    const key = event.key;
    const lower = key.length === 1 ? key.toLowerCase() : key;
    let changed = false;
    if ((key === "ArrowUp" || key === "ArrowDown") && !event.shiftKey) {
      this.selected = Math.max(0, Math.min(order.order.length - 1, this.selected + (key === "ArrowUp" ? -1 : 1)));
    } else if ((event.shiftKey && (key === "ArrowUp" || key === "ArrowDown")) || lower === "u" || lower === "d") {
      const step = key === "ArrowUp" || lower === "u" ? -1 : 1;
      this.selected = order.move(this.selected, step);
      changed = true;
    } else if (lower === "t") {
      changed = order.toggleTie(this.selected);
    } else if (lower === "k") {
      order.touched = true;
      changed = true;
    } else if (key === "ArrowLeft" || key === "ArrowRight") {
      this.show(this.current + (key === "ArrowLeft" ? -1 : 1));
    } else {
      return;
    }
    event.preventDefault();
    this.render();
    if (changed) this.onChange();
  }

  show(d) {
    this.current = Math.max(0, Math.min(this.dimensions.length - 1, d));
    this.selected = 0;
    this.render();
  }

  render() {
    this.tabs.replaceChildren(
      ...this.dimensions.map((dimension, d) => {
        const tab = element("button", "ql-tab", dimension.name);
        tab.type = "button";
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-selected", String(d === this.current));
        tab.dataset.ranked = String(this.orders[d].touched);
        tab.addEventListener("click", () => this.show(d));
        return tab;
      }),
    );
    const order = this.orders[this.current];
    const ranks = order.ranks();
    this.list.replaceChildren(
      ...order.order.map((response, position) => {
        const row = element("li", "ql-row");
        row.dataset.response = String(response);
        row.setAttribute("aria-selected", String(position === this.selected));
        const rank = element("span", "ql-rank", String(ranks[response]));
        if (order.tied[position]) rank.append(element("span", "ql-tie", " = tie"));
        const text = element("div", "ql-text");
        text.append(element("span", "qr-number", `Response ${response + 1}`), renderMarkdown(this.responses[response]));
        row.append(rank, text);
        row.addEventListener("click", () => {
          this.selected = position;
          this.render();
        });
        return row;
      }),
    );
  }
}
