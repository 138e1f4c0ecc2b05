"""The OTLP/HTTP trace receiver (``POST /v1/traces``) of ``serve``.

What real exporters send, per the OTLP/HTTP spec: HTTP/1.1 with keep-alive, bodies framed by
Content-Length or ``Transfer-Encoding: chunked`` (the Node.js exporters), gzip or deflate,
``application/x-protobuf`` or ``application/json``. This module only frames and answers:
what a body means and whether it is stored is ``ingest.Ingest``'s, shared with gRPC.

Answers, in the request's own encoding: 200 with an ``ExportTraceServiceResponse``
(``partial_success`` names spans rejected), 400 for a body that does not decode, 413 above
the limits (a chunked body is counted as it arrives; decompression stops at its limit), 415
for other media types or encodings, 429 (too much under way) or 503 (database busy or
failing) with ``Retry-After``, 405 for other methods on ``/v1/traces``, 404 for other paths.
Error bodies are a ``google.rpc.Status``. CORS headers only for origins given to the server.
Not supported: TLS, HTTP/2, and the metrics and logs signals (404).
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO, NamedTuple

from google.protobuf.message import Message

from otel_sqlite.otlp import codec
from otel_sqlite.otlp.ingest import ENCODINGS, RETRY_AFTER_S, Ingest, Outcome, TooLarge, Verdict

logger = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
# An unwanted body up to this size is read and discarded after the answer, so the client
# sees the 413 instead of a reset connection; past it the connection is closed.
MAX_DRAIN_BYTES = 64 * 1024 * 1024
# An idle keep-alive connection (or a stalled body) is closed after this long.
IDLE_TIMEOUT_S = 30
_CHUNK = 64 * 1024
_MAX_LINE = 4096
_PROTOBUF_TYPES = (codec.MEDIA_PROTOBUF, "application/protobuf")
_STATUS = {
    Verdict.STORED: HTTPStatus.OK,
    Verdict.MALFORMED: HTTPStatus.BAD_REQUEST,
    Verdict.TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    Verdict.BUSY: HTTPStatus.TOO_MANY_REQUESTS,
    Verdict.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}
_CORS_HEADERS = "Content-Type, Content-Encoding"


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]


class _BadFraming(Exception):
    pass


def media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def _reply(status: HTTPStatus, message: Message, as_json: bool, **headers: str) -> Reply:
    content_type = codec.MEDIA_JSON if as_json else codec.MEDIA_PROTOBUF
    return Reply(status, content_type, codec.encode_message(message, as_json), headers)


def _error(status: HTTPStatus, message: str, as_json: bool, **headers: str) -> Reply:
    return _reply(status, codec.error_status(message, status >= 500 or status == 429), as_json,
                  **headers)


def outcome_reply(outcome: Outcome, as_json: bool) -> Reply:
    """The HTTP answer to an ingest outcome: the OTLP/HTTP spec's status for each."""
    status = _STATUS[outcome.verdict]
    if outcome.verdict is Verdict.STORED:
        return _reply(status, outcome.response(), as_json)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if outcome.retryable else {}
    return _error(status, outcome.message, as_json, **headers)


def read_chunked(rfile: BinaryIO, limit: int) -> bytes:
    """A ``Transfer-Encoding: chunked`` body (RFC 9112 7.1), counted as it arrives.

    Raises TooLarge as soon as the chunks so far pass ``limit`` (an endless body stops
    there), _BadFraming for anything that is not chunked framing.
    """
    body = bytearray()
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadFraming(f"bad chunk size line {line[:40]!r}") from None
        if size < 0 or not line.endswith(b"\n"):
            raise _BadFraming(f"bad chunk size line {line[:40]!r}")
        if size == 0:
            break
        if len(body) + size > limit:
            raise TooLarge
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise _BadFraming("request body ended early")
        body += chunk
        if rfile.readline(3) not in (b"\r\n", b"\n"):
            raise _BadFraming("chunk not followed by CRLF")
    for _ in range(100):  # trailer fields, ignored
        line = rfile.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            break
    raise _BadFraming("bad or endless chunked trailer")


class OtlpHandler(BaseHTTPRequestHandler):
    """One client connection: ``POST /v1/traces`` requests until it closes or idles out."""

    server: OtlpServer
    protocol_version = "HTTP/1.1"  # keep-alive: exporters reuse their connection
    server_version = "otel-sqlite"
    timeout = IDLE_TIMEOUT_S
    # Headers and body go out in two writes: with Nagle's algorithm the body would wait for
    # the client's delayed ACK, 40 ms per request on Linux.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _is_json(self) -> bool:
        return media_type(self.headers.get("Content-Type")) == codec.MEDIA_JSON

    def send_reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in {**reply.headers, **self._cors()}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)

    def _cors(self) -> dict[str, str]:
        """Access-Control-* headers for an origin the user allowed (``--cors-origin``)."""
        origin = self.headers.get("Origin")
        allowed = self.server.cors_origins
        if not origin or not (origin in allowed or "*" in allowed):
            return {}
        return {"Access-Control-Allow-Origin": "*" if "*" in allowed else origin,
                "Vary": "Origin"}

    def _read_body(self) -> bytes | Reply:
        limit = self.server.ingest.limits.body_bytes
        is_json = self._is_json()
        transfer = [c.strip() for c in (self.headers.get("Transfer-Encoding") or "").lower()
                    .split(",") if c.strip()]
        try:
            if transfer:
                # A body framed two ways is a smuggling attempt or a broken proxy: answer,
                # then close, so nothing after it is read as a request.
                if self.headers.get("Content-Length") is not None:
                    self.close_connection = True
                if transfer != ["chunked"]:
                    self.close_connection = True
                    return _error(HTTPStatus.NOT_IMPLEMENTED, f"transfer coding "
                                  f"{', '.join(transfer)!r} not supported: send chunked or a "
                                  "Content-Length", is_json)
                return read_chunked(self.rfile, limit)
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError
        except TooLarge:
            return self._too_large(f"chunked request body is over the {limit}-byte limit",
                                   is_json, None)
        except _BadFraming as exc:
            self.close_connection = True
            return _error(HTTPStatus.BAD_REQUEST, str(exc), is_json)
        except ValueError:
            self.close_connection = True
            return _error(HTTPStatus.BAD_REQUEST, "invalid Content-Length", is_json)
        if length > limit:
            return self._too_large(f"request body of {length} bytes is over the {limit}-byte "
                                   "limit", is_json, length)
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return _error(HTTPStatus.BAD_REQUEST, "request body ended early", is_json)
        return body

    def _too_large(self, message: str, is_json: bool, length: int | None) -> Reply:
        self.close_connection = True
        self._drain_after = MAX_DRAIN_BYTES if length is None else length
        return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message, is_json)

    def _drain(self, length: int) -> None:
        """Read (and drop) what the client still sends of a refused body, so it gets our
        answer instead of a reset; give up past ``MAX_DRAIN_BYTES``."""
        length = min(length, MAX_DRAIN_BYTES)
        try:
            while length > 0 and (chunk := self.rfile.read1(min(_CHUNK, length))):
                length -= len(chunk)
        except OSError:
            pass

    def handle_one_request(self) -> None:
        self._drain_after = 0
        super().handle_one_request()
        if self._drain_after:
            self._drain(self._drain_after)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if self._path() != TRACES_PATH:
            self._refuse_body(HTTPStatus.NOT_FOUND, f"no such path {self._path()!r}; "
                              f"traces go to {TRACES_PATH}")
            return
        kind = media_type(self.headers.get("Content-Type"))
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        if kind not in (*_PROTOBUF_TYPES, codec.MEDIA_JSON):
            self._refuse_body(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                              f"unsupported media type {kind!r}: send application/x-protobuf "
                              "or application/json")
            return
        if encoding not in ENCODINGS:
            self._refuse_body(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                              f"unsupported content encoding {encoding!r}: send gzip, deflate "
                              "or none")
            return
        body = self._read_body()
        if isinstance(body, Reply):
            self.send_reply(body)
            return
        is_json = kind == codec.MEDIA_JSON
        self.send_reply(outcome_reply(self.server.ingest.export(body, is_json, encoding),
                                      is_json))

    def _refuse_body(self, status: HTTPStatus, message: str) -> None:
        """Answer before reading the body; the connection closes after the body is drained."""
        self.close_connection = True
        try:
            self._drain_after = int(self.headers.get("Content-Length") or MAX_DRAIN_BYTES)
        except ValueError:
            self._drain_after = 0
        self.send_reply(_error(status, message, self._is_json()))

    def do_OPTIONS(self) -> None:  # noqa: N802
        """The CORS preflight of a browser SDK; the Access-Control-* headers come only for
        origins the user allowed, so other pages' browsers refuse to send."""
        headers = {"Allow": "POST, OPTIONS"}
        if self._cors():
            headers.update({
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers":
                    self.headers.get("Access-Control-Request-Headers") or _CORS_HEADERS,
                "Access-Control-Max-Age": "7200",
            })
        self.send_reply(Reply(HTTPStatus.NO_CONTENT, "text/plain", b"", headers))

    def _not_allowed(self) -> None:
        if self._path() == TRACES_PATH:
            self._refuse_body(HTTPStatus.METHOD_NOT_ALLOWED, "use POST")
        else:
            self._refuse_body(HTTPStatus.NOT_FOUND, f"no such path {self._path()!r}")

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)


class OtlpServer(ThreadingHTTPServer):
    """A threaded receiver bound to one address; ``stop()`` finishes requests under way."""

    daemon_threads = False  # server_close() joins request threads: a stop loses no span

    def __init__(self, address: tuple[str, int], ingest: Ingest,
                 cors_origins: Iterable[str] = ()) -> None:
        self.ingest = ingest
        self.cors_origins = frozenset(cors_origins)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, OtlpHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}{TRACES_PATH}"

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-request is normal, not a traceback on the terminal."""
        if isinstance(sys.exc_info()[1], OSError):
            logger.debug("connection from %s ended: %s", client_address, sys.exc_info()[1])
            return
        super().handle_error(request, client_address)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def stop(self) -> None:
        """Close the listening socket, end idle keep-alive connections, and wait for the
        requests under way to be stored and answered."""
        with self._connections_lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
        self.server_close()
