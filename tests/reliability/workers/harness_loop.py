"""A harness that records continuously until it is killed (or, given STEPS, finishes).

Usage: harness_loop.py DB LOG READY_FILE [STEPS]
run -> an outer step "suite" -> numbered steps, each running a command and a plain span.
Every export that returned SUCCESS is appended to LOG (``inflight|final span_id``) and
fsync'd before the exporter returns, so the test knows what the database must hold however
abruptly this process dies. READY_FILE receives the run's trace id once the first step is done.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult

from otel_sqlite import harness
from otel_sqlite.exporter import InFlightSpanProcessor, SQLiteSpanExporter
from otel_sqlite.sdk.provider import batch_processor


class LoggedExporter(SQLiteSpanExporter):
    def __init__(self, db: str, log: str) -> None:
        super().__init__(db)
        self._log = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = super().export(spans)
        if result is SpanExportResult.SUCCESS:
            lines = "".join(
                f"{'final' if s.end_time else 'inflight'} {s.context.span_id:016x}\n"
                for s in spans
            )
            os.write(self._log, lines.encode())
            os.fsync(self._log)
        return result


def main(db: str, log: str, ready: str, steps: int | None) -> None:
    exporter = LoggedExporter(db, log)
    provider = TracerProvider()
    provider.add_span_processor(InFlightSpanProcessor(exporter))
    provider.add_span_processor(batch_processor(exporter))
    trace.set_tracer_provider(provider)
    harness.configure(db=db)  # adopts the provider above, and puts artifacts beside db
    tracer = provider.get_tracer("reliability.harness_loop")
    with harness.run("crash test") as run, harness.step("suite"):
        for number in itertools.count(1) if steps is None else range(1, steps + 1):
            with harness.step(f"step {number}", number=number):
                harness.command(["echo", f"output of step {number}"])
                with tracer.start_as_current_span("work"):
                    pass
            if number == 1:
                Path(ready).write_text(f"{run.get_span_context().trace_id:032x}")
    provider.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
