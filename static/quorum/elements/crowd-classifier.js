// <crowd-classifier>: choose one of `categories` for what <classification-target> shows.
//
// Attributes: name, categories (a JSON array of strings), header, value (the category chosen
// at first, if any). Child regions:
// <classification-target>, <short-instructions>, <full-instructions header="...">.
// Its value is {"label": "<category>"} once one is chosen; <crowd-form> collects it.

const KEYED_CATEGORIES = 9;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Categories from JSON, or from the single-quoted list older templates often carry. */
export function parseCategories(raw) {
  if (!raw) return [];
  let list;
  try {
    list = JSON.parse(raw);
  } catch {
    list = [...raw.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) =>
      (m[1] ?? m[2]).replace(/\\(.)/g, "$1"),
    );
  }
  if (!Array.isArray(list)) return [];
  return list
    .map((item) => (item && typeof item === "object" ? item.label : item))
    .filter((item) => item !== undefined && item !== null && String(item) !== "")
    .map(String);
}

let dialogCount = 0;

export class CrowdClassifier extends HTMLElement {
  #built = false;
  #chosen = -1;
  #buttons = [];
  #dialog = null;

  connectedCallback() {
    if (this.#built) return;
    this.#built = true;
    this.#build();
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get categories() {
    return parseCategories(this.getAttribute("categories"));
  }

  /** {"label": category} once chosen, else null. */
  get value() {
    return this.#chosen >= 0 ? { label: this.categories[this.#chosen] } : null;
  }

  checkValidity() {
    return this.#chosen >= 0;
  }

  get validationMessage() {
    const keys = Math.min(this.categories.length, KEYED_CATEGORIES);
    return keys > 1
      ? `Choose a category first: press 1–${keys} or click one.`
      : "Choose a category first.";
  }

  /** The keys of this element (the `?` list and the legend of the work page read them). */
  keyHelp() {
    const keys = Math.min(this.categories.length, KEYED_CATEGORIES);
    if (!keys) return null;
    const multi = this.localName.includes("multi-select");
    return {
      title: this.getAttribute("header") || "Categories",
      keys: [
        {
          keys: keys > 1 ? ["1", String(keys)] : ["1"],
          range: keys > 1,
          does: multi ? "turn a category on or off" : "choose a category",
          brief: true,
        },
      ],
    };
  }

  /** Choose the category at ``index`` (0-based); false when there is none. */
  choose(index) {
    if (!Number.isInteger(index) || index < 0 || index >= this.#buttons.length) return false;
    this.#chosen = index;
    this.#buttons.forEach((button, position) =>
      button.setAttribute("aria-pressed", String(position === index)),
    );
    this.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  openInstructions() {
    if (this.#dialog && !this.#dialog.open) this.#dialog.showModal();
  }

  /** What is being classified; <crowd-image-classifier> shows its image instead. */
  renderTarget() {
    const target = this.querySelector(":scope > classification-target");
    return target || element("div", "qc-muted", "(nothing to classify)");
  }

  #build() {
    const shortInstructions = this.querySelector(":scope > short-instructions");
    const fullInstructions = this.querySelector(":scope > full-instructions");
    const target = this.renderTarget();

    const main = element("section", "qc-main");
    const header = this.getAttribute("header");
    if (header) main.append(element("h2", "qc-header", header));
    const targetBox = element("div", "qc-target");
    targetBox.append(target);
    main.append(targetBox, this.#choices());

    const side = element("aside", "qc-side");
    side.append(element("h3", "qc-side-title", "Instructions"));
    if (shortInstructions) side.append(shortInstructions);
    if (fullInstructions) {
      this.#dialog = this.#instructionsDialog(fullInstructions);
      const more = element("button", "qc-more");
      more.type = "button";
      more.append("Full instructions ", element("kbd", "", "I"));
      more.addEventListener("click", () => this.openInstructions());
      side.append(more);
    }
    const layout = element("div", "qc-layout");
    layout.append(main, side);
    this.replaceChildren(layout);
    if (this.#dialog) this.append(this.#dialog);
    // A `value` attribute pre-selects a category (a model's prediction to check).
    const preset = this.categories.indexOf(this.getAttribute("value") || "");
    if (preset >= 0) this.choose(preset);
  }

  #choices() {
    const group = element("div", "qc-choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Categories");
    this.#buttons = this.categories.map((category, index) => {
      const button = element("button", "qc-choice");
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      if (index < KEYED_CATEGORIES) button.append(element("kbd", "", String(index + 1)));
      button.append(element("span", "qc-choice-label", category));
      button.addEventListener("click", () => this.choose(index));
      group.append(button);
      return button;
    });
    return group;
  }

  #instructionsDialog(fullInstructions) {
    dialogCount += 1;
    const titleId = `qc-dialog-title-${dialogCount}`;
    const dialog = element("dialog", "qc-dialog");
    dialog.setAttribute("aria-labelledby", titleId);
    const head = element("div", "qc-dialog-head");
    const title = element("h2", "", fullInstructions.getAttribute("header") || "Instructions");
    title.id = titleId;
    const close = element("button", "qc-dialog-close", "Close");
    close.type = "button";
    close.addEventListener("click", () => dialog.close());
    head.append(title, close);
    const body = element("div", "qc-dialog-body");
    body.append(fullInstructions);
    dialog.append(head, body);
    // A click on the backdrop (outside the box) closes it too.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    return dialog;
  }
}

if (!customElements.get("crowd-classifier")) {
  customElements.define("crowd-classifier", CrowdClassifier);
}
