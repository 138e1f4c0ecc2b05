"""Model calls as every reader sees them: one span's figures, and sums with estimated costs.

Which spans are model calls, what their model, provider and tokens are and which of them count
is decided once, by the store (``storage/model_calls``). This module adds what only a reader
knows: the price table. A recorded ``harness.cost.usd`` is the call's cost; otherwise the
table gives an estimate, kept in its own figure and never added into the recorded one; a call
with neither is unpriced. ``costs``, run summaries, Markdown, the UI and the timeline all
sum through ``Totals``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from otel_sqlite.queries import common
from otel_sqlite.queries.prices import PriceTable, load

# The columns a grouped query selects per (group, model, recorded) part, for Totals.add.
PART_COLUMNS = (
    "m.model AS model, m.cost_usd IS NOT NULL AS recorded, count(*) AS calls, "
    "total(m.input_tokens) AS input_tokens, total(m.output_tokens) AS output_tokens, "
    "total(m.cached_input_tokens) AS cached_input_tokens, total(m.cost_usd) AS cost"
)
PART_GROUPING = "m.model, m.cost_usd IS NOT NULL"


@dataclass
class Totals:
    """Sums over counted calls: ``cost_usd`` is recorded dollars only; ``estimated_cost_usd``
    prices the calls that recorded none (None when there are none the table knows);
    ``unpriced_calls`` are calls with no recorded cost whose model the table lacks."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_usd: float = 0.0
    estimated_cost_usd: float | None = None
    unpriced_calls: int = 0

    def add(
        self, prices: PriceTable, model: str | None, recorded: bool, calls: int,
        input_tokens: float, output_tokens: float, cached_input_tokens: float, cost: float,
    ) -> None:
        """Add one part: ``calls`` calls of ``model`` that all did (or all did not) record a
        cost, with their summed tokens and recorded dollars."""
        self.calls += calls
        self.input_tokens += int(input_tokens)
        self.output_tokens += int(output_tokens)
        self.cached_input_tokens += int(cached_input_tokens)
        self.cost_usd += cost
        if recorded:
            return
        price = prices.lookup(model)
        if price is None:
            self.unpriced_calls += calls
            return
        estimate = price.estimate(int(input_tokens), int(output_tokens), int(cached_input_tokens))
        self.estimated_cost_usd = (self.estimated_cost_usd or 0.0) + estimate

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "estimated_cost_usd": (None if self.estimated_cost_usd is None
                                   else round(self.estimated_cost_usd, 6)),
            "unpriced_calls": self.unpriced_calls,
        }


def sum_parts(
    rows: Any, prices: PriceTable | None = None
) -> dict[Any, Totals]:
    """``{key: Totals}`` from rows of ``(key, *PART_COLUMNS)``."""
    prices = prices or load()
    found: dict[Any, Totals] = {}
    for key, *part in rows:
        found.setdefault(key, Totals()).add(prices, *part)
    return found


def trace_totals(
    db: sqlite3.Connection, trace_ids: list[str], prices: PriceTable | None = None
) -> dict[str, Totals]:
    """Counted calls of each trace, summed (empty Totals for a trace without any)."""
    found = {trace_id: Totals() for trace_id in trace_ids}
    if trace_ids:
        found.update(sum_parts(db.execute(
            f"SELECT m.trace_id, {PART_COLUMNS} FROM model_calls AS m "
            f"WHERE m.counted AND m.trace_id IN ({common.placeholders(trace_ids)}) "
            f"GROUP BY m.trace_id, {PART_GROUPING}",
            trace_ids,
        ), prices))
    return found


_CALLS = """
SELECT m.span, m.model, m.provider, m.operation, m.input_tokens, m.output_tokens,
       m.cached_input_tokens, m.cost_usd, m.counted
FROM model_calls AS m WHERE m.span IN ({})
"""


def call_figures(
    db: sqlite3.Connection, spans: list[int], prices: PriceTable | None = None
) -> dict[int, dict[str, Any]]:
    """What each of ``spans`` (row ids) that is a model call used and cost: ``model``,
    ``provider``, ``operation``, the tokens, ``cost_usd`` (recorded, else None),
    ``estimated_cost_usd`` (when nothing was recorded and the model is priced), ``priced``
    and ``counted`` (False when another span of the same call carries its figures)."""
    prices = prices or load()
    found: dict[int, dict[str, Any]] = {}
    if not spans:
        return found
    for span, model, provider, operation, input_tokens, output_tokens, cached, cost, counted in (
        db.execute(_CALLS.format(common.placeholders(spans)), spans)
    ):
        price = prices.lookup(model)
        estimate = None
        if cost is None and price is not None:
            estimate = round(price.estimate(input_tokens or 0, output_tokens or 0, cached or 0), 6)
        found[span] = {
            "model": model, "provider": provider, "operation": operation,
            "input_tokens": input_tokens, "output_tokens": output_tokens,
            "cached_input_tokens": cached, "cost_usd": cost, "estimated_cost_usd": estimate,
            "priced": cost is not None or price is not None, "counted": bool(counted),
        }
    return found


def cost_text(figures: dict[str, Any]) -> str:
    """Recorded and estimated dollars of ``figures`` (a ``Totals.as_dict``) in words, the
    estimate marked with ``~`` and never added into the recorded sum: ``$0.0235 + ~$0.0105
    estimated, 2 calls unpriced``."""
    parts = []
    if figures["cost_usd"] or figures["estimated_cost_usd"] is None:
        parts.append(f"${figures['cost_usd']:.4f}")
    if figures["estimated_cost_usd"] is not None:
        parts.append(f"~${figures['estimated_cost_usd']:.4f} estimated")
    text = " + ".join(parts)
    unpriced = figures["unpriced_calls"]
    if unpriced:
        text += f", {unpriced} call{'s' if unpriced != 1 else ''} unpriced"
    return text
