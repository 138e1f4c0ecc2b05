"""Hostile input is stored within documented limits, cut visibly, and never fails a batch."""

from __future__ import annotations

import hashlib
import json
import subprocess
from contextlib import ExitStack
from pathlib import Path

from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from reliability_support import cli, read_sql, run_worker

from otel_sqlite.conventions import HARNESS_TRUNCATED
from otel_sqlite.exporter import SQLiteSpanExporter
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage import limits
from otel_sqlite.storage.artifacts import MAX_LINE_BYTES
from otel_sqlite.storage.store import Store
from otel_sqlite.storage.values import decode

TEN_MB = 10 * 1024 * 1024
ODD = [
    "it's \"quoted\"",
    "'); DROP TABLE spans; --",
    "nul\x00inside",
    "emoji 🚀🔥 and ünïcödé",
    "tab\tnewline\ncarriage\r",
]


class Recording(SQLiteSpanExporter):
    """The real exporter, keeping each export's result."""

    def __init__(self, db: Path) -> None:
        super().__init__(db)
        self.results: list[SpanExportResult] = []

    def export(self, spans):  # type: ignore[no-untyped-def]
        self.results.append(super().export(spans))
        return self.results[-1]


def _tracer(exporter: SQLiteSpanExporter, **span_limits: int):
    provider = TracerProvider(span_limits=SpanLimits(**span_limits))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("hostile")


def _attribute(db: Path, key: str, span_name: str | None = None):
    rows = read_sql(
        db,
        "SELECT a.value, a.type FROM attributes a JOIN spans s ON s.id = a.span "
        "WHERE a.key = ? AND (? IS NULL OR s.name = ?)",
        (key, span_name, span_name),
    )
    assert len(rows) == 1, rows
    return decode(*rows[0])


def test_a_ten_megabyte_attribute_is_cut_to_the_limit_and_the_cut_is_marked(
    tmp_path: Path,
) -> None:
    db = tmp_path / "big.db"
    exporter = Recording(db)
    with _tracer(exporter).start_as_current_span("big", attributes={"payload": "x" * TEN_MB}):
        pass
    assert exporter.results == [SpanExportResult.SUCCESS]
    assert _attribute(db, "payload") == "x" * limits.MAX_VALUE_CHARS
    assert _attribute(db, HARNESS_TRUNCATED) == ["attributes.payload"]
    exporter.shutdown()
    assert db.stat().st_size < 4 * limits.MAX_VALUE_CHARS


def test_a_ten_megabyte_exception_stacktrace_is_cut_and_marked(tmp_path: Path) -> None:
    db = tmp_path / "trace.db"
    exporter = Recording(db)
    with _tracer(exporter).start_as_current_span("fails") as span:
        span.add_event("exception", {"exception.stacktrace": "frame\n" * (TEN_MB // 6)})
    assert exporter.results == [SpanExportResult.SUCCESS]
    (attributes,) = read_sql(db, "SELECT attributes FROM events")[0]
    assert len(json.loads(attributes)["exception.stacktrace"]) == limits.MAX_VALUE_CHARS
    assert _attribute(db, HARNESS_TRUNCATED) == ["events.0.attributes.exception.stacktrace"]


def test_an_array_of_ten_megabytes_keeps_the_elements_that_fit(tmp_path: Path) -> None:
    db = tmp_path / "array.db"
    store = Store(db)
    element = "a" * 1000
    store.write([SpanRecord("1" * 32, "2" * 16, "argv", 1, 2,
                            attributes={"process.command_args": [element] * 10_000})])
    kept = _attribute(db, "process.command_args")
    assert kept == [element] * (limits.MAX_VALUE_CHARS // 1000) + [
        element[: limits.MAX_VALUE_CHARS % 1000]
    ]
    assert _attribute(db, HARNESS_TRUNCATED) == ["attributes.process.command_args"]


def _assert_the_first_attributes_kept(db: Path, given: int) -> None:
    assert read_sql(db, "SELECT count(*) FROM attributes") == [(limits.MAX_ATTRIBUTES,)]
    assert read_sql(db, "SELECT dropped_attributes_count FROM spans") == [
        (given - limits.MAX_ATTRIBUTES,)
    ]


def test_ten_thousand_attributes_keep_the_first_ones_and_count_the_dropped(
    tmp_path: Path,
) -> None:
    db = tmp_path / "many.db"
    Store(db).write([SpanRecord("1" * 32, "2" * 16, "wide", 1, 2,
                                attributes={f"key.{n}": n for n in range(10_000)})])
    assert read_sql(db, "SELECT min(value), max(value) FROM attributes") == [
        (0, limits.MAX_ATTRIBUTES - 1)
    ]
    _assert_the_first_attributes_kept(db, 10_000)


def test_ten_thousand_attributes_through_the_sdk_are_stored_when_its_limit_allows(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sdk.db"
    exporter = Recording(db)
    tracer = _tracer(exporter, max_span_attributes=20_000)
    with tracer.start_as_current_span("wide", attributes={f"k{n}": "v" for n in range(10_000)}):
        pass
    assert exporter.results == [SpanExportResult.SUCCESS]
    _assert_the_first_attributes_kept(db, 10_000)


def test_quotes_sql_nul_and_emoji_in_names_keys_and_values_round_trip_exactly(
    tmp_path: Path,
) -> None:
    db = tmp_path / "odd.db"
    exporter = Recording(db)
    tracer = _tracer(exporter)
    for text in ODD:
        with tracer.start_as_current_span(text, attributes={text: text}) as span:
            span.add_event(text, {text: text})
    assert exporter.results == [SpanExportResult.SUCCESS] * len(ODD)
    for text in ODD:
        assert _attribute(db, text, text) == text
    assert sorted(n for (n,) in read_sql(db, "SELECT name FROM events")) == sorted(ODD)
    assert read_sql(db, "SELECT count(*) FROM spans") == [(len(ODD),)]


def test_lone_surrogates_become_replacement_characters_instead_of_failing_the_batch(
    tmp_path: Path,
) -> None:
    db = tmp_path / "surrogates.db"
    not_utf8 = b"caf\xe9.txt".decode("utf-8", "surrogateescape")  # how sys.argv carries it
    Store(db).write([
        SpanRecord("1" * 32, "2" * 16, f"cat {not_utf8}", 1, 2,
                   attributes={"process.command_args": ["cat", not_utf8], "k\udc80": "\ud800"},
                   events=[EventRecord("e\udfff", 1, {"x": "\udc80"})]),
        SpanRecord("1" * 32, "3" * 16, "plain neighbour", 1, 2),
    ])
    assert read_sql(db, "SELECT name FROM spans ORDER BY id") == [
        ("cat caf\ufffd.txt",), ("plain neighbour",)
    ]
    assert _attribute(db, "process.command_args") == ["cat", "caf\ufffd.txt"]
    assert _attribute(db, "k\ufffd") == "\ufffd"
    assert read_sql(db, "SELECT name, attributes FROM events") == [
        ("e\ufffd", '{"x":"\ufffd"}')
    ]
    assert read_sql(db, f"SELECT count(*) FROM attributes WHERE key = '{HARNESS_TRUNCATED}'") == [
        (0,)
    ]


def test_a_thousand_nested_spans_are_stored_as_one_unbroken_chain(tmp_path: Path) -> None:
    db = tmp_path / "deep.db"
    exporter = Recording(db)
    tracer = _tracer(exporter)
    with ExitStack() as stack:
        for depth in range(1000):
            stack.enter_context(tracer.start_as_current_span(f"level {depth}"))
    assert set(exporter.results) == {SpanExportResult.SUCCESS}
    assert read_sql(
        db,
        "WITH RECURSIVE chain(span_id, depth) AS ("
        " SELECT span_id, 1 FROM spans WHERE parent_span_id IS NULL"
        " UNION ALL SELECT s.span_id, depth + 1 FROM spans s"
        " JOIN chain c ON s.parent_span_id = c.span_id) SELECT max(depth) FROM chain",
    ) == [(1000,)]
    for command in ("show", "steps", "summary"):
        done = cli(command, "latest", "--db", db)
        assert done.returncode == 0 and done.stderr == "", (command, done.stderr[-2000:])
    assert "level 999" in cli("show", "latest", "--db", db).stdout


def _run_command(tmp_path: Path, shell: str) -> tuple[Path, tuple]:
    db = tmp_path / "output.db"
    done = run_worker("run_command", db, shell, stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    rows = read_sql(
        db,
        "SELECT path, size, sha256, indexed_lines FROM artifacts WHERE role = 'stdout'",
    )
    assert len(rows) == 1
    return db, rows[0]


def test_fifty_megabytes_without_a_newline_are_kept_whole_and_indexed_by_their_start(
    tmp_path: Path,
) -> None:
    db, (path, size, sha256, indexed) = _run_command(
        tmp_path, "head -c 52428800 /dev/zero | tr '\\0' x"
    )
    file = db.parent / path
    assert size == file.stat().st_size == 50 * 1024 * 1024
    assert sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
    assert indexed == 1
    assert read_sql(db, "SELECT length(text) FROM text_lines WHERE artifact IS NOT NULL") == [
        (MAX_LINE_BYTES,)
    ]
    assert db.stat().st_size < 1024 * 1024


def test_megabyte_lines_are_each_indexed_by_their_first_bytes(tmp_path: Path) -> None:
    db, (_, size, _, indexed) = _run_command(
        tmp_path, "for n in 1 2 3 4 5; do head -c 1048576 /dev/zero | tr '\\0' y; echo; done"
    )
    assert size == 5 * (1024 * 1024 + 1)
    assert indexed == 5
    assert read_sql(
        db, "SELECT DISTINCT length(text) FROM text_lines WHERE artifact IS NOT NULL"
    ) == [(MAX_LINE_BYTES,)]


def test_binary_output_is_kept_byte_exact_and_not_indexed(tmp_path: Path) -> None:
    db, (path, size, sha256, indexed) = _run_command(tmp_path, "head -c 1000000 /dev/urandom")
    assert size == 1_000_000
    assert sha256 == hashlib.sha256((db.parent / path).read_bytes()).hexdigest()
    assert indexed == 0


def test_an_oversized_map_is_kept_as_the_start_of_its_json_and_marked(tmp_path: Path) -> None:
    db = tmp_path / "map.db"
    Store(db).write([SpanRecord("1" * 32, "2" * 16, "otlp", 1, 2,
                                attributes={"body": {"text": "z" * TEN_MB}})])
    stored = _attribute(db, "body")
    assert stored.startswith('{"text":"zzz') and len(stored) == limits.MAX_VALUE_CHARS
    assert _attribute(db, HARNESS_TRUNCATED) == ["attributes.body"]


def test_a_map_nested_too_deeply_to_encode_is_replaced_by_a_marked_note(tmp_path: Path) -> None:
    db = tmp_path / "nested.db"
    nested: dict = {}
    for _ in range(100_000):
        nested = {"inner": nested}
    Store(db).write([SpanRecord("1" * 32, "2" * 16, "otlp", 1, 2, attributes={"deep": nested})])
    assert "nested too deeply" in _attribute(db, "deep")
    assert _attribute(db, HARNESS_TRUNCATED) == ["attributes.deep"]
