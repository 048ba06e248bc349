// Helpers of the annotation elements: safe URLs, colours, lenient JSON attributes, and
// image decoding off the main thread (with smaller copies of large images).

const PALETTE = [
  "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
  "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
];
const SAFE_PROTOCOLS = new Set(["http:", "https:", "data:", "blob:"]);
const PYRAMID_FROM_PIXELS = 1_500_000;
const PYRAMID_MIN_SIDE = 512;

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function safeUrl(raw) {
  if (!raw) return "";
  try {
    const url = new URL(raw, document.baseURI);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : "";
  } catch {
    return "";
  }
}

export function colorOf(index) {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/**
 * An attribute's JSON, or the JavaScript-literal style that templates written for the
 * managed service often carry: `[{ label: 'cat', left: 10, }, ]` (bare keys, single quotes,
 * trailing commas). Falls back to ``fallback`` when neither parses.
 */
export function parseJsonAttribute(raw, fallback) {
  if (!raw || !raw.trim()) return fallback;
  try {
    return JSON.parse(raw);
  } catch {
    try {
      return JSON.parse(looseToJson(raw));
    } catch {
      return fallback;
    }
  }
}

/** Rewrite a JavaScript object literal as JSON, leaving the text inside strings alone. */
export function looseToJson(text) {
  let out = "";
  let i = 0;
  let plain = "";
  const flush = () => {
    out += plain
      .replace(/([{,]\s*)([A-Za-z_$][\w$-]*)\s*:/g, '$1"$2":')
      .replace(/,(\s*[}\]])/g, "$1");
    plain = "";
  };
  while (i < text.length) {
    const quote = text[i];
    if (quote !== '"' && quote !== "'") {
      plain += quote;
      i += 1;
      continue;
    }
    flush();
    let value = "";
    i += 1;
    while (i < text.length && text[i] !== quote) {
      if (text[i] === "\\" && i + 1 < text.length) {
        const next = text[i + 1];
        value += next === "n" ? "\n" : next === "t" ? "\t" : next;
        i += 2;
      } else {
        value += text[i];
        i += 1;
      }
    }
    i += 1;
    out += JSON.stringify(value);
  }
  flush();
  return out;
}

/**
 * Smaller copies of a large image (1/2, 1/4, … of its size), made off the main thread, so a
 * zoomed-out view of a 20-megapixel photo scales a small bitmap each frame, not the photo.
 */
export async function imagePyramid(source, width, height) {
  const levels = [];
  if (typeof createImageBitmap !== "function" || width * height < PYRAMID_FROM_PIXELS) {
    return levels;
  }
  for (let factor = 0.5; width * factor >= PYRAMID_MIN_SIDE; factor /= 2) {
    try {
      const bitmap = await createImageBitmap(source, {
        resizeWidth: Math.round(width * factor),
        resizeHeight: Math.round(height * factor),
        resizeQuality: "medium",
      });
      levels.push({ factor, bitmap });
    } catch {
      break;
    }
  }
  return levels;
}

/** Decode an image without blocking the main thread; resolves to {bitmap, width, height}. */
export async function decodeImage(src) {
  const image = new Image();
  image.decoding = "async";
  image.src = src;
  await image.decode();
  let bitmap = image;
  if (typeof createImageBitmap === "function") {
    try {
      bitmap = await createImageBitmap(image);
    } catch {
      bitmap = image; // a cross-origin image without CORS still draws from the <img>
    }
  }
  return { bitmap, width: image.naturalWidth, height: image.naturalHeight };
}
