"""The outcome model: how each writer records an outcome and how every span reads as one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from exec_support import OTEL_SQLITE

from otel_sqlite.cli.main import cli
from otel_sqlite.queries import outcomes
from otel_sqlite.queries.spans import span_details
from otel_sqlite.storage.paths import resolve_db_path
from otel_sqlite.storage.schema import connect_readonly


def read(*args: str) -> object:
    done = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


@pytest.mark.parametrize(("span", "expected"), [
    ({"end_ns": None, "status_code": "OK", "recorded_outcome": "passed"}, "incomplete"),
    ({"end_ns": 1, "status_code": "ERROR"}, "failed"),  # written before outcomes existed
    ({"end_ns": 1, "status_code": "UNSET"}, "passed"),
    ({"end_ns": 1, "status_code": "UNSET", "recorded_outcome": "xfailed"}, "xfailed"),
    ({"end_ns": 1, "status_code": "ERROR", "recorded_outcome": "interrupted"}, "incomplete"),
    ({"end_ns": 1, "status_code": "UNSET", "result_status": "fail"}, "failed"),
    ({"end_ns": 1, "status_code": "ERROR", "result_status": "aborted"}, "error"),
    ({"end_ns": 1, "status_code": "ERROR", "recorded_outcome": "someday"}, "failed"),
])
def test_a_span_reads_as_one_outcome(span, expected):
    assert outcomes.outcome(span) == expected


def test_a_parent_step_is_counted_only_when_it_failed_on_its_own():
    def step(span_id, parent, outcome, child_steps=0):
        return {"span_id": span_id, "parent_span_id": parent, "outcome": outcome,
                "child_steps": child_steps, "test_case": False}

    steps = [step("a", None, "failed", 1), step("a1", "a", "failed"),
             step("b", None, "failed", 1), step("b1", "b", "passed"),
             step("c", None, "passed", 1), step("c1", "c", "skipped")]
    assert [s["span_id"] for s in outcomes.counted(steps)] == ["a1", "b", "b1", "c1"]


def test_a_test_case_counts_once_whatever_steps_it_holds():
    def step(span_id, parent, outcome, child_steps=0, test_case=False):
        return {"span_id": span_id, "parent_span_id": parent, "outcome": outcome,
                "child_steps": child_steps, "test_case": test_case}

    steps = [step("feature", None, "failed", 2),
             step("scenario", "feature", "failed", 2, test_case=True),
             step("given", "scenario", "passed"), step("then", "scenario", "failed"),
             step("other", "feature", "passed", 1, test_case=True),
             step("when", "other", "passed")]
    assert [s["span_id"] for s in outcomes.counted(steps)] == ["scenario", "other"]


def test_skip_ends_the_step_skipped_and_the_run_goes_on(run_python):
    run_python("""
        from otel_sqlite import harness as h
        with h.run("r"):
            with h.step("deploy"):
                h.skip("no credentials")
                raise AssertionError("never runs")
            with h.step("after"):
                pass
    """)
    steps = read("steps")
    assert [(s["name"], s["outcome"], s["reason"], s["status"]) for s in steps] == [
        ("deploy", "skipped", "no credentials", "ok"), ("after", "passed", None, "ok")]


def test_an_xfail_step_that_fails_is_xfailed_and_one_that_passes_xpassed(run_python):
    run_python("""
        from otel_sqlite import harness as h
        with h.run("r"):
            with h.step("known", xfail="bug #1"):
                raise ValueError("still broken")
            with h.step("fixed", xfail="bug #2"):
                pass
    """)
    assert [(s["outcome"], s["reason"]) for s in read("steps")] == [
        ("xfailed", "bug #1"), ("xpassed", "bug #2")]
    assert read("summary")["status"] == "ok"


def test_a_step_failed_by_its_command_says_the_exit_and_keeps_the_exception(run_python):
    run_python("""
        import subprocess
        from otel_sqlite import harness as h
        try:
            with h.run("r"), h.step("build"):
                h.command(["sh", "-c", "echo 'cc: missing semicolon' >&2; exit 2"], check=True)
        except subprocess.CalledProcessError:
            pass
    """)
    (failure,) = read("failures")
    assert (failure["message"], failure["exit_code"]) == ("exit code 2", 2)
    assert failure["stderr_tail"] == ["cc: missing semicolon"]
    (event,) = [e for e in _details(failure["run_id"], failure["span_id"])["events"]
                if e["name"] == "exception"]
    assert event["attributes"]["exception.type"].endswith("CommandFailedError")
    assert "returned non-zero exit status 2" in event["attributes"]["exception.message"]


def _details(trace_id: str, span_id: str) -> dict:
    db = connect_readonly(resolve_db_path(None))
    try:
        return span_details(db, trace_id, span_id)
    finally:
        db.close()


def test_exec_with_a_skip_exit_code_records_a_skip_and_still_exits_with_it(tmp_path):
    exec_ = [OTEL_SQLITE, "exec"]
    done = subprocess.run([*exec_, "--skip-exit-code", "77", "--kind", "step", "--", "sh",
                           "-c", "exit 77"], capture_output=True)
    assert done.returncode == 77
    (case,) = read("summary")["skipped_steps"]
    assert (case["outcome"], case["reason"]) == ("skipped", "exit code 77")
    failing = subprocess.run([*exec_, "--skip-exit-code", "77", "--", "sh", "-c", "exit 1"])
    assert failing.returncode == 1
    assert read("summary")["outcomes"]["failed"] == 1


def test_a_command_span_is_named_by_the_programs_base_name(tmp_path):
    exec_ = [OTEL_SQLITE, "exec"]
    subprocess.run([*exec_, "--", sys.executable, "-c", "pass"], check=True)
    (run,) = read("runs")
    assert run["name"] == f"{sys.executable.rsplit('/', 1)[1]} -c pass"
    attributes = read("summary")["attributes"]
    assert attributes["process.command_args"] == [sys.executable, "-c", "pass"]


def test_spans_from_any_tool_read_by_otels_test_conventions(tmp_path):
    def span(span_id, name, attributes, parent=""):
        return {"traceId": "ab" * 16, "spanId": span_id, "parentSpanId": parent, "name": name,
                "startTimeUnixNano": "1000", "endTimeUnixNano": "2000", "attributes": [
                    {"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]}

    request = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [
        span("01" * 8, "suite", {"test.suite.run.status": "failure"}),
        span("02" * 8, "test_a", {"test.case.result.status": "pass"}, "01" * 8),
        span("03" * 8, "test_b", {"test.case.result.status": "fail"}, "01" * 8),
        span("04" * 8, "test_c", {"harness.test.outcome": "skipped",
                                  "harness.test.reason": "later"}, "01" * 8),
    ]}]}]}
    (tmp_path / "in.json").write_text(json.dumps(request))
    imported = CliRunner().invoke(cli, ["import", str(tmp_path / "in.json")])
    assert imported.exit_code == 0, imported.output
    summary = read("summary")
    assert summary["outcome"] == "failed" and summary["status"] == "ok"
    assert {k: v for k, v in summary["outcomes"].items() if v} == {
        "total": 3, "passed": 1, "failed": 1, "skipped": 1}
