"""Captured output of a run or of one span: which files, in which order.

``logs RUN`` gives every captured file of the run's spans in start order; ``logs SPAN`` those
of the span and the spans below it. A reference is tried as a run first, then as a span id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from otel_sqlite.conventions import ROLE_STDERR, ROLE_STDOUT
from otel_sqlite.errors import NotFoundError
from otel_sqlite.queries import common
from otel_sqlite.queries.resolve import resolve_run, resolve_span
from otel_sqlite.queries.steps import load_traces

STREAMS = (ROLE_STDOUT, ROLE_STDERR)


def captured_output(
    db: sqlite3.Connection, ref: str, stream: str | None = None
) -> list[dict[str, Any]]:
    """Artifacts of ``ref`` (a run reference or a span-id prefix), in their spans' start
    order, each: ``span_id``, ``span_name``, ``artifact_id``, ``role``, ``path``,
    ``absolute_path``, ``size``, ... ``stream`` keeps one role (stdout or stderr)."""
    try:
        root = resolve_run(db, ref)
        top = root
    except NotFoundError:
        top = resolve_span(db, ref)
        root = top
    trace = load_traces(db, {top["trace_id"]: top["span_id"]})[top["trace_id"]]
    spans = [trace.by_id[top["span_id"]], *trace.descendants(top["span_id"])]
    spans.sort(key=lambda s: (s["start_ns"], s["id"]))
    found = common.artifact_rows(db, [s["id"] for s in spans])
    return [
        {"span_id": span["span_id"], "span_name": span["name"], **artifact}
        for span in spans
        for artifact in found[span["id"]]
        if stream is None or artifact["role"] == stream
    ]


def read_chunks(artifact: dict[str, Any], size: int = 1 << 16) -> Iterator[bytes]:
    """The bytes of one artifact's file; NotFoundError when it is gone."""
    try:
        with open(artifact["absolute_path"], "rb") as f:
            while chunk := f.read(size):
                yield chunk
    except OSError as exc:
        raise NotFoundError(
            f"the captured file {artifact['path']} cannot be read: {exc.strerror or exc}"
        ) from exc
