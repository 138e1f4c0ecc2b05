"""exec exits exactly as the command it wraps would, and records why on the span."""

from __future__ import annotations

import pytest
from exec_support import only_span, otel_sqlite


@pytest.mark.parametrize("code", [0, 1, 3])
def test_the_child_exit_code_passes_through(tmp_path, code):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "exec", "--", "sh", "-c", f"exit {code}")
    assert done.returncode == code
    span = only_span(db)
    assert span["attributes"]["process.exit.code"] == code
    assert span["status_code"] == ("UNSET" if code == 0 else "ERROR")
    assert span["end_ns"] is not None


def test_a_failing_command_records_its_exit_code_as_the_status_message(tmp_path):
    db = tmp_path / "t.db"
    otel_sqlite(db, "exec", "--", "sh", "-c", "exit 3")
    assert only_span(db)["status_message"] == "exit code 3"


def test_a_missing_command_exits_127_with_one_line_and_is_still_recorded(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "exec", "--", "no-such-command-here", "x")
    assert done.returncode == 127
    assert done.stderr.decode() == "otel-sqlite: no-such-command-here: command not found\n"
    span = only_span(db)
    assert span["status_code"] == "ERROR"
    assert span["attributes"]["process.exit.code"] == 127
    assert "process.pid" not in span["attributes"]


def test_a_file_that_is_not_executable_exits_126(tmp_path):
    db = tmp_path / "t.db"
    script = tmp_path / "script.sh"
    script.write_text("echo hi\n")
    done = otel_sqlite(db, "exec", "--", str(script))
    assert done.returncode == 126
    assert done.stderr.decode().count("\n") == 1
    assert "Permission denied" in done.stderr.decode()
    assert only_span(db)["attributes"]["process.exit.code"] == 126


def test_a_child_that_kills_itself_with_sigterm_exits_143(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "exec", "--", "sh", "-c", "kill -TERM $$")
    assert done.returncode == 143
    span = only_span(db)
    assert span["attributes"]["process.exit.code"] == 143
    assert span["status_message"] == "killed by SIGTERM"


def test_options_after_the_command_belong_to_the_command(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "exec", "sh", "-c", "echo $0 $1", "--quiet", "--name")
    assert done.stdout == b"--quiet --name\n"
    assert only_span(db)["name"] == "sh -c echo $0 $1 --quiet --name"
