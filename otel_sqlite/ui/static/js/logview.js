// A captured log, read a page at a time: line numbers, stderr marked, the search terms
// highlighted, a line to open at, and the raw file one click away.
import { h, clear, highlighted, searchTerms } from "./dom.js";
import { get } from "./api.js";
import * as fmt from "./format.js";

const PAGE_LINES = 500;
const CONTEXT_LINES = 100;
// Lines longer than this are cut on screen (the raw download has them whole).
const MAX_LINE_CHARS = 5000;

export class LogViewer {
  constructor(container, artifact, { line, query } = {}) {
    this.artifact = artifact;
    this.target = line || null;
    this.terms = searchTerms(query);
    this.lines = h("ol", { class: "log-lines" });
    this.before = h("button", { type: "button", class: "log-more", hidden: true, onclick: () => this.loadBefore() }, "Show earlier lines");
    this.after = h("button", { type: "button", class: "log-more", hidden: true, onclick: () => this.loadAfter() }, "Show more lines");
    const find = h("input", {
      type: "search", class: "log-find", placeholder: "Highlight…", value: query || "",
      oninput: () => { this.terms = searchTerms(find.value); this.rehighlight(); },
    });
    this.element = h("div", { class: `log role-${artifact.role}`, dataset: { artifactId: artifact.artifact_id, role: artifact.role } },
      h("div", { class: "log-bar" },
        h("span", { class: `badge role role-${artifact.role}` }, artifact.role),
        h("span", { class: "mono log-path", title: artifact.path }, artifact.path),
        h("span", { class: "muted" }, fmt.bytes(artifact.size)),
        find,
        h("a", { href: `/api/artifacts/${artifact.artifact_id}/raw`, download: "", class: "button" }, "Download raw")),
      this.before,
      h("div", { class: "log-body" }, this.lines),
      this.after);
    container.appendChild(this.element);
    this.first = 1;
    this.next = null;
  }

  page(start, count) {
    return get(`artifacts/${this.artifact.artifact_id}`, { start, count });
  }

  async open() {
    const start = this.target ? Math.max(1, this.target - CONTEXT_LINES) : 1;
    const page = await this.page(start, PAGE_LINES);
    this.first = page.first_line;
    this.lines.appendChild(this.items(page.lines));
    if (!page.lines.length) this.lines.appendChild(h("li", { class: "log-note" }, "(empty)"));
    this.setNext(page);
    this.before.hidden = this.first <= 1;
    if (this.target) {
      const row = this.lines.querySelector(`li[data-line="${this.target}"]`);
      if (row) {
        row.classList.add("target");
        row.scrollIntoView({ block: "center" });
      }
    }
  }

  items(lines) {
    const fragment = document.createDocumentFragment();
    for (const { line, text } of lines) {
      const cut = text.length > MAX_LINE_CHARS;
      fragment.appendChild(h("li", { dataset: { line }, class: cut ? "cut" : null },
        h("span", { class: "ln" }, line),
        h("span", { class: "tx" }, highlighted(cut ? text.slice(0, MAX_LINE_CHARS) : text, this.terms))));
    }
    return fragment;
  }

  setNext(page) {
    this.next = page.next_line;
    this.after.hidden = !this.next;
  }

  async loadAfter() {
    if (!this.next) return;
    const page = await this.page(this.next, PAGE_LINES);
    this.lines.appendChild(this.items(page.lines));
    this.setNext(page);
  }

  async loadBefore() {
    const start = Math.max(1, this.first - PAGE_LINES);
    const page = await this.page(start, this.first - start);
    this.lines.insertBefore(this.items(page.lines), this.lines.firstChild);
    this.first = start;
    this.before.hidden = this.first <= 1;
  }

  rehighlight() {
    for (const item of this.lines.querySelectorAll("li[data-line]")) {
      const text = item.querySelector(".tx");
      const plain = text.textContent;
      clear(text).append(...highlighted(plain, this.terms));
    }
  }
}
