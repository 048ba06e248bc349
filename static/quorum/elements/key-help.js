// The keys of the task in front of the labeler, built from what each element declares.
//
// Every element with keys has a `keyHelp()` method returning its key declaration:
//   {title: "Boxes", keys: [{keys: ["Tab", "Shift+Tab"], does: "next / previous box", brief}]}
// (`range`: the keys are a range, "1–9"; `mouse`: a gesture such as "drag", not a key).
// `brief` entries also go into the one-line legend above the task. <crowd-form> opens the
// full list with `?`; the work page draws the legend with `renderLegend`.

function kbd(text) {
  const node = document.createElement("kbd");
  node.textContent = text;
  return node;
}

/** The key declarations of `root` and every element inside it, outermost last. */
export function keyDeclarations(root) {
  // The task's elements first, the form's own keys (submit, skip) last.
  const nodes = [...root.querySelectorAll("*")].sort(
    (a, b) => (a.localName === "crowd-form") - (b.localName === "crowd-form"),
  );
  if (typeof root.keyHelp === "function") nodes.push(root);
  const seen = new Set();
  const declarations = [];
  for (const node of nodes) {
    if (!node.localName.includes("-") || typeof node.keyHelp !== "function") continue;
    const declaration = node.keyHelp();
    if (!declaration || !declaration.keys?.length) continue;
    // Two elements of one kind (two classifiers) declare the same keys once.
    const signature = `${node.localName}:${JSON.stringify(declaration)}`;
    if (seen.has(signature)) continue;
    seen.add(signature);
    declarations.push({ element: node.localName, ...declaration });
  }
  return declarations;
}

/** `["1", "9"]` reads "1–9" when `range` is set; otherwise keys are alternatives ("/").
 * A `mouse` entry ("click", "drag") is a gesture, written as a word, not a key cap. */
function keyNodes(entry) {
  const parts = [];
  entry.keys.forEach((key, index) => {
    if (index) parts.push(entry.range ? "–" : " / ");
    if (entry.mouse) {
      const word = document.createElement("em");
      word.className = "qk-mouse";
      word.textContent = key;
      parts.push(word);
    } else {
      parts.push(kbd(key));
    }
  });
  return parts;
}

/** The full list, one section per element, as a definition list each. */
export function keyHelpBody(declarations) {
  const body = document.createElement("div");
  body.className = "qk-body";
  for (const declaration of declarations) {
    const section = document.createElement("section");
    section.className = "qk-section";
    section.dataset.element = declaration.element;
    const title = document.createElement("h3");
    title.textContent = declaration.title;
    const list = document.createElement("dl");
    list.className = "qk-list";
    for (const entry of declaration.keys) {
      const term = document.createElement("dt");
      term.append(...keyNodes(entry));
      const detail = document.createElement("dd");
      detail.textContent = entry.does;
      list.append(term, detail);
    }
    section.append(title, list);
    body.append(section);
  }
  return body;
}

/** The one-line legend: each declaration's brief keys, then "? all keys". */
export function renderLegend(container, root) {
  const parts = [];
  for (const declaration of keyDeclarations(root)) {
    for (const entry of declaration.keys) {
      if (!entry.brief) continue;
      const item = document.createElement("span");
      item.className = "qk-legend-item";
      item.append(...keyNodes(entry), ` ${entry.does}`);
      parts.push(item);
    }
  }
  if (!parts.length) return false;
  const all = document.createElement("span");
  all.className = "qk-legend-item";
  all.append(kbd("?"), " all keys");
  parts.push(all);
  const line = [];
  parts.forEach((part, index) => {
    if (index) line.push(" · ");
    line.push(part);
  });
  container.replaceChildren(...line);
  return true;
}

let dialogCount = 0;

/** A modal dialog listing the keys of `root`; built when opened, so it is always current. */
export function openKeyHelp(root) {
  let dialog = root.querySelector(":scope > dialog.qk-dialog");
  if (!dialog) {
    dialogCount += 1;
    dialog = document.createElement("dialog");
    dialog.className = "qc-dialog qk-dialog";
    const titleId = `qk-title-${dialogCount}`;
    dialog.setAttribute("aria-labelledby", titleId);
    const head = document.createElement("div");
    head.className = "qc-dialog-head";
    const title = document.createElement("h2");
    title.id = titleId;
    title.textContent = "Keys of this task";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "qc-dialog-close";
    close.textContent = "Close";
    close.addEventListener("click", () => dialog.close());
    head.append(title, close);
    const body = document.createElement("div");
    body.className = "qc-dialog-body";
    dialog.append(head, body);
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    root.append(dialog);
  }
  dialog.querySelector(".qc-dialog-body").replaceChildren(keyHelpBody(keyDeclarations(root)));
  if (!dialog.open) dialog.showModal();
  return dialog;
}
