"""Writes the example database the read-side tests and docs use, through the real harness API.

Run as a script (the harness is configured once per process): ``python tests/scenarios.py DB``.
It records, in order:

1. ``nightly`` (failing): setup warns on stderr, compile passes, test fails with exit code 3,
   flaky fails on attempt 1 and passes on attempt 2;
2. ``nightly`` (failing, the next night): setup is slower, compile fails, test is fixed, flaky
   passes at once, lint is new;
3. ``agent-session``: api_calls over two models (claude-sonnet-4 twice, gpt-4o once);
4. ``GET /orders``: a plain app's trace with no ``harness.*`` attributes, written by
   ``SQLiteSpanExporter`` under an SDK ``TracerProvider``.
"""

from __future__ import annotations

import subprocess
import sys
import time

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_sqlite import harness
from otel_sqlite.conventions import HARNESS_TASK_ID
from otel_sqlite.exporter import SQLiteSpanExporter

SH = "/bin/sh"


def _failing_step(name: str, script: str, **kwargs: object) -> bool:
    """Run ``script`` as the step's command; a failure marks the step, not the whole run."""
    try:
        with harness.step(name, **kwargs):
            harness.command([SH, "-c", script], check=True)
    except subprocess.CalledProcessError:
        return False
    return True


def nightly(first: bool) -> None:
    with harness.run("nightly", suite="smoke") as run:
        ok = True
        with harness.step("setup", number=1):
            time.sleep(0.0 if first else 0.3)
            harness.command([SH, "-c", "echo preparing; echo 'warning: disk almost full' >&2"])
        ok &= _failing_step("compile", "echo compiled" if first else
                            "echo 'error: missing semicolon' >&2; exit 2", number=2)
        ok &= _failing_step("test", "echo 'assertion failed: 2 != 3' >&2; exit 3" if first
                            else "echo 'all 12 tests passed'", number=3)
        attempts = (1, 2) if first else (1,)
        for attempt in attempts:
            last = attempt == attempts[-1]
            passed = _failing_step("flaky", "echo passed" if last else
                                   "echo 'timeout talking to db' >&2; exit 1",
                                   number=4, attempt=attempt)
            ok &= passed or not last
        if not first:
            with harness.step("lint", number=5):
                harness.command([SH, "-c", "echo lint clean"])
        if not ok:
            run.set_status(Status(StatusCode.ERROR, "some steps failed"))


def agent_session() -> None:
    with harness.run("agent-session", **{HARNESS_TASK_ID: "gh-450"}):
        with harness.step("plan"):
            with harness.api_call("claude-sonnet-4", provider="anthropic", input_tokens=1200,
                                  output_tokens=300, cost_usd=0.0081):
                pass
            with harness.api_call("claude-sonnet-4", provider="anthropic") as call:
                call.set_usage(input_tokens=800, output_tokens=200, cost_usd=0.0054)
        with harness.step("code"):
            with harness.api_call("gpt-4o", provider="openai", input_tokens=2000,
                                  output_tokens=500, cost_usd=0.01):
                harness.event("decision", choice="refactor")


def plain_app(db: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "orders-api"}))
    provider.add_span_processor(SimpleSpanProcessor(SQLiteSpanExporter(db)))
    tracer = provider.get_tracer("orders")
    with tracer.start_as_current_span("GET /orders", kind=SpanKind.SERVER) as span:
        span.set_attribute("http.request.method", "GET")
        with tracer.start_as_current_span("SELECT orders"):
            time.sleep(0.005)
        with tracer.start_as_current_span("render"):
            pass
    provider.shutdown()


def main(db: str) -> None:
    harness.configure(db, service_name="ci")
    nightly(first=True)
    nightly(first=False)
    agent_session()
    harness.configure().force_flush()
    plain_app(db)


if __name__ == "__main__":
    main(sys.argv[1])
