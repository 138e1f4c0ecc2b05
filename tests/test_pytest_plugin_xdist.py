"""``pytest --otel-sqlite -n 2``: the workers' tests join the controller's run."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_plugin_support import EXAMPLE_OUTCOMES, copy_example_suite, rows, run_pytest


@pytest.fixture(scope="module")
def distributed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    suite = copy_example_suite(tmp_path_factory.mktemp("xdist") / "pytest-suite")
    done = run_pytest(suite, "--otel-sqlite=runs.db", "-n", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    return suite / "runs.db"


def test_all_tests_of_all_workers_land_in_one_trace(distributed):
    assert rows(distributed, "SELECT count(DISTINCT trace_id) FROM spans") == [(1,)]
    assert rows(distributed, "SELECT count(*) FROM runs") == [(1,)]
    names = {name for (name,) in rows(distributed, "SELECT name FROM steps")}
    assert names == set(EXAMPLE_OUTCOMES)


def test_every_step_is_a_child_of_the_controllers_run(distributed):
    (run_span,) = rows(distributed, "SELECT span_id FROM runs")[0]
    parents = {parent for (parent,) in rows(distributed, "SELECT parent_span_id FROM steps")}
    assert parents == {run_span}


def test_each_step_carries_the_id_of_the_worker_that_ran_it(distributed):
    workers = rows(
        distributed,
        "SELECT DISTINCT a.value FROM steps s JOIN attributes a ON a.span = s.id "
        "AND a.key = 'harness.test.worker' ORDER BY 1",
    )
    unmarked = rows(
        distributed,
        "SELECT count(*) FROM steps s WHERE NOT EXISTS (SELECT 1 FROM attributes a "
        "WHERE a.span = s.id AND a.key = 'harness.test.worker')",
    )
    assert workers == [("gw0",), ("gw1",)]
    assert unmarked == [(0,)]


def test_a_rerun_on_a_worker_is_still_two_attempts(distributed):
    assert rows(
        distributed, "SELECT attempt FROM steps WHERE name = ? ORDER BY attempt",
        "test_flaky.py::test_inventory_sync_eventually_settles",
    ) == [(1,), (2,)]
