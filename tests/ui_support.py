"""Helpers of the UI tests: building the example database, a live server, HTTP requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from otel_sqlite.conventions import HARNESS_KIND, KIND_RUN
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.store import Store
from otel_sqlite.ui.server import UIServer

TESTS = Path(__file__).parent


def build_example(db: Path) -> Path:
    """The read side's example runs plus the UI's (hostile, exception, killed mid-run)."""
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "sqlite"}
    for script in ("scenarios.py", "ui_scenarios.py"):
        subprocess.run([sys.executable, str(TESTS / script), str(db)], env=env,
                       capture_output=True, check=script == "scenarios.py", timeout=60)
    return db


@contextmanager
def running(db: Path) -> Iterator[UIServer]:
    server = UIServer(db, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def request(url: str, headers: dict[str, str] | None = None,
            method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body, for error statuses too."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(server: UIServer, path: str) -> tuple[int, Any]:
    status, _, body = request(server.url.rstrip("/") + path)
    return status, json.loads(body)


def write_run(db: Path, name: str, trace_id: str, status_code: str = "OK",
              finished: bool = True) -> None:
    """One run root written through the store, the way every writer does."""
    start = time.time_ns()
    record = SpanRecord(
        trace_id=trace_id, span_id=trace_id[:16], name=name, start_ns=start,
        end_ns=start + 5_000_000 if finished else None, status_code=status_code,
        attributes={HARNESS_KIND: KIND_RUN},
    )
    store = Store(db)
    try:
        store.write([record])
    finally:
        store.close()
