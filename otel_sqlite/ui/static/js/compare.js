// Compare two runs of the same name: A is the baseline, B the run under question. Steps are
// matched by their path (feature / scenario / step), as the read layer's diff does.
import { h } from "./dom.js";
import { get, url } from "./api.js";
import { navigate } from "./app.js";
import * as fmt from "./format.js";
import { statusBadge } from "./runs.js";

function runOption(run, selected) {
  return h("option", { value: run.run_id, selected: run.run_id === selected },
    `${run.name} · ${fmt.time(run.start)} · ${fmt.STATUS_LABEL[run.status] || run.status} · ${run.run_id.slice(0, 8)}`);
}

function stepTable(steps) {
  return h("table", { class: "diff" },
    h("thead", null, h("tr", null, ["Step", "Status", "Duration", "Message"].map((c) => h("th", null, c)))),
    h("tbody", null, steps.map((step) => h("tr", { dataset: { step: step.path } },
      h("td", null, step.path), h("td", null, statusBadge(step.status)),
      h("td", { class: "num" }, fmt.duration(step.duration_ms)), h("td", { class: "muted" }, step.message || "")))));
}

function changeTable(changes) {
  const signed = (ms) => `${ms > 0 ? "+" : "−"}${fmt.duration(Math.abs(ms))}`;
  return h("table", { class: "diff" },
    h("thead", null, h("tr", null, ["Step", "A", "B", "Change"].map((c) => h("th", null, c)))),
    h("tbody", null, changes.map((c) => h("tr", { dataset: { step: c.path } },
      h("td", null, c.path), h("td", { class: "num" }, fmt.duration(c.a_ms)), h("td", { class: "num" }, fmt.duration(c.b_ms)),
      h("td", { class: `num ${c.delta_ms > 0 ? "error" : ""}` },
        signed(c.delta_ms), c.delta_pct === null ? "" : ` (${c.delta_pct > 0 ? "+" : ""}${c.delta_pct}%)`)))));
}

function flakyTable(rows) {
  return h("table", { class: "flaky" },
    h("thead", null, h("tr", null, ["Step", "Runs", "Passed", "Failed", "Retried"].map((c) => h("th", null, c)))),
    h("tbody", null, rows.map((r) => h("tr", null, h("td", null, r.step),
      [r.runs, r.passed, r.failed, r.retried].map((n) => h("td", { class: "num" }, fmt.count(n)))))));
}

export async function comparePage(main, { params }) {
  let a = params.get("a") || "";
  let b = params.get("b") || "";
  main.append(h("h1", null, "Compare runs"));
  const anchor = b || a;
  if (!anchor) {
    const recent = await get("runs", { limit: 50 });
    const pick = h("select", { name: "b" }, h("option", { value: "" }, "choose a run…"), recent.runs.map((r) => runOption(r)));
    pick.addEventListener("change", () => navigate(url("/compare", { b: pick.value })));
    main.append(h("p", null, "Pick the run to look at; it is compared with an earlier run of the same name."), pick);
    return null;
  }
  const anchorRun = await get(`runs/${encodeURIComponent(anchor)}`);
  const same = (await get("runs", { name: anchorRun.name, limit: 100 })).runs;
  if (!b) b = anchorRun.run_id;
  if (!a) {
    const index = same.findIndex((r) => r.run_id === anchorRun.run_id);
    const older = same.slice(index + 1).find((r) => r.run_id !== b);
    a = older ? older.run_id : "";
  }
  const pickA = h("select", { name: "a" }, h("option", { value: "" }, "choose…"), same.map((r) => runOption(r, a)));
  const pickB = h("select", { name: "b" }, same.map((r) => runOption(r, b)));
  const form = h("form", { class: "filters", id: "compare-form" }, h("label", null, "A (baseline) ", pickA), h("label", null, "B ", pickB));
  form.addEventListener("change", () => navigate(url("/compare", { a: pickA.value, b: pickB.value })));
  main.append(form);
  if (!a) {
    main.append(h("p", { class: "muted" }, `There is no earlier run named “${anchorRun.name}” to compare with.`));
    return null;
  }
  const [diff, flaky] = await Promise.all([get("diff", { a, b }), get("flaky", { name: anchorRun.name })]);
  const changed = diff.changed || [];
  const sections = [
    ["newly_failing", "Newly failing", stepTable, diff.newly_failing],
    ["fixed", "Fixed", stepTable, diff.fixed],
    ["slower", "Slower", changeTable, changed.filter((c) => c.delta_ms > 0)],
    ["faster", "Faster", changeTable, changed.filter((c) => c.delta_ms < 0)],
    ["added", "Added in B", stepTable, diff.added],
    ["removed", "Removed in B", stepTable, diff.removed],
  ];
  const body = h("div", { class: "diff-sections", id: "diff" });
  for (const [key, title, table, steps] of sections) {
    body.append(h("section", { class: `diff-section ${key}`, dataset: { section: key } },
      h("h2", null, `${title} (${steps.length})`),
      steps.length ? table(steps) : h("p", { class: "muted" }, "none")));
  }
  body.append(h("section", { class: "diff-section flaky", dataset: { section: "flaky" } },
    h("h2", null, `Flaky steps of “${anchorRun.name}” over its last runs (${flaky.steps.length})`),
    flaky.steps.length ? flakyTable(flaky.steps) : h("p", { class: "muted" }, "none")));
  main.append(
    h("p", null, h("a", { href: `/run/${a}`, "data-nav": true }, "Open A"), " · ", h("a", { href: `/run/${b}`, "data-nav": true }, "Open B")),
    body);
  return null;
}
