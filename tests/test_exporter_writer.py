"""Past the first few hundred spans, batches go to a writer process; what it stores and how
it fails are the exporter's."""

from __future__ import annotations

import copy
import enum
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_sqlite.sdk.exporter import WRITER_PROCESS_AFTER, SQLiteSpanExporter

BATCH = WRITER_PROCESS_AFTER + 88


def finished_spans(count: int, prefix: str = "s", **last_attributes: object):
    """SDK spans, finished, as a BatchSpanProcessor would hand them over."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("writer-tests")
    for index in range(count):
        with tracer.start_as_current_span(f"{prefix}{index}") as span:
            span.set_attribute("n", index)
            span.set_attribute("ratio", index / 2)
            span.set_attribute("ok", index % 2 == 0)
            span.set_attribute("tags", ["a", "b"])
            span.add_event("tick", {"at": index})
            if index == count - 1:
                span.set_attributes(last_attributes)
    return memory.get_finished_spans()


def with_writer(exporter: SQLiteSpanExporter) -> int:
    """Export until a writer process runs; its pid."""
    assert exporter.export(finished_spans(BATCH, "warm")) == SpanExportResult.SUCCESS
    assert exporter.writer_pid is not None
    return exporter.writer_pid


def test_a_short_scripts_few_spans_never_start_a_writer_process(db_path: Path) -> None:
    exporter = SQLiteSpanExporter()
    for part in range(3):
        spans = finished_spans(WRITER_PROCESS_AFTER // 3 - 1, f"p{part}-")
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    assert exporter.writer_pid is None
    exporter.shutdown()


def test_small_batches_start_the_writer_once_enough_spans_have_passed(
    db_path: Path, query
) -> None:
    exporter = SQLiteSpanExporter()
    pids = []
    for part in range(4):
        exporter.export(finished_spans(WRITER_PROCESS_AFTER // 3 + 1, f"p{part}-"))
        pids.append(exporter.writer_pid)
    assert pids[:2] == [None, None] and pids[2] is not None and pids[3] == pids[2]
    exporter.shutdown()
    assert query("SELECT count(*) FROM spans") == [(4 * (WRITER_PROCESS_AFTER // 3 + 1),)]


def running_spans(count: int, prefix: str = "r"):
    """SDK spans that have started and not ended, as the in-flight processor sees them."""
    tracer = TracerProvider().get_tracer("writer-tests")
    return [tracer.start_span(f"{prefix}{index}", attributes={"harness.kind": "step"})
            for index in range(count)]


def test_in_flight_rows_never_start_a_writer_process(db_path: Path, query) -> None:
    exporter = SQLiteSpanExporter()
    for span in running_spans(WRITER_PROCESS_AFTER + 1):
        exporter.export_in_flight(span)
    assert exporter.writer_pid is None
    exporter.shutdown()
    assert query("SELECT count(*) FROM spans WHERE end_ns IS NULL") == [
        (WRITER_PROCESS_AFTER + 1,)]


def test_single_span_writes_never_wait_for_a_writer_to_start(db_path: Path, query) -> None:
    """SimpleSpanProcessor's exports run on the application's thread, and each is committed
    when it returns: a span that has ended can be read back at once."""
    exporter = SQLiteSpanExporter()
    for number, span in enumerate(finished_spans(WRITER_PROCESS_AFTER + 1)):
        exporter.export([span])
        assert query("SELECT count(*) FROM spans") == [(number + 1,)]
    assert exporter.writer_pid is None
    assert exporter.export(finished_spans(2, "after")) == SpanExportResult.SUCCESS
    assert exporter.writer_pid is not None
    last = finished_spans(1, "single")
    assert exporter.export(last) == SpanExportResult.SUCCESS
    assert query("SELECT count(*) FROM spans WHERE name = 'single0'") == [(1,)]
    exporter.shutdown()


def test_in_flight_rows_reach_the_writer_by_their_own_pipe_and_are_committed_by_a_flush(
    db_path: Path, query
) -> None:
    exporter = SQLiteSpanExporter()
    with_writer(exporter)
    for span in running_spans(3):
        assert exporter.export([span]) == SpanExportResult.SUCCESS
    assert exporter.force_flush()
    assert query("SELECT name FROM spans WHERE end_ns IS NULL ORDER BY name") == [
        ("r0",), ("r1",), ("r2",)]
    exporter.shutdown()


def test_batches_after_a_large_one_are_stored_by_the_writer_with_their_types(
    db_path: Path, query
) -> None:
    exporter = SQLiteSpanExporter()
    pid = with_writer(exporter)
    assert exporter.export(finished_spans(BATCH)) == SpanExportResult.SUCCESS
    assert pid != os.getpid() and exporter.writer_pid == pid
    exporter.shutdown()
    assert query("SELECT count(*) FROM spans") == [(2 * BATCH,)]
    assert query(
        "SELECT a.key, a.value, a.type FROM attributes a JOIN spans s ON s.id = a.span "
        "WHERE s.name = 's7' ORDER BY a.key"
    ) == [("n", 7, "int"), ("ok", 0, "bool"), ("ratio", 3.5, "double"),
          ("tags", '["a","b"]', "string[]")]
    assert query("SELECT e.name, e.attributes FROM events e JOIN spans s ON s.id = e.span "
                 "WHERE s.name = 's7'") == [("tick", '{"at":7}')]


def test_shutdown_ends_the_writer_process(db_path: Path) -> None:
    exporter = SQLiteSpanExporter()
    pid = with_writer(exporter)
    exporter.shutdown()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_killed_writer_is_reported_once_and_later_batches_are_stored_here(
    db_path: Path, query, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = SQLiteSpanExporter()
    os.kill(with_writer(exporter), signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="otel_sqlite"):
        results = [exporter.export(finished_spans(BATCH, f"after{n}-")) for n in range(3)]
    assert results == [SpanExportResult.SUCCESS] * 3
    assert [r.getMessage() for r in caplog.records] == [
        "otel-sqlite: the writer process stopped (exit status -9); "
        "writing in the application's process"]
    assert exporter.writer_pid is None
    exporter.shutdown()
    assert query("SELECT count(*) FROM spans") == [(4 * BATCH,)]


def test_the_writer_is_outside_the_process_group_a_terminal_or_ci_runner_signals(
    db_path: Path,
) -> None:
    exporter = SQLiteSpanExporter()
    pid = with_writer(exporter)
    assert os.getpgid(pid) != os.getpgid(0)
    exporter.shutdown()


def test_the_writer_ignores_interrupt_and_termination_signals(
    db_path: Path, query, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = SQLiteSpanExporter()
    pid = with_writer(exporter)
    assert exporter.export(finished_spans(BATCH, "via-writer")) == SpanExportResult.SUCCESS
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        os.kill(pid, sig)
    time.sleep(0.2)
    with caplog.at_level(logging.WARNING, logger="otel_sqlite"):
        assert exporter.export(finished_spans(BATCH)) == SpanExportResult.SUCCESS
    assert caplog.records == [] and exporter.writer_pid == pid
    exporter.shutdown()
    assert query("SELECT count(*) FROM spans") == [(3 * BATCH,)]


def test_a_file_that_is_not_a_database_fails_through_the_writer_once_and_stays_identical(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_path.write_bytes(b"not a database\n" * 1000)
    exporter = SQLiteSpanExporter()
    with caplog.at_level(logging.WARNING, logger="otel_sqlite"):
        results = [exporter.export(finished_spans(BATCH)) for _ in range(3)]
        assert exporter.writer_pid is not None
    exporter.shutdown()
    assert results == [SpanExportResult.FAILURE] * 3
    assert len(caplog.records) == 1
    assert "not an otel-sqlite database" in caplog.records[0].getMessage()
    assert db_path.read_bytes() == b"not a database\n" * 1000


def test_the_writers_warnings_reach_the_applications_log(
    db_path: Path, query, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = SQLiteSpanExporter()
    with_writer(exporter)
    assert exporter.export(finished_spans(BATCH)) == SpanExportResult.SUCCESS
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    with caplog.at_level(logging.WARNING, logger="otel_sqlite"):
        assert exporter.export(finished_spans(BATCH, "fresh")) == SpanExportResult.SUCCESS
    exporter.shutdown()
    [record] = caplog.records
    assert record.name == "otel_sqlite.storage.store"
    assert "deleted or replaced" in record.getMessage()
    assert query("SELECT count(*) FROM spans WHERE name LIKE 'fresh%'") == [(BATCH,)]


def test_a_forked_child_starts_its_own_writer_and_leaves_the_parents_alone(
    db_path: Path, run_python, query
) -> None:
    done = run_python(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_exporter_writer import finished_spans, BATCH
        from otel_sqlite.exporter import SQLiteSpanExporter
        exporter = SQLiteSpanExporter()
        exporter.export(finished_spans(BATCH, "parent-a"))
        parents = exporter.writer_pid
        child = os.fork()
        if child == 0:
            exporter.export(finished_spans(BATCH, "child-a"))
            exporter.export(finished_spans(BATCH, "child-b"))
            ok = exporter.writer_pid not in (None, parents)
            exporter.shutdown()
            os._exit(0 if ok else 3)
        _, status = os.waitpid(child, 0)
        after = exporter.export(finished_spans(BATCH, "parent-b")).name
        print(os.waitstatus_to_exitcode(status), after, exporter.writer_pid == parents)
        exporter.shutdown()
    """)
    assert done.stdout.split() == ["0", "SUCCESS", "True"]
    assert done.stderr == ""
    assert query("SELECT count(*) FROM spans") == [(4 * BATCH,)]


def test_an_application_killed_mid_export_leaves_every_confirmed_batch(
    db_path: Path, tmp_path: Path
) -> None:
    script = tmp_path / "exporting.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_exporter_writer import finished_spans, BATCH
from otel_sqlite.exporter import SQLiteSpanExporter
exporter = SQLiteSpanExporter()
for n in range(1000):
    assert exporter.export(finished_spans(BATCH, f"b{{n}}-")).name == "SUCCESS"
    print(n, flush=True)
""")
    app = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    confirmed = [app.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
    app.kill()
    app.wait()
    deadline = time.monotonic() + 10
    db = sqlite3.connect(db_path, timeout=10)
    while time.monotonic() < deadline:  # the writer finishes its batch, then sees EOF
        try:
            db.execute("BEGIN EXCLUSIVE")
            db.execute("ROLLBACK")
            break
        except sqlite3.OperationalError:
            time.sleep(0.05)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = db.execute("SELECT count(*) FROM spans").fetchone()[0]
    db.close()
    assert stored >= len(confirmed) * BATCH and stored % BATCH == 0


def test_a_value_marshal_cannot_carry_sends_that_batch_through_the_applications_process(
    db_path: Path, query, caplog: pytest.LogCaptureFixture
) -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    exporter = SQLiteSpanExporter()
    pid = with_writer(exporter)
    spans = finished_spans(BATCH, "odd", colour=Colour.RED)  # in the batch's second part
    with caplog.at_level(logging.WARNING, logger="otel_sqlite"):
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        assert exporter.export(finished_spans(BATCH, "next")) == SpanExportResult.SUCCESS
    assert caplog.records == [] and exporter.writer_pid == pid
    exporter.shutdown()
    assert query("SELECT count(*) FROM spans") == [(3 * BATCH,)]
    assert query("SELECT value, type FROM attributes WHERE key = 'colour'") == [("red", "string")]


def test_an_in_flight_row_is_handed_over_while_a_batch_is_still_being_exported(
    db_path: Path, query
) -> None:
    """A step starting while the exporter's thread is busy with a big batch does not wait
    for that batch."""
    exporter = SQLiteSpanExporter()
    with_writer(exporter)
    packing, release = threading.Event(), threading.Event()

    class SlowToPack(ReadableSpan):
        @property
        def name(self) -> str:
            packing.set()
            release.wait(30)
            return super().name

    batch = list(finished_spans(BATCH, "busy"))
    batch[-1] = copy.copy(batch[-1])
    batch[-1].__class__ = SlowToPack
    exporting = threading.Thread(target=exporter.export, args=(batch,))
    exporting.start()
    assert packing.wait(30)
    handed_over = []
    starting = threading.Thread(
        target=lambda: handed_over.append(exporter.export(running_spans(1, "starting"))))
    starting.start()
    starting.join(30)
    while_the_batch_was_busy, still_exporting = list(handed_over), exporting.is_alive()
    release.set()
    exporting.join(30)
    assert while_the_batch_was_busy == [SpanExportResult.SUCCESS] and still_exporting
    assert exporter.force_flush()
    assert query("SELECT count(*) FROM spans WHERE name = 'starting0' AND end_ns IS NULL") == [
        (1,)]
    exporter.shutdown()
