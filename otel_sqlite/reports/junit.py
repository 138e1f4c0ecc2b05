"""A run as a JUnit XML report, the format every CI system reads.

One ``testsuite`` per run, one ``testcase`` per leaf step (a step with no steps inside: the
feature and scenario levels become the ``classname``), plus one per failure outside every
step (a failed command or run), so a red run is never a green report. A failed step carries
``<failure>`` with its message and the stderr tail also in ``<system-err>``; an unfinished
step is an ``<error>``; a retried step lists its attempts in ``<system-out>``.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from typing import Any

from otel_sqlite.queries import common
from otel_sqlite.queries.failures import trace_failures
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.steps import PATH_SEPARATOR, build_steps, load_traces

# XML 1.0 cannot carry most control characters, which captured output often holds.
_XML_UNSAFE = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def _text(value: str) -> str:
    return value.translate(_XML_UNSAFE)


def _seconds(ms: float | None) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def _failure_text(failure: dict[str, Any]) -> str:
    lines = [failure["message"]] if failure["message"] else []
    if failure["exit_code"] is not None:
        lines.append(f"exit code {failure['exit_code']}")
    lines.extend(failure["stderr_tail"])
    return _text("\n".join(lines))


def _testcase(
    suite: ET.Element, classname: str, name: str, duration_ms: float | None
) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", classname=_text(classname), name=_text(name),
        time=_seconds(duration_ms),
    )


def _fail(case: ET.Element, failure: dict[str, Any]) -> None:
    message = failure["message"].splitlines()[0] if failure["message"] else "failed"
    element = ET.SubElement(case, "failure", message=_text(message),
                            type=f"exit code {failure['exit_code']}"
                            if failure["exit_code"] is not None else "error")
    element.text = _failure_text(failure)
    if failure["stderr_tail"]:
        ET.SubElement(case, "system-err").text = _text("\n".join(failure["stderr_tail"]))


def junit_xml(db: sqlite3.Connection, run: str) -> str:
    """The JUnit XML document (UTF-8 text) of ``run``."""
    root = resolve_run(db, run)
    trace = load_traces(db, {root["trace_id"]: root["span_id"]})[root["trace_id"]]
    steps = build_steps(trace)
    failures = trace_failures(db, trace, steps)
    by_span = {failure["span_id"]: failure for failure in failures}
    suites = ET.Element("testsuites", name=_text(root["name"]))
    suite = ET.SubElement(
        suites, "testsuite", name=_text(root["name"]), id=root["trace_id"],
        timestamp=(common.iso(root["start_ns"]) or "").removesuffix("Z"),
        time=_seconds(common.duration_ms(root["start_ns"], root["end_ns"])),
    )
    counts = {"tests": 0, "failures": 0, "errors": 0}
    for step in steps:
        if step["child_steps"]:
            continue
        parent, _, _ = step["path"].rpartition(PATH_SEPARATOR)
        case = _testcase(suite, parent.replace(PATH_SEPARATOR, ".") or root["name"],
                         step["name"], step["duration_ms"])
        counts["tests"] += 1
        if step["status"] == common.STATUS_ERROR:
            counts["failures"] += 1
            _fail(case, by_span.get(step["span_id"]) or {
                "message": step["message"], "exit_code": step["exit_code"], "stderr_tail": []})
        elif step["status"] == common.STATUS_INCOMPLETE:
            counts["errors"] += 1
            ET.SubElement(case, "error", message="the step never finished (killed?)")
        if step["retried"]:
            ET.SubElement(case, "system-out").text = _text("\n".join(
                f"attempt {a['attempt']}: {a['status']} in {a['duration_ms']} ms"
                + (f" ({a['message']})" if a["message"] else "")
                for a in step["attempts"]
            ))
    for failure in failures:
        if failure["kind"] != "step":
            case = _testcase(suite, root["name"], failure["name"], None)
            counts["tests"] += 1
            counts["failures"] += 1
            _fail(case, failure)
    for key, value in counts.items():
        suite.set(key, str(value))
        suites.set(key, str(value))
    suite.set("skipped", "0")
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
