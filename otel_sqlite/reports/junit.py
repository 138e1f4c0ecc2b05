"""A run as a JUnit XML report, the format every CI system reads: xunit2, as pytest writes it.

Valid against Jenkins xUnit's ``junit-10.xsd`` (the schema of pytest's default
``junit_family=xunit2``). One ``testsuite`` per run, one ``testcase`` per case of the outcome
model (``queries.outcomes``: leaf steps, a parent step that went wrong on its own, the run
itself when it has no steps), so the counts are the ones every other reader gives:

- ``failed`` is ``<failure>``; ``error`` and ``incomplete`` (killed) are ``<error>``;
  ``skipped`` and ``xfailed`` are ``<skipped>`` with their reason; ``passed`` and ``xpassed``
  have no child (a strict xfail that passes is ``failed``, as in pytest).
- A retried step is one test case with its earlier attempts as Surefire's rerun elements:
  ``<flakyFailure>`` / ``<flakyError>`` when it passed in the end, ``<rerunFailure>`` /
  ``<rerunError>`` when it did not.
- ``<system-out>`` and ``<system-err>`` appear once each: the captured output of the case's
  span and everything under it, cut to its last ``OUTPUT_MAX_BYTES`` behind a marker line.
- A pytest test's ``classname`` and ``name`` come from its node id exactly as pytest's own
  report mangles them (``pkg/test_a.py::TestX::test_y[1]`` -> ``pkg.test_a.TestX``,
  ``test_y[1]``); other steps use their parents' path (``feature.scenario``) or the run name.
"""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from typing import Any

from otel_sqlite.conventions import (
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
    ROLE_STDERR,
    ROLE_STDOUT,
    TEST_CASE_NAME,
)
from otel_sqlite.queries import common, outcomes
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.steps import PATH_SEPARATOR, Trace, build_steps, load_traces, run_cases

# Each of a test case's system-out and system-err keeps at most this much of the end of its
# output: enough for the error, small enough for CI servers that load whole reports.
OUTPUT_MAX_BYTES = 64 * 1024
CUT_MARKER = "[otel-sqlite: {cut} earlier bytes cut; the whole output: otel-sqlite logs {span}]"

# XML 1.0 cannot carry most control characters, which captured output often holds.
_XML_UNSAFE = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))
_RERUN = {  # (earlier attempt's outcome is an error, the step passed in the end) -> element
    (False, True): "flakyFailure", (True, True): "flakyError",
    (False, False): "rerunFailure", (True, False): "rerunError",
}


def _text(value: str) -> str:
    return value.translate(_XML_UNSAFE)


def _seconds(ms: float | None) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def pytest_names(nodeid: str) -> tuple[str, str]:
    """(classname, name) of a pytest node id, as pytest's junitxml ``mangle_test_address``."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _names(case: dict[str, Any], attributes: dict[str, Any], run_name: str) -> tuple[str, str]:
    nodeid = attributes.get(TEST_CASE_NAME)
    if isinstance(nodeid, str) and ("::" in nodeid or nodeid.endswith(".py")):
        return pytest_names(nodeid)
    parent, _, _ = case["path"].rpartition(PATH_SEPARATOR)
    return parent.replace(PATH_SEPARATOR, ".") or run_name, case["name"]


def _output(paths: list[str], span_id: str) -> str | None:
    """The end of the files at ``paths`` together, at most OUTPUT_MAX_BYTES, marked if cut.
    Only that end is read: captured output can be gigabytes."""
    chunks: list[bytes] = []
    total = 0
    for path in reversed(paths):
        try:
            with open(path, "rb") as f:
                size = f.seek(0, 2)
                total += size
                keep = min(size, OUTPUT_MAX_BYTES - sum(map(len, chunks)))
                f.seek(size - keep)
                chunks.append(f.read(keep))
        except OSError:
            continue
    data = b"".join(reversed(chunks))
    if not data:
        return None
    text = data.decode("utf-8", "replace")
    if total > len(data):
        text = CUT_MARKER.format(cut=total - len(data), span=span_id) + "\n" + text
    return _text(text)


def _problem(
    case: ET.Element, tag: str, attempt: dict[str, Any], exceptions: list[dict[str, Any]],
    exit_code: int | None,
) -> None:
    """A failure or error element: the exception's type and stack trace, unless the attempt
    failed of its command (its message is then the exit, its stderr in system-err)."""
    message = attempt["message"] or ("failed" if tag != "error" else "error")
    exception = exceptions[-1] if exceptions else {}
    type_name = exception.get(EXCEPTION_TYPE) or ""
    if type_name and message.startswith(type_name.rpartition(".")[2]):
        kind, body = type_name, exception.get(EXCEPTION_STACKTRACE) or message
    elif exit_code is not None:
        kind, body = f"exit code {exit_code}", message
    else:
        kind, body = type_name or attempt["outcome"], message
    element = ET.SubElement(case, tag, message=_text(message.splitlines()[0]), type=_text(kind))
    if tag in _RERUN.values():
        ET.SubElement(element, "stackTrace").text = _text(body)
    else:
        element.text = _text(body)


def _testcase(
    db: sqlite3.Connection, suite: ET.Element, trace: Trace, case: dict[str, Any],
) -> None:
    span = trace.by_id[case["span_id"]]
    attempts = case["attempts"] or [case]
    rows = {a["span_id"]: trace.by_id[a["span_id"]]["id"] for a in attempts}
    exceptions = common.exceptions_of(db, list(rows.values()))
    classname, name = _names(case, common.attributes_of(db, span["id"]), trace.root["name"])
    element = ET.SubElement(suite, "testcase", classname=_text(classname), name=_text(name),
                            time=_seconds(case["duration_ms"]))
    passed = case["outcome"] not in outcomes.PROBLEMS
    for attempt in attempts[:-1]:
        if attempt["outcome"] in outcomes.PROBLEMS:
            tag = _RERUN[attempt["outcome"] != outcomes.FAILED, passed]
            _problem(element, tag, attempt, exceptions[rows[attempt["span_id"]]],
                     attempt["exit_code"])
    mine = exceptions[span["id"]]
    if case["outcome"] == outcomes.FAILED:
        _problem(element, "failure", case, mine, case["exit_code"])
    elif case["outcome"] == outcomes.ERROR:
        _problem(element, "error", case, mine, case["exit_code"])
    elif case["outcome"] == outcomes.INCOMPLETE:
        ET.SubElement(element, "error", type="incomplete",
                      message="never finished (in flight, or killed)")
    elif case["outcome"] in outcomes.NOT_RUN:
        reason = case["reason"] or case["outcome"]
        ET.SubElement(element, "skipped", message=_text(reason),
                      type="xfail" if case["outcome"] == outcomes.XFAILED else "skip")
    below = [span, *trace.descendants(span["span_id"])]
    found = common.artifact_rows(db, [s["id"] for s in below])
    files = [artifact for s in below for artifact in found[s["id"]]]
    for role, tag in ((ROLE_STDOUT, "system-out"), (ROLE_STDERR, "system-err")):
        text = _output([a["absolute_path"] for a in files if a["role"] == role], span["span_id"])
        if text is not None:
            ET.SubElement(element, tag).text = text


def junit_xml(db: sqlite3.Connection, run: str) -> str:
    """The JUnit XML document (UTF-8 text) of ``run``."""
    root = resolve_run(db, run)
    trace = load_traces(db, {root["trace_id"]: root["span_id"]})[root["trace_id"]]
    cases = run_cases(trace, build_steps(trace))
    counts = outcomes.tally(cases)
    totals = {
        "tests": counts["total"],
        "failures": counts[outcomes.FAILED],
        "errors": counts[outcomes.ERROR] + counts[outcomes.INCOMPLETE],
    }
    time = _seconds(common.duration_ms(root["start_ns"], root["end_ns"]))
    suites = ET.Element("testsuites", name=_text(root["name"]), time=time,
                        **{key: str(value) for key, value in totals.items()})
    suite = ET.SubElement(
        suites, "testsuite", name=_text(root["name"]), id=root["trace_id"],
        timestamp=(common.iso(root["start_ns"]) or "").removesuffix("Z"), time=time,
        skipped=str(sum(counts[word] for word in outcomes.NOT_RUN)),
        **{key: str(value) for key, value in totals.items()},
    )
    for case in cases:
        _testcase(db, suite, trace, case)
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
