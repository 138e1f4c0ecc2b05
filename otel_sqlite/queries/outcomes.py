"""The outcome model: what happened to a step (or a run) in one word, the same for every reader.

``passed``, ``failed``, ``error`` (the harness broke, not the thing under test: a pytest setup
error, a module that cannot be imported), ``skipped`` (with its reason), ``xfailed`` (failed as
expected), ``xpassed`` (passed though expected to fail; a strict xfail that passes is
``failed``), ``incomplete`` (in flight, or killed). A step's attempts are counted beside it.

A span's outcome is read, first that applies, from:

1. its end: a span that never ended is ``incomplete``;
2. ``harness.test.outcome`` (the pytest plugin, the behave formatter, ``harness.skip`` /
   ``step(xfail=)``, ``exec --skip-exit-code``);
3. OTel's test conventions, for spans from any tool: ``test.case.result.status``
   (``pass`` / ``fail``), ``test.suite.run.status`` for a run;
4. its status: ERROR is ``failed``, anything else ``passed`` — so spans recorded before
   outcomes existed read as they always did.

What a run counts (its "cases", the JUnit test cases): its leaf steps, plus a step with steps
inside that went wrong on its own (no step below it did); a run without any step is its own
single case. The run itself is never one of its own steps. A step that says it is a test case
(OTel's ``test.case.name``: a pytest test, a behave scenario) counts as one case whatever it
holds: the steps inside it (Given / When / Then, ``with step()`` in a test) are its parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from otel_sqlite.conventions import (
    HARNESS_TEST_OUTCOME,
    TEST_CASE_RESULT_STATUS,
    TEST_SUITE_RUN_STATUS,
)

PASSED, FAILED, ERROR = "passed", "failed", "error"
SKIPPED, XFAILED, XPASSED, INCOMPLETE = "skipped", "xfailed", "xpassed", "incomplete"
OUTCOMES = (PASSED, FAILED, ERROR, SKIPPED, XFAILED, XPASSED, INCOMPLETE)
# What makes a run red, and what a failures list shows.
FAILING = frozenset({FAILED, ERROR})
# What did not run to a verdict of its own: JUnit's <skipped>.
NOT_RUN = frozenset({SKIPPED, XFAILED})
# What a step above a case cannot hide: counted as its own case when no step below has one.
PROBLEMS = FAILING | {INCOMPLETE}

# harness.test.outcome words other tools write, in this model's words. pytest's
# "interrupted" (a Ctrl-C mid-test) never reached a verdict.
_RECORDED = {**{word: word for word in OUTCOMES}, "interrupted": INCOMPLETE}
# test.case.result.status (OTel semconv: pass | fail) and test.suite.run.status
# (success | failure | skipped | aborted | timed_out | in_progress).
_SEMCONV = {
    "pass": PASSED, "fail": FAILED,
    "success": PASSED, "failure": FAILED, "skipped": SKIPPED, "aborted": ERROR,
    "timed_out": FAILED, "in_progress": INCOMPLETE,
}


def outcome(span: Mapping[str, Any]) -> str:
    """The outcome of a span read with ``common.trace_spans`` (its ``end_ns``,
    ``status_code``, ``recorded_outcome``, ``result_status``)."""
    if span["end_ns"] is None:
        return INCOMPLETE
    recorded = _RECORDED.get(span.get("recorded_outcome") or "")
    if recorded is not None:
        return recorded
    semconv = _SEMCONV.get(span.get("result_status") or "")
    if semconv is not None:
        return semconv
    return FAILED if span["status_code"] == "ERROR" else PASSED


def outcome_of_attributes(
    end_ns: int | None, status_code: str, attributes: Mapping[str, Any]
) -> str:
    """The outcome of a span known by its decoded attributes (``common.attributes_of``)."""
    return outcome({
        "end_ns": end_ns,
        "status_code": status_code,
        "recorded_outcome": attributes.get(HARNESS_TEST_OUTCOME),
        "result_status": attributes.get(TEST_CASE_RESULT_STATUS)
        or attributes.get(TEST_SUITE_RUN_STATUS),
    })


def counted(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps a run counts, in tree order: test cases and leaves, and a step with steps
    inside whose own outcome is a problem none of the steps below it has. ``steps`` as the
    step model builds them (tree order, ``parent_span_id``, ``child_steps``, ``outcome``,
    ``test_case``)."""
    cases = {step["span_id"] for step in steps if step["test_case"]}
    parts: set[str] = set()  # steps inside a test case
    for step in steps:  # parents before their children
        if step["parent_span_id"] in cases or step["parent_span_id"] in parts:
            parts.add(step["span_id"])
    steps = [step for step in steps if step["span_id"] not in parts]
    problem_below: set[str] = set()
    for step in reversed(steps):  # children before their parents
        if step["outcome"] in PROBLEMS or step["span_id"] in problem_below:
            if step["parent_span_id"] is not None:
                problem_below.add(step["parent_span_id"])
    return [
        step for step in steps
        if not step["child_steps"] or step["span_id"] in cases
        or (step["outcome"] in PROBLEMS and step["span_id"] not in problem_below)
    ]


def tally(cases: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """``total`` and one count per outcome (every key present, zero included)."""
    counts = dict.fromkeys(("total", *OUTCOMES), 0)
    for case in cases:
        counts["total"] += 1
        counts[case["outcome"]] += 1
    return counts


# The order pytest's last line uses.
_READ_ORDER = (FAILED, PASSED, SKIPPED, XFAILED, XPASSED, ERROR, INCOMPLETE)


def describe(counts: Mapping[str, int]) -> str:
    """The counts in words, as pytest's last line: ``1 failed, 9 passed, 3 skipped``."""
    words = [f"{counts[word]} {word}" for word in _READ_ORDER if counts[word]]
    return ", ".join(words) or "nothing ran"


def failing(counts: Mapping[str, int]) -> int:
    """How many cases made the run red: what "N failed" says everywhere."""
    return sum(counts[word] for word in FAILING)
