"""The UI's HTTP server: static pages, a JSON API, and nothing that can change the database.

Built on the standard library's ``ThreadingHTTPServer``: the UI is one person's browser on
loopback, so a thread per connection is plenty, SQLite releases the GIL while it reads, and a
slow log page never holds up the runs list's polling. No dependency to install or keep up.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import posixpath
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from otel_sqlite.errors import DatabaseError, NotFoundError, OtelSqliteError
from otel_sqlite.ui import api, jaeger
from otel_sqlite.ui.pool import ReadOnlyPool

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787

# Every response: scripts and styles only from this server, no framing, no sniffing. Data is
# put into pages with textContent, so even a bug there would not run injected script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Downloads are sandboxed on top: nothing in them may script this origin.
_FILE_POLICY = {"Content-Security-Policy": "sandbox; default-src 'none'"}
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Paths of the single-page app; the page's script draws what the path names.
PAGES = ("/", "/runs", "/search", "/costs", "/compare")
RUN_PAGE_PREFIX = "/run/"
# The UI's own JSON routes, then Jaeger's query API over the same database.
ROUTES = api.ROUTES + jaeger.ROUTES


def static_files() -> dict[str, tuple[bytes, str]]:
    """``{url path: (content, content type)}`` of every file shipped in ``ui/static``.

    Read once at start-up: serving only names from this table rules out path traversal.
    """
    found: dict[str, tuple[bytes, str]] = {}
    pending = [(files("otel_sqlite.ui") / "static", "/static")]
    while pending:
        folder, url = pending.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                pending.append((entry, f"{url}/{entry.name}"))
            elif entry.is_file():
                kind = _CONTENT_TYPES.get(posixpath.splitext(entry.name)[1])
                if kind:
                    found[f"{url}/{entry.name}"] = (entry.read_bytes(), kind)
    return found


class UIServer(ThreadingHTTPServer):
    """Serves the UI over one database, opened read-only per request from a small pool."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, db_path: str | os.PathLike[str], host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT) -> None:
        self.db_path = Path(db_path).absolute()
        self.pool = ReadOnlyPool(self.db_path)
        self.static = static_files()
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), UIRequestHandler)
        self.allowed_hosts = _allowed_hosts(host, self.server_address[1])

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that navigates away mid-response is normal, not an error to print."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self.pool.close()


def _allowed_hosts(host: str, port: int) -> set[str] | None:
    """Host headers accepted on loopback (a guard against DNS rebinding); None: any."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        return None
    names = {host, "localhost", "127.0.0.1", "[::1]", f"[{host}]"}
    return {f"{name}:{port}" for name in names}


class UIRequestHandler(BaseHTTPRequestHandler):
    server: UIServer
    protocol_version = "HTTP/1.1"
    server_version = "otel-sqlite-ui"
    # Headers and body go out in separate writes; with Nagle's algorithm the body then waits
    # for the client's delayed ACK, ~40 ms on every keep-alive request.
    disable_nagle_algorithm = True
    _head = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # a quiet terminal: the URL line is what the user reads

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    def _refuse_method(self) -> None:
        self.close_connection = True  # its body is left unread
        self._send_json({"error": "the UI is read-only"}, HTTPStatus.METHOD_NOT_ALLOWED,
                        extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse_method  # noqa: N815

    def _respond(self, head: bool) -> None:
        self._head = head
        allowed = self.server.allowed_hosts
        if allowed is not None and self.headers.get("Host") not in allowed:
            self._send_json({"error": "unexpected Host header"}, HTTPStatus.FORBIDDEN)
            return
        url = urlsplit(self.path)
        path = url.path
        if path.startswith("/api/"):
            self._api(path, parse_qs(url.query))
        elif path in self.server.static:
            content, kind = self.server.static[path]
            self._send(content, kind, cache="no-cache")
        elif path in PAGES:
            self._send_page(HTTPStatus.OK)
        elif path.startswith(RUN_PAGE_PREFIX):
            self._send_page(self._run_page_status(unquote(path[len(RUN_PAGE_PREFIX):])))
        else:
            self._send_page(HTTPStatus.NOT_FOUND)

    def _send_page(self, status: HTTPStatus) -> None:
        """The app's one page; its script draws what the path names (or "not found")."""
        self._send(self.server.static["/static/index.html"][0], _CONTENT_TYPES[".html"],
                   status=status)

    def _run_page_status(self, run: str) -> HTTPStatus:
        """404 for a run page of an unknown run, so a bad link is a real 404."""
        try:
            with self.server.pool.connection() as db:
                api.check_run(db, run)
        except DatabaseError:
            return HTTPStatus.SERVICE_UNAVAILABLE
        except OtelSqliteError:
            return HTTPStatus.NOT_FOUND
        return HTTPStatus.OK

    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        try:
            with self.server.pool.connection() as db:
                result = api.handle(db, self.server.db_path, path, query, ROUTES)
        except NotFoundError as exc:
            self._send_json({"error": str(exc)}, HTTPStatus.NOT_FOUND)
        except api.OutsideFolderError as exc:
            self._send_json({"error": str(exc)}, HTTPStatus.FORBIDDEN)
        except DatabaseError as exc:
            self._send_json({"error": str(exc)}, HTTPStatus.SERVICE_UNAVAILABLE)
        except OtelSqliteError as exc:
            self._send_json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
        except Exception as exc:  # our bug: say so, keep serving the other pages
            logger.exception("otel-sqlite ui: %s failed", path)
            self._send_json({"error": f"internal error ({type(exc).__name__}: {exc})"},
                            HTTPStatus.INTERNAL_SERVER_ERROR)
        else:
            if isinstance(result, api.FileResponse):
                self._send_file(result)
            elif isinstance(result, api.JsonResponse):
                self._send_json(result.data, HTTPStatus(result.status))
            else:
                self._send_json(result)

    def _send_json(self, data: Any, status: HTTPStatus = HTTPStatus.OK,
                   extra: dict[str, str] | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":")).encode()
        self._send(body, "application/json; charset=utf-8", status, extra=extra)

    def _send(self, body: bytes, kind: str, status: HTTPStatus = HTTPStatus.OK,
              cache: str = "no-store", extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if not self._head:
            self.wfile.write(body)

    def _send_file(self, response: api.FileResponse) -> None:
        """An artifact as a download, honouring a single ``Range: bytes=a-b``.

        Always ``application/octet-stream`` or ``text/plain`` with ``attachment``: a captured
        HTML file must never run as a page of this origin.
        """
        try:
            f = open(response.path, "rb")
        except OSError as exc:
            self._send_json({"error": f"cannot read the artifact: {exc.strerror}"},
                            HTTPStatus.NOT_FOUND)
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            start, end = 0, size - 1
            status = HTTPStatus.OK
            wanted = _byte_range(self.headers.get("Range"), size)
            if wanted == "unsatisfiable":
                self._send_json({"error": "range not satisfiable"},
                                HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                                extra={"Content-Range": f"bytes */{size}"})
                return
            if wanted is not None:
                start, end = wanted
                status = HTTPStatus.PARTIAL_CONTENT
            self.send_response(status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(max(0, end - start + 1)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Disposition",
                             f"attachment; filename=\"{response.download_name}\"")
            self.send_header("Cache-Control", "no-store")
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            for name, value in {**SECURITY_HEADERS, **_FILE_POLICY}.items():
                self.send_header(name, value)
            self.end_headers()
            if self._head:
                return
            f.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = f.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """``(start, end)`` of a single ``bytes=`` range, "unsatisfiable", or None for all."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes="):].strip().partition("-")
    try:
        if first:
            start = int(first)
            end = int(last) if last else size - 1
        else:
            start, end = max(0, size - int(last)), size - 1
    except ValueError:
        return None
    if start >= size or start > end:
        return "unsatisfiable"
    return start, min(end, size - 1)


def serve(server: UIServer) -> None:
    """Serve until interrupted; the caller prints the URL first."""
    try:
        server.serve_forever()
    finally:
        server.server_close()

