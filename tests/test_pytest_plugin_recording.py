"""``pytest --otel-sqlite`` on the example suite: one run, one step per test attempt."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pytest_plugin_support import (
    EXAMPLE_OUTCOMES,
    attribute,
    copy_example_suite,
    rows,
    run_pytest,
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The example suite, run once with the plugin into ``runs.db``; (db, pytest's stdout)."""
    suite = copy_example_suite(tmp_path_factory.mktemp("recorded") / "pytest-suite")
    done = run_pytest(suite, "--otel-sqlite=runs.db", "-q")
    assert done.returncode == 1, done.stdout + done.stderr  # the suite fails on purpose
    return suite / "runs.db", done.stdout


def step_ids(db: Path, name: str) -> list[str]:
    found = rows(db, "SELECT span_id FROM steps WHERE name = ? ORDER BY attempt", name)
    return [span_id for (span_id,) in found]


def test_the_session_is_one_run_named_for_the_rootdir(recorded):
    db, _ = recorded
    assert rows(db, "SELECT name, status, status_message FROM runs") == [
        ("pytest-suite", "error", "pytest: tests failed")
    ]
    (run_span,) = rows(db, "SELECT span_id FROM runs")[0]
    assert attribute(db, run_span, "process.exit.code") == 1
    assert attribute(db, run_span, "test.suite.run.status") == "failure"
    args = json.loads(attribute(db, run_span, "harness.test.args"))
    assert args[-2:] == ["--otel-sqlite=runs.db", "-q"]


def test_every_test_is_a_step_of_the_run_with_its_outcome(recorded):
    db, _ = recorded
    (run_span,) = rows(db, "SELECT span_id FROM runs")[0]
    final = rows(
        db,
        "SELECT s.name, a.value FROM steps s JOIN attributes a ON a.span = s.id "
        "AND a.key = 'harness.test.outcome' WHERE s.parent_span_id = ? "
        "AND s.attempt = (SELECT max(attempt) FROM steps o WHERE o.name = s.name)",
        run_span,
    )
    assert dict(final) == EXAMPLE_OUTCOMES
    assert len(final) == len(EXAMPLE_OUTCOMES)


def test_steps_are_numbered_in_collection_order(recorded):
    db, _ = recorded
    numbered = rows(db, "SELECT number, name FROM steps WHERE attempt = 1 ORDER BY number")
    assert [number for number, _ in numbered] == list(range(1, len(EXAMPLE_OUTCOMES) + 1))
    assert [name for _, name in numbered] == list(EXAMPLE_OUTCOMES)


def test_failures_and_errors_are_error_status_with_the_cause(recorded):
    db, _ = recorded
    failed = rows(
        db, "SELECT name, status_message FROM steps WHERE status_code = 'ERROR' AND attempt = 1"
    )
    assert dict(failed) == {
        "test_checkout.py::test_checkout_total_with_discount":
            "AssertionError: checkout total drifted after the discount",
        "test_flaky.py::test_inventory_sync_eventually_settles":
            "AssertionError: inventory not settled yet",
        "test_skips.py::test_stock_level": "ConnectionError: warehouse database unreachable",
        "test_skips.py::test_refund_rounding": "[XPASS(strict)] refund rounding fixed in 2.1",
    }


def test_a_failure_is_an_exception_event_with_pytests_longrepr(recorded):
    db, _ = recorded
    (span,) = step_ids(db, "test_checkout.py::test_checkout_total_with_discount")
    ((attributes,),) = rows(
        db,
        "SELECT e.attributes FROM events e JOIN spans s ON s.id = e.span "
        "WHERE s.span_id = ? AND e.name = 'exception'",
        span,
    )
    event = json.loads(attributes)
    assert event["exception.type"] == "AssertionError"
    assert event["exception.message"].startswith("checkout total drifted after the discount")
    assert "assert 37.8 == 42" in event["exception.stacktrace"]
    assert event["harness.test.phase"] == "call"


def test_a_failing_assertion_message_is_searchable(recorded):
    db, _ = recorded
    found = rows(
        db,
        "SELECT DISTINCT s.name FROM text_fts JOIN text_lines t ON t.id = text_fts.rowid "
        "JOIN spans s ON s.id = t.span WHERE text_fts MATCH ?",
        "drifted",
    )
    assert found == [("test_checkout.py::test_checkout_total_with_discount",)]


def test_a_failed_phase_is_a_child_span_of_its_step(recorded):
    db, _ = recorded
    (span,) = step_ids(db, "test_skips.py::test_stock_level")
    assert rows(
        db, "SELECT name, status_code FROM spans WHERE parent_span_id = ?", span
    ) == [("setup", "ERROR")]


def test_printed_and_logged_output_are_artifacts_of_the_test(recorded):
    db, _ = recorded
    (span,) = step_ids(db, "test_checkout.py::test_total_is_printed")
    found = dict(rows(
        db,
        "SELECT a.role, a.path FROM artifacts a JOIN spans s ON s.id = a.span WHERE s.span_id = ?",
        span,
    ))
    assert sorted(found) == ["log", "stdout"]
    assert (db.parent / found["stdout"]).read_text() == "basket total: 4.0\n"
    assert "prices are not yet in cents" in (db.parent / found["log"]).read_text()


def test_a_test_without_output_has_no_artifacts(recorded):
    db, _ = recorded
    assert rows(
        db,
        "SELECT count(*) FROM artifacts a JOIN spans s ON s.id = a.span WHERE s.name = ?",
        "test_checkout.py::test_empty_basket_costs_nothing",
    ) == [(0,)]


def test_a_rerun_test_is_one_step_with_two_attempts(recorded):
    db, _ = recorded
    attempts = rows(
        db,
        "SELECT s.attempt, s.number, a.value FROM steps s JOIN attributes a ON a.span = s.id "
        "AND a.key = 'harness.test.outcome' WHERE s.name = ? ORDER BY s.attempt",
        "test_flaky.py::test_inventory_sync_eventually_settles",
    )
    assert [(attempt, outcome) for attempt, _, outcome in attempts] == [
        (1, "failed"), (2, "passed")
    ]
    assert len({number for _, number, _ in attempts}) == 1


def test_each_attempt_keeps_only_its_own_output(recorded):
    db, _ = recorded
    outputs = rows(
        db,
        "SELECT a.path FROM artifacts a JOIN steps s ON s.id = a.span "
        "WHERE s.name = ? AND a.role = 'stdout' ORDER BY s.attempt",
        "test_flaky.py::test_inventory_sync_eventually_settles",
    )
    assert [(db.parent / path).read_text() for (path,) in outputs] == [
        "sync attempt 1\n", "sync attempt 2\n"
    ]


def test_a_test_names_its_code_and_parameters(recorded):
    db, _ = recorded
    (span,) = step_ids(
        db, "test_checkout.py::TestDiscounts::test_discount_never_makes_it_negative[0.5]"
    )
    assert attribute(db, span, "code.function.name") == (
        "test_checkout.TestDiscounts.test_discount_never_makes_it_negative"
    )
    assert attribute(db, span, "code.file.path") == str(db.parent / "test_checkout.py")
    assert attribute(db, span, "harness.test.class") == "TestDiscounts"
    assert attribute(db, span, "harness.test.parameters") == "0.5"
    assert attribute(db, span, "harness.test.param.discount") == 0.5


def test_what_a_test_does_not_have_is_left_out_not_stored_empty(recorded):
    db, _ = recorded
    (span,) = step_ids(db, "test_checkout.py::test_empty_basket_costs_nothing")
    assert attribute(db, span, "harness.test.function") == "test_empty_basket_costs_nothing"
    assert rows(
        db,
        "SELECT a.key FROM attributes a JOIN spans s ON s.id = a.span WHERE s.span_id = ? "
        "AND (a.value IS NULL OR a.key IN ('harness.test.class', 'harness.test.parameters'))",
        span,
    ) == []


def test_a_skip_keeps_its_reason(recorded):
    db, _ = recorded
    (span,) = step_ids(db, "test_skips.py::test_card_payment")
    assert attribute(db, span, "harness.test.reason") == "payments sandbox is down"


def test_harness_spans_inside_a_test_nest_under_its_step(recorded):
    db, _ = recorded
    (span,) = step_ids(db, "test_harness_calls.py::test_a_command_and_a_paid_call")
    children = rows(
        db, "SELECT harness_kind, name FROM spans WHERE parent_span_id = ? "
        "AND harness_kind IS NOT NULL ORDER BY start_ns", span,
    )
    assert [kind for kind, _ in children] == ["command", "api_call"]
    assert rows(db, "SELECT model, cost_usd FROM api_calls") == [("gpt-test", 0.0021)]


def test_the_console_names_the_database_and_the_command_to_see_the_run(recorded):
    db, stdout = recorded
    (trace_id,) = rows(db, "SELECT trace_id FROM runs")[0]
    assert stdout.rstrip().splitlines()[-1] == (
        f"otel-sqlite: run {trace_id} in runs.db; "
        f"see it: otel-sqlite summary {trace_id} --db runs.db"
    )
    assert re.fullmatch("[0-9a-f]{32}", trace_id)
