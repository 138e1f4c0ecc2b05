"""The behave formatter: the example BDD suite, run by behave for real, as spans.

behave's own JUnit report of the same run is the reference for what each scenario did.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from junitparser import JUnitXml

from otel_sqlite.cli.main import cli
from otel_sqlite.queries.steps import run_steps
from otel_sqlite.storage.schema import connect_readonly

FEATURES = Path(__file__).resolve().parent.parent / "examples" / "behave-suite" / "features"
RECORDER = "otel_sqlite.behave:Recorder"
# The example suite's 1x1 PNG "screenshot" (features/steps/shop_steps.py).
PNG_SHA256 = hashlib.sha256(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)).hexdigest()


def behave(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OTEL_") and k not in ("TRACEPARENT", "TRACESTATE")}
    return subprocess.run([sys.executable, "-m", "behave", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory) -> Path:
    """The whole example suite recorded once, with behave's JUnit report beside it."""
    folder = tmp_path_factory.mktemp("behave")
    done = behave(folder, str(FEATURES), "-f", RECORDER, "-o", "run.db", "-f", "null",
                  "--junit", "--junit-directory", "junit")
    assert done.returncode == 1, done.stderr  # the suite fails on purpose
    return folder


def spans(db: Path) -> list[dict[str, Any]]:
    """Every span with its attributes, in start order."""
    raw = sqlite3.connect(db)
    found = []
    for span, name, parent, span_id, status, message in raw.execute(
        "SELECT id, name, parent_span_id, span_id, status_code, status_message FROM spans "
        "ORDER BY start_ns, id"
    ):
        attributes = dict(raw.execute("SELECT key, value FROM attributes WHERE span = ?",
                                      (span,)).fetchall())
        found.append({"id": span, "name": name, "parent": parent, "span_id": span_id,
                      "status": status, "message": message, **attributes})
    raw.close()
    return found


def scenario_outcomes(db: Path) -> dict[str, str]:
    """Each scenario's outcome, by name; a retried scenario's last attempt decides."""
    return {s["name"]: s["harness.test.outcome"] for s in spans(db) if "test.case.name" in s}


def test_each_scenario_has_the_status_behaves_junit_report_gives_it(suite_run):
    junit = {}
    for report in sorted((suite_run / "junit").glob("*.xml")):
        for suite in JUnitXml.fromfile(str(report)):
            for case in suite:
                junit[case.name] = case._elem.get("status").replace("hook_error", "error")
    assert scenario_outcomes(suite_run / "run.db") == junit
    assert set(junit.values()) == {"passed", "error", "skipped"}


def test_export_junit_counts_scenarios_as_behaves_own_report_does(suite_run):
    theirs = {key: 0 for key in ("tests", "failures", "errors", "skipped")}
    for report in sorted((suite_run / "junit").glob("*.xml")):
        for suite in JUnitXml.fromfile(str(report)):
            for key in theirs:
                theirs[key] += int(suite._elem.get(key, 0))
    done = CliRunner().invoke(cli, ["export", "junit", "--db", str(suite_run / "run.db")],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    ours = ET.fromstring(done.output).find("testsuite")
    assert {key: int(ours.get(key)) for key in theirs} == theirs


def test_features_scenarios_and_steps_nest_with_their_numbers(suite_run):
    db = connect_readonly(suite_run / "run.db")
    steps = run_steps(db, "latest")
    assert [(s["name"], s["depth"]) for s in steps if s["depth"] == 0] == [
        ("Checkout", 0), ("Search", 0)]
    adding = next(s for s in steps if s["name"] == "Adding an item")
    children = [s for s in steps if s["path"].startswith(adding["path"] + " / ")]
    assert [s["name"] for s in children] == [
        "Given an empty cart", 'When I add 1 "book" at 12 euros', "Then the total is 12 euros",
        "And a screenshot of the cart is attached"]
    assert [s["number"] for s in children] == [1, 2, 3, 4]
    rule = next(s for s in steps if s["name"] == "results match the query")
    assert rule["path"] == "Search / results match the query" and rule["number"] == 1


def test_outline_examples_are_scenarios_with_their_parameters_and_tags(suite_run):
    examples = [s for s in spans(suite_run / "run.db") if s.get("harness.test.parameters")]
    assert [(s["name"], s["harness.test.param.count"], s["harness.test.param.total"])
            for s in examples] == [("Totals for 1 items -- @1.1 pens", "1", "2"),
                                   ("Totals for 3 items -- @1.2 pens", "3", "6")]
    assert json.loads(examples[0]["harness.test.tags"]) == ["shop"]
    assert examples[0]["harness.test.keyword"] == "Scenario Outline"


def test_a_retried_scenario_is_attempts_of_one_step(suite_run):
    db = connect_readonly(suite_run / "run.db")
    [flaky] = [s for s in run_steps(db, "latest") if s["name"] == "A flaky payment gateway"]
    assert [(a["attempt"], a["status"]) for a in flaky["attempts"]] == [(1, "error"), (2, "ok")]
    assert flaky["status"] == "ok"


def test_a_failing_step_keeps_its_traceback_in_an_exception_event(suite_run):
    [step] = [s for s in spans(suite_run / "run.db")
              if s["name"] == "And I pay with a card that expired in 2020"]
    assert (step["status"], step["message"]) == ("ERROR", "card expired in 2020: payment declined")
    assert step["harness.test.outcome"] == "error" and step["test.case.result.status"] == "fail"
    raw = sqlite3.connect(suite_run / "run.db")
    [(attributes,)] = raw.execute("SELECT attributes FROM events WHERE span = ? AND "
                                  "name = 'exception'", (step["id"],)).fetchall()
    event = json.loads(attributes)
    assert event["exception.type"] == "ValueError"
    assert "shop_steps.py" in event["exception.stacktrace"]
    assert event["exception.stacktrace"].rstrip().endswith(
        "ValueError: card expired in 2020: payment declined")


def test_skipped_and_undefined_steps_are_recorded_as_such(suite_run):
    found = spans(suite_run / "run.db")
    undefined = next(s for s in found if s["name"] == 'And I apply the discount code "HALF"')
    assert (undefined["harness.test.outcome"], undefined["harness.test.reason"]) == (
        "error", "undefined step")
    voucher = next(s for s in found if s["name"] == "Paying with a voucher")
    below = [s for s in found if s["parent"] == voucher["span_id"]]
    assert voucher["harness.test.reason"] == "vouchers are not built yet"
    assert [(s["harness.test.outcome"], s["harness.test.reason"]) for s in below] == [
        ("skipped", "vouchers are not built yet")] * 3
    after_failure = [s for s in found if s["name"] == "Then the order is confirmed"][0]
    assert after_failure["harness.test.reason"] == "an earlier step failed"


def test_an_attachment_is_an_artifact_with_its_sha256(suite_run):
    raw = sqlite3.connect(suite_run / "run.db")
    [(path, sha256, media_type, step)] = raw.execute(
        "SELECT a.path, a.sha256, a.media_type, s.name FROM artifacts a "
        "JOIN spans s ON s.id = a.span WHERE a.role = 'attachment'").fetchall()
    assert (sha256, media_type, step) == (
        PNG_SHA256, "image/png", "And a screenshot of the cart is attached")
    assert hashlib.sha256((suite_run / path).read_bytes()).hexdigest() == PNG_SHA256


def test_two_parallel_behave_processes_write_one_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    workers = [
        subprocess.Popen([sys.executable, "-m", "behave", str(FEATURES / feature), "-f",
                          RECORDER, "-o", "shared.db", "-f", "null",
                          "-D", f"otel_sqlite.name=worker-{feature}"],
                         cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
        for feature in ("checkout.feature", "search.feature")
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [1, 0]
    raw = sqlite3.connect(tmp_path / "shared.db")
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    runs = dict(raw.execute("SELECT s.name, count(*) FROM run_roots r JOIN spans s "
                            "ON s.id = r.span JOIN spans t ON t.trace_id = r.trace_id "
                            "GROUP BY r.trace_id").fetchall())
    # run, feature, (rule,) scenarios (+1 retried attempt), steps: every span of each
    assert runs == {"worker-checkout.feature": 1 + 1 + (7 + 1) + (4 + 4 + 3 + 6 + 4 + 8),
                    "worker-search.feature": 1 + 1 + 1 + 2 + 6}
    assert raw.execute("SELECT count(*) FROM spans WHERE end_ns IS NULL").fetchone() == (0,)


def test_minus_d_records_a_run_without_naming_the_formatter(tmp_path):
    done = behave(tmp_path, str(FEATURES / "search.feature"), "-f", "progress",
                  "-D", "otel_sqlite=switched.db")
    assert done.returncode == 0, done.stderr
    assert set(scenario_outcomes(tmp_path / "switched.db").values()) == {"passed"}
    assert behave(tmp_path, str(FEATURES / "search.feature"), "-f", "progress").returncode == 0
    assert not (tmp_path / "otel-sqlite.db").exists()


def test_importing_otel_sqlite_never_imports_behave():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, otel_sqlite, otel_sqlite.harness, "
         "otel_sqlite.plugins; print('behave' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.strip() == "False"


def test_a_worker_started_under_traceparent_joins_that_run(tmp_path):
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["TRACEPARENT"] = f"00-{trace_id}-{parent}-01"
    subprocess.run([sys.executable, "-m", "behave", str(FEATURES / "search.feature"), "-f",
                    RECORDER, "-o", "joined.db", "-f", "null"], cwd=tmp_path, env=env,
                   check=True, capture_output=True)
    raw = sqlite3.connect(tmp_path / "joined.db")
    assert raw.execute("SELECT DISTINCT trace_id FROM spans").fetchall() == [(trace_id,)]
    assert raw.execute("SELECT parent_span_id FROM spans WHERE harness_kind = 'run'"
                       ).fetchall() == [(parent,)]


def test_a_hanging_step_is_on_disk_while_it_hangs(tmp_path):
    """Steps are written in flight only once they run long; a hanging one is there to see."""
    features = tmp_path / "features"
    (features / "steps").mkdir(parents=True)
    (features / "hang.feature").write_text(
        "Feature: hang\n  Scenario: waits\n    Given a quick step\n    When I wait for go\n")
    (features / "steps" / "steps.py").write_text(
        "import os, time\nfrom behave import given, when\n\n"
        "@given('a quick step')\ndef quick(context):\n    pass\n\n"
        "@when('I wait for go')\ndef wait(context):\n"
        "    deadline = time.monotonic() + 60\n"
        "    while not os.path.exists('go') and time.monotonic() < deadline:\n"
        "        time.sleep(0.01)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    worker = subprocess.Popen([sys.executable, "-m", "behave", "features", "-f", RECORDER,
                               "-o", "hang.db", "-f", "null"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def in_flight() -> list[str]:
        try:
            raw = sqlite3.connect(f"file:{tmp_path / 'hang.db'}?mode=ro", uri=True)
            return [name for (name,) in raw.execute(
                "SELECT name FROM spans WHERE end_ns IS NULL ORDER BY start_ns")]
        except sqlite3.Error:
            return []

    deadline = time.monotonic() + 60
    while "When I wait for go" not in in_flight() and time.monotonic() < deadline:
        time.sleep(0.02)
    hanging = in_flight()
    (tmp_path / "go").touch()
    assert worker.wait(timeout=60) == 0, worker.stderr.read()
    assert hanging == [tmp_path.name, "hang", "waits", "When I wait for go"]
    assert in_flight() == []
