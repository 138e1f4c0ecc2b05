// Building DOM without HTML strings: every piece of data becomes a text node, so a span
// named <script> is shown as text and never parsed as markup.

function append(node, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach((c) => append(node, c)); return; }
  node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

function setAttributes(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.setAttribute("class", value);
    else if (key === "text") node.textContent = String(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// Text with every case-insensitive occurrence of the terms wrapped in <mark>, as nodes.
export function highlighted(text, terms) {
  const words = (terms || []).filter((t) => t.length > 0);
  if (!words.length) return [text];
  const lower = text.toLowerCase();
  const parts = [];
  let at = 0;
  while (at < text.length) {
    let best = -1, size = 0;
    for (const word of words) {
      const found = lower.indexOf(word, at);
      if (found !== -1 && (best === -1 || found < best)) { best = found; size = word.length; }
    }
    if (best === -1) break;
    if (best > at) parts.push(text.slice(at, best));
    parts.push(h("mark", null, text.slice(best, best + size)));
    at = best + size;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

// The words of a search query worth highlighting: FTS operators and quotes left out.
export function searchTerms(query) {
  return (query || "")
    .toLowerCase()
    .split(/[\s"()*^:]+/)
    .filter((w) => w && !["and", "or", "not", "near"].includes(w));
}
