"""One process's first write to a database that may not exist yet, started on a signal.

Usage: first_write.py DB GO_FD WORKER [store|harness]
Imports what it needs, then blocks reading one byte from the inherited file descriptor GO_FD,
so that a parent can release many of these at the same instant; then opens DB and writes one
in-flight run span: through the store (``store``, the default: what ``exec`` and ``run start``
do) or as a harness's first ``with run(...)`` (``harness``: the SDK exporter, whose failure
is its one warning line). Prints one JSON line:
``{"worker": N, "ok": true|false, "error": "...", "seconds": S}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from otel_sqlite.errors import OtelSqliteError
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.store import Store


class Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def through_harness(db: str, go_fd: int, worker: int) -> dict:
    from otel_sqlite import harness

    warnings = Warnings()
    logging.getLogger("otel_sqlite").addHandler(warnings)
    harness.configure(db=db, service_name=f"worker-{worker}")
    os.read(go_fd, 1)
    started = time.monotonic()
    with harness.run(f"run {worker}"):
        seconds = time.monotonic() - started
    return {"ok": not warnings.messages, "error": "; ".join(warnings.messages) or None,
            "seconds": seconds}


def main(db: str, go_fd: int, worker: int, how: str) -> None:
    if how == "harness":
        print(json.dumps({"worker": worker, **through_harness(db, go_fd, worker)}), flush=True)
        return
    record = SpanRecord(
        trace_id=f"{worker + 1:032x}", span_id=f"{worker + 1:016x}", parent_span_id=None,
        name=f"run {worker}", start_ns=time.time_ns(), end_ns=None,
        attributes={"harness.kind": "run"},
    )
    os.read(go_fd, 1)
    started = time.monotonic()
    try:
        store = Store(db)
        store.write([record])
        store.close()
        outcome: dict = {"ok": True, "error": None}
    except OtelSqliteError as exc:
        outcome = {"ok": False, "error": str(exc)}
    outcome.update(worker=worker, seconds=time.monotonic() - started)
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
         sys.argv[4] if len(sys.argv) > 4 else "store")
