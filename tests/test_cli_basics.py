from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from exec_support import OTEL_SQLITE

from otel_sqlite import __version__
from otel_sqlite.cli.main import COMMANDS, cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version_names_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_every_command_has_help_text() -> None:
    for name in COMMANDS:
        result = invoke(name, "--help")
        assert result.exit_code == 0, name
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and (command.help or "").strip(), name


def test_init_creates_the_database_and_says_where(db_path: Path) -> None:
    result = invoke("init")
    assert result.exit_code == 0
    assert str(db_path) in result.output and db_path.exists()


def test_init_on_a_file_that_is_not_a_database_is_one_clear_line(db_path: Path) -> None:
    db_path.write_text("hello")
    result = invoke("init")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {db_path} is not an otel-sqlite database (or it is corrupt): "
        "file is not a database"]
    assert db_path.read_text() == "hello"


def test_the_cli_installs_inside_the_package_never_as_a_top_level_cli(tmp_path: Path) -> None:
    probe = ("import importlib.util, otel_sqlite.cli.main as m; "
             "print(importlib.util.find_spec('cli'), m.__name__)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["None", "otel_sqlite.cli.main"]


def test_the_demo_shows_a_skip_an_xfail_a_retry_and_a_failure(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    demo = subprocess.run([OTEL_SQLITE, "demo", "--db", str(db)], capture_output=True,
                          text=True, timeout=60)
    assert demo.returncode == 0, demo.stderr
    assert "skipped: no preview environment" in demo.stdout
    assert "xfailed: unicode names are dropped" in demo.stdout
    summary = invoke("summary", "--db", str(db)).output
    assert "1 failed, 4 passed, 1 skipped, 1 xfailed" in summary
    assert "retried_steps  health check" in summary
