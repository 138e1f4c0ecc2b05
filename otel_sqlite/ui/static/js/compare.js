// Compare two runs of the same name: A is the baseline, B the run under question. Steps are
// matched by their path (feature / scenario / step), as the read layer's diff does.
import { h } from "./dom.js";
import { get, url } from "./api.js";
import { navigate } from "./app.js";
import * as fmt from "./format.js";
import { statusBadge } from "./runs.js";

const SECTIONS = [
  ["newly_failing", "Newly failing"],
  ["fixed", "Fixed"],
  ["slower", "Slower"],
  ["faster", "Faster"],
  ["added", "Added"],
  ["removed", "Removed"],
];

function runOption(run, selected) {
  return h("option", { value: run.run_id, selected: run.run_id === selected },
    `${run.name} · ${fmt.time(run.start)} · ${fmt.STATUS_LABEL[run.status] || run.status} · ${run.run_id.slice(0, 8)}`);
}

function side(step, which) {
  const s = step[which];
  if (!s) return [h("td", null, "—"), h("td", null, "")];
  return [h("td", null, statusBadge(s.status)), h("td", { class: "num" }, fmt.duration(s.duration_ms))];
}

function stepTable(steps) {
  return h("table", { class: "diff" },
    h("thead", null, h("tr", null, ["Step", "A", "", "B", "", "Change"].map((c) => h("th", null, c)))),
    h("tbody", null, steps.map((step) => h("tr", { dataset: { step: step.path || step.name } },
      h("td", null, step.path || step.name),
      side(step, "a"), side(step, "b"),
      h("td", { class: "num" }, step.change_ms === undefined || step.change_ms === null ? ""
        : `${step.change_ms > 0 ? "+" : ""}${fmt.duration(Math.abs(step.change_ms)).replace(/^/, step.change_ms < 0 ? "−" : "")}`)))));
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
  const diff = await get("diff", { a, b });
  const body = h("div", { class: "diff-sections", id: "diff" });
  for (const [key, title] of SECTIONS) {
    const steps = diff[key] || [];
    body.append(h("section", { class: `diff-section ${key}`, dataset: { section: key } },
      h("h2", null, `${title} (${steps.length})`),
      steps.length ? stepTable(steps) : h("p", { class: "muted" }, "none")));
  }
  main.append(
    h("p", null, h("a", { href: `/run/${a}`, "data-nav": true }, "Open A"), " · ", h("a", { href: `/run/${b}`, "data-nav": true }, "Open B")),
    body);
  return null;
}
