"""Recording a span in flight only once it has run for a while.

The in-flight processor writes every harness span when it starts, so a killed process still
shows what it was doing. For a test suite that is one extra transaction per test, nearly half
of what recording a trivial test costs, spent on tests that end a millisecond later. What a
person needs after a ``kill -9`` or a CI timeout is the test that was hanging, so the pytest
plugin watches its one running test instead and writes it in flight after ``GRACE_SECONDS``.
"""

from __future__ import annotations

import threading
import time

from opentelemetry.sdk.trace import ReadableSpan

from otel_sqlite.sdk.exporter import SQLiteSpanExporter

# Long enough that a typical unit test never pays for a row it does not need, short enough
# that a hung test is on disk long before anyone kills it.
GRACE_SECONDS = 0.2


class InFlightWatch:
    """A daemon thread that writes the watched span in flight once it is overdue."""

    def __init__(self, exporter: SQLiteSpanExporter, grace: float = GRACE_SECONDS) -> None:
        self._exporter = exporter
        self._grace = grace
        self._changed = threading.Condition()
        self._span: ReadableSpan | None = None
        self._due = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="otel-sqlite-watch", daemon=True)
        self._thread.start()

    def watch(self, span: ReadableSpan) -> None:
        """``span`` has just started; write it in flight if it is still watched when due."""
        with self._changed:
            self._span, self._due = span, time.monotonic() + self._grace
            self._changed.notify()

    def unwatch(self) -> None:
        """The watched span is ending: its final export will record it."""
        with self._changed:
            self._span = None

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join()
        self._exporter.shutdown()

    def _run(self) -> None:
        with self._changed:
            while not self._closed:
                if self._span is None:
                    self._changed.wait()
                    continue
                remaining = self._due - time.monotonic()
                if remaining > 0:
                    self._changed.wait(remaining)
                    continue
                span, self._span = self._span, None
                self._changed.release()
                try:
                    # A copy that arrives after the final row is ignored by the store.
                    self._exporter.export_in_flight(span)
                finally:
                    self._changed.acquire()
