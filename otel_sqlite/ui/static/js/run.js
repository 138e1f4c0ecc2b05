// One run: its summary, the waterfall of its spans, and the selected span's details. While the
// run is in flight the page polls, so new spans and the final status appear by themselves.
import { h, clear } from "./dom.js";
import { get, url } from "./api.js";
import * as fmt from "./format.js";
import { statusBadge } from "./runs.js";
import { Waterfall } from "./waterfall.js";
import { showDetails } from "./details.js";
import { navigate } from "./app.js";

const POLL_MS = 2000;

// The first failed step, followed down into its failed sub-steps: the one that says why.
function innermostFailedStep(spans) {
  const failed = (s) => s.status === "error" && s.harness_kind === "step";
  let index = spans.findIndex(failed);
  if (index < 0) return null;
  for (let i = index + 1; i < spans.length && spans[i].depth > spans[index].depth; i++) {
    if (failed(spans[i])) index = i;
  }
  return spans[index];
}

// The command spans below `spanId` (spans come in tree order: a subtree is contiguous).
function commandsUnder(spans, spanId) {
  const index = spans.findIndex((s) => s.span_id === spanId);
  if (index < 0) return [];
  const found = [];
  for (let i = index + 1; i < spans.length && spans[i].depth > spans[index].depth; i++) {
    if (spans[i].harness_kind === "command") found.push(spans[i]);
  }
  return found;
}

// The header; `run` is the summary, or (until it arrives) the tree's brief run record.
function summaryView(run) {
  const failed = run.failed_steps || [];
  const pending = run.steps === undefined;
  return [
    h("div", { class: "run-head" },
      statusBadge(run.status),
      h("h1", { class: "run-name" }, run.name),
      h("span", { class: "mono muted" }, run.run_id)),
    h("dl", { class: "facts" },
      h("dt", null, "Started"), h("dd", null, fmt.time(run.start)),
      h("dt", null, "Duration"), h("dd", null, run.status === "incomplete" ? "in flight" : fmt.duration(run.duration_ms)),
      h("dt", null, "Steps"), h("dd", { class: "step-count" }, pending ? "…" : fmt.count(run.steps), failed.length ? h("span", { class: "failed-count" }, ` · ${failed.length} failed`) : null),
      h("dt", null, "Outcomes"), h("dd", { class: "outcome-counts" }, pending ? "…" : fmt.outcomes(run.outcomes)),
      h("dt", null, "Cost"), h("dd", { id: "run-cost" }, pending ? "…" : fmt.costs(run),
        run.input_tokens || run.output_tokens ? h("span", { class: "muted" }, ` · ${fmt.count(run.input_tokens)} in / ${fmt.count(run.output_tokens)} out tokens`) : null)),
  ];
}

export async function runPage(main, { run, params }) {
  // The tree first: the waterfall is drawn before the (slower, for huge runs) summary lands.
  const tree = await get(`runs/${encodeURIComponent(run)}/spans`);
  performance.mark("run-data-loaded");
  const summary = tree.run;
  const head = h("div", { class: "run-summary" }, summaryView(summary));
  const panel = h("aside", { class: "details", id: "details" },
    h("p", { class: "muted" }, "Click a span to see its attributes, events and output."));
  const find = h("form", { class: "wf-find", id: "run-search" },
    h("input", { name: "q", type: "search", placeholder: "Search this run's output…" }));
  find.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(url("/search", { q: find.elements.q.value, run: summary.run_id }));
  });
  const tools = h("div", { class: "wf-tools" },
    h("button", { type: "button", onclick: () => waterfall.setAll(true) }, "Expand all"),
    h("button", { type: "button", onclick: () => waterfall.setAll(false) }, "Collapse all"),
    h("a", { href: url("/compare", { b: summary.run_id }), "data-nav": true, class: "button" }, "Compare with an earlier run"),
    h("span", { class: "muted count" }, `${fmt.count(tree.spans.length)} spans`), find);
  const left = h("div", { class: "wf-pane" }, tools);
  main.append(head, h("div", { class: "run-body" }, left, panel));
  let spans = tree.spans;
  const details = (spanId, focus = {}) =>
    showDetails(panel, summary.run_id, spanId, focus, commandsUnder(spans, spanId))
      .catch((e) => clear(panel).append(h("p", { class: "error" }, e.message)));
  const waterfall = new Waterfall(left, {
    onSelect: (span) => {
      history.replaceState(null, "", url(location.pathname, { span: span.span_id }));
      details(span.span_id);
    },
  });
  waterfall.setSpans(tree.spans, tree.extent_ms);
  performance.mark("waterfall-rendered");
  performance.measure("waterfall", "run-data-loaded", "waterfall-rendered");

  const focus = params.get("span");
  if (focus && waterfall.reveal(focus)) {
    details(focus, { stream: params.get("stream"), artifact: params.get("artifact"), line: params.get("line"), query: params.get("q") });
  } else {
    const failed = innermostFailedStep(tree.spans);
    if (failed && waterfall.reveal(failed.span_id)) details(failed.span_id);
  }

  get(`runs/${summary.run_id}`).then((full) => clear(head).append(...summaryView(full))).catch(() => {});

  // Poll while the run is in flight, backing off when a poll is slow (a huge run).
  let status = summary.status;
  let stopped = false;
  let timer = null;
  const poll = async () => {
    if (stopped || status !== "incomplete") return;
    const started = performance.now();
    if (!document.hidden) {
      try {
        const [fresh, next] = await Promise.all([get(`runs/${encodeURIComponent(run)}`), get(`runs/${encodeURIComponent(run)}/spans`)]);
        if (stopped) return;
        status = fresh.status;
        spans = next.spans;
        clear(head).append(...summaryView(fresh));
        waterfall.setSpans(spans, next.extent_ms);
      } catch (e) { /* the next poll tries again */ }
    }
    timer = setTimeout(poll, Math.max(POLL_MS, 5 * (performance.now() - started)));
  };
  timer = setTimeout(poll, POLL_MS);
  return () => { stopped = true; clearTimeout(timer); };
}
