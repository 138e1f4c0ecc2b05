"""Every reader counts the same outcomes for the same run, on runs of every shape
(``outcome_scenarios.py``): the CLI's runs, summary, failures, steps, show, diff, flaky,
timings, costs and exports, and the UI's JSON API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from junit_schema import junit_schema
from ui_support import get_json, running

from otel_sqlite.cli.main import cli
from otel_sqlite.queries import outcomes

SCENARIOS = Path(__file__).with_name("outcome_scenarios.py")
# name: (steps, the cases' outcomes, failure paths): what a person counts by hand.
EXPECTED: dict[str, tuple[int, dict[str, int], list[str]]] = {
    "nested": (7, {"failed": 2, "passed": 2}, [
        "feature: checkout / scenario: pay by card / when I pay",
        "feature: refunds / scenario: refund a card",
    ]),
    "retries": (2, {"passed": 1, "failed": 1}, ["doomed"]),
    "skips": (4, {"passed": 1, "skipped": 1, "xfailed": 1, "xpassed": 1}, []),
    "nightly": (4, {"passed": 2, "failed": 1, "skipped": 1}, ["test"]),
    "commands": (2, {"passed": 1, "failed": 1}, ["false"]),
    "lonely": (0, {"failed": 1}, ["lonely"]),
    "killed": (2, {"passed": 1, "incomplete": 1}, []),
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shapes") / "shapes.db"
    env = {k: v for k, v in os.environ.items() if k not in ("TRACEPARENT", "TRACESTATE")}
    subprocess.run([sys.executable, str(SCENARIOS), str(path)], env=env, check=True,
                   capture_output=True, timeout=120)
    return path


def read(db: Path, *args: str) -> Any:
    done = CliRunner().invoke(cli, [*args, "--db", str(db), "--format", "json"],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def text(db: Path, *args: str) -> str:
    done = CliRunner().invoke(cli, [*args, "--db", str(db)], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture(scope="module")
def summaries(db: Path) -> dict[str, dict[str, Any]]:
    """``summary --format json`` of each run, by name: the reference every reader meets."""
    return {run["name"]: read(db, "summary", run["run_id"]) for run in read(db, "runs")}


def counts(expected: dict[str, int]) -> dict[str, int]:
    return {"total": sum(expected.values()), **dict.fromkeys(outcomes.OUTCOMES, 0), **expected}


@pytest.mark.parametrize("name", EXPECTED)
def test_summary_counts_what_a_person_counts(summaries, name):
    steps, expected, failed = EXPECTED[name]
    summary = summaries[name]
    assert (summary["steps"], summary["outcomes"]) == (steps, counts(expected))
    assert [failure["path"] for failure in summary["failed_steps"]] == failed


def test_a_run_that_is_a_command_keeps_its_own_status_and_exit_code(summaries):
    nightly = summaries["nightly"]
    assert (nightly["status"], nightly["exit_code"], nightly["outcome"]) == ("error", 1, "failed")
    assert [f["kind"] for f in nightly["failed_steps"]] == ["step"]
    assert summaries["commands"]["status"] == "ok"  # its script ended well


def test_runs_lists_the_summarys_counts(db, summaries):
    for run in read(db, "runs"):
        summary = summaries[run["name"]]
        assert (run["steps"], run["failed_steps"], run["outcomes"]) == (
            summary["steps"], len(summary["failed_steps"]), summary["outcomes"])


def test_failures_lists_the_summarys_failures(db, summaries):
    for summary in summaries.values():
        found = read(db, "failures", summary["run_id"])
        assert [(f["path"], f["outcome"]) for f in found] == [
            (f["path"], f["outcome"]) for f in summary["failed_steps"]]


def test_steps_lists_every_step_and_its_cases_count_the_same(db, summaries):
    for summary in summaries.values():
        rows = read(db, "steps", summary["run_id"])
        assert len(rows) == summary["steps"]
        if rows:
            assert outcomes.tally(outcomes.counted(rows)) == summary["outcomes"]


def test_show_marks_each_step_with_the_steps_outcome(db, summaries):
    for summary in summaries.values():
        shown = {s["span_id"]: s["outcome"] for s in read(db, "show", summary["run_id"])["spans"]}
        for step in read(db, "steps", summary["run_id"]):
            assert shown[step["span_id"]] == step["outcome"], step["path"]


def test_diff_against_an_empty_run_adds_every_step_with_its_outcome(db, summaries):
    lonely = summaries["lonely"]["run_id"]
    for summary in summaries.values():
        steps = read(db, "steps", summary["run_id"])
        diff = read(db, "diff", lonely, summary["run_id"])
        assert [(s["path"], s["outcome"]) for s in diff["added"]] == [
            (s["path"], s["outcome"]) for s in steps]


def test_flaky_names_the_retried_steps_of_the_summary(db, summaries):
    flaky = read(db, "flaky")
    assert sorted((row["run_name"], row["step"]) for row in flaky) == sorted(
        (name, path) for name, summary in summaries.items() for path in summary["retried_steps"])
    assert {row["step"]: (row["passed"], row["failed"]) for row in flaky} == {
        "sync": (1, 0), "doomed": (0, 1)}


def test_timings_samples_each_step_that_ran_once(db, summaries):
    ran = Counter(
        step["name"] for summary in summaries.values()
        for step in read(db, "steps", summary["run_id"])
        if step["outcome"] not in (outcomes.SKIPPED, outcomes.INCOMPLETE)
    )
    assert {row["step"]: row["count"] for row in read(db, "timings")} == dict(ran)


def test_costs_by_run_counts_the_summarys_api_calls(db, summaries):
    by_run = {row["name"]: row["calls"] for row in read(db, "costs", "--by", "run")}
    assert by_run == {name: s["api_calls"] for name, s in summaries.items() if s["api_calls"]}


def test_junit_counts_the_summarys_outcomes_in_valid_xunit2(db, summaries):
    schema = junit_schema()
    for summary in summaries.values():
        xml = text(db, "export", "junit", summary["run_id"])
        schema.validate(xml)
        report = ET.fromstring(xml)
        (suite,) = report.iter("testsuite")
        tally = summary["outcomes"]
        assert {key: int(suite.get(key)) for key in ("tests", "failures", "errors", "skipped")} \
            == {"tests": tally["total"], "failures": tally["failed"],
                "errors": tally["error"] + tally["incomplete"],
                "skipped": tally["skipped"] + tally["xfailed"]}
        assert len(list(suite.iter("testcase"))) == tally["total"]


def test_markdown_says_the_summarys_counts_and_lists_its_failures(db, summaries):
    for summary in summaries.values():
        markdown = text(db, "export", "markdown", summary["run_id"])
        assert f"{summary['steps']} steps — {outcomes.describe(summary['outcomes'])}" \
            in markdown
        assert markdown.count("\n- ❌ ") + markdown.count("\n- 💥 ") == len(
            summary["failed_steps"])


def test_the_ui_api_gives_the_summarys_counts(db, summaries):
    with running(db) as server:
        _, page = get_json(server, "/api/runs")
        for run in page["runs"]:
            summary = summaries[run["name"]]
            assert (run["steps"], run["failed_steps"], run["outcomes"]) == (
                summary["steps"], len(summary["failed_steps"]), summary["outcomes"])
            _, one = get_json(server, f"/api/runs/{run['run_id']}")
            assert (one["steps"], one["outcomes"], one["failed_steps"]) == (
                summary["steps"], summary["outcomes"], summary["failed_steps"])
            _, tree = get_json(server, f"/api/runs/{run['run_id']}/spans")
            shown = {s["span_id"]: s["outcome"] for s in tree["spans"]}
            for step in read(db, "steps", run["run_id"]):
                assert shown[step["span_id"]] == step["outcome"]
        _, flaky = get_json(server, "/api/flaky")
        assert flaky["steps"] == read(db, "flaky")
