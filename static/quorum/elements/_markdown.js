// Long model output shown safely: a small Markdown subset built as DOM nodes, never HTML.
//
// Fenced code blocks (```lang … ```), headings (#), bullet and numbered lists, paragraphs
// (line breaks kept), and inline `code`, **bold** and *emphasis*. Every piece of text goes
// in with textContent, so a response holding <script>, <img onerror> or an HTML comment
// shows those characters and runs nothing. Links stay plain text.

import { element } from "./_support.js";

const FENCE = /^\s*(```|~~~)\s*([\w+#.-]*)\s*$/;
const HEADING = /^(#{1,6})\s+(.*)$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d+[.)]\s+(.*)$/;
const INLINE = /(`[^`\n]+`|\*\*[^*\n]+\*\*|\*[^*\n]+\*)/g;

/** Inline pieces of one line of text appended to `parent`. */
function appendInline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    const token = match[0];
    if (token.startsWith("`")) parent.append(element("code", "qm-code", token.slice(1, -1)));
    else if (token.startsWith("**")) parent.append(element("strong", "", token.slice(2, -2)));
    else parent.append(element("em", "", token.slice(1, -1)));
    last = match.index + token.length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

/** A document fragment of `text` rendered as the Markdown subset above. */
export function renderMarkdown(text) {
  const root = element("div", "qm-doc");
  const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
  let paragraph = [];
  let list = null;
  const flushParagraph = () => {
    if (!paragraph.length) return;
    const p = element("p", "qm-p");
    paragraph.forEach((line, index) => {
      if (index) p.append(element("br"));
      appendInline(p, line);
    });
    root.append(p);
    paragraph = [];
  };
  const flushList = () => {
    list = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    const fence = line.match(FENCE);
    if (fence) {
      flushParagraph();
      flushList();
      const body = [];
      i += 1;
      while (i < lines.length && !(lines[i].trim().startsWith(fence[1]) && lines[i].trim().replace(/[`~]/g, "") === "")) {
        body.push(lines[i]);
        i += 1;
      }
      const pre = element("pre", "qm-pre");
      const code = element("code", "qm-block", body.join("\n"));
      if (fence[2]) code.dataset.lang = fence[2];
      pre.append(code);
      root.append(pre);
      continue;
    }
    if (!line.trim()) {
      flushParagraph();
      flushList();
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      flushParagraph();
      flushList();
      const h = element("p", `qm-h qm-h${heading[1].length}`);
      appendInline(h, heading[2]);
      root.append(h);
      continue;
    }
    const bullet = line.match(BULLET);
    const numbered = bullet ? null : line.match(NUMBERED);
    if (bullet || numbered) {
      flushParagraph();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.localName !== tag) {
        list = element(tag, "qm-list");
        root.append(list);
      }
      const li = element("li");
      appendInline(li, (bullet || numbered)[1]);
      list.append(li);
      continue;
    }
    flushList();
    paragraph.push(line);
  }
  flushParagraph();
  return root;
}
