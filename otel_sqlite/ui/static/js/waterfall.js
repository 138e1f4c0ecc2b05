// The waterfall of a run: its span tree as rows, each with a bar placed and sized by time.
// Rows are virtualised (only the rows in view exist in the DOM), so a 10,000-span run draws
// as fast as a small one. Retries of a step (siblings of one name with an attempt number)
// are one row whose bar shows every attempt; expanding it lists the attempts.
import { h, clear } from "./dom.js";
import * as fmt from "./format.js";

const ROW_HEIGHT = 24;
const OVERSCAN = 12;
const ICON = { ok: "✓", error: "✗", incomplete: "◐" };
// Outcomes the status alone does not tell (a skipped step is "ok"): flagged beside the name.
const NOTED_OUTCOMES = new Set(["skipped", "xfailed", "xpassed"]);
// Room left after the last known moment when spans are open, so their bars stay visible.
const OPEN_MARGIN = 0.1;

function groupRetries(children, parentId) {
  const byName = new Map();
  for (const node of children) {
    if (node.span.attempt === null || node.span.attempt === undefined) continue;
    const list = byName.get(node.span.name) || [];
    list.push(node);
    byName.set(node.span.name, list);
  }
  const grouped = new Set();
  const result = [];
  for (const node of children) {
    const attempts = byName.get(node.span.name);
    if (!attempts || attempts.length < 2 || !attempts.includes(node)) { result.push(node); continue; }
    if (grouped.has(node.span.name)) continue;
    grouped.add(node.span.name);
    attempts.sort((a, b) => (a.span.attempt - b.span.attempt) || (a.span.offset_ms - b.span.offset_ms));
    const last = attempts[attempts.length - 1].span;
    for (const a of attempts) a.attemptOf = true;
    result.push({
      id: `retries:${parentId}:${node.span.name}`,  // stable while attempts arrive
      span: last,
      attempts,
      children: attempts,
      expanded: false,
    });
  }
  return result;
}

export function buildTree(spans) {
  const nodes = new Map();
  for (const span of spans) nodes.set(span.span_id, { id: span.span_id, span, children: [], expanded: true });
  const roots = [];
  for (const node of nodes.values()) {
    const parent = node.span.parent_span_id && nodes.get(node.span.parent_span_id);
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  for (const node of nodes.values()) {
    if (node.children.length > 1) {
      node.children.sort((a, b) => a.span.offset_ms - b.span.offset_ms);
      node.children = groupRetries(node.children, node.id);
    }
  }
  roots.sort((a, b) => a.span.offset_ms - b.span.offset_ms);
  return roots;
}

function visibleRows(roots) {
  const rows = [];
  const stack = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push([roots[i], 0]);
  while (stack.length) {
    const [node, depth] = stack.pop();
    rows.push({ node, depth });
    if (node.expanded) {
      for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i], depth + 1]);
    }
  }
  return rows;
}

function walk(roots, visit) {
  const stack = [...roots];
  while (stack.length) {
    const node = stack.pop();
    visit(node);
    stack.push(...node.children);
  }
}

export class Waterfall {
  constructor(container, { onSelect }) {
    this.onSelect = onSelect;
    this.roots = [];
    this.rows = [];
    this.extent = 1;
    this.selected = null;
    this.expandedState = new Map();
    this.scale = h("div", { class: "wf-scale" });
    this.spacer = h("div", { class: "wf-spacer" });
    this.scroller = h("div", { class: "wf-scroll", tabindex: 0 }, this.spacer);
    this.element = h("div", { class: "waterfall", id: "waterfall" },
      h("div", { class: "wf-head" }, h("div", { class: "wf-label" }, "Span"), this.scale),
      this.scroller);
    container.appendChild(this.element);
    let pending = false;
    this.scroller.addEventListener("scroll", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; this.draw(); });
    });
  }

  // Replace the spans (first load or a poll); expansion and selection are kept by span id.
  setSpans(spans, extentMs) {
    walk(this.roots, (n) => this.expandedState.set(n.id, n.expanded));
    this.roots = buildTree(spans);
    walk(this.roots, (n) => { if (this.expandedState.has(n.id)) n.expanded = this.expandedState.get(n.id); });
    const open = spans.some((s) => s.duration_ms === null);
    this.extent = Math.max(extentMs || 0, 1e-3) * (open ? 1 + OPEN_MARGIN : 1);
    this.drawScale();
    this.refresh();
  }

  setAll(expanded) {
    walk(this.roots, (n) => { if (n.children.length) n.expanded = expanded; });
    this.refresh();
  }

  // Show one span: expand its ancestors, scroll it into view, select it.
  reveal(spanId) {
    const path = [];
    const find = (nodes, trail) => {
      for (const node of nodes) {
        if (node.span.span_id === spanId && !node.attempts) { path.push(...trail, node); return true; }
        if (find(node.children, [...trail, node])) return true;
      }
      return false;
    };
    if (!find(this.roots, [])) return false;
    for (const node of path.slice(0, -1)) node.expanded = true;
    this.selected = spanId;
    this.refresh();
    const index = this.rows.findIndex((r) => r.node === path[path.length - 1]);
    if (index >= 0) {
      const top = index * ROW_HEIGHT;
      const view = this.scroller.clientHeight;
      if (top < this.scroller.scrollTop || top > this.scroller.scrollTop + view - ROW_HEIGHT) {
        this.scroller.scrollTop = Math.max(0, top - view / 3);
      }
    }
    this.draw();
    return true;
  }

  refresh() {
    this.rows = visibleRows(this.roots);
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    this.draw();
  }

  drawScale() {
    clear(this.scale);
    for (let i = 0; i <= 4; i++) {
      const tick = h("span", { class: "wf-tick" }, fmt.duration((this.extent * i) / 4));
      tick.style.left = `${i * 25}%`;
      this.scale.appendChild(tick);
    }
  }

  draw() {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.appendChild(this.row(this.rows[i], i));
    clear(this.spacer).appendChild(fragment);
  }

  bar(span, extra) {
    const left = (span.offset_ms / this.extent) * 100;
    const end = span.duration_ms === null ? this.extent : span.offset_ms + span.duration_ms;
    const width = Math.max(((end - span.offset_ms) / this.extent) * 100, 0.15);
    const bar = h("div", {
      class: `wf-bar status-${span.status}${extra || ""}`,
      title: `${span.name}: ${span.duration_ms === null ? "in flight" : fmt.duration(span.duration_ms)}`,
    });
    bar.style.left = `${Math.min(left, 99.85)}%`;
    bar.style.width = `${Math.min(width, 100 - Math.min(left, 99.85))}%`;
    return bar;
  }

  row({ node, depth }, index) {
    const span = node.span;
    const status = span.status;
    const toggle = node.children.length
      ? h("button", {
        class: "wf-toggle", type: "button", title: node.expanded ? "Collapse" : "Expand",
        "aria-expanded": String(node.expanded),
        onclick: (event) => { event.stopPropagation(); node.expanded = !node.expanded; this.refresh(); },
      }, node.expanded ? "▾" : "▸")
      : h("span", { class: "wf-toggle" });
    const label = h("div", { class: "wf-label" },
      toggle,
      h("span", { class: `wf-icon status-${status}` }, ICON[status] || ""),
      node.attemptOf && !node.attempts
        ? h("span", { class: "wf-name" }, `attempt ${span.attempt}`)
        : h("span", { class: "wf-name" }, span.name),
      node.attempts ? h("span", { class: "wf-attempts" }, `${node.attempts.length} attempts`) : null,
      status === "incomplete" ? h("span", { class: "wf-flag" }, "in flight") : null,
      NOTED_OUTCOMES.has(span.outcome) ? h("span", { class: `wf-flag outcome-${span.outcome}`, title: span.reason || "" }, span.outcome) : null);
    label.style.paddingLeft = `${4 + depth * 14}px`;
    const track = h("div", { class: "wf-track" });
    if (node.attempts) {
      for (const attempt of node.attempts) track.appendChild(this.bar(attempt.span, " attempt"));
    } else {
      track.appendChild(this.bar(span, status === "incomplete" ? " incomplete" : ""));
    }
    track.appendChild(h("span", { class: "wf-dur" },
      span.duration_ms === null ? "…" : fmt.duration(span.duration_ms)));
    const row = h("div", {
      class: `wf-row status-${status}${this.selected === span.span_id ? " selected" : ""}` +
        `${node.attempts ? " retries" : ""}`,
      dataset: { spanId: span.span_id, status, outcome: span.outcome, kind: span.harness_kind || "" },
      role: "button",
      onclick: () => {
        this.selected = span.span_id;
        this.draw();
        this.onSelect(span);
      },
    }, label, track);
    row.style.top = `${index * ROW_HEIGHT}px`;
    return row;
  }
}
