"""The step model: what a person means by "the steps of a run", from any trace.

- The steps of a run are the spans with ``harness.kind = step`` in its trace, the root never
  among them (a run is not its own step); a trace that has none (any instrumented app, a run
  with only commands) uses the root's direct children instead.
- Steps nest (feature -> scenario -> step): ``depth`` counts step ancestors, ``path`` joins
  their names with `` / `` and is how a step is recognised across runs (diff, flaky, timings).
- Retries: sibling steps of the same name with ``harness.step.attempt`` set are ONE step; the
  last attempt decides its status and duration, and every attempt is listed in ``attempts``.
  Steps nested in an earlier attempt are left out (the last attempt's children are shown).
- Each step has an ``outcome`` (``queries.outcomes``); what a run counts are its ``cases``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.conventions import KIND_STEP
from otel_sqlite.queries import common, outcomes
from otel_sqlite.queries.resolve import resolve_run

PATH_SEPARATOR = " / "


class Trace:
    """The spans of one trace indexed for walking: by id, children by parent, the root."""

    def __init__(self, spans: list[dict[str, Any]], root_span_id: str) -> None:
        self.spans = spans
        self.by_id = {span["span_id"]: span for span in spans}
        self.root = self.by_id[root_span_id]
        self.children: dict[str | None, list[dict[str, Any]]] = {}
        for span in spans:
            self.children.setdefault(span["parent_span_id"], []).append(span)

    def descendants(self, span_id: str) -> list[dict[str, Any]]:
        """Every span below ``span_id``, without recursion (traces can nest 1000 deep)."""
        found: list[dict[str, Any]] = []
        pending = [span_id]
        while pending:
            for child in self.children.get(pending.pop(), ()):
                found.append(child)
                pending.append(child["span_id"])
        return found


    def ancestors(self, span_id: str) -> list[str]:
        """Ids above ``span_id`` up to the root, nearest first (stops on a corrupt loop)."""
        found: list[str] = []
        parent = self.by_id[span_id]["parent_span_id"]
        while parent in self.by_id and len(found) < len(self.spans):
            found.append(parent)
            parent = self.by_id[parent]["parent_span_id"]
        return found


def load_traces(db: sqlite3.Connection, roots: dict[str, str]) -> dict[str, Trace]:
    """``{trace_id: Trace}`` for ``{trace_id: root span id}``, in one query."""
    spans = common.trace_spans(db, list(roots))
    return {trace_id: Trace(spans[trace_id], root) for trace_id, root in roots.items()}


def _step_parent(trace: Trace, span: dict[str, Any], is_step: set[str]) -> str | None:
    return next((a for a in trace.ancestors(span["span_id"]) if a in is_step), None)


def _view(span: dict[str, Any]) -> dict[str, Any]:
    return {
        "span_id": span["span_id"],
        "attempt": span["attempt"],
        "status": common.status(span["status_code"], span["end_ns"]),
        "outcome": outcomes.outcome(span),
        "reason": span["reason"],
        "start": common.iso(span["start_ns"]),
        "duration_ms": common.duration_ms(span["start_ns"], span["end_ns"]),
        "message": span["status_message"],
    }


def build_steps(trace: Trace) -> list[dict[str, Any]]:
    """The steps of ``trace`` in tree order (parents before children, siblings by start)."""
    candidates = [
        s for s in trace.spans if s["harness_kind"] == KIND_STEP and s is not trace.root
    ]
    if not candidates:
        candidates = [
            s for s in trace.children.get(trace.root["span_id"], ())
            if s is not trace.root and not s["model_call"]
        ]
    is_step = {s["span_id"] for s in candidates}
    under: dict[str | None, list[dict[str, Any]]] = {}
    for span in candidates:
        under.setdefault(_step_parent(trace, span, is_step), []).append(span)

    ordered: list[dict[str, Any]] = []
    stack = [(0, "", None, group) for group in reversed(_group_retries(under.get(None, [])))]
    while stack:
        depth, prefix, parent_step, attempts = stack.pop()
        deciding = attempts[-1]
        path = prefix + deciding["name"]
        below = _group_retries(under.get(deciding["span_id"], []))
        ordered.append(_step(trace, depth, path, parent_step, attempts, len(below)))
        stack.extend(
            (depth + 1, path + PATH_SEPARATOR, deciding["span_id"], group)
            for group in reversed(below)
        )
    return ordered


def _group_retries(spans: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Siblings as groups of attempts, in start order; a group of one is a plain step."""
    groups: list[list[dict[str, Any]]] = []
    retried: dict[str, list[dict[str, Any]]] = {}
    for span in sorted(spans, key=lambda s: (s["start_ns"], s["id"])):
        if span["attempt"] is None:
            groups.append([span])
            continue
        if span["name"] not in retried:
            retried[span["name"]] = []
            groups.append(retried[span["name"]])
        retried[span["name"]].append(span)
    for attempts in retried.values():
        attempts.sort(key=lambda s: (s["attempt"], s["start_ns"]))
    return groups


def _step(
    trace: Trace, depth: int, path: str, parent_step: str | None,
    attempts: list[dict[str, Any]], child_steps: int,
) -> dict[str, Any]:
    deciding = attempts[-1]
    step = _view(deciding)
    step.update(
        name=deciding["name"],
        path=path,
        depth=depth,
        parent_span_id=parent_step,
        number=deciding["number"],
        exit_code=_exit_code(trace, deciding),
        retried=len(attempts) > 1,
        attempts=[
            {**_view(a), "exit_code": _exit_code(trace, a)} for a in attempts
        ] if deciding["attempt"] is not None else [],
        attempt_count=len(attempts),
        child_steps=child_steps,
        test_case=bool(deciding["test_case"]),
    )
    return step


def run_cases(trace: Trace, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the run counts (``outcomes.counted``), or, for a run with no step at all, the
    run itself as its one case, shaped like a step."""
    if steps:
        return outcomes.counted(steps)
    return [_step(trace, 0, trace.root["name"], None, [trace.root], 0)]


def _exit_code(trace: Trace, span: dict[str, Any]) -> int | None:
    """The step's own exit code, else that of its last failing (else last) command."""
    if span["exit_code"] is not None:
        return span["exit_code"]
    codes = [s for s in trace.descendants(span["span_id"]) if s["exit_code"] is not None]
    failing = [s for s in codes if s["exit_code"] != 0]
    chosen = (failing or codes)
    return max(chosen, key=lambda s: s["start_ns"])["exit_code"] if chosen else None


def run_steps(db: sqlite3.Connection, run: str) -> list[dict[str, Any]]:
    """The steps of ``run`` (any run reference: ``latest``, ``latest~N``, a trace-id prefix).

    Each: ``span_id``, ``name``, ``path``, ``depth``, ``parent_span_id`` (the enclosing step),
    ``number``, ``attempt``, ``status``, ``outcome``, ``reason``, ``message``, ``start``,
    ``duration_ms``, ``exit_code``, ``retried``, ``attempts`` (each ``span_id``, ``attempt``,
    ``status``, ``outcome``, ``reason``, ``start``, ``duration_ms``, ``message``,
    ``exit_code``),
    ``attempt_count`` and ``child_steps``.
    """
    root = resolve_run(db, run)
    trace = load_traces(db, {root["trace_id"]: root["span_id"]})[root["trace_id"]]
    return build_steps(trace)
