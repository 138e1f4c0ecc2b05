"""The plugin is installed everywhere but records only when asked: flag or environment."""

from __future__ import annotations

from pathlib import Path

from pytest_plugin_support import clean_env, rows, run_pytest

# A suite that checks, from inside, that the plugin is loaded but has not woken up.
INERT_CHECK = '''
import sys


def test_the_plugin_is_loaded_but_the_sdk_is_not(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("otel_sqlite")
    assert not pytestconfig.pluginmanager.has_plugin("otel-sqlite-recorder")
    assert "opentelemetry.sdk" not in sys.modules
    assert "otel_sqlite.plugins.pytest_recorder" not in sys.modules
'''


def write_suite(folder: Path, source: str = "def test_passes():\n    pass\n") -> Path:
    (folder / "test_suite.py").write_text(source)
    return folder


def test_without_the_flag_nothing_is_recorded_and_no_file_is_touched(tmp_path):
    write_suite(tmp_path, INERT_CHECK)
    before = sorted(tmp_path.rglob("*"))
    env = clean_env(OTEL_SQLITE_DB=str(tmp_path / "would-be.db"))
    done = run_pytest(tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(tmp_path.rglob("*")) == before
    assert "otel-sqlite: run" not in done.stdout


def test_the_environment_variable_turns_it_on(tmp_path):
    write_suite(tmp_path)
    done = run_pytest(tmp_path, env=clean_env(OTEL_SQLITE_PYTEST="1"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(tmp_path / "otel-sqlite.db", "SELECT name FROM steps") == [
        ("test_suite.py::test_passes",)
    ]


def test_the_flag_alone_writes_to_otel_sqlite_db(tmp_path):
    write_suite(tmp_path)
    db = tmp_path / "elsewhere" / "runs.db"
    done = run_pytest(tmp_path, "--otel-sqlite", env=clean_env(OTEL_SQLITE_DB=str(db)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(db, "SELECT status FROM runs") == [("ok",)]
    last_line = done.stdout.rstrip().splitlines()[-1]
    assert " in elsewhere/runs.db; " in last_line
    assert "--db" not in last_line  # the summary command finds it through $OTEL_SQLITE_DB too


def test_the_run_name_can_be_given(tmp_path):
    write_suite(tmp_path)
    run_pytest(tmp_path, "--otel-sqlite=runs.db", "--otel-sqlite-name", "nightly")
    assert rows(tmp_path / "runs.db", "SELECT name FROM runs") == [("nightly",)]


def test_a_test_path_swallowed_by_the_flag_is_a_usage_error(tmp_path):
    write_suite(tmp_path)
    done = run_pytest(tmp_path, "--otel-sqlite", "test_suite.py")
    assert done.returncode == 4
    assert "--otel-sqlite takes its database after '='" in done.stderr
    assert not (tmp_path / "test_suite.py").with_suffix(".db").exists()
    assert "Traceback" not in done.stderr


def test_another_exporter_gets_the_same_spans_and_no_database_is_made(tmp_path):
    write_suite(tmp_path)
    env = clean_env(OTEL_TRACES_EXPORTER="console")
    done = run_pytest(tmp_path, "--otel-sqlite=runs.db", "-s", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"name": "test_suite.py::test_passes"' in done.stdout
    assert '"harness.kind": "step"' in done.stdout
    assert "exported to console" in done.stdout
    assert not (tmp_path / "runs.db").exists()
