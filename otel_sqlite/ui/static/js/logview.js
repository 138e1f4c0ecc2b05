// A captured log, read a page at a time: line numbers, stderr marked, the search terms
// highlighted, a line to open at, and the raw file one click away.
import { h, clear, highlighted, searchTerms } from "./dom.js";
import { get } from "./api.js";
import * as fmt from "./format.js";

const PAGE_LINES = 500;
const CONTEXT_LINES = 100;

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
    this.element = h("div", { class: `log role-${artifact.role}`, dataset: { artifactId: artifact.artifact_id } },
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
    this.first = null;
    this.next = null;
  }

  async open() {
    const start = this.target ? Math.max(1, this.target - CONTEXT_LINES) : 1;
    const page = await get(`artifacts/${this.artifact.artifact_id}`, { start, count: PAGE_LINES });
    if (page.missing) {
      this.lines.appendChild(h("li", { class: "log-note" }, "The file is no longer on disk."));
      return;
    }
    if (page.binary) {
      this.lines.appendChild(h("li", { class: "log-note" }, "Binary file: download it to look inside."));
      return;
    }
    this.first = page.start;
    this.append(page);
    this.before.hidden = this.first <= 1;
    if (this.target) {
      const row = this.lines.querySelector(`li[data-line="${this.target}"]`);
      if (row) {
        row.classList.add("target");
        row.scrollIntoView({ block: "center" });
      }
    }
  }

  lineItem(number, text, cut) {
    return h("li", { dataset: { line: number }, class: cut ? "cut" : null },
      h("span", { class: "ln" }, number),
      h("span", { class: "tx" }, highlighted(text, this.terms)));
  }

  append(page) {
    const cut = new Set(page.cut_lines || []);
    const fragment = document.createDocumentFragment();
    page.lines.forEach((text, i) => fragment.appendChild(this.lineItem(page.start + i, text, cut.has(page.start + i))));
    this.lines.appendChild(fragment);
    if (!page.lines.length && !this.lines.children.length) {
      this.lines.appendChild(h("li", { class: "log-note" }, "(empty)"));
    }
    this.next = page.next_offset === null ? null : { start: page.next_line, offset: page.next_offset };
    this.after.hidden = this.next === null;
  }

  async loadAfter() {
    if (!this.next) return;
    const page = await get(`artifacts/${this.artifact.artifact_id}`, { start: this.next.start, offset: this.next.offset, count: PAGE_LINES });
    this.append(page);
  }

  async loadBefore() {
    const start = Math.max(1, this.first - PAGE_LINES);
    const page = await get(`artifacts/${this.artifact.artifact_id}`, { start, count: this.first - start });
    const cut = new Set(page.cut_lines || []);
    const fragment = document.createDocumentFragment();
    page.lines.forEach((text, i) => fragment.appendChild(this.lineItem(start + i, text, cut.has(start + i))));
    this.lines.insertBefore(fragment, this.lines.firstChild);
    this.first = start;
    this.before.hidden = this.first <= 1;
  }

  rehighlight() {
    for (const item of this.lines.querySelectorAll("li[data-line]")) {
      const text = item.querySelector(".tx");
      const plain = text.textContent;
      clear(text);
      for (const part of highlighted(plain, this.terms)) text.append(part);
    }
  }
}
