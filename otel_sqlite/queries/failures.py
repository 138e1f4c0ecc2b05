"""What failed in a run, and where the error is: the answer to "why is CI red".

A failure is the innermost failed step (a scenario that failed because its step failed is not
listed twice), else a failed command outside every step, else the failed run itself. Each
carries the exit code, the message, the last stderr lines and the artifact paths of the
failing span and everything under it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.conventions import KIND_COMMAND
from otel_sqlite.queries import common
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.steps import Trace, build_steps, load_traces


def _entry(
    db: sqlite3.Connection, trace: Trace, kind: str, span: dict[str, Any], path: str,
    exit_code: int | None,
) -> dict[str, Any]:
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
        "path": path,
        "exit_code": exit_code,
        "message": message,
        "stderr_tail": common.stderr_tail(files),
        "artifacts": [artifact["path"] for artifact in files],
    }


def trace_failures(
    db: sqlite3.Connection, trace: Trace, steps: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Failures of one loaded trace whose steps are already built."""
    failed = [step for step in steps if step["status"] == common.STATUS_ERROR]
    parents_of_failed = {step["parent_span_id"] for step in failed}
    found = [
        _entry(db, trace, "step", trace.by_id[step["span_id"]], step["path"], step["exit_code"])
        for step in failed
        if step["span_id"] not in parents_of_failed
    ]
    step_ids = {attempt["span_id"] for step in steps for attempt in step["attempts"]}
    step_ids.update(step["span_id"] for step in steps)
    for span in trace.spans:
        if (
            span["harness_kind"] == KIND_COMMAND
            and span["status_code"] == "ERROR"
            and step_ids.isdisjoint(trace.ancestors(span["span_id"]))
        ):
            found.append(_entry(db, trace, "command", span, span["name"], span["exit_code"]))
    root = trace.root
    if not found and root["status_code"] == "ERROR":
        found.append(_entry(db, trace, "run", root, root["name"], root["exit_code"]))
    return found


def run_failures(db: sqlite3.Connection, run: str = "latest") -> list[dict[str, Any]]:
    """Failures of ``run``: each ``run_id``, ``kind`` (step / command / run), ``span_id``,
    ``name``, ``path``, ``exit_code``, ``message``, ``stderr_tail`` (list of lines) and
    ``artifacts`` (stored paths)."""
    root = resolve_run(db, run)
    trace = load_traces(db, {root["trace_id"]: root["span_id"]})[root["trace_id"]]
    return trace_failures(db, trace, build_steps(trace))
