"""Small pieces every read-side projection shares: times, statuses, span rows of a trace.

Results are plain JSON-ready values: times as ISO 8601 UTC strings, durations as float
milliseconds, statuses as ``ok`` / ``error`` / ``incomplete``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from otel_sqlite.conventions import (
    EXCEPTION_EVENT,
    HARNESS_STEP_ATTEMPT,
    HARNESS_STEP_NUMBER,
    HARNESS_TEST_OUTCOME,
    HARNESS_TEST_REASON,
    KIND_API_CALL,
    KIND_STEP,
    PROCESS_EXIT_CODE,
    ROLE_STDERR,
    TEST_CASE_NAME,
    TEST_CASE_RESULT_STATUS,
    TEST_SUITE_RUN_STATUS,
)
from otel_sqlite.storage import artifacts, values

STATUS_OK, STATUS_ERROR, STATUS_INCOMPLETE = "ok", "error", "incomplete"

# How many trailing stderr lines a failure carries: enough to see the error, short enough to
# read in a terminal or a CI summary.
STDERR_TAIL_LINES = 20

# SQL for a span's status in the words above; ``s`` is the spans alias.
STATUS_SQL = (
    "CASE WHEN s.status_code = 'ERROR' THEN 'error' "
    "WHEN s.end_ns IS NULL THEN 'incomplete' ELSE 'ok' END"
)


def iso(ns: int | None) -> str | None:
    """ISO 8601 UTC with milliseconds, from integer nanoseconds since the epoch."""
    if ns is None:
        return None
    moment = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration_ms(start_ns: int, end_ns: int | None) -> float | None:
    return None if end_ns is None else round((end_ns - start_ns) / 1e6, 3)


def status(status_code: str, end_ns: int | None) -> str:
    if status_code == "ERROR":
        return STATUS_ERROR
    return STATUS_INCOMPLETE if end_ns is None else STATUS_OK


def db_path(db: sqlite3.Connection) -> Path:
    """The file behind ``db``, to resolve artifact paths stored relative to it."""
    for _, name, file in db.execute("PRAGMA database_list"):
        if name == "main":
            return Path(file)
    raise AssertionError("a connection always has a main database")


def placeholders(items: Iterable[Any]) -> str:
    return ", ".join("?" for _ in items)


# The span columns every projection needs, with the few attributes the step and outcome
# models read (queries.outcomes), and whether the span is a model call (never a step).
# No ORDER BY: with one, the planner walks the whole start_ns index instead of looking the
# traces up; spans are sorted in Python instead.
_TRACE_SPANS = f"""
SELECT s.id, s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.harness_kind,
       s.start_ns, s.end_ns, s.status_code, s.status_message,
       CASE WHEN s.harness_kind = '{KIND_STEP}' THEN
           (SELECT value FROM attributes WHERE span = s.id AND key = '{HARNESS_STEP_NUMBER}')
       END,
       CASE WHEN s.harness_kind = '{KIND_STEP}' THEN
           (SELECT value FROM attributes WHERE span = s.id AND key = '{HARNESS_STEP_ATTEMPT}')
       END,
       CASE WHEN s.harness_kind IS NOT '{KIND_API_CALL}' THEN
           (SELECT value FROM attributes WHERE span = s.id AND key = '{PROCESS_EXIT_CODE}')
       END,
       CASE WHEN s.harness_kind IS NOT '{KIND_API_CALL}' THEN
           (SELECT value FROM attributes WHERE span = s.id AND key = '{HARNESS_TEST_OUTCOME}')
       END,
       CASE WHEN s.harness_kind IS NOT '{KIND_API_CALL}' THEN
           (SELECT value FROM attributes WHERE span = s.id
            AND key IN ('{TEST_CASE_RESULT_STATUS}', '{TEST_SUITE_RUN_STATUS}') LIMIT 1)
       END,
       CASE WHEN s.harness_kind IS NOT '{KIND_API_CALL}' THEN
           (SELECT value FROM attributes WHERE span = s.id AND key = '{HARNESS_TEST_REASON}')
       END,
       CASE WHEN s.harness_kind = '{KIND_STEP}' THEN
           EXISTS (SELECT 1 FROM attributes WHERE span = s.id AND key = '{TEST_CASE_NAME}')
       END,
       EXISTS (SELECT 1 FROM model_calls WHERE span = s.id)
FROM spans s WHERE s.trace_id IN ({{}})
"""
_SPAN_KEYS = (
    "id", "trace_id", "span_id", "parent_span_id", "name", "kind", "harness_kind", "start_ns",
    "end_ns", "status_code", "status_message", "number", "attempt", "exit_code",
    "recorded_outcome", "result_status", "reason", "test_case", "model_call",
)


def trace_spans(db: sqlite3.Connection, trace_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every span of each trace, in start order, as dicts with the step model's fields."""
    found: dict[str, list[dict[str, Any]]] = {trace_id: [] for trace_id in trace_ids}
    if not trace_ids:
        return found
    for row in db.execute(_TRACE_SPANS.format(placeholders(trace_ids)), trace_ids):
        span = dict(zip(_SPAN_KEYS, row, strict=True))
        found[span["trace_id"]].append(span)
    for spans in found.values():
        spans.sort(key=lambda span: (span["start_ns"], span["id"]))
    return found


def attributes_of(db: sqlite3.Connection, span: int) -> dict[str, Any]:
    """The typed attributes of one span (row id), decoded to their original types."""
    return {
        key: values.decode(value, type_name)
        for key, value, type_name in db.execute(
            "SELECT key, value, type FROM attributes WHERE span = ? ORDER BY key", (span,)
        )
    }


def artifact_rows(db: sqlite3.Connection, spans: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Artifacts of each span (row id): id, role, stored and absolute path, size, sha256."""
    found: dict[int, list[dict[str, Any]]] = {span: [] for span in spans}
    if not spans:
        return found
    database = db_path(db)
    for artifact, span, role, path, size, sha256, media_type, lines, truncated in db.execute(
        "SELECT id, span, role, path, size, sha256, media_type, indexed_lines, index_truncated "
        f"FROM artifacts WHERE span IN ({placeholders(spans)}) ORDER BY id",
        spans,
    ):
        found[span].append({
            "artifact_id": artifact,
            "role": role,
            "path": path,
            "absolute_path": str(artifacts.resolve_stored_path(path, database)),
            "size": size,
            "sha256": sha256,
            "media_type": media_type,
            "indexed_lines": lines,
            "index_truncated": bool(truncated),
        })
    return found


def exceptions_of(db: sqlite3.Connection, spans: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The ``exception`` events of each span (row id), oldest first, as their attributes."""
    found: dict[int, list[dict[str, Any]]] = {span: [] for span in spans}
    if not spans:
        return found
    for span, attributes in db.execute(
        f"SELECT span, attributes FROM events WHERE name = ? AND span IN ({placeholders(spans)}) "
        "ORDER BY time_ns, id",
        [EXCEPTION_EVENT, *spans],
    ):
        found[span].append(json.loads(attributes))
    return found


def tail_lines(path: str | Path, count: int = STDERR_TAIL_LINES) -> list[str]:
    """The last ``count`` lines of a text file, read from its end (files can be huge)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            block = min(size, 64 * 1024 * max(1, count // 20))
            f.seek(size - block)
            data = f.read(block)
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    if block < size and lines:
        lines = lines[1:]  # the first line may be cut
    return lines[-count:]


def stderr_tail(found: list[dict[str, Any]], count: int = STDERR_TAIL_LINES) -> list[str]:
    """The last lines of the stderr artifacts among ``found``, oldest artifact first."""
    lines: list[str] = []
    for artifact in found:
        if artifact["role"] == ROLE_STDERR:
            lines.extend(tail_lines(artifact["absolute_path"], count))
    return lines[-count:]
