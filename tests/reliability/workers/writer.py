"""A host application writing SPANS spans through the SQLite exporter, as fast as it can.

Usage: writer.py DB WORKER SPANS MODE RESULT_JSON
MODE ``batch`` is the default configuration (in-flight processor + BatchSpanProcessor);
``simple`` exports every span in its own transaction (SimpleSpanProcessor), the worst case for
lock contention. Each span carries ``test.worker`` / ``test.seq`` so the test can check that
every span is stored exactly once. The result file holds export outcomes, the longest export
and the longest wait for the write lock (from the store's debug log).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from otel_sqlite import conventions as c
from otel_sqlite.exporter import InFlightSpanProcessor, SQLiteSpanExporter
from otel_sqlite.sdk.provider import batch_processor


class MeasuredExporter(SQLiteSpanExporter):
    """The real exporter, counting its results and timing each export."""

    def __init__(self, db: str) -> None:
        super().__init__(db)
        self.results = {"SUCCESS": 0, "FAILURE": 0}
        self.max_export_s = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        started = time.monotonic()
        result = super().export(spans)
        self.max_export_s = max(self.max_export_s, time.monotonic() - started)
        self.results[result.name] += 1
        return result


class LockWaits(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.max_s = 0.0
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("lock wait"):
            self.count += 1
            self.max_s = max(self.max_s, float(record.args[0]))


def main(db: str, worker: int, spans: int, mode: str, result_path: str) -> None:
    waits = LockWaits()
    store_log = logging.getLogger("otel_sqlite.storage.store")
    store_log.setLevel(logging.DEBUG)
    store_log.addHandler(waits)
    exporter = MeasuredExporter(db)
    provider = TracerProvider(resource=Resource.create({c.SERVICE_NAME: f"writer-{worker}"}))
    provider.add_span_processor(InFlightSpanProcessor(exporter))
    if mode == "simple":
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(batch_processor(exporter))
    tracer = provider.get_tracer("reliability.writer")
    started = time.monotonic()
    with tracer.start_as_current_span(
        f"writer {worker}", attributes={c.HARNESS_KIND: c.KIND_RUN, "test.worker": worker,
                                        "test.seq": 0},
    ):
        for seq in range(1, spans):
            kind = c.KIND_STEP if seq % 20 == 0 else None
            attributes = {"test.worker": worker, "test.seq": seq}
            if kind:
                attributes[c.HARNESS_KIND] = kind
            with tracer.start_as_current_span(f"span {worker}-{seq}", attributes=attributes):
                pass
    provider.shutdown()
    with open(result_path, "w") as out:
        json.dump(
            {
                "worker": worker,
                "mode": mode,
                "results": exporter.results,
                "max_export_s": exporter.max_export_s,
                "max_lock_wait_s": waits.max_s,
                "writes": waits.count,
                "elapsed_s": time.monotonic() - started,
            },
            out,
        )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
