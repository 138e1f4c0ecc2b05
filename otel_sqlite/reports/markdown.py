"""A run as a Markdown CI summary, to append to ``$GITHUB_STEP_SUMMARY`` (or paste anywhere).

Status first, then what failed with its stderr tail, the slowest steps and what it cost.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.queries import common
from otel_sqlite.queries.runs import run_summary

_MARKS = {common.STATUS_OK: "✅", common.STATUS_ERROR: "❌", common.STATUS_INCOMPLETE: "⏳"}


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def markdown_summary(db: sqlite3.Connection, run: str) -> str:
    """The Markdown text of ``run``'s summary."""
    summary = run_summary(db, run)
    lines = [
        f"## {_MARKS[summary['status']]} {summary['name']} — {summary['status']}",
        "",
        f"Run `{summary['run_id']}` started {summary['start']}, took "
        f"{_ms(summary['duration_ms'])}: {summary['steps']} steps, "
        f"{len(summary['failed_steps'])} failed"
        + (f", retried: {', '.join(summary['retried_steps'])}" if summary["retried_steps"] else "")
        + ".",
    ]
    if summary["failed_steps"]:
        lines += ["", "### Failures", ""]
        for failure in summary["failed_steps"]:
            code = "" if failure["exit_code"] is None else f" (exit code {failure['exit_code']})"
            lines.append(f"- **{failure['path']}**{code}: {failure['message'] or 'failed'}")
            if failure["stderr_tail"]:
                lines += ["", "  ```text", *(f"  {line}" for line in failure["stderr_tail"]),
                          "  ```"]
    if summary["slowest"]:
        lines += ["", "### Slowest steps", "", "| step | duration | status |",
                  "| --- | ---: | --- |"]
        lines += [
            f"| {_cell(s['path'])} | {_ms(s['duration_ms'])} | {_MARKS[s['status']]} |"
            for s in summary["slowest"]
        ]
    if summary["api_calls"]:
        lines += [
            "", "### Cost", "",
            f"{summary['api_calls']} API calls, {summary['input_tokens']} input / "
            f"{summary['output_tokens']} output tokens, **${summary['cost_usd']:.4f}**.",
        ]
    return "\n".join(lines) + "\n"
