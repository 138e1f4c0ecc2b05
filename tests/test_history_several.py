"""Reading several databases at once gives the answers of the database they merge into."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from history_support import cli, write_exec_db, write_harness_db

from otel_sqlite.storage.merge import merge

# Fields that name rows or files of one particular database, not what was recorded.
_LOCAL = ("artifact_id", "path")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """An exec database, a harness database (twice: runs named alike in both files), and
    the database both merge into."""
    folder = tmp_path_factory.mktemp("several")
    write_exec_db(folder / "exec.db")
    write_harness_db(folder / "harness.db")
    write_harness_db(folder / "harness-2.db")
    merged = folder / "merged" / "all.db"
    assert merge([folder / name for name in ("exec.db", "harness.db", "harness-2.db")],
                 merged).errors == []
    return folder, merged, folder / "merged"


def _answer(*args: object) -> list[dict]:
    done = cli(*args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _several(folder: Path) -> list[object]:
    return ["--db", folder / "exec.db", "--db", folder / "harness.db",
            "--db", folder / "harness-2.db"]


def _comparable(rows: list[dict]) -> list[str]:
    return sorted(json.dumps({k: v for k, v in row.items() if k not in _LOCAL}, sort_keys=True)
                  for row in rows)


@pytest.mark.parametrize("query", ['"alpha-exec-output"', "warning", "bravo*", "plan OR act"])
def test_search_over_several_equals_the_merged_database(files, query):
    folder, merged, _ = files
    several = _answer("search", query, *_several(folder))
    assert several and _comparable(several) == _comparable(
        _answer("search", query, "--db", merged))


@pytest.mark.parametrize("by", ["model", "provider", "run", "step", "day"])
def test_costs_over_several_equal_the_merged_database(files, by):
    folder, merged, _ = files
    several = _answer("costs", "--by", by, *_several(folder))
    assert several and several == _answer("costs", "--by", by, "--db", merged)


@pytest.mark.parametrize("command", [("runs",), ("timings",), ("flaky",),
                                     ("runs", "--status", "incomplete")])
def test_other_readers_over_several_equal_the_merged_database(files, command):
    folder, merged, _ = files
    several = _answer(*command, *_several(folder))
    assert several == _answer(*command, "--db", merged)


def test_a_glob_names_several_databases(files):
    folder, merged, _ = files
    several = _answer("costs", "--db", str(folder / "*.db"))
    assert several == _answer("costs", "--db", merged)


def test_several_files_are_only_read(files, tmp_path):
    folder, _, _ = files
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("merged"))
    before = {file.name: file.read_bytes() for file in copy.glob("*.db")}
    _answer("search", "warning", *_several(copy))
    _answer("timings", *_several(copy))
    assert {file.name: file.read_bytes() for file in copy.glob("*.db")} == before


def test_a_command_that_reads_one_database_says_so_when_given_several(files):
    folder, _, _ = files
    done = cli("summary", *_several(folder))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "summary reads one database, but 3 were given" in done.stderr


def test_a_glob_that_matches_nothing_is_one_line(tmp_path):
    done = cli("runs", "--db", str(tmp_path / "archive" / "*.db"))
    assert done.returncode == 2 and "no database matches" in done.stderr


def test_sql_reads_several_databases_as_one(files):
    folder, merged, _ = files
    query = "SELECT name, count(*) AS spans FROM spans GROUP BY name ORDER BY name"
    assert _answer("sql", query, *_several(folder)) == _answer("sql", query, "--db", merged)
