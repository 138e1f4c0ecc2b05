from __future__ import annotations

import logging
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from otel_sqlite.exporter import InFlightSpanProcessor, SQLiteSpanExporter


def tracer_for(exporter: SQLiteSpanExporter, in_flight: bool = False):
    provider = TracerProvider()
    if in_flight:
        provider.add_span_processor(InFlightSpanProcessor(exporter))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("tests", "0.1")


def test_the_zero_argument_exporter_writes_to_the_database_named_by_the_environment(
    db_path: Path, query
) -> None:
    tracer = tracer_for(SQLiteSpanExporter())
    with tracer.start_as_current_span("hello"):
        pass
    assert query("SELECT name FROM spans") == [("hello",)]


def test_the_exporter_is_registered_for_otel_traces_exporter_sqlite() -> None:
    [entry_point] = entry_points(group="opentelemetry_traces_exporter", name="sqlite")
    assert entry_point.load() is SQLiteSpanExporter


def test_sdk_spans_keep_ids_parent_kind_status_links_and_scope(db_path: Path, query) -> None:
    tracer = tracer_for(SQLiteSpanExporter())
    with tracer.start_as_current_span("parent") as parent:
        with tracer.start_as_current_span(
            "child", kind=SpanKind.CLIENT, links=[Link(parent.get_span_context(), {"k": 1})]
        ) as child:
            child.set_status(Status(StatusCode.ERROR, "it broke"))
    ctx, pctx = child.get_span_context(), parent.get_span_context()
    assert query("SELECT trace_id, span_id, parent_span_id, kind, status_code, status_message "
                 "FROM spans WHERE name = 'child'") == [
        (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}", f"{pctx.span_id:016x}", "client",
         "ERROR", "it broke")]
    assert query("SELECT span_id, attributes FROM links") == [(f"{pctx.span_id:016x}",
                                                               '{"k":1}')]
    assert query("SELECT DISTINCT s.name, s.version FROM scopes s") == [("tests", "0.1")]


def test_a_recorded_exception_is_an_exception_event(db_path: Path, query) -> None:
    tracer = tracer_for(SQLiteSpanExporter())
    with pytest.raises(ValueError), tracer.start_as_current_span("step"):
        raise ValueError("bad input 7")
    [(name, attributes)] = query("SELECT name, attributes FROM events")
    assert name == "exception" and "bad input 7" in attributes
    assert query("SELECT status_code FROM spans") == [("ERROR",)]


def test_harness_spans_are_recorded_while_in_flight(db_path: Path, query) -> None:
    tracer = tracer_for(SQLiteSpanExporter(), in_flight=True)
    with tracer.start_as_current_span("run", attributes={"harness.kind": "run"}):
        with tracer.start_as_current_span("plain"):
            assert query("SELECT name, end_ns FROM spans") == [("run", None)]
    assert query("SELECT name, end_ns IS NOT NULL FROM spans ORDER BY id") == [
        ("run", 1), ("plain", 1)]


def test_a_file_that_is_not_a_database_fails_the_export_once_and_stays_identical(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_path.write_bytes(b"not a database\n" * 1000)
    exporter = SQLiteSpanExporter()
    tracer = tracer_for(exporter)
    results = []
    original = exporter.export
    exporter.export = lambda spans: results.append(original(spans)) or results[-1]
    with caplog.at_level(logging.WARNING, logger="otel_sqlite.sdk.exporter"):
        for _ in range(3):
            with tracer.start_as_current_span("lost"):
                pass
    assert results == [SpanExportResult.FAILURE] * 3
    assert len(caplog.records) == 1
    assert "not an otel-sqlite database" in caplog.records[0].getMessage()
    assert db_path.read_bytes() == b"not a database\n" * 1000


def test_a_folder_that_cannot_be_created_fails_the_export(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    exporter = SQLiteSpanExporter(blocker / "sub" / "traces.db")
    with caplog.at_level(logging.WARNING):
        assert exporter.export([]) == SpanExportResult.FAILURE
    assert "cannot create the folder" in caplog.text


def test_export_after_shutdown_fails_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = SQLiteSpanExporter()
    exporter.shutdown()
    exporter.shutdown()
    with caplog.at_level(logging.WARNING):
        assert exporter.export([]) == SpanExportResult.FAILURE
        assert exporter.export([]) == SpanExportResult.FAILURE
    assert caplog.text.count("after shutdown") == 1
