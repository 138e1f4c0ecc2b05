"""Stored spans to an OTLP/HTTP endpoint (Jaeger, a Collector, another ``serve``), ids unchanged.

Spans go as gzip'd OTLP/protobuf in batches, in ``spans.id`` order. After each accepted batch
the last id is saved in a small JSON state file beside the database, keyed by endpoint and
selection, so an interrupted push continues where it stopped and a repeated push sends
nothing twice. A file rather than a table: pushing only reads the database, so it works on a
read-only or archived copy and never takes a writer's lock; deleting the file starts over.

Spans still in flight (no end time) are not sent: a backend would show them with a bogus
duration. Their count is reported; a span that finishes after a push passed it is not sent
by later pushes either (use ``from_start``).
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from google.rpc import status_pb2

from otel_sqlite import __version__
from otel_sqlite.conventions import (
    ENV_OTLP_ENDPOINT,
    ENV_OTLP_HEADERS,
    ENV_OTLP_TRACES_ENDPOINT,
    ENV_OTLP_TRACES_HEADERS,
)
from otel_sqlite.errors import OtlpError, PushError
from otel_sqlite.otlp import codec
from otel_sqlite.queries.records import ALL_SPANS, Selection, count_records, iter_records
from otel_sqlite.storage.schema import connect_readonly

DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"  # the OTLP spec's default
DEFAULT_BATCH = 512
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
MAX_ATTEMPTS = 6
INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
# A Retry-After longer than this is cut to it: a push should not sleep for an hour unasked.
MAX_RETRY_AFTER_S = 120.0


def default_endpoint(env: Mapping[str, str] = os.environ) -> str:
    """The traces endpoint the OTel SDK would use: the signal variable as is, else the base
    variable plus ``/v1/traces``, else the spec's default."""
    if traces := env.get(ENV_OTLP_TRACES_ENDPOINT):
        return traces
    if base := env.get(ENV_OTLP_ENDPOINT):
        return base.rstrip("/") + "/v1/traces"
    return DEFAULT_ENDPOINT


def env_headers(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Headers from ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`` (``k=v,k2=v2``, URL-encoded)."""
    raw = env.get(ENV_OTLP_TRACES_HEADERS) or env.get(ENV_OTLP_HEADERS) or ""
    headers = {}
    for pair in raw.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            headers[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(value.strip())
    return headers


def state_path(db_path: str | os.PathLike[str]) -> Path:
    """``traces.db`` -> ``traces-push.json``, beside the database like its artifacts."""
    path = Path(db_path)
    return path.with_name(path.stem + "-push.json")


class Sender:
    """POSTs requests to one endpoint, retrying what the OTLP spec calls retryable."""

    def __init__(
        self, endpoint: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0,
        max_attempts: int = MAX_ATTEMPTS, initial_backoff: float = INITIAL_BACKOFF_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if urllib.parse.urlsplit(endpoint).scheme not in ("http", "https"):
            raise PushError(f"endpoint {endpoint!r} is not an http:// or https:// URL")
        self.endpoint = endpoint
        self.headers = {
            **(headers or {}), "Content-Type": codec.MEDIA_PROTOBUF, "Content-Encoding": "gzip",
            "User-Agent": f"otel-sqlite/{__version__}",
        }
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.initial_backoff = initial_backoff
        self.sleep = sleep
        self.retries = 0

    def send(self, request: codec.ExportTraceServiceRequest) -> codec.ExportTraceServiceResponse:
        body = gzip.compress(request.SerializeToString(), compresslevel=5)
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                http_request = urllib.request.Request(
                    self.endpoint, data=body, headers=self.headers, method="POST"
                )
                with urllib.request.urlopen(http_request, timeout=self.timeout) as answer:
                    return codec.decode_message(
                        codec.ExportTraceServiceResponse(), answer.read(),
                        answer.headers.get("Content-Type") or "",
                    )
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRYABLE_STATUS or last:
                    raise PushError(
                        f"{self.endpoint} answered {exc.code} {exc.reason}: {_status_text(exc)}"
                    ) from None
                delay = _retry_after(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if last:
                    reason = getattr(exc, "reason", exc)
                    raise PushError(
                        f"cannot reach {self.endpoint} after {attempt} attempts: {reason}"
                    ) from None
                delay = None
            except OtlpError as exc:
                raise PushError(f"{self.endpoint} gave an answer that is not OTLP: {exc}") from None
            if delay is None:
                backoff = min(MAX_BACKOFF_S, self.initial_backoff * 2 ** (attempt - 1))
                delay = backoff * random.uniform(0.5, 1.0)
            self.retries += 1
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(header: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not header:
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(header)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, when - time.time()))


def _status_text(exc: urllib.error.HTTPError) -> str:
    """The message of the ``google.rpc.Status`` an OTLP server sends with an error."""
    body = exc.read()
    try:
        status = codec.decode_message(
            status_pb2.Status(), body, exc.headers.get("Content-Type") or ""
        )
    except OtlpError:
        return body[:200].decode("utf-8", "replace") or "(no message)"
    return status.message or "(no message)"


@dataclass
class PushResult:
    spans: int = 0
    batches: int = 0
    rejected: int = 0
    retries: int = 0
    # Spans the cursor says earlier pushes sent already.
    already_pushed: int = 0
    # Spans still in flight, not sent.
    unfinished: int = 0
    total: int = 0
    cursor_error: str | None = None


class _Cursor:
    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key

    def _load(self) -> dict[str, int]:
        try:
            state = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def get(self) -> int:
        value = self._load().get(self.key, 0)
        return value if isinstance(value, int) else 0

    def set(self, after_id: int) -> None:
        state = self._load()
        state[self.key] = after_id
        temporary = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(temporary, self.path)


def cursor_key(endpoint: str, selection: Selection) -> str:
    """One cursor per endpoint and selection: pushing other runs there starts its own."""
    parts = [endpoint]
    if selection.trace_ids is not None:
        parts.append("traces=" + ",".join(sorted(selection.trace_ids)))
    if selection.since_ns is not None:
        parts.append(f"since={selection.since_ns}")
    return " ".join(parts)


def push(
    db_path: str | os.PathLike[str], sender: Sender, selection: Selection = ALL_SPANS,
    batch: int = DEFAULT_BATCH, from_start: bool = False,
    on_start: Callable[[PushResult], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> PushResult:
    """Send the selected finished spans not yet pushed to ``sender``'s endpoint.

    ``on_start`` sees the counts before the first batch (for a progress bar), ``on_batch``
    the size of each accepted batch. Raises PushError when the endpoint refuses a batch or
    stays unreachable; the cursor then holds every batch accepted before it.
    """
    db = connect_readonly(db_path)
    try:
        cursor = _Cursor(state_path(db_path), cursor_key(sender.endpoint, selection))
        after = 0 if from_start else cursor.get()
        finished = replace(selection, finished_only=True)
        result = PushResult(
            total=count_records(db, finished, after),
            already_pushed=count_records(db, finished) - count_records(db, finished, after),
            unfinished=count_records(db, selection, after) - count_records(db, finished, after),
        )
        if on_start:
            on_start(result)
        for rows in iter_records(db, finished, after, batch):
            answer = sender.send(codec.records_to_request(record for _, record in rows))
            result.rejected += answer.partial_success.rejected_spans
            result.spans += len(rows)
            result.batches += 1
            result.retries = sender.retries
            if result.cursor_error is None:
                try:
                    cursor.set(rows[-1][0])
                except OSError as exc:
                    result.cursor_error = f"cannot save the push cursor in {cursor.path}: {exc}"
            if on_batch:
                on_batch(len(rows))
        return result
    finally:
        db.close()
