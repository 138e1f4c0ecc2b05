"""What failed in a run, and where the error is: the answer to "why is CI red".

The failures of a run are its cases (``queries.outcomes``) whose outcome is failed or error:
the innermost failed steps (a scenario that failed because its step failed is not listed
twice), the commands of a run that has no steps, the run itself when it has neither. The run
is never a failure of its own steps: its status and message are in its summary. Each failure
carries the exit code, the message, the last stderr lines and the artifact paths of the
failing span and everything under it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.conventions import KIND_COMMAND
from otel_sqlite.queries import common, outcomes
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.steps import Trace, build_steps, load_traces, run_cases


def _entry(
    db: sqlite3.Connection, trace: Trace, kind: str, case: dict[str, Any]
) -> dict[str, Any]:
    span = trace.by_id[case["span_id"]]
    below = [span, *trace.descendants(span["span_id"])]
    found = common.artifact_rows(db, [s["id"] for s in below])
    files = [artifact for s in below for artifact in found[s["id"]]]
    message = span["status_message"] or next(
        (s["status_message"] for s in below if s["status_code"] == "ERROR" and s["status_message"]),
        "",
    )
    return {
        "run_id": trace.root["trace_id"],
        "kind": kind,
        "span_id": span["span_id"],
        "name": span["name"],
        "path": case["path"],
        "outcome": case["outcome"],
        "attempt_count": case["attempt_count"],
        "exit_code": case["exit_code"],
        "message": message,
        "stderr_tail": common.stderr_tail(files),
        "artifacts": [artifact["path"] for artifact in files],
    }


def trace_failures(
    db: sqlite3.Connection, trace: Trace, steps: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Failures of one loaded trace whose steps are already built."""
    return [
        _entry(db, trace, _kind(trace, case), case)
        for case in run_cases(trace, steps) if case["outcome"] in outcomes.FAILING
    ]


def _kind(trace: Trace, case: dict[str, Any]) -> str:
    if case["span_id"] == trace.root["span_id"]:
        return "run"
    return KIND_COMMAND if trace.by_id[case["span_id"]]["harness_kind"] == KIND_COMMAND else "step"


def exit_note(failure: dict[str, Any]) -> str:
    """`` (exit code N)`` to write after a failure's path, unless its message already says so."""
    code = failure["exit_code"]
    if code is None or failure["message"] == f"exit code {code}":
        return ""
    return f" (exit code {code})"


def run_failures(db: sqlite3.Connection, run: str = "latest") -> list[dict[str, Any]]:
    """Failures of ``run``: each ``run_id``, ``kind`` (step / command / run), ``span_id``,
    ``name``, ``path``, ``outcome`` (failed / error), ``attempt_count``, ``exit_code``,
    ``message``, ``stderr_tail`` (list of lines) and
    ``artifacts`` (stored paths)."""
    root = resolve_run(db, run)
    trace = load_traces(db, {root["trace_id"]: root["span_id"]})[root["trace_id"]]
    return trace_failures(db, trace, build_steps(trace))
