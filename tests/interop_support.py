"""Shared pieces of the interop tests: a real ``serve`` process, a rich database, SQL snapshots."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from otel_sqlite.exporter import SQLiteSpanExporter
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.store import Store

BIN = Path(sys.executable).parent
OTEL_SQLITE = str(BIN / "otel-sqlite")
LIMITS = SpanLimits(max_span_attributes=20, max_events=4, max_links=1,
                    max_event_attributes=4, max_link_attributes=4)


def env(**extra: str) -> dict[str, str]:
    """The test process's environment without OTEL_* settings that would leak in."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return {**base, **extra}


def read_start_lines(process: subprocess.Popen) -> dict[str, str]:
    """What ``serve`` printed at start, up to its "Ctrl-C" line: endpoint by name
    ("OTLP/HTTP", "OTLP/gRPC", "web UI"), and "settings" (the OTEL_* lines)."""
    said: dict[str, str] = {"settings": ""}
    text = ""
    while (line := process.stderr.readline()) and not line.startswith("Ctrl-C"):
        text += line
        if match := re.match(r"  (OTLP/HTTP|OTLP/gRPC|web UI)\s+(\S+)", line):
            said[match[1]] = match[2]
        elif "OTEL_" in line:
            said["settings"] += line
    assert line, f"serve did not start: {text}{process.stderr.read()}"
    return said


@contextmanager
def served(db: Path, *args: str) -> Iterator[tuple[subprocess.Popen, dict[str, str]]]:
    """``otel-sqlite serve`` on free loopback ports (HTTP and gRPC); yields the process and
    its start lines (``read_start_lines``). Stopped with SIGTERM at the end: it must exit 0.

    It answers each request once committed (``--ack committed``), so a test reads what it was
    answered for at once; test_reliability_serve.py covers the default (``queued``)."""
    process = subprocess.Popen(
        [OTEL_SQLITE, "serve", "--port", "0", "--grpc-port", "0", "--ack", "committed",
         "--db", str(db), *args],
        stderr=subprocess.PIPE, text=True, env=env(),
    )
    try:
        yield process, read_start_lines(process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read()


@contextmanager
def serving(db: Path, *args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """``served``, yielding the OTLP/HTTP traces URL."""
    with served(db, *args) as (process, said):
        yield process, said["OTLP/HTTP"]


def provider(exporter, resource: dict | None = None) -> TracerProvider:  # noqa: ANN001
    tracer_provider = TracerProvider(
        resource=Resource.create(resource or {"service.name": "interop-test"}), span_limits=LIMITS
    )
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider


def record_rich_spans(tracer_provider: TracerProvider, artifact: Path | None = None) -> None:
    """Spans using every field OTLP carries: kinds, status, typed attributes, events, links,
    trace state, dropped counts, two scopes."""
    tracer = tracer_provider.get_tracer("interop.suite", "1.2.3", schema_url="https://s/1",
                                        attributes={"scope.flag": True})
    other = tracer_provider.get_tracer("interop.other")
    linked = SpanContext(0x1234567890ABCDEF1234567890ABCDEF, 0x1122334455667788, False)
    with tracer.start_as_current_span("run: suite", attributes={"harness.kind": "run"}):
        with tracer.start_as_current_span(
            "step: everything", kind=SpanKind.CLIENT,
            # Over max_links: the SDK drops the oldest and counts it.
            links=[Link(linked), Link(linked, {"link.why": "retry of", "link.n": 2})],
        ) as span:
            for number in range(12):  # with the 11 below, over max_span_attributes: dropped
                span.set_attribute(f"extra.{number}", number)
            span.set_attributes({
                "harness.kind": "step", "text": "héllo wörld", "flag": True, "count": 2**40,
                "ratio": 0.125, "blob": b"\x00\x01\xff", "names": ["a", "b"], "nums": [1, 2],
                "doubles": [0.5, 2.5], "bools": [True, False],
            })
            for number in range(2):  # over max_events: the oldest are dropped and counted
                span.add_event(f"dropped-{number}")
            span.add_event("decision", {"choice": "retry", "score": 0.75, "tags": ["x", "y"]})
            if artifact is not None:
                span.add_event("artifact", {
                    "harness.artifact.path": str(artifact), "harness.artifact.role": "stdout",
                })
            span.add_event("many", {f"k{n}": n for n in range(6)})  # attributes dropped
            span.set_status(Status(StatusCode.ERROR, "it broke"))
        with other.start_as_current_span("server side", kind=SpanKind.SERVER) as span:
            span.set_status(Status(StatusCode.OK))
    remote_parent = SpanContext(0xFEEDFACE * 2**64, 0xBEEF, True, TraceFlags(1),
                                TraceState([("vendor", "v1")]))
    with other.start_as_current_span(
        "child of a remote caller", context=set_span_in_context(NonRecordingSpan(remote_parent)),
        kind=SpanKind.CONSUMER,
    ):
        pass


def rich_database(path: Path) -> Path:
    """A database written by our own exporter with ``record_rich_spans`` in it."""
    artifact = path.with_name(path.stem + "-out.log")
    artifact.write_text("line one\nline two\n")
    exporter = SQLiteSpanExporter(path)
    tracer_provider = provider(exporter)
    record_rich_spans(tracer_provider, artifact)
    tracer_provider.shutdown()
    store = Store(path)
    store.write([IN_FLIGHT])
    store.close()
    return path


# A command killed mid-run: recorded when it started, never finished.
IN_FLIGHT = SpanRecord(
    trace_id="5" * 32, span_id="6" * 16, name="command: sleep 100", start_ns=1_700_000_000 * 10**9,
    attributes={"harness.kind": "command", "process.command_args": ["sleep", "100"]},
)


def comparable(record: SpanRecord) -> SpanRecord:
    """A record with tuples as lists, as records read back from SQLite or OTLP have them."""
    def plain(value):  # noqa: ANN001, ANN202
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return replace(
        record,
        attributes=plain(dict(record.attributes)),
        events=[replace(e, attributes=plain(dict(e.attributes))) for e in record.events],
        links=[replace(link, attributes=plain(dict(link.attributes))) for link in record.links],
        resource=replace(record.resource, attributes=plain(dict(record.resource.attributes))),
        scope=replace(record.scope, attributes=plain(dict(record.scope.attributes))),
    )


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every stored fact of a database by natural keys (trace and span id), without row ids."""
    db = sqlite3.connect(path)
    key = "s.trace_id, s.span_id"
    queries = {
        "spans": f"""SELECT {key}, s.parent_span_id, s.name, s.kind, s.harness_kind, s.start_ns,
                     s.end_ns, s.status_code, s.status_message, s.trace_state, s.trace_flags,
                     s.dropped_attributes_count, s.dropped_events_count, s.dropped_links_count,
                     r.service_name, r.attributes, r.schema_url, r.dropped_attributes_count,
                     c.name, c.version, c.schema_url, c.attributes
                     FROM spans s JOIN resources r ON r.id = s.resource_id
                     JOIN scopes c ON c.id = s.scope_id""",
        "attributes": f"SELECT {key}, a.key, a.value, a.type FROM attributes a "
                      "JOIN spans s ON s.id = a.span",
        "events": f"SELECT {key}, e.name, e.time_ns, e.attributes, e.dropped_attributes_count "
                  "FROM events e JOIN spans s ON s.id = e.span",
        "links": f"SELECT {key}, l.trace_id, l.span_id, l.trace_state, l.flags, l.attributes, "
                 "l.dropped_attributes_count FROM links l JOIN spans s ON s.id = l.span",
        "artifacts": f"SELECT {key}, a.role, a.path, a.size, a.sha256, a.media_type, "
                     "a.indexed_lines FROM artifacts a JOIN spans s ON s.id = a.span",
        "text_lines": f"SELECT {key}, t.line, t.text FROM text_lines t "
                      "JOIN spans s ON s.id = t.span",
    }
    try:
        return {
            table: sorted((tuple(_canonical(v) for v in row) for row in db.execute(sql)), key=repr)
            for table, sql in queries.items()
        }
    finally:
        db.close()


def _canonical(value: object) -> object:
    """JSON columns compared as data, not as text."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value
