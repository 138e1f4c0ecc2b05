"""An OTLP/HTTP trace receiver (``POST /v1/traces``) that stores spans through ``Store.write``.

Any language's OTel SDK can then write into the same database as our own exporter. The
request logic (``ingest``) is a function of body and headers, independent of the HTTP server;
``OtlpHandler`` adds the routes and ``OtlpServer`` the threads, limits and a clean stop.
Another handler (a UI's pages) can subclass ``OtlpHandler`` and add its own GET routes.

Status codes follow the OTLP/HTTP spec: 200 with an ``ExportTraceServiceResponse`` (with
``partial_success`` when some spans were rejected), 400 for a body that does not decode, 413
above the size limits (compressed and decompressed), 415 for other media types or encodings,
405 for other methods on ``/v1/traces``, 404 for other paths, 503 (retryable) when the
database cannot take the write. Error bodies are a ``google.rpc.Status``.
Not supported: chunked request bodies (411; OTLP exporters send a Content-Length), TLS,
and the metrics and logs signals (404).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from google.protobuf.message import Message

from otel_sqlite.errors import DatabaseError, OtlpError
from otel_sqlite.otlp import codec
from otel_sqlite.storage.store import Store

logger = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
# Limits on one request: its body as sent, and once decompressed (a zip bomb stops here).
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
# An oversized body up to this size is read and discarded, so the client sees the 413
# instead of a reset connection; a larger one closes the connection at once.
MAX_DRAIN_BYTES = 64 * 1024 * 1024
# An idle keep-alive connection is closed after this long.
IDLE_TIMEOUT_S = 30
RETRY_AFTER_S = 2
_CHUNK = 64 * 1024
_PROTOBUF_TYPES = (codec.MEDIA_PROTOBUF, "application/protobuf")
_ENCODINGS = ("", "identity", "gzip", "deflate")


@dataclass(frozen=True)
class Limits:
    body_bytes: int = MAX_BODY_BYTES
    decompressed_bytes: int = MAX_DECOMPRESSED_BYTES


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]


class _TooLarge(Exception):
    pass


class Stats:
    """What a receiver has taken in so far, for its closing summary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = self.spans = self.rejected = self.failed_requests = 0
        # Time spent decoding and storing: spans / busy_seconds is what the receiver can take.
        self.busy_seconds = 0.0

    def add(self, spans: int = 0, rejected: int = 0, failed: bool = False,
            seconds: float = 0.0) -> None:
        with self._lock:
            self.requests += 1
            self.spans += spans
            self.rejected += rejected
            self.failed_requests += int(failed)
            self.busy_seconds += seconds


def media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def _reply(status: HTTPStatus, message: Message, as_json: bool, **headers: str) -> Reply:
    content_type = codec.MEDIA_JSON if as_json else codec.MEDIA_PROTOBUF
    return Reply(status, content_type, codec.encode_message(message, as_json), headers)


def _error(status: HTTPStatus, message: str, as_json: bool, **headers: str) -> Reply:
    return _reply(status, codec.error_status(message, status >= 500), as_json, **headers)


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decoded per Content-Encoding, inflated in bounded steps: never past ``limit``."""
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise _TooLarge
        return body
    inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
    out = bytearray()
    data = body
    try:
        while data:
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise _TooLarge
            data = inflater.unconsumed_tail
        out += inflater.flush()
    except zlib.error as exc:
        raise OtlpError(f"malformed {encoding} body: {exc}") from None
    if len(out) > limit:
        raise _TooLarge
    if not inflater.eof:
        raise OtlpError(f"truncated {encoding} body")
    return bytes(out)


def ingest(
    store: Store, body: bytes, content_type: str | None, content_encoding: str | None = None,
    limits: Limits = Limits(), stats: Stats | None = None,
) -> Reply:
    """Decode one OTLP/HTTP export request, store its spans, and say what to answer."""
    kind = media_type(content_type)
    encoding = (content_encoding or "").strip().lower()
    is_json = kind == codec.MEDIA_JSON
    if kind not in (*_PROTOBUF_TYPES, codec.MEDIA_JSON):
        return _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                      f"unsupported media type {kind!r}: send application/x-protobuf or "
                      "application/json", False)
    if encoding not in _ENCODINGS:
        return _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                      f"unsupported content encoding {encoding!r}: send gzip or none", is_json)
    started = time.perf_counter()
    try:
        payload = decompress(body, encoding, limits.decompressed_bytes)
        request = codec.parse_json(payload) if is_json else codec.parse_protobuf(payload)
        rejected: list[str] = []
        records = codec.request_to_records(request, rejected)
    except _TooLarge:
        return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                      f"request body decompresses to more than {limits.decompressed_bytes} bytes",
                      is_json)
    except OtlpError as exc:
        if stats:
            stats.add(failed=True)
        return _error(HTTPStatus.BAD_REQUEST, str(exc), is_json)
    try:
        stored = store.write(records)
    except DatabaseError as exc:
        logger.warning("otel-sqlite serve: could not store %d span(s): %s", len(records), exc)
        if stats:
            stats.add(failed=True)
        return _error(HTTPStatus.SERVICE_UNAVAILABLE, str(exc), is_json,
                      **{"Retry-After": str(RETRY_AFTER_S)})
    if stats:
        stats.add(spans=stored, rejected=len(rejected), seconds=time.perf_counter() - started)
    return _reply(HTTPStatus.OK, codec.response(rejected), is_json)


class OtlpHandler(BaseHTTPRequestHandler):
    """Routes ``/v1/traces``; subclass and extend ``do_GET`` to serve more from one process."""

    server: OtlpServer
    protocol_version = "HTTP/1.1"  # keep-alive: exporters reuse their connection
    timeout = IDLE_TIMEOUT_S

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def send_reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)

    def _read_body(self) -> bytes | Reply:
        is_json = media_type(self.headers.get("Content-Type")) == codec.MEDIA_JSON
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            return _error(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length; chunked request "
                          "bodies are not supported", is_json)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return _error(HTTPStatus.BAD_REQUEST, "invalid Content-Length", is_json)
        limit = self.server.limits.body_bytes
        if length > limit:
            self._discard(length)
            return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"request body of {length} bytes is over the {limit}-byte limit",
                          is_json)
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return _error(HTTPStatus.BAD_REQUEST, "request body ended early", is_json)
        return body

    def _discard(self, length: int) -> None:
        """Read an unwanted body so the client gets our answer, or hang up if it is huge."""
        self.close_connection = True
        if length > MAX_DRAIN_BYTES:
            return
        while length > 0 and (chunk := self.rfile.read(min(_CHUNK, length))):
            length -= len(chunk)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if self._path() != TRACES_PATH:
            self._discard(int(self.headers.get("Content-Length") or 0))
            self.send_reply(_error(HTTPStatus.NOT_FOUND, f"no such path {self._path()!r}; "
                                   f"traces go to {TRACES_PATH}", False))
            return
        body = self._read_body()
        if isinstance(body, Reply):
            self.send_reply(body)
            return
        self.send_reply(ingest(
            self.server.store, body, self.headers.get("Content-Type"),
            self.headers.get("Content-Encoding"), self.server.limits, self.server.stats,
        ))

    def _not_allowed(self) -> None:
        if self._path() == TRACES_PATH:
            self.send_reply(_error(HTTPStatus.METHOD_NOT_ALLOWED, "use POST", False,
                                   Allow="POST"))
        else:
            self.send_reply(_error(HTTPStatus.NOT_FOUND, f"no such path {self._path()!r}",
                                   False))

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)


class OtlpServer(ThreadingHTTPServer):
    """A threaded receiver bound to one address; ``stop()`` finishes requests under way."""

    daemon_threads = False  # server_close() joins request threads: a stop loses no span

    def __init__(
        self, address: tuple[str, int], store: Store, limits: Limits = Limits(),
        handler: type[OtlpHandler] = OtlpHandler,
    ) -> None:
        self.store = store
        self.limits = limits
        self.stats = Stats()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{TRACES_PATH}"

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def stop(self) -> None:
        """Close the listening socket, end idle keep-alive connections, wait for requests
        under way to be stored, and close the store."""
        with self._connections_lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
        self.server_close()
        self.store.close()
