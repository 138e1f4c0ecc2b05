"""The read commands through the real CLI: shapes of their JSON, tables, and bad input."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_sqlite.cli.main import COMMANDS, cli


def run(db: Path, *args: str, ok: bool = True):
    result = CliRunner().invoke(cli, [*args, "--db", str(db)], catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def as_json(db: Path, *args: str):
    return json.loads(run(db, *args, "--format", "json").output)


@pytest.fixture
def db(example_db_master: Path) -> Path:
    return example_db_master


def test_runs_json_has_the_documented_fields(db):
    rows = as_json(db, "runs")
    assert len(rows) == 4
    for row in rows:
        assert {"run_id", "name", "status", "start", "duration_ms", "steps", "failed_steps",
                "cost_usd"} <= row.keys()
    assert [r["name"] for r in as_json(db, "runs", "--status", "error")] == ["nightly"] * 2
    assert len(as_json(db, "runs", "--limit", "1", "--since", "1h")) == 1


def test_runs_csv_has_a_header_and_one_line_per_run(db):
    rows = list(csv.DictReader(io.StringIO(run(db, "runs", "--format", "csv").output)))
    assert len(rows) == 4 and rows[0]["name"] == "GET /orders"


def test_summary_json_and_table(db):
    summary = as_json(db, "summary", "latest~3")
    assert {"run_id", "name", "status", "exit_code", "start", "duration_ms", "steps",
            "failed_steps", "slowest", "cost_usd", "input_tokens", "output_tokens",
            "attributes"} <= summary.keys()
    assert summary["failed_steps"][0]["name"] == "test"
    table = run(db, "summary", "latest~3").output
    assert "FAILED test: exit code 3" in table and "| assertion failed: 2 != 3" in table


def test_steps_table_indents_and_counts_attempts(db):
    output = run(db, "steps", "latest~3").output
    assert "flaky" in output and " 2 " in output.splitlines()[-1]


def test_failures_show_exit_code_stderr_and_artifacts(db):
    output = run(db, "failures", "latest~3").output
    assert "FAILED step test (exit code 3)" in output
    assert "| assertion failed: 2 != 3" in output and "artifact: example-artifacts/" in output
    assert as_json(db, "failures", "latest")  == []


def test_show_draws_marks_durations_and_a_waterfall(db):
    lines = run(db, "show", "latest~3").output.splitlines()
    assert lines[0].startswith("✗ nightly") and "█" in lines[0]
    assert any(line.startswith("✓   setup") for line in lines)
    assert "\x1b[" not in "".join(lines)  # no colour when not on a terminal
    assert len(run(db, "show", "latest~3", "--depth", "0").output.splitlines()) == 1
    assert as_json(db, "show", "latest")["spans"][1]["name"] == "SELECT orders"


def test_show_of_a_1000_deep_trace(tracer, tmp_path):
    from contextlib import ExitStack

    with ExitStack() as stack:
        for level in range(1001):
            stack.enter_context(tracer.start_as_current_span(f"level {level}"))
    output = run(tmp_path / "sdk.db", "show", "latest").output
    assert len(output.splitlines()) == 1001 and "[1000] level 1000" in output


def test_logs_print_captured_output_by_stream(db):
    assert run(db, "logs", "latest~3", "--stream", "stderr").output.count("==>") == 5
    lines = as_json(db, "logs", "latest~3", "--stream", "stderr")
    assert {"span_id": lines[0]["span_id"], "stream": "stderr", "line": 1,
            "text": "warning: disk almost full"}.items() <= lines[0].items()


def test_search_json_points_at_span_and_stream(db):
    hits = as_json(db, "search", "assertion")
    assert any(h["stream"] == "stderr" and h["text"] == "assertion failed: 2 != 3"
               for h in hits)


def test_costs_by_model_and_run(db):
    assert [r["model"] for r in as_json(db, "costs")] == ["claude-sonnet-4", "gpt-4o"]
    assert as_json(db, "costs", "--by", "run")[0]["name"] == "agent-session"


def test_diff_names_the_newly_failing_and_fixed_step(db):
    found = as_json(db, "diff", "latest~3", "latest~2")
    assert [s["path"] for s in found["newly_failing"]] == ["compile"]
    assert [s["path"] for s in found["fixed"]] == ["test"]
    table = run(db, "diff", "latest~3", "latest~2").output
    assert "newly_failing  compile" in table and "fixed          test" in table


def test_timings_flaky_and_stats_answer(db):
    assert {r["step"] for r in as_json(db, "timings")} >= {"setup", "compile", "SELECT orders"}
    assert {r["step"] for r in as_json(db, "flaky")} == {"compile", "test", "flaky"}
    assert as_json(db, "stats")["runs"] == 4


def test_sql_refuses_a_write_with_one_line_and_leaves_the_file_alone(example_db):
    before = example_db.read_bytes()
    result = run(example_db, "sql", "DELETE FROM spans", ok=False)
    assert result.output.strip().count("\n") == 0 and "read-only" in result.output
    assert example_db.read_bytes() == before
    assert as_json(example_db, "sql", "SELECT count(*) AS n FROM runs") == [{"n": 4}]
    assert as_json(example_db, "sql", "SELECT :x AS x", "-p", "x=1") == [{"x": "1"}]


def test_prune_and_vacuum(example_db):
    assert as_json(example_db, "prune", "--older-than", "1d", "--dry-run")["runs"] == 0
    run(example_db, "prune", "--older-than", "0s")
    assert as_json(example_db, "runs") == []
    assert as_json(example_db, "vacuum")["bytes_after"] > 0


def otel_sqlite(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("otel-sqlite", path=str(Path(sys.executable).parent))
    assert exe, "install the package: pip install -e '.[test]'"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("args, message", [
    (["summary", "ffff0000"], "no run has a trace id starting with 'ffff0000'"),
    (["summary", "xyz"], "is not a run"),
    (["search", "disk-full \"unclosed"], "double quotes"),
    (["costs", "--since", "yesterday"], "neither an age"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(db, tmp_path, args, message):
    done = otel_sqlite(*args, "--db", str(db), cwd=tmp_path)
    assert done.returncode != 0 and message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_missing_database_is_reported_and_never_created(tmp_path):
    for command in ("runs", "summary", "stats", "vacuum", "sql"):
        args = [command, "SELECT 1"] if command == "sql" else [command]
        done = otel_sqlite(*args, "--db", "missing.db", cwd=tmp_path)
        assert done.returncode == 1 and "no database at missing.db" in done.stderr
    done = otel_sqlite("prune", "--older-than", "1d", "--db", "missing.db", cwd=tmp_path)
    assert done.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database_is_one_line(tmp_path):
    (tmp_path / "notes.db").write_text("not sqlite at all, just text\n" * 100)
    done = otel_sqlite("runs", "--db", "notes.db", cwd=tmp_path)
    assert done.returncode == 1 and "not an otel-sqlite database" in done.stderr
    assert done.stderr.count("\n") == 1


def test_a_database_from_a_newer_version_is_refused(example_db, tmp_path):
    raw = sqlite3.connect(example_db)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    done = otel_sqlite("runs", "--db", str(example_db), cwd=tmp_path)
    assert done.returncode == 1 and "newer otel-sqlite" in done.stderr


READ_COMMANDS = ("runs", "summary", "steps", "failures", "logs", "show", "search", "timings",
                 "costs", "diff", "flaky", "sql", "stats", "prune", "vacuum")


def test_every_read_command_has_help_db_and_format():
    assert set(READ_COMMANDS) <= set(COMMANDS)
    for name in READ_COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "--db" in result.output, name
        assert "--format" in result.output, name
