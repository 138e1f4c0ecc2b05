// Full-text search over captured output and span text; hits grouped by run, then span, each
// opening the log at its line.
import { h, highlighted, searchTerms } from "./dom.js";
import { get, url } from "./api.js";
import { navigate } from "./app.js";
import * as fmt from "./format.js";

function group(hits) {
  const runs = new Map();
  for (const hit of hits) {
    if (!runs.has(hit.run_id)) runs.set(hit.run_id, { hit, spans: new Map() });
    const spans = runs.get(hit.run_id).spans;
    if (!spans.has(hit.span_id)) spans.set(hit.span_id, { hit, lines: [] });
    spans.get(hit.span_id).lines.push(hit);
  }
  return runs;
}

function hitLink(hit, query) {
  const params = { span: hit.span_id, q: query };
  if (hit.stream && hit.line) Object.assign(params, { stream: hit.stream, line: hit.line, artifact: hit.artifact_id });
  return url(`/run/${hit.run_id}`, params);
}

export async function searchPage(main, { params }) {
  const query = params.get("q") || "";
  const input = h("input", { name: "q", type: "search", placeholder: "Words from any log or span, e.g. timeout", value: query, autofocus: true });
  const form = h("form", { class: "filters", id: "search-form" }, input, h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (event) => { event.preventDefault(); navigate(url("/search", { q: input.value })); });
  main.append(h("h1", null, "Search"), form);
  if (!query) {
    main.append(h("p", { class: "muted" }, "Full-text search over every captured stdout / stderr line and every span's name, attributes and events."));
    return null;
  }
  const results = h("div", { class: "search-results", id: "search-results" });
  main.append(results);
  let data;
  try {
    data = await get("search", { q: query, limit: 200 });
  } catch (error) {
    results.append(h("p", { class: "error" }, error.message));
    return null;
  }
  const terms = searchTerms(query);
  const hits = data.hits || [];
  results.append(h("p", { class: "muted" }, hits.length ? `${hits.length}${data.more ? "+" : ""} hit${hits.length === 1 ? "" : "s"}, newest first` : "No hits."));
  for (const [runId, run] of group(hits)) {
    const spans = [];
    for (const [, span] of run.spans) {
      spans.push(h("li", { class: "hit-span" },
        h("div", { class: "hit-span-name" }, span.hit.span_name),
        h("ul", { class: "hit-lines" }, span.lines.map((hit) => h("li", null,
          h("a", { href: hitLink(hit, query), "data-nav": true, class: "hit" },
            hit.stream ? h("span", { class: `badge role role-${hit.stream}` }, hit.stream) : h("span", { class: "badge" }, "span"),
            hit.line ? h("span", { class: "ln" }, `:${hit.line}`) : null,
            h("span", { class: "tx mono" }, highlighted(hit.text || "", terms))))))));
    }
    results.append(h("section", { class: "hit-run", dataset: { runId } },
      h("h2", null, h("a", { href: `/run/${runId}`, "data-nav": true }, run.hit.run_name || runId.slice(0, 12)),
        h("span", { class: "muted" }, ` ${fmt.time(run.hit.run_start)}`)),
      h("ul", null, spans)));
  }
  return null;
}
