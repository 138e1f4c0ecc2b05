"""The step model: harness steps (nested, retried) or, without any, the root's children."""

from __future__ import annotations

from opentelemetry.trace import Status, StatusCode

from otel_sqlite.conventions import HARNESS_KIND, HARNESS_STEP_ATTEMPT, KIND_RUN, KIND_STEP
from otel_sqlite.queries.failures import run_failures
from otel_sqlite.queries.spans import span_tree
from otel_sqlite.queries.steps import run_steps
from otel_sqlite.storage.schema import connect_readonly

STEP = {HARNESS_KIND: KIND_STEP}


def test_retries_group_under_one_step_and_the_last_attempt_decides(example):
    flaky = next(s for s in run_steps(example, "latest~3") if s["name"] == "flaky")
    assert flaky["retried"] and flaky["status"] == "ok" and flaky["attempt"] == 2
    assert [(a["attempt"], a["status"]) for a in flaky["attempts"]] == [(1, "error"), (2, "ok")]


def test_steps_keep_their_number_and_the_exit_code_of_their_command(example):
    steps = run_steps(example, "latest~3")
    assert [(s["number"], s["name"], s["exit_code"]) for s in steps] == [
        (1, "setup", 0), (2, "compile", 0), (3, "test", 3), (4, "flaky", 0)]


def test_nested_steps_keep_their_depth_and_path(tracer, tmp_path):
    with tracer.start_as_current_span("suite", attributes={HARNESS_KIND: KIND_RUN}):
        with tracer.start_as_current_span("feature: login", attributes=STEP):
            with tracer.start_as_current_span("helper (not a step)"):
                with tracer.start_as_current_span("scenario: bad password", attributes=STEP):
                    with tracer.start_as_current_span("then it refuses", attributes=STEP):
                        pass
    steps = run_steps(connect_readonly(tmp_path / "sdk.db"), "latest")
    assert [(s["depth"], s["path"]) for s in steps] == [
        (0, "feature: login"),
        (1, "feature: login / scenario: bad password"),
        (2, "feature: login / scenario: bad password / then it refuses"),
    ]
    assert [s["child_steps"] for s in steps] == [1, 1, 0]


def test_only_the_innermost_failed_step_is_a_failure(tracer, tmp_path):
    with tracer.start_as_current_span("suite", attributes={HARNESS_KIND: KIND_RUN}):
        with tracer.start_as_current_span("scenario", attributes=STEP) as scenario:
            with tracer.start_as_current_span("step", attributes=STEP) as step:
                step.set_status(Status(StatusCode.ERROR, "expected 2"))
            scenario.set_status(Status(StatusCode.ERROR, "a step failed"))
    (failure,) = run_failures(connect_readonly(tmp_path / "sdk.db"), "latest")
    assert (failure["path"], failure["message"]) == ("scenario / step", "expected 2")


def test_a_step_recorded_in_flight_and_never_finished_is_incomplete(tmp_path):
    from otel_sqlite.records import SpanRecord
    from otel_sqlite.storage.store import Store

    store = Store(tmp_path / "killed.db")
    store.write([
        SpanRecord("a" * 32, "1" * 16, "suite", 1, None, attributes={HARNESS_KIND: KIND_RUN}),
        SpanRecord("a" * 32, "2" * 16, "deploy", 2, None, parent_span_id="1" * 16,
                   attributes={**STEP, HARNESS_STEP_ATTEMPT: 1}),
    ])
    store.close()
    (step,) = run_steps(connect_readonly(tmp_path / "killed.db"), "latest")
    assert (step["status"], step["duration_ms"]) == ("incomplete", None)


def test_a_trace_nested_1000_deep_builds_without_recursion(tracer, tmp_path):
    from contextlib import ExitStack

    with ExitStack() as stack:
        stack.enter_context(tracer.start_as_current_span("deep"))
        for level in range(1000):
            stack.enter_context(tracer.start_as_current_span(f"level {level}", attributes=STEP))
    db = connect_readonly(tmp_path / "sdk.db")
    steps = run_steps(db, "latest")
    assert len(steps) == 1000 and steps[-1]["depth"] == 999
    tree = span_tree(db, "latest")
    assert tree["spans"][-1]["depth"] == 1000
    assert len(span_tree(db, "latest", max_depth=3)["spans"]) == 4
