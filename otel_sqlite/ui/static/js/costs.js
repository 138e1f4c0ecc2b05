// Tokens and cost of model calls, grouped by model, provider, day or run: a bar chart drawn as
// inline SVG (no library, works offline) and the table behind it. Estimated dollars (from the
// price table, for calls that recorded none) have their own column, marked "~".
import { h, svg } from "./dom.js";
import { get, url } from "./api.js";
import { navigate } from "./app.js";
import * as fmt from "./format.js";

const GROUPS = [["model", "Model"], ["provider", "Provider"], ["day", "Day"], ["run", "Run"], ["step", "Step"]];

function keyOf(row, by) {
  if (by === "run") return row.name ? `${row.name} (${String(row.run).slice(0, 8)})` : String(row.run);
  return row[by] === null || row[by] === undefined ? "(none)" : String(row[by]);
}

// Recorded plus estimated: the bar's length (its label says which is which).
function dollars(row) {
  return (row.cost_usd || 0) + (row.estimated_cost_usd || 0);
}

function estimate(row) {
  if (row.estimated_cost_usd === null || row.estimated_cost_usd === undefined) return row.unpriced_calls ? "unpriced" : "—";
  return `~${fmt.cost(row.estimated_cost_usd)}`;
}

function chart(rows, by) {
  const width = 720, barHeight = 22, gap = 6, labelWidth = 220;
  const max = Math.max(...rows.map(dollars), 1e-9);
  const height = rows.length * (barHeight + gap) + gap;
  const plot = width - labelWidth - 90;
  return svg("svg", { class: "chart", id: "cost-chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": `Cost by ${by}` },
    rows.map((row, i) => {
      const y = gap + i * (barHeight + gap);
      const w = Math.max((dollars(row) / max) * plot, 1);
      const label = keyOf(row, by);
      return svg("g", { class: "bar" },
        svg("title", null, `${label}: ${fmt.costs(row)}, ${fmt.count(row.input_tokens)} in / ${fmt.count(row.output_tokens)} out tokens`),
        svg("text", { x: labelWidth - 8, y: y + barHeight * 0.7, "text-anchor": "end", class: "label" }, label.length > 30 ? `${label.slice(0, 29)}…` : label),
        svg("rect", { x: labelWidth, y, width: w, height: barHeight, rx: 3 }),
        svg("text", { x: labelWidth + w + 6, y: y + barHeight * 0.7, class: "value" }, fmt.costs(row)));
    }));
}

export async function costsPage(main, { params }) {
  const by = params.get("by") || "model";
  const since = params.get("since") || "";
  const form = h("form", { class: "filters", id: "cost-filters" },
    h("label", null, "By ", h("select", { name: "by" }, GROUPS.map(([v, label]) => h("option", { value: v, selected: v === by }, label)))),
    h("select", { name: "since" }, [["", "any time"], ["24h", "last 24 h"], ["7d", "last 7 days"], ["30d", "last 30 days"]]
      .map(([v, label]) => h("option", { value: v, selected: v === since }, label))),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("change", () => navigate(url("/costs", Object.fromEntries(new FormData(form).entries()))));
  form.addEventListener("submit", (event) => { event.preventDefault(); navigate(url("/costs", Object.fromEntries(new FormData(form).entries()))); });
  main.append(h("h1", null, "Costs"), form);
  const data = await get("costs", { by, since });
  const rows = data.rows || [];
  if (!rows.length) {
    main.append(h("p", { class: "muted" }, "No model calls recorded yet."));
    return null;
  }
  const total = rows.reduce((t, r) => ({
    calls: t.calls + (r.calls || 0), input_tokens: t.input_tokens + (r.input_tokens || 0),
    output_tokens: t.output_tokens + (r.output_tokens || 0), cost_usd: t.cost_usd + (r.cost_usd || 0),
    estimated_cost_usd: r.estimated_cost_usd === null || r.estimated_cost_usd === undefined ? t.estimated_cost_usd
      : (t.estimated_cost_usd || 0) + r.estimated_cost_usd,
    unpriced_calls: t.unpriced_calls + (r.unpriced_calls || 0),
  }), { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, estimated_cost_usd: null, unpriced_calls: 0 });
  const cells = (r) => [h("td", { class: "num" }, fmt.count(r.calls)), h("td", { class: "num" }, fmt.count(r.input_tokens)),
    h("td", { class: "num" }, fmt.count(r.output_tokens)), h("td", { class: "num" }, fmt.cost(r.cost_usd)),
    h("td", { class: "num estimated" }, estimate(r)), h("td", { class: "num" }, r.unpriced_calls ? fmt.count(r.unpriced_calls) : "—")];
  main.append(
    h("div", { class: "chart-box" }, chart(rows, by)),
    h("table", { class: "costs", id: "costs" },
      h("thead", null, h("tr", null, [GROUPS.find(([v]) => v === by)[1], "Calls", "Input tokens", "Output tokens", "Recorded cost", "Estimated", "Unpriced calls"].map((c) => h("th", null, c)))),
      h("tbody", null, rows.map((r) => h("tr", { dataset: { key: keyOf(r, by) } },
        h("td", null, by === "run" ? h("a", { href: `/run/${r.run}`, "data-nav": true }, keyOf(r, by)) : keyOf(r, by)),
        cells(r)))),
      h("tfoot", null, h("tr", { class: "total" }, h("th", null, "Total"), cells(total)))));
  return null;
}
