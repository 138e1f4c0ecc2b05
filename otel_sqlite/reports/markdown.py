"""A run as a Markdown CI summary, to append to ``$GITHUB_STEP_SUMMARY`` (or paste anywhere).

Status first with the outcome counts every reader gives (``queries.outcomes``), then what
failed with its stderr tail, what was skipped and why, the slowest steps and what it cost.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.queries import common, outcomes
from otel_sqlite.queries.failures import exit_note
from otel_sqlite.queries.model_calls import cost_text
from otel_sqlite.queries.prices import PriceTable
from otel_sqlite.queries.runs import run_summary

_MARKS = {common.STATUS_OK: "✅", common.STATUS_ERROR: "❌", common.STATUS_INCOMPLETE: "⏳"}
_OUTCOME_MARKS = {
    outcomes.PASSED: "✅", outcomes.FAILED: "❌", outcomes.ERROR: "💥", outcomes.SKIPPED: "⏭️",
    outcomes.XFAILED: "✖️", outcomes.XPASSED: "❗", outcomes.INCOMPLETE: "⏳",
}


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def markdown_summary(db: sqlite3.Connection, run: str, prices: PriceTable | None = None) -> str:
    """The Markdown text of ``run``'s summary (estimated costs from ``prices``)."""
    summary = run_summary(db, run, prices)
    lines = [
        f"## {_MARKS[summary['status']]} {summary['name']} — {summary['status']}",
        "",
        f"Run `{summary['run_id']}` started {summary['start']}, took "
        f"{_ms(summary['duration_ms'])}: {summary['steps']} steps — "
        f"{outcomes.describe(summary['outcomes'])}"
        + (f", retried: {', '.join(summary['retried_steps'])}" if summary["retried_steps"] else "")
        + ".",
    ]
    if summary["failed_steps"]:
        lines += ["", "### Failures", ""]
        for failure in summary["failed_steps"]:
            code = exit_note(failure)
            mark = _OUTCOME_MARKS[failure["outcome"]]
            lines.append(f"- {mark} **{failure['path']}**{code}: "
                         f"{failure['message'] or failure['outcome']}")
            if failure["stderr_tail"]:
                lines += ["", "  ```text", *(f"  {line}" for line in failure["stderr_tail"]),
                          "  ```"]
    if summary["skipped_steps"]:
        lines += ["", "### Skipped", ""]
        lines += [
            f"- {_OUTCOME_MARKS[s['outcome']]} {s['path']} ({s['outcome']})"
            + (f": {s['reason']}" if s["reason"] else "")
            for s in summary["skipped_steps"]
        ]
    if summary["slowest"]:
        lines += ["", "### Slowest steps", "", "| step | duration | status |",
                  "| --- | ---: | --- |"]
        lines += [
            f"| {_cell(s['path'])} | {_ms(s['duration_ms'])} | {_OUTCOME_MARKS[s['outcome']]} |"
            for s in summary["slowest"]
        ]
    if summary["api_calls"]:
        lines += [
            "", "### Cost", "",
            f"{summary['api_calls']} API calls, {summary['input_tokens']} input / "
            f"{summary['output_tokens']} output tokens, **{cost_text(summary)}**.",
        ]
    return "\n".join(lines) + "\n"
