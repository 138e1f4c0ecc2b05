"""``merge``: databases written by separate processes into one, ids and files intact."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from history_support import (
    cli,
    content,
    integrity,
    kill_once_spans_land,
    read_sql,
    runs_with_files,
    union,
    write_exec_db,
    write_harness_db,
)

from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.merge import merge
from otel_sqlite.storage.schema import MIGRATIONS, SCHEMA_VERSION
from otel_sqlite.storage.store import Store


@pytest.fixture(scope="module")
def sources_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    write_exec_db(folder / "exec.db")
    write_harness_db(folder / "harness.db")
    return folder


@pytest.fixture
def sources(sources_master: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Private copies of an ``exec`` database and a harness database (with their files)."""
    shutil.copytree(sources_master, tmp_path / "sources")
    return tmp_path / "sources" / "exec.db", tmp_path / "sources" / "harness.db"


def _merge(*args: object) -> dict:
    done = cli("merge", *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_merge_brings_every_row_and_file_of_both_sources(sources, tmp_path):
    exec_db, harness_db = sources
    target = tmp_path / "all" / "merged.db"
    summary = _merge(exec_db, harness_db, "--into", target)
    expected = union(content(exec_db), content(harness_db))
    assert content(target) == expected
    assert all(sha is not None for *_, sha in content(target)["artifacts"])
    assert summary["spans"] == len(expected["spans"]) and summary["conflicts"] == 0
    assert summary["runs"] == 4 and summary["files"] == len(expected["artifacts"]) == 6
    assert summary["errors"] == []
    assert integrity(target) == "ok"


def test_merged_files_live_in_the_targets_own_folder(sources, tmp_path):
    target = tmp_path / "merged.db"
    _merge(*sources, "--into", target)
    paths = [path for (path,) in read_sql(target, "SELECT path FROM artifacts")]
    assert paths and all(path.startswith("merged-artifacts/") for path in paths)
    shutil.rmtree(sources[0].parent)  # the sources' files are no longer needed
    assert all(sha for *_, sha in content(target)["artifacts"])


def test_resources_and_scopes_are_deduplicated(sources, tmp_path):
    target = tmp_path / "merged.db"
    _merge(sources[0], sources[1], sources[0], "--into", target)
    query = "SELECT fingerprint FROM resources"
    fingerprints = {row for db in sources for row in read_sql(db, query)}
    assert sorted(fingerprints) == sorted(row for row in read_sql(target, "SELECT fingerprint "
                                                                      "FROM resources"))
    scopes = {row for db in sources for row in read_sql(db, "SELECT name, version FROM scopes")}
    assert len(read_sql(target, "SELECT * FROM scopes")) == len(scopes)


def test_search_finds_output_from_both_sources(sources, tmp_path):
    target = tmp_path / "merged.db"
    _merge(*sources, "--into", target)
    for word in ("alpha-exec-output", "gamma-warning", "bravo-harness-output"):
        found = json.loads(cli("search", f'"{word}"', "--db", target, "--format", "json").stdout)
        assert {hit["stream"] for hit in found} >= {"span"} and len(found) >= 2, word


def test_merging_again_changes_nothing(sources, tmp_path):
    target = tmp_path / "merged.db"
    _merge(*sources, "--into", target)
    before = content(target), read_sql(target, "SELECT count(*) FROM text_fts")
    again = _merge(*sources, "--into", target)
    assert again["spans"] == 0 and again["files"] == 0 and again["conflicts"] == 0
    assert (content(target), read_sql(target, "SELECT count(*) FROM text_fts")) == before


def _span(end_ns: int | None, name: str = "work") -> SpanRecord:
    return SpanRecord("ab" * 16, "cd" * 8, name, 1_000, end_ns)


@pytest.mark.parametrize("order", ["in-flight first", "finished first"])
def test_a_finished_span_beats_its_in_flight_copy(tmp_path, order):
    in_flight, finished = tmp_path / "in-flight.db", tmp_path / "finished.db"
    Store(in_flight).write([_span(None)])
    Store(finished).write([_span(5_000, "work done")])
    sources = [in_flight, finished] if order == "in-flight first" else [finished, in_flight]
    result = merge(sources, tmp_path / "merged.db")
    merged = read_sql(tmp_path / "merged.db", "SELECT name, end_ns FROM spans")
    assert merged == [("work done", 5000)]
    assert result.conflicts == 1


def test_the_later_end_wins_between_two_finished_copies(tmp_path):
    early, late = tmp_path / "early.db", tmp_path / "late.db"
    Store(early).write([_span(2_000, "early")])
    Store(late).write([_span(9_000, "late")])
    merge([late], tmp_path / "merged.db")
    result = merge([early], tmp_path / "merged.db")
    assert read_sql(tmp_path / "merged.db", "SELECT name FROM spans") == [("late",)]
    assert result.conflicts == 1 and result.spans == 0


def test_an_older_schema_source_is_read_through_its_migrations_unchanged(tmp_path):
    old = tmp_path / "old.db"
    db = sqlite3.connect(old, isolation_level=None)
    for number, step in enumerate(MIGRATIONS[:2], start=1):
        step(db, True)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute("INSERT INTO spans (id, trace_id, span_id, name, start_ns, end_ns) "
               "VALUES (1, ?, ?, 'from long ago', 1, 2)", ("ef" * 16, "01" * 8))
    db.close()
    before = old.read_bytes()
    result = merge([old], tmp_path / "merged.db")
    assert result.errors == [] and result.spans == 1
    assert old.read_bytes() == before
    assert read_sql(old, "PRAGMA user_version") == [(2,)] and SCHEMA_VERSION > 2
    assert read_sql(tmp_path / "merged.db", "SELECT s.name FROM runs s") == [("from long ago",)]


def test_unreadable_sources_are_one_line_each_and_the_others_still_merge(sources, tmp_path):
    junk, newer = tmp_path / "junk.db", tmp_path / "newer.db"
    junk.write_text("not a database at all\n" * 100)
    sqlite3.connect(newer).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    done = cli("merge", junk, sources[1], newer, tmp_path / "missing.db",
               "--into", tmp_path / "merged.db", "--format", "json")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 3 and "Traceback" not in done.stderr
    assert "junk.db is not an otel-sqlite database" in lines[0]
    assert "newer otel-sqlite" in lines[1] and "missing.db" in lines[2]
    assert content(tmp_path / "merged.db") == content(sources[1])


def test_a_missing_or_changed_file_is_reported_and_its_row_kept(sources, tmp_path):
    exec_db = sources[0]
    files = sorted(exec_db.parent.glob("exec-artifacts/*/*/stdout"))
    files[0].unlink()
    files[1].write_text("edited afterwards\n")
    done = cli("merge", exec_db, "--into", tmp_path / "merged.db", "--format", "json")
    assert done.returncode == 0
    assert f"artifact file missing, row kept: {files[0]}" in done.stderr
    assert f"changed since it was recorded (copied as it is): {files[1]}" in done.stderr
    assert len(read_sql(tmp_path / "merged.db", "SELECT * FROM artifacts")) == len(
        read_sql(exec_db, "SELECT * FROM artifacts"))


KILLABLE_MERGE = """
import sys
from otel_sqlite.storage import merge
merge.CHUNK_SPANS = 100
merge.merge([sys.argv[1]], sys.argv[2])
"""


def test_a_killed_merge_leaves_a_consistent_target_and_a_rerun_completes(tmp_path):
    source = tmp_path / "big.db"
    runs_with_files(source, [time.time_ns() - n for n in range(1000)])
    target = tmp_path / "merged.db"
    landed = kill_once_spans_land(KILLABLE_MERGE, [source, target], target, 400)
    assert 0 < landed < 2000, "the kill did not land mid-merge"
    assert integrity(target) == "ok"
    assert read_sql(target, "SELECT count(*) FROM spans WHERE id NOT IN "
                        "(SELECT span FROM text_lines)") == [(0,)]
    _merge(source, "--into", target)
    assert content(target) == content(source)


def test_progress_is_reported_for_every_source_span(sources, tmp_path):
    told: list[int] = []
    merge(sources, tmp_path / "merged.db", progress=told.append)
    assert sum(told) == sum(len(read_sql(db, "SELECT id FROM spans")) for db in sources)
