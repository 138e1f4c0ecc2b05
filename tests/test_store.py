from __future__ import annotations

import sqlite3
from pathlib import Path

from otel_sqlite.conventions import ARTIFACT_EVENT, ARTIFACT_PATH, ARTIFACT_ROLE
from otel_sqlite.records import (
    EventRecord,
    LinkRecord,
    ResourceRecord,
    ScopeRecord,
    SpanRecord,
)
from otel_sqlite.storage import values
from otel_sqlite.storage.store import Store

TRACE = "0af7651916cd43dd8448eb211c80319c"


def span(span_id: str = "b7ad6b7169203331", **fields) -> SpanRecord:
    return SpanRecord(trace_id=TRACE, span_id=span_id, name=fields.pop("name", "work"),
                      start_ns=1_000, end_ns=fields.pop("end_ns", 2_000), **fields)


def test_every_attribute_type_round_trips_with_its_type(db_path: Path, query) -> None:
    attributes = {
        "s": "text", "b": True, "i": -42, "f": 0.25, "by": b"\x00\xff",
        "sa": ("a", "b"), "ba": (True, False), "ia": (1, 2, 3), "fa": (0.5, 1.5), "empty": (),
    }
    Store(db_path).write([span(attributes=attributes)])
    stored = {key: values.decode(value, kind)
              for key, value, kind in query("SELECT key, value, type FROM attributes")}
    assert stored == {**attributes, "sa": ["a", "b"], "ba": [True, False], "ia": [1, 2, 3],
                      "fa": [0.5, 1.5], "empty": []}
    types = dict(query("SELECT key, type FROM attributes"))
    assert types["b"] == "bool" and types["i"] == "int" and types["f"] == "double"
    assert types["ia"] == "int[]" and types["fa"] == "double[]" and types["by"] == "bytes"


def test_doubles_keep_every_bit_on_the_way_through_json(db_path: Path, query) -> None:
    doubles = [0.1, 1 / 3, 2.0**-1074, 1.7976931348623157e308, 2.2250738585072014e-308,
               -0.0, 123456789.12345679, 1e23, 9007199254740993.0]
    attributes = {f"d{n}": value for n, value in enumerate(doubles)}
    Store(db_path).write([span(attributes={**attributes, "array": ["x"], "big": 2**64})])
    stored = dict(query("SELECT key, value FROM attributes WHERE type = 'double'"))
    assert {key: value.hex() for key, value in stored.items()} == {
        key: value.hex() for key, value in attributes.items()}


def test_text_holding_nul_is_stored_whole(db_path: Path, query) -> None:
    Store(db_path).write([span(name="a\x00b", attributes={"out": "before\x00after", "n": 1},
                               events=[EventRecord("e\x00", 1_500, {"k": "v\x00w"})])])
    assert query("SELECT value FROM attributes WHERE key = 'out'") == [("before\x00after",)]
    assert query("SELECT name FROM spans") == [("a\x00b",)]
    assert query("SELECT name, attributes FROM events") == [("e\x00", '{"k":"v\\u0000w"}')]


def test_a_batch_past_sqlites_length_limit_is_stored_row_by_row(db_path: Path, query) -> None:
    store = Store(db_path)
    store._db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 100_000)  # stands in for 1e9 bytes
    store.write([span(attributes={"out": "x" * 60_000, "err": "y" * 60_000},
                      events=[EventRecord(f"e{n}", 1_500, {"out": "z" * 60_000}) for n in (1, 2)])])
    assert dict(query("SELECT key, length(value) FROM attributes")) == {"out": 60_000,
                                                                       "err": 60_000}
    assert query("SELECT count(*) FROM events WHERE length(attributes) > 60000") == [(2,)]


def test_values_sqlite_cannot_hold_natively_still_round_trip(db_path: Path, query) -> None:
    attributes = {"big": 2**70, "small": -(2**64), "inf": float("inf"), "ninf": float("-inf")}
    Store(db_path).write([span(attributes={**attributes, "nan": float("nan")})])
    stored = {key: values.decode(value, kind)
              for key, value, kind in query("SELECT key, value, type FROM attributes")}
    nan = stored.pop("nan")
    assert stored == attributes and nan != nan


def test_a_span_is_found_by_attribute_key_and_value(db_path: Path, query) -> None:
    Store(db_path).write([span(attributes={"process.exit.code": 1}),
                          span("c" * 16, attributes={"process.exit.code": 0})])
    found = query("SELECT s.span_id FROM attributes a JOIN spans s ON s.id = a.span "
                  "WHERE a.key = ? AND a.value = ?", ("process.exit.code", 1))
    assert found == [("b7ad6b7169203331",)]


def test_attributes_carry_no_value_index_to_pay_for_on_every_write(db_path: Path, query) -> None:
    """Only the task id has an index, and a partial one: other attributes never enter it."""
    Store(db_path).write([span(attributes={"a": 1})])
    indexes = query("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'attributes'")
    assert [(name, sql.endswith("WHERE key = 'harness.task.id'")) for name, sql in indexes] == [
        ("attributes_task_id", True)]


def test_events_links_resource_and_scope_are_stored(db_path: Path, query) -> None:
    record = span(
        events=[EventRecord("decision", 1_500, {"choice": "retry", "n": 2})],
        links=[LinkRecord("1" * 32, "2" * 16, "k=v", {"why": "follows"}, 1)],
        resource=ResourceRecord({"service.name": "agent", "host.name": "ci-7"}),
        scope=ScopeRecord("my.lib", "1.2", "", {}),
        trace_state="vendor=x", status_code="ERROR", status_message="boom", kind="client",
    )
    Store(db_path).write([record])
    assert query("SELECT name, time_ns, attributes FROM events") == [
        ("decision", 1_500, '{"choice":"retry","n":2}')]
    assert query("SELECT trace_id, span_id, trace_state, flags, attributes FROM links") == [
        ("1" * 32, "2" * 16, "k=v", 1, '{"why":"follows"}')]
    assert query("SELECT service_name FROM resources") == [("agent",)]
    assert query("SELECT name, version FROM scopes") == [("my.lib", "1.2")]
    assert query("SELECT kind, status_code, status_message, trace_state FROM spans") == [
        ("client", "ERROR", "boom", "vendor=x")]


def test_resources_are_stored_once_however_many_spans_share_them(db_path: Path, query) -> None:
    store = Store(db_path)
    store.write([span(f"{i:016x}", resource=ResourceRecord({"service.name": "a"}))
                 for i in range(1, 6)])
    store.write([span("f" * 16, resource=ResourceRecord({"service.name": "a"}))])
    assert query("SELECT count(*) FROM resources") == [(1,)]
    assert query("SELECT count(DISTINCT resource_id) FROM spans") == [(1,)]


def test_writing_a_stored_span_again_replaces_it_and_duplicates_nothing(
    db_path: Path, query
) -> None:
    store = Store(db_path)
    store.write([span(attributes={"a": 1}, events=[EventRecord("e", 1_200)])])
    store.write([span(attributes={"a": 2}, events=[EventRecord("e", 1_200)], name="renamed")])
    assert query("SELECT name FROM spans") == [("renamed",)]
    assert query("SELECT key, value FROM attributes") == [("a", 2)]
    assert query("SELECT count(*) FROM events") == [(1,)]
    assert query("SELECT count(*) FROM text_lines") == [(1,)]


def test_replacing_a_span_leaves_no_row_of_its_old_copy_in_any_table(
    db_path: Path, query
) -> None:
    log = db_path.parent / "out.log"
    log.write_text("first line\nsecond line\n")
    children = {
        "attributes": {"a": 1, "b": "x"},
        "events": [EventRecord("note", 1_100),
                   EventRecord(ARTIFACT_EVENT, 1_200, {ARTIFACT_PATH: str(log),
                                                      ARTIFACT_ROLE: "stdout"})],
        "links": [LinkRecord("1" * 32, "2" * 16, "", {}, 1)],
    }
    store = Store(db_path)
    store.write([span(end_ns=None, **children)])
    store.write([span(**children)])
    store.write([span(**children)])
    counts = {table: query(f"SELECT count(*) FROM {table}")[0][0]
              for table in ("spans", "attributes", "events", "links", "artifacts", "run_roots")}
    assert counts == {"spans": 1, "attributes": 2, "events": 2, "links": 1, "artifacts": 1,
                      "run_roots": 1}
    assert query("SELECT count(*) FROM text_lines") == [(3,)]  # the span's text, two lines
    assert query("SELECT count(*) FROM text_fts WHERE text_fts MATCH 'second'") == [(1,)]
    assert query("PRAGMA foreign_key_check") == []


def test_a_replaced_span_is_found_by_its_new_words_only(db_path: Path, query) -> None:
    store = Store(db_path)
    store.write([span(attributes={"phase": "drafting"})])
    store.write([span(attributes={"phase": "published"})])
    def hits(word: str) -> int:
        return len(query("SELECT rowid FROM text_fts WHERE text_fts MATCH ?", (word,)))
    assert (hits("drafting"), hits("published")) == (0, 1)


def test_the_final_span_replaces_its_in_flight_row_keeping_its_row_id(
    db_path: Path, query
) -> None:
    store = Store(db_path)
    store.write([span(end_ns=None)])
    (row_id,) = query("SELECT id FROM spans WHERE end_ns IS NULL")[0]
    store.write([span(end_ns=5_000, status_code="OK")])
    assert query("SELECT id, end_ns, status_code FROM spans") == [(row_id, 5_000, "OK")]


def test_an_in_flight_copy_never_overwrites_a_finished_span(db_path: Path, query) -> None:
    store = Store(db_path)
    store.write([span(end_ns=5_000)])
    assert store.write([span(end_ns=None)]) == 0
    assert query("SELECT end_ns FROM spans") == [(5_000,)]


def test_a_span_twice_in_one_batch_is_stored_once(db_path: Path, query) -> None:
    Store(db_path).write([span(end_ns=None), span(end_ns=3_000), span(end_ns=None)])
    assert query("SELECT end_ns FROM spans") == [(3_000,)]


def test_a_span_is_found_by_words_of_its_name_attributes_and_exception(
    db_path: Path, query
) -> None:
    Store(db_path).write([span(
        name="deploy staging", attributes={"target": "eu-west"},
        events=[EventRecord("exception", 1_500, {"exception.message": "quota exceeded"})],
    )])
    for word in ("staging", "eu", "quota"):
        hits = query("SELECT t.span FROM text_fts f JOIN text_lines t ON t.id = f.rowid "
                     "WHERE text_fts MATCH ?", (word,))
        assert len(hits) == 1, word


def test_an_artifact_event_becomes_an_indexed_artifact_with_a_relative_path(
    db_path: Path, query
) -> None:
    log = db_path.parent / "logs" / "stderr"
    log.parent.mkdir()
    log.write_bytes(b"starting\nWARNING: disk almost full\n\xff\xfe binary-ish tail\n")
    Store(db_path).write([span(events=[EventRecord("artifact", 1_900, {
        "harness.artifact.path": str(log), "harness.artifact.role": "stderr"})])])
    [(path, size, sha256, role)] = query("SELECT path, size, sha256, role FROM artifacts")
    assert path == "logs/stderr" and role == "stderr" and size == len(log.read_bytes())
    assert len(sha256) == 64
    hits = query("SELECT t.line, t.text FROM text_fts f JOIN text_lines t ON t.id = f.rowid "
                 "WHERE text_fts MATCH 'disk'")
    assert hits == [(2, "WARNING: disk almost full")]


def test_lines_past_the_cap_are_not_indexed_and_the_artifact_says_so(
    db_path: Path, query, monkeypatch
) -> None:
    from otel_sqlite.storage import artifacts

    monkeypatch.setattr(artifacts, "MAX_LINES", 3)
    log = db_path.parent / "out"
    log.write_text("".join(f"line {i}\n" for i in range(10)))
    Store(db_path).write([span(events=[EventRecord("artifact", 1_900, {
        "harness.artifact.path": str(log), "harness.artifact.role": "stdout"})])])
    assert query("SELECT indexed_lines, index_truncated FROM artifacts") == [(3, 1)]
    assert log.read_text().count("\n") == 10


def test_a_database_without_fts_stores_everything_but_search_text(db_path: Path, query) -> None:
    Store(db_path).close()
    raw = sqlite3.connect(db_path)  # as a SQLite build without FTS5 would have made it
    raw.executescript("DROP TRIGGER text_lines_ad; DROP TABLE text_fts;")
    raw.close()
    store = Store(db_path)
    store.write([span(attributes={"a": 1, "s": "x"}, events=[EventRecord("e", 1_500)])])
    store.write([span(attributes={"a": 2})])  # a replacement cascades without the FTS trigger
    assert query("SELECT key, value FROM attributes") == [("a", 2)]
    assert query("SELECT count(*) FROM events") == [(0,)]
    assert query("SELECT count(*) FROM run_roots") == [(1,)]
