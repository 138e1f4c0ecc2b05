"""Sessions that do not run their tests to the end: modules that fail to import or skip
themselves whole, and a session interrupted in the middle of a test."""

from __future__ import annotations

from pytest_plugin_support import rows, run_pytest


def test_an_unimportable_module_is_an_error_step_and_a_skipped_module_a_skipped_one(tmp_path):
    (tmp_path / "test_broken.py").write_text("import no_such_module_here\n")
    (tmp_path / "test_later.py").write_text(
        "import pytest\npytest.skip('not on this host', allow_module_level=True)\n"
    )
    done = run_pytest(tmp_path, "--otel-sqlite=runs.db")
    assert done.returncode == 2, done.stdout + done.stderr  # pytest: interrupted by collection
    db = tmp_path / "runs.db"
    steps = rows(
        db,
        "SELECT s.name, s.status_code, a.value FROM steps s JOIN attributes a ON a.span = s.id "
        "AND a.key = 'harness.test.outcome' ORDER BY s.name",
    )
    assert steps == [("test_broken.py", "ERROR", "error"), ("test_later.py", "UNSET", "skipped")]
    assert rows(
        db,
        "SELECT count(*) FROM text_fts JOIN text_lines t ON t.id = text_fts.rowid "
        "WHERE text_fts MATCH ?", '"no_such_module_here"',
    ) == [(1,)]
    assert rows(db, "SELECT status FROM runs") == [("error",)]


def test_an_interrupted_session_ends_the_running_test_as_interrupted(tmp_path):
    (tmp_path / "test_stop.py").write_text(
        "def test_first():\n    pass\n\n"
        "def test_ctrl_c():\n    raise KeyboardInterrupt\n\n"
        "def test_never_reached():\n    pass\n"
    )
    done = run_pytest(tmp_path, "--otel-sqlite=runs.db")
    assert done.returncode == 2, done.stdout + done.stderr
    db = tmp_path / "runs.db"
    assert rows(
        db,
        "SELECT s.name, s.status_code, a.value, s.end_ns IS NOT NULL FROM steps s "
        "JOIN attributes a ON a.span = s.id AND a.key = 'harness.test.outcome' ORDER BY s.number",
    ) == [
        ("test_stop.py::test_first", "UNSET", "passed", 1),
        ("test_stop.py::test_ctrl_c", "ERROR", "interrupted", 1),
    ]
    assert rows(db, "SELECT status, status_message FROM runs") == [
        ("error", "pytest: interrupted")
    ]
