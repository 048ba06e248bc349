// <crowd-text-ranking>: rank several responses to one prompt, on each of several dimensions.
//
// Attributes (as the managed service's element): name, text (the prompt), responses (a JSON
// array of strings), ordinal-ranking-dimensions (a JSON array of {"name", "allowTie"}).
// Each response gets a rank 1..N (1 = best) per dimension, from a select or with the keys
// (focus a response's rank and press a digit); without allowTie no two responses of a
// dimension share a rank. Its value, ranks listed in the order of `responses`:
// {"ordinalRankingDimensions": [{"name", "allowTie", "ranks": [1, 3, 2]}]}.
// Quorum's addition: layout="list" shows each dimension as an ordered list rearranged with
// keys (_ranking-list.js: Shift+↑/↓ move, T tie, K keep, ←/→ dimension; `?` lists them).

import { adoptStyles, element } from "./_support.js";
import { parseJsonAttribute } from "./canvas-support.js";
import { instructionsPanel } from "./_regions.js";
import { LIST_KEYS, RankingList } from "./_ranking-list.js";

export class CrowdTextRanking extends HTMLElement {
  #built = false;
  #ranks = []; // per dimension, per response: 0 (not yet) or 1..N
  #selects = [];
  #panel = null;
  #list = null;
  #onKey = (event) => this.#list?.handleKey(event);

  connectedCallback() {
    document.addEventListener("keydown", this.#onKey);
    if (this.#built) return;
    this.#built = true;
    adoptStyles();
    this.#build();
  }

  disconnectedCallback() {
    document.removeEventListener("keydown", this.#onKey);
  }

  keyHelp() {
    return this.#list ? { title: "Ranking", keys: LIST_KEYS } : null;
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get responses() {
    const list = parseJsonAttribute(this.getAttribute("responses"), []);
    return Array.isArray(list) ? list.map((item) => String(item ?? "")) : [];
  }

  get dimensions() {
    const list = parseJsonAttribute(this.getAttribute("ordinal-ranking-dimensions"), []);
    return (Array.isArray(list) ? list : [])
      .filter((item) => item && typeof item === "object" && item.name)
      .map((item) => ({ name: String(item.name), allowTie: item.allowTie === true }));
  }

  get value() {
    if (this.#list) this.#ranks = this.dimensions.map((_, d) => this.#list.ranks(d));
    return {
      ordinalRankingDimensions: this.dimensions.map((dimension, d) => ({
        name: dimension.name,
        allowTie: dimension.allowTie,
        ranks: [...(this.#ranks[d] || [])],
      })),
    };
  }

  /** Rank response ``r`` ``rank`` (1..N) on dimension ``d``; false when out of range. */
  rank(d, r, rank) {
    const row = this.#ranks[d];
    if (!row || r < 0 || r >= row.length || rank < 0 || rank > row.length) return false;
    row[r] = rank;
    const select = this.#selects[d]?.[r];
    if (select) select.value = String(rank);
    this.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  checkValidity() {
    return this.#problem() === null;
  }

  get validationMessage() {
    return this.#problem() || "";
  }

  openInstructions() {
    this.#panel?.open();
  }

  #problem() {
    const dimensions = this.dimensions;
    if (this.#list) this.#ranks = dimensions.map((_, d) => this.#list.ranks(d));
    for (let d = 0; d < dimensions.length; d += 1) {
      const row = this.#ranks[d] || [];
      if (row.some((rank) => !rank)) return `Rank every response on “${dimensions[d].name}”.`;
      if (!dimensions[d].allowTie && new Set(row).size !== row.length) {
        return `“${dimensions[d].name}” allows no ties: give each response its own rank.`;
      }
    }
    return null;
  }

  #build() {
    this.#panel = instructionsPanel(this);
    const responses = this.responses;
    const dimensions = this.dimensions;
    this.#ranks = dimensions.map(() => responses.map(() => 0));
    const main = element("section", "qc-main qr-main");
    if (this.getAttribute("header")) main.append(element("h2", "qc-header", this.getAttribute("header")));
    const prompt = element("div", "qr-prompt");
    prompt.append(element("strong", "", "Prompt: "), element("span", "", this.getAttribute("text") || ""));
    main.append(prompt);
    if ((this.getAttribute("layout") || "").toLowerCase() === "list") {
      this.#list = new RankingList(this, responses, dimensions, () =>
        this.dispatchEvent(new Event("change", { bubbles: true })),
      );
      main.append(this.#list.node);
      const layout = element("div", "qc-layout");
      layout.append(main, this.#panel.aside);
      this.replaceChildren(layout);
      return;
    }
    const table = element("table", "qr-table");
    const head = element("tr");
    head.append(element("th", "", "Response"));
    for (const dimension of dimensions) {
      head.append(element("th", "", `${dimension.name}${dimension.allowTie ? " (ties allowed)" : ""}`));
    }
    table.append(head);
    this.#selects = dimensions.map(() => []);
    responses.forEach((response, r) => {
      const row = element("tr");
      const cell = element("td", "qr-response");
      cell.append(element("span", "qr-number", `${r + 1}. `), element("span", "qr-text", response));
      row.append(cell);
      dimensions.forEach((dimension, d) => {
        const select = element("select", "qf-field qr-rank");
        select.setAttribute("data-crowd-internal", "");
        select.setAttribute("aria-label", `Rank of response ${r + 1} on ${dimension.name}`);
        select.append(new Option("–", "0"));
        for (let rank = 1; rank <= responses.length; rank += 1) {
          select.append(new Option(String(rank), String(rank)));
        }
        select.addEventListener("change", () => this.rank(d, r, Number(select.value)));
        const td = element("td");
        td.append(select);
        row.append(td);
        this.#selects[d].push(select);
      });
      table.append(row);
    });
    main.append(table);
    const layout = element("div", "qc-layout");
    layout.append(main, this.#panel.aside);
    this.replaceChildren(layout);
  }
}

if (!customElements.get("crowd-text-ranking")) {
  customElements.define("crowd-text-ranking", CrowdTextRanking);
}
