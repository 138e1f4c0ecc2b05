"""sql (read-only), stats, prune and vacuum."""

from __future__ import annotations

import hashlib
import time

import pytest

from otel_sqlite.errors import QuerySyntaxError, ReadOnlyError
from otel_sqlite.queries.raw import run_sql
from otel_sqlite.queries.stats import stats
from otel_sqlite.storage import retention
from otel_sqlite.storage.schema import SCHEMA_VERSION, connect_readonly


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sql_returns_rows_as_dicts(example):
    rows = run_sql(example, "SELECT name, status FROM runs WHERE name = :n", {"n": "nightly"})
    assert rows == [{"name": "nightly", "status": "error"}] * 2


@pytest.mark.parametrize("statement", [
    "DELETE FROM spans",
    "UPDATE spans SET name = 'x'",
    "DROP VIEW runs",
    "PRAGMA user_version = 99",
    "ATTACH DATABASE 'elsewhere.db' AS other",
])
def test_sql_refuses_every_write_and_changes_nothing(example_db, statement):
    before = _digest(example_db)
    with pytest.raises(ReadOnlyError, match="read-only"):
        run_sql(connect_readonly(example_db), statement)
    assert _digest(example_db) == before
    assert not (example_db.parent / "elsewhere.db").exists()


def test_sql_reports_bad_sql(example):
    with pytest.raises(QuerySyntaxError, match="no such table"):
        run_sql(example, "SELECT * FROM no_such_table")


def test_stats_counts_runs_and_sizes(example):
    found = stats(example)
    assert (found["runs"], found["schema_version"], found["incomplete_runs"]) == (
        4, SCHEMA_VERSION, 0)
    assert found["spans"] > found["runs"] and found["db_bytes"] > 0
    assert found["oldest_run"] < found["newest_run"]


def test_prune_dry_run_counts_and_changes_nothing(example_db):
    before = _digest(example_db)
    found = retention.prune(example_db, time.time_ns() + 10**9, dry_run=True)
    assert found["runs"] == 4 and found["files"] == 20 and found["dry_run"]
    assert _digest(example_db) == before


def test_prune_removes_old_runs_and_their_files(example_db):
    files = sorted(example_db.parent.glob("example-artifacts/**/stderr"))
    assert files
    cutoff = connect_readonly(example_db).execute(
        "SELECT start_ns FROM run_roots ORDER BY start_ns LIMIT 1 OFFSET 2").fetchone()[0]
    found = retention.prune(example_db, cutoff)
    assert found["runs"] == 2 and found["files"] == 20
    db = connect_readonly(example_db)
    assert [r["name"] for r in run_sql(db, "SELECT name FROM runs ORDER BY start_ns")] == [
        "agent-session", "GET /orders"]
    assert run_sql(db, "SELECT count(*) AS n FROM text_fts WHERE text_fts MATCH 'warning'") == [
        {"n": 0}]
    assert not any(f.exists() for f in files)
    assert sorted(p.name for p in (example_db.parent / "example-artifacts").iterdir()) == []


def test_vacuum_keeps_everything(example_db):
    found = retention.vacuum(example_db)
    assert found["bytes_after"] > 0
    assert stats(connect_readonly(example_db))["runs"] == 4
