"""``archive``: old runs move whole, with their files, into a database of their own."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

from history_support import (
    DAY_NS,
    cli,
    content,
    integrity,
    kill_once_spans_land,
    read_sql,
    runs_with_files,
    union,
)

from otel_sqlite.storage import retention


def _runs(db: Path) -> set[str]:
    return {name for (name,) in read_sql(db, "SELECT name FROM runs")}


def _archive(*args: object) -> list[dict]:
    done = cli("archive", *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_archive_moves_exactly_the_old_runs_and_their_files(tmp_path):
    db = tmp_path / "work.db"
    now = time.time_ns()
    runs_with_files(db, [now - 40 * DAY_NS, now - 35 * DAY_NS, now - DAY_NS, now])
    before = content(db)
    old_files = sorted((tmp_path / "work-artifacts").glob("*/*/stdout"))[:2]
    moved = _archive("--db", db, "--older-than", "30d", "--to", tmp_path / "archive" / "old.db")
    assert moved == [{"archive": str(tmp_path / "archive" / "old.db"), "runs": 2, "spans": 4,
                      "files": 2}]
    archive = tmp_path / "archive" / "old.db"
    assert _runs(db) == {"run 2", "run 3"} and _runs(archive) == {"run 0", "run 1"}
    assert union(content(db), content(archive)) == before
    assert not any(file.exists() for file in old_files)
    assert integrity(db) == integrity(archive) == "ok"
    shown = cli("runs", "--db", archive, "--format", "json")
    assert {run["name"] for run in json.loads(shown.stdout)} == {"run 0", "run 1"}


def test_archive_by_month_writes_one_file_per_month(tmp_path):
    db = tmp_path / "work.db"
    months = [datetime(2026, 10, 3, tzinfo=timezone.utc),
              datetime(2026, 10, 30, tzinfo=timezone.utc),
              datetime(2026, 11, 2, tzinfo=timezone.utc)]
    runs_with_files(db, [int(moment.timestamp() * 1e9) for moment in months] + [time.time_ns()])
    _archive("--db", db, "--before", "2026-12-01", "--by", "month", "--to", tmp_path / "archive")
    assert _runs(tmp_path / "archive" / "2026-10.db") == {"run 0", "run 1"}
    assert _runs(tmp_path / "archive" / "2026-11.db") == {"run 2"}
    assert _runs(db) == {"run 3"}


def test_archive_named_runs(tmp_path):
    db = tmp_path / "work.db"
    runs_with_files(db, [time.time_ns() - 10, time.time_ns()])
    _archive("--db", db, "--run", "latest", "--to", tmp_path / "latest.db")
    assert _runs(db) == {"run 0"} and _runs(tmp_path / "latest.db") == {"run 1"}


def test_archive_needs_to_be_told_which_runs(tmp_path):
    done = cli("archive", "--db", tmp_path / "work.db", "--to", tmp_path / "a.db")
    assert done.returncode == 2 and "one of --older-than, --before, --run" in done.stderr


KILLABLE_ARCHIVE = """
import sys
from otel_sqlite.storage import archive, merge
merge.CHUNK_SPANS = 50
traces = [trace for trace, _ in archive.select_runs(sys.argv[1], before_ns=int(sys.argv[3]))]
archive.archive(sys.argv[1], sys.argv[2], traces)
"""


def test_a_killed_archive_loses_nothing_and_a_rerun_completes(tmp_path):
    db, archive = tmp_path / "work.db", tmp_path / "old.db"
    now = time.time_ns()
    runs_with_files(db, [now - 40 * DAY_NS + n for n in range(400)] + [now])
    before = content(db)
    landed = kill_once_spans_land(KILLABLE_ARCHIVE, [db, archive, now - 30 * DAY_NS],
                                  archive, 200)
    assert 0 < landed < 800, "the kill did not land mid-archive"
    assert union(content(db), content(archive)) == before
    assert integrity(db) == integrity(archive) == "ok"
    _archive("--db", db, "--older-than", "30d", "--to", archive)
    assert _runs(db) == {"run 400"} and len(_runs(archive)) == 400
    assert union(content(db), content(archive)) == before


def test_prune_finds_the_files_of_a_database_copied_under_another_name(tmp_path):
    original = tmp_path / "work.db"
    runs_with_files(original, [time.time_ns() - 3 * DAY_NS])
    copy = tmp_path / "renamed.db"
    shutil.copyfile(original, copy)
    files = list((tmp_path / "work-artifacts").glob("*/*/stdout"))
    found = retention.prune(copy, time.time_ns() - DAY_NS)
    assert found["files"] == 1 and not any(file.exists() for file in files)
    assert list((tmp_path / "work-artifacts").iterdir()) == []


def test_prune_leaves_files_that_are_not_captured_for_their_span(tmp_path):
    db = tmp_path / "work.db"
    runs_with_files(db, [time.time_ns() - 3 * DAY_NS])
    report = tmp_path / "report.html"
    report.write_text("<p>the user's own file</p>")
    span = read_sql(db, "SELECT id FROM spans WHERE name = 'echo'")[0][0]
    writer = sqlite3.connect(db)
    writer.execute("INSERT INTO artifacts (span, role, path) VALUES (?, 'report', ?)",
                   (span, "report.html"))
    writer.commit()
    writer.close()
    assert retention.prune(db, time.time_ns() - DAY_NS)["files"] == 1
    assert report.exists()
