// Runs: newest first, filtered on the server, a page at a time, polled so new runs appear.
import { h, clear } from "./dom.js";
import { get, url } from "./api.js";
import * as fmt from "./format.js";
import { navigate } from "./app.js";

const PAGE_SIZE = 25;
const POLL_MS = 2000;

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}`, title: status }, fmt.STATUS_LABEL[status] || status);
}

function filtersFrom(params) {
  return {
    name: params.get("name") || "",
    status: params.get("status") || "",
    since: params.get("since") || "",
    q: params.get("q") || "",
    offset: Number(params.get("offset") || 0),
  };
}

function runRow(run, fresh) {
  const failed = run.failed_steps || 0;
  return h("tr", { class: `run status-${run.status}${fresh ? " fresh" : ""}`, dataset: { runId: run.run_id } },
    h("td", null, statusBadge(run.status)),
    h("td", { class: "name" }, h("a", { href: `/run/${run.run_id}`, "data-nav": true }, run.name)),
    h("td", { class: "mono muted" }, run.run_id.slice(0, 8)),
    h("td", null, fmt.time(run.start)),
    h("td", { class: "num" }, run.status === "incomplete" ? "running…" : fmt.duration(run.duration_ms)),
    h("td", { class: "num" }, fmt.count(run.steps),
      failed ? h("span", { class: "failed-count" }, ` / ${failed} failed`) : null),
    h("td", { class: "num" }, fmt.cost(run.cost_usd)));
}

export async function runsPage(main, { params }) {
  const filters = filtersFrom(params);
  const form = h("form", { class: "filters", id: "run-filters" },
    h("input", { name: "q", type: "search", placeholder: "Search runs (name, attributes)…", value: filters.q }),
    h("input", { name: "name", placeholder: "Name", value: filters.name }),
    h("select", { name: "status" },
      ["", "ok", "error", "incomplete"].map((s) =>
        h("option", { value: s, selected: s === filters.status }, s ? fmt.STATUS_LABEL[s] : "any status"))),
    h("select", { name: "since" },
      [["", "any time"], ["1h", "last hour"], ["24h", "last 24 h"], ["7d", "last 7 days"], ["30d", "last 30 days"]]
        .map(([v, label]) => h("option", { value: v, selected: v === filters.since }, label))),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    navigate(url("/runs", data));
  });
  const body = h("tbody");
  const pager = h("div", { class: "pager" });
  const table = h("table", { class: "runs", id: "runs" },
    h("thead", null, h("tr", null, ["Status", "Name", "Run", "Start", "Duration", "Steps", "Cost"]
      .map((c) => h("th", null, c)))), body);
  main.append(h("h1", null, "Runs"), form, table, pager);

  let known = null;
  async function load() {
    const data = await get("runs", { ...filters, limit: PAGE_SIZE });
    const ids = new Set(data.runs.map((r) => r.run_id));
    clear(body);
    if (!data.runs.length) {
      body.appendChild(h("tr", null, h("td", { colspan: 7, class: "muted empty" }, "No runs match.")));
    }
    for (const run of data.runs) body.appendChild(runRow(run, known !== null && !known.has(run.run_id)));
    known = ids;
    clear(pager);
    const page = (offset) => url("/runs", { ...filters, offset: offset || null });
    if (filters.offset > 0) {
      pager.appendChild(h("a", { href: page(Math.max(0, filters.offset - PAGE_SIZE)), "data-nav": true }, "← Newer"));
    }
    pager.appendChild(h("span", { class: "muted" },
      data.runs.length ? `runs ${filters.offset + 1}–${filters.offset + data.runs.length}` : ""));
    if (data.more) pager.appendChild(h("a", { href: page(filters.offset + PAGE_SIZE), "data-nav": true }, "Older →"));
  }
  await load();
  let stopped = false;
  const timer = setInterval(() => { if (!stopped && !document.hidden) load().catch(() => {}); }, POLL_MS);
  return () => { stopped = true; clearInterval(timer); };
}
