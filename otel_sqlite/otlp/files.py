"""OTLP/JSON files: stored spans out as JSON lines, and such files (or one document) back in.

The format is the OpenTelemetry Collector's file exporter's: one ``ExportTraceServiceRequest``
per line. Both directions stream, so a file of any size costs one line (and one batch of
records) of memory; only a single pretty-printed document has to be read whole.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from otel_sqlite.errors import OtlpError
from otel_sqlite.otlp import codec
from otel_sqlite.queries.records import ALL_SPANS, Selection, iter_records
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.store import Store

# Spans per line of an export: small enough for any reader's line buffer.
EXPORT_BATCH = 512
# Spans per transaction of an import.
IMPORT_BATCH = 2_000
# A file that is not JSON lines is read whole as one document, up to this size.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def export_json_lines(
    db: sqlite3.Connection, out: TextIO, selection: Selection = ALL_SPANS,
    batch: int = EXPORT_BATCH,
) -> int:
    """Write the selected spans to ``out`` as OTLP/JSON lines; return how many were written."""
    count = 0
    for rows in iter_records(db, selection, batch=batch):
        request = codec.records_to_request(record for _, record in rows)
        out.write(codec.request_to_json(request))
        out.write("\n")
        count += len(rows)
    return count


@dataclass(frozen=True)
class Problem:
    """A line (or a span on it) that could not be imported."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ImportResult:
    spans: int = 0
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)


def _open(path: str | os.PathLike[str]) -> BinaryIO:
    raw = open(path, "rb")
    if raw.read(2) == _GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    raw.seek(0)
    return raw


def _requests(path: str | os.PathLike[str]) -> Iterator[tuple[int, object]]:
    """``(line number, request or OtlpError)`` for each non-blank line, or the one document."""
    with _open(path) as f:
        first = _first_line(f)
        if first is not None and not _parses(first[1]):
            f.seek(0)
            whole = f.read(MAX_DOCUMENT_BYTES + 1)
            if len(whole) <= MAX_DOCUMENT_BYTES and _parses(whole):
                yield 1, codec.parse_json(whole)
                return
        f.seek(0)
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield number, codec.parse_json(line)
            except OtlpError as exc:
                yield number, exc


def _first_line(f: BinaryIO) -> tuple[int, bytes] | None:
    for number, line in enumerate(f, start=1):
        if line.strip():
            return number, line
    return None


def _parses(text: bytes) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def import_file(
    store: Store, path: str | os.PathLike[str], result: ImportResult | None = None,
    batch: int = IMPORT_BATCH,
) -> ImportResult:
    """Store every span of an OTLP/JSON file (lines or one document, gzip or not).

    Idempotent: a span already stored is replaced by the same span. A bad line is recorded in
    ``result.problems`` with its number and skipped; the good ones are still imported.
    """
    result = result or ImportResult()
    pending: list[SpanRecord] = []
    try:
        for number, parsed in _requests(path):
            result.lines += 1
            if isinstance(parsed, OtlpError):
                result.problems.append(Problem(str(path), number, str(parsed)))
                continue
            rejected: list[str] = []
            pending.extend(codec.request_to_records(parsed, rejected))  # type: ignore[arg-type]
            result.problems.extend(Problem(str(path), number, why) for why in rejected)
            if len(pending) >= batch:
                result.spans += store.write(pending)
                pending = []
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        result.problems.append(Problem(str(path), result.lines + 1, f"cannot read: {exc}"))
    if pending:
        result.spans += store.write(pending)
    return result
