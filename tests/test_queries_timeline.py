"""events, timeline and task: decisions and one task's story across runs (the TAC-8 questions)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_sqlite.cli.main import cli
from otel_sqlite.conventions import HARNESS_EVENT_TYPE, HARNESS_KIND, HARNESS_TASK_ID
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage.store import Store

AGENT_LOOP = Path(__file__).resolve().parent.parent / "examples" / "agent_loop.py"
TASK_STEP = "gh-450 fix flaky login test"


@pytest.fixture(scope="module")
def two_sessions_master(tmp_path_factory) -> Path:
    """The agent example run twice: two coordinator sessions working on the same tasks."""
    db = tmp_path_factory.mktemp("agent") / "agent.db"
    env = {**os.environ, "OTEL_SQLITE_DB": str(db)}
    env.pop("TRACEPARENT", None)
    for _ in range(2):
        subprocess.run([sys.executable, str(AGENT_LOOP)], cwd=db.parent, env=env, check=True,
                       capture_output=True)
    return db


@pytest.fixture
def two_sessions(two_sessions_master: Path, db_path: Path) -> Path:
    shutil.copy(two_sessions_master, db_path)
    return db_path


def read(*args: str) -> object:
    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_decisions_come_newest_first_with_their_reasons(two_sessions):
    decisions = read("events", "--type", "decision", "--last", "24h")
    assert len(decisions) == 6
    assert [d["time"] for d in decisions] == sorted((d["time"] for d in decisions), reverse=True)
    assert decisions[0]["span_name"] == "gh-452 docs"
    assert decisions[0]["attributes"] == {"choice": "route to claude-haiku-4",
                                          "reason": "docs need no code changes"}
    assert {d["type"] for d in decisions} == {"decision"}


def test_events_narrow_by_run_time_and_attribute(two_sessions):
    assert len(read("events", "latest", "--type", "decision")) == 3
    assert read("events", "--since", "2999-01-01") == []
    by_task = read("events", "--attr", f"{HARNESS_TASK_ID}=gh-451")
    assert [e["span_name"] for e in by_task] == ["gh-451 add retry to uploader"] * 2


def test_the_type_attribute_wins_over_the_name_and_artifacts_stay_out(db_path):
    Store(db_path).write([SpanRecord("c" * 32, "c" * 16, "coordinator", 1_000, 2_000,
                                     attributes={HARNESS_KIND: "run"}, events=[
        EventRecord("paged the on-call", 1_100, {HARNESS_EVENT_TYPE: "escalation"}),
        EventRecord("artifact", 1_200, {"harness.artifact.path": "missing.log"}),
    ])])
    assert [e["event"] for e in read("events")] == ["paged the on-call"]
    assert [e["event"] for e in read("events", "--type", "escalation")] == ["paged the on-call"]
    assert [e["type"] for e in read("events", "--type", "artifact")] == ["artifact"]


def test_last_and_since_are_one_or_the_other(two_sessions):
    result = CliRunner().invoke(cli, ["events", "--last", "2h", "--since", "2026-01-01"])
    assert result.exit_code == 2 and "not both" in result.output


def test_a_task_across_two_sessions_in_time_order(two_sessions):
    found = read("task", "gh-450")
    entries = found["entries"]
    assert [e["time_ns"] for e in entries] == sorted(e["time_ns"] for e in entries)
    assert {e["run"] for e in entries} == {"coordinator-session"}
    assert len({e["run_id"] for e in entries}) == found["totals"]["runs"] == 2
    kinds = [e["kind"] for e in entries]
    assert kinds == ["step", "event", "api_call", "api_call", "command"] * 2
    decision = entries[1]
    assert (decision["name"], decision["type"]) == ("decision", "decision")
    assert all(e["cost_usd"] > 0 and e["input_tokens"] > 0 for e in entries
               if e["kind"] == "api_call")


def test_the_task_totals_equal_what_costs_counts(two_sessions):
    totals = read("task", "gh-450")["totals"]
    [by_step] = [row for row in read("costs", "--by", "step") if row["step"] == TASK_STEP]
    assert (totals["api_calls"], totals["input_tokens"], totals["output_tokens"],
            totals["cost_usd"]) == (by_step["calls"], by_step["input_tokens"],
                                    by_step["output_tokens"], by_step["cost_usd"])


def test_task_is_timeline_by_the_task_attribute(two_sessions):
    assert read("task", "gh-451") == read("timeline", "--attr", f"{HARNESS_TASK_ID}=gh-451")


def test_a_timeline_takes_any_attribute_and_whole_runs_under_it(two_sessions):
    found = read("timeline", "--attr", "session.id=s-2026-12-02")
    assert found["totals"]["runs"] == 2
    assert found["totals"]["spans"] == 2 * (1 + 3 * 4)
    assert found["totals"]["api_calls"] == 12


def test_an_event_that_carries_the_attribute_joins_the_timeline(db_path):
    Store(db_path).write([SpanRecord("d" * 32, "d" * 16, "triage", 1_000, 2_000, events=[
        EventRecord("trigger", 1_500, {HARNESS_TASK_ID: "gh-9", "source": "webhook"})])])
    entries = read("task", "gh-9")["entries"]
    assert [(e["kind"], e["name"], e["span_name"]) for e in entries] == [
        ("event", "trigger", "triage")]


def test_the_table_ends_with_totals(two_sessions):
    output = CliRunner().invoke(cli, ["task", "gh-450"]).output
    assert output.splitlines()[-1].startswith("2 runs, 8 spans, 2 events, 0 errors")
    assert "4 api_calls" in output.splitlines()[-1]
    assert CliRunner().invoke(cli, ["task", "gh-999"]).output == (
        "nothing carries that attribute\n")


def test_csv_ends_with_a_total_row(two_sessions):
    result = CliRunner().invoke(cli, ["task", "gh-450", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [row["kind"] for row in rows[:-1]] == ["step", "event", "api_call", "api_call",
                                                  "command"] * 2
    assert (rows[-1]["kind"], rows[-1]["name"]) == ("total", "2 runs, 8 spans, 2 events, 0 errors")
    assert float(rows[-1]["cost_usd"]) == read("task", "gh-450")["totals"]["cost_usd"]


def test_an_attribute_without_a_value_is_a_usage_error(two_sessions):
    result = CliRunner().invoke(cli, ["timeline", "--attr", "harness.task.id"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--attr': 'harness.task.id' is not KEY=VALUE")
