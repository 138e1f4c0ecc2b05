"""export junit / markdown: reports CI systems read."""

from __future__ import annotations

from pathlib import Path

import junitparser
from click.testing import CliRunner

from otel_sqlite.cli.main import cli


def export(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["export", *args, "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_junit_parses_with_one_testcase_per_step_and_one_failure(example_db_master, tmp_path):
    out = tmp_path / "report.xml"
    export(example_db_master, "junit", "latest~3", "-o", str(out))
    xml = junitparser.JUnitXml.fromfile(str(out))
    (suite,) = list(xml)
    assert (suite.name, suite.tests, suite.failures, suite.errors) == ("nightly", 4, 1, 0)
    cases = {case.name: case for case in suite}
    assert set(cases) == {"setup", "compile", "test", "flaky"}
    (failure,) = cases["test"].result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message == "exit code 3" and failure.type == "exit code 3"
    assert "assertion failed: 2 != 3" in cases["test"].system_err
    assert cases["flaky"].is_passed
    assert cases["setup"].is_passed


def test_junit_of_a_plain_app_has_its_roots_children_as_cases(example_db_master):
    xml = junitparser.JUnitXml.fromstring(export(example_db_master, "junit", "latest"))
    (suite,) = list(xml)
    assert [case.name for case in suite] == ["SELECT orders", "render"]


def test_markdown_summary_shows_status_failures_slowest_and_cost(example_db_master):
    failing = export(example_db_master, "markdown", "latest~3")
    assert failing.startswith("## ❌ nightly — error")
    assert "- ❌ **test**: exit code 3" in failing and "assertion failed: 2 != 3" in failing
    assert "### Slowest steps" in failing
    agent = export(example_db_master, "markdown", "latest~1")
    assert "3 API calls" in agent and "$0.0235" in agent
