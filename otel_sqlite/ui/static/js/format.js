// How numbers, times and statuses read on every page.

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms === 0) return "0";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function cost(usd) {
  if (usd === null || usd === undefined) return "—";
  if (usd === 0) return "$0";
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

// Recorded dollars, then the price table's estimate marked "~" (never added in), then how
// many calls no table prices: "$0.0235 + ~$0.0105 est. · 2 unpriced".
export function costs(row) {
  const parts = [];
  const estimated = row.estimated_cost_usd;
  if (row.cost_usd || estimated === null || estimated === undefined) parts.push(cost(row.cost_usd));
  if (estimated !== null && estimated !== undefined) parts.push(`~${cost(estimated)} est.`);
  let text = parts.join(" + ");
  if (row.unpriced_calls) text += ` · ${row.unpriced_calls} unpriced`;
  return text;
}

export function count(n) {
  if (n === null || n === undefined) return "—";
  return Number(n).toLocaleString("en-US");
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

export const STATUS_LABEL = { ok: "ok", error: "failed", incomplete: "in flight" };

// The outcome counts in words, in pytest's order: the same line as `otel-sqlite summary`
// (otel_sqlite.queries.outcomes.describe).
const OUTCOME_ORDER = ["failed", "passed", "skipped", "xfailed", "xpassed", "error", "incomplete"];
export function outcomes(counts) {
  const words = OUTCOME_ORDER.filter((word) => counts[word]).map((word) => `${counts[word]} ${word}`);
  return words.join(", ") || "nothing ran";
}
