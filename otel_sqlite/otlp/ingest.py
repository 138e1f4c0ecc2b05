"""What both OTLP receivers (HTTP and gRPC) do with one export request, whatever carried it.

Bound it (once decompressed, and the bytes of all requests under way together; each
transport bounds what it reads as sent), decode it, queue its spans for the one writer
(``write_queue``) and say how that went as an ``Outcome`` that each transport maps to its own
status: the HTTP receiver to 200/400/413/429/503, the gRPC one to OK/INVALID_ARGUMENT/
RESOURCE_EXHAUSTED/UNAVAILABLE. Keeping this one function means a span is accepted, refused
or retried for the same reason on either port.

When a success is answered is ``Ack``'s: once the request is decoded and queued (the default,
as the Collector does), or once its transaction has committed.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from otel_sqlite.errors import OtlpError
from otel_sqlite.otlp import codec
from otel_sqlite.otlp.write_queue import Refused, Ticket, WriteQueue
from otel_sqlite.storage.store import Store

logger = logging.getLogger(__name__)

# Limits on one request: its body as sent, and once decompressed (a zip bomb stops here).
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
# The decompressed bytes of every request being decoded or queued for the store, together:
# past this, a request is turned away to retry later instead of queueing in memory. It also
# bounds what a killed receiver can lose of what it acknowledged (``Ack.QUEUED``).
MAX_PENDING_BYTES = 4 * MAX_DECOMPRESSED_BYTES
# What a refused-for-now request is told to wait before retrying.
RETRY_AFTER_S = 1
ENCODINGS = ("", "identity", "gzip", "deflate")


@dataclass(frozen=True)
class Limits:
    body_bytes: int = MAX_BODY_BYTES
    decompressed_bytes: int = MAX_DECOMPRESSED_BYTES
    pending_bytes: int = MAX_PENDING_BYTES


DEFAULT_LIMITS = Limits()


class Ack(enum.Enum):
    """When a request is answered with success."""

    QUEUED = "queued"  # decoded and queued for the writer: stored unless the process dies
    COMMITTED = "committed"  # its transaction has committed: stored even if the process dies


class Verdict(enum.Enum):
    STORED = "stored"  # every valid span queued or committed (per Ack); the rest rejected
    MALFORMED = "malformed"  # the body does not decode: never retry it
    TOO_LARGE = "too large"  # over a limit: never retry it as is
    BUSY = "busy"  # too much under way in this receiver: retry after a pause
    UNAVAILABLE = "unavailable"  # the database cannot take the write now: retry after a pause


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    message: str = ""
    rejected: tuple[str, ...] = ()

    @property
    def retryable(self) -> bool:
        return self.verdict in (Verdict.BUSY, Verdict.UNAVAILABLE)

    def response(self) -> ExportTraceServiceResponse:
        return codec.response(list(self.rejected))


class TooLarge(Exception):
    pass


class Stats:
    """What a receiver has taken in so far, for its closing summary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = self.spans = self.rejected = 0
        self.refused: Counter[Verdict] = Counter()  # requests not stored, by why
        self.lost = 0  # spans acknowledged and then not stored
        # Time spent decoding and storing: spans / busy_seconds is what the receiver can take.
        self.busy_seconds = 0.0

    @property
    def failed_requests(self) -> int:
        return sum(self.refused.values())

    def accepted(self, rejected: int, seconds: float) -> None:
        with self._lock:
            self.requests += 1
            self.rejected += rejected
            self.busy_seconds += seconds

    def stored(self, spans: int, seconds: float) -> None:
        with self._lock:
            self.spans += spans
            self.busy_seconds += seconds

    def lose(self, spans: int) -> None:
        with self._lock:
            self.lost += spans

    def refuse(self, verdict: Verdict) -> None:
        with self._lock:
            self.requests += 1
            self.refused[verdict] += 1

    def summary(self) -> str:
        refused = ", ".join(f"{count} {verdict.value}" for verdict, count in self.refused.items())
        return (
            f"{self.spans} spans stored from {self.requests} requests"
            + (f" ({self.spans / self.busy_seconds:,.0f} spans/s while busy)"
               if self.busy_seconds else "")
            + (f"; {self.rejected} spans rejected" if self.rejected else "")
            + (f"; {self.failed_requests} requests refused ({refused})" if refused else "")
            + (f"; {self.lost} acknowledged spans LOST: the database refused them"
               if self.lost else "")
        )


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decoded per Content-Encoding, inflated in bounded steps: never past ``limit``.

    A gzip body may hold several members (RFC 1952): all of them are the body. ``deflate`` is
    the zlib format, as HTTP defines it. Raises TooLarge, or OtlpError for a broken stream.
    """
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise TooLarge
        return body
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    out = bytearray()
    data = body
    try:
        while True:
            inflater = zlib.decompressobj(wbits)
            while data:
                out += inflater.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise TooLarge
                data = inflater.unconsumed_tail
            if not inflater.eof:
                raise OtlpError(f"truncated {encoding} body")
            data = inflater.unused_data
            if not data or encoding != "gzip":
                break
    except zlib.error as exc:
        raise OtlpError(f"malformed {encoding} body: {exc}") from None
    if data:
        raise OtlpError(f"{len(data)} bytes after the end of the {encoding} stream")
    return bytes(out)


class Ingest:
    """Decode-and-store for one database, shared by every transport of one ``serve``."""

    def __init__(self, store: Store, limits: Limits = DEFAULT_LIMITS,
                 ack: Ack = Ack.QUEUED) -> None:
        self.store = store
        self.limits = limits
        self.ack = ack
        self.stats = Stats()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._writes = WriteQueue(store, self._written)

    def export(self, body: bytes, is_json: bool = False, encoding: str = "") -> Outcome:
        """One export request's body, as sent (``encoding`` names its compression)."""
        try:
            payload = decompress(body, encoding, self.limits.decompressed_bytes)
        except TooLarge:
            return self._failed(Verdict.TOO_LARGE, "request body decompresses to more than "
                                f"{self.limits.decompressed_bytes} bytes")
        except OtlpError as exc:
            return self._failed(Verdict.MALFORMED, str(exc))
        if not self._reserve(len(payload)):
            return self._failed(Verdict.BUSY, "too many spans waiting to be stored; "
                                f"retry in {RETRY_AFTER_S} s")
        return self._queue(payload, is_json)

    def close(self) -> None:
        """Store everything queued (``write_queue`` says what happens if it cannot be)."""
        self._writes.close()

    def _queue(self, payload: bytes, is_json: bool) -> Outcome:
        """Decode and queue; wait for the commit if so asked. The bytes reserved for the
        request stay reserved while it is queued: the ticket holds them until it is done."""
        started = time.perf_counter()
        try:
            request = codec.parse_json(payload) if is_json else codec.parse_protobuf(payload)
            rejected: list[str] = []
            records = codec.request_to_records(request, rejected)
        except OtlpError as exc:
            self._release(len(payload))
            return self._failed(Verdict.MALFORMED, str(exc))
        wait = self.ack is Ack.COMMITTED
        try:
            ticket = self._writes.submit(records, wait, len(payload))
        except Refused as exc:
            self._release(len(payload))
            logger.warning("otel-sqlite serve: could not store %d span(s): %s", len(records), exc)
            return self._failed(Verdict.UNAVAILABLE, str(exc))
        decoding = time.perf_counter() - started
        if wait:
            ticket.done.wait()
            if ticket.error is not None:
                logger.warning("otel-sqlite serve: could not store %d span(s): %s",
                               len(records), ticket.error)
                return self._failed(Verdict.UNAVAILABLE, ticket.error)
        self.stats.accepted(len(rejected), decoding)
        return Outcome(Verdict.STORED, rejected=tuple(rejected))

    def _written(self, ticket: Ticket, seconds: float) -> None:
        """The writer is done with ``ticket``: stored, or given up."""
        if ticket.error is None:
            self.stats.stored(len(ticket.records), seconds)
        elif not ticket.wait:
            self.stats.lose(len(ticket.records))
        self._release(ticket.size)

    def _reserve(self, size: int) -> bool:
        """Reserve ``size`` bytes of the pending budget; a lone request always fits."""
        with self._pending_lock:
            admitted = not self._pending or self._pending + size <= self.limits.pending_bytes
            if admitted:
                self._pending += size
            return admitted

    def _release(self, size: int) -> None:
        with self._pending_lock:
            self._pending -= size

    def _failed(self, verdict: Verdict, message: str) -> Outcome:
        self.stats.refuse(verdict)
        return Outcome(verdict, message)
