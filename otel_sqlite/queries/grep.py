"""Regular expressions over captured output, line by line, as ``grep`` reads files.

Which files: every captured file (``artifacts``) of the scope (``stdout``, ``stderr``,
``output`` = every captured file, ``span`` = each span's own searchable text, ``all``), in one
run or all, optionally only under steps of one name. When the pattern holds words the full-text
index can look up (``regex_literals``), a file is read only if one of its indexed lines has
them all, or if the index cannot vouch for it: its middle or a long line's tail was never
indexed (``index_truncated``), it was not indexed at all (binary, unreadable when recorded), or
the database has no FTS5. So narrowing never drops a file that could match.

Files are read as a stream, a chunk at a time (a line longer than ``MAX_LINE_BYTES`` is searched
in pieces of that size), so memory stays bounded whatever their size. When every match must
contain a run of literal characters (the ``needle``: ``ERR`` of ``ERR[0-9]{3}``), a line is
decoded and searched only if its bytes hold it, and without context lines a chunk that lacks
it is only counted: a 1M-line file the index could not vouch for reads in about 0.15 s. A file
whose first ``BINARY_SNIFF_BYTES`` hold a NUL byte is binary: as grep does, one row says it
matches.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import deque
from collections.abc import Iterator
from typing import Any, BinaryIO

from otel_sqlite.conventions import KIND_STEP, ROLE_STDERR, ROLE_STDOUT
from otel_sqlite.errors import QuerySyntaxError
from otel_sqlite.queries import common
from otel_sqlite.queries.regex_literals import compile_pattern, fts_query, literals
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.search import SPAN_TEXT_STREAM
from otel_sqlite.storage.artifacts import BINARY_SNIFF_BYTES, resolve_stored_path
from otel_sqlite.storage.schema import has_fts

SCOPES = (ROLE_STDOUT, ROLE_STDERR, "output", SPAN_TEXT_STREAM, "all")
MAX_LINE_BYTES = 1 << 20
_CHUNK = 1 << 18
BINARY_MATCHES = "binary file matches"

# The spans at and below every step named :step (in one trace when :trace is given).
_UNDER_STEP = f"""
WITH RECURSIVE under (id, trace_id, span_id, depth) AS (
    SELECT id, trace_id, span_id, 0 FROM spans
    WHERE harness_kind = '{KIND_STEP}' AND name = :step
      AND (:trace IS NULL OR trace_id = :trace)
    UNION
    SELECT c.id, c.trace_id, c.span_id, under.depth + 1 FROM under
    JOIN spans c ON c.trace_id = under.trace_id AND c.parent_span_id = under.span_id
    WHERE under.depth < 1000
)
SELECT id FROM under
"""


def check_pattern(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """The compiled pattern; QuerySyntaxError naming the problem when ``re`` refuses it."""
    try:
        return compile_pattern(pattern, ignore_case)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise QuerySyntaxError(
            f"bad regular expression {pattern!r}: {exc.msg}{where}"
        ) from None


class Grep:
    """One search: iterate it for rows; afterwards ``unreadable`` lists files it could not
    read (``{path, error}``) and ``files_read`` how many it opened.

    Each row: ``run_id``, ``span_id``, ``span_name``, ``step`` (the nearest step's name),
    ``stream`` (the artifact's role, or ``span``), ``path``, ``artifact_id``, ``line``
    (1-based; 0 for span text), ``text``, ``match`` (False for context lines) and ``binary``.
    Files come in the order they were recorded; ``max_count`` stops a file after that many
    matching lines (its trailing context still follows), as ``grep -m`` does.
    """

    def __init__(
        self, db: sqlite3.Connection, pattern: str, *, scope: str = "output",
        run: str | None = None, step: str | None = None, ignore_case: bool = False,
        before: int = 0, after: int = 0, max_count: int | None = None,
    ) -> None:
        if scope not in SCOPES:
            raise QuerySyntaxError(f"unknown scope '{scope}': choose one of {', '.join(SCOPES)}")
        self.db = db
        self.regex = check_pattern(pattern, ignore_case)
        found = literals(pattern, self.regex.flags)
        self.words, self.needle = found.words, found.needle
        self.needle_bytes = (
            found.needle.encode() if found.needle and "\ufffd" not in found.needle else None)
        self.scope = scope
        self.trace_id = resolve_run(db, run)["trace_id"] if run is not None else None
        self.step = step
        self.before, self.after, self.max_count = before, after, max_count
        self.unreadable: list[dict[str, str]] = []
        self.files_read = 0
        self._steps: dict[int, list[str]] = {}
        self._names: dict[int, str] = {}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.scope != SPAN_TEXT_STREAM:
            for artifact in self._files():
                if self._under_step(artifact["span"]):
                    yield from self._grep_file(artifact)
        if self.scope in (SPAN_TEXT_STREAM, "all"):
            yield from self._grep_span_text()

    # Which files and span texts to read.
    def _filters(self, alias: str) -> tuple[str, dict[str, Any]]:
        where, args = [], {"trace": self.trace_id, "step": self.step}
        if self.trace_id is not None:
            where.append("s.trace_id = :trace")
        if self.step is not None and self._fts() is None:
            # Without the index every file is a candidate: one pass over the step's subtrees
            # beats walking up from each file. With it, the few candidates are checked below.
            where.append(f"{alias}.span IN ({_UNDER_STEP})")
        return "".join(f" AND {clause}" for clause in where), args

    def _fts(self) -> str | None:
        return fts_query(self.words) if self.words and has_fts(self.db) else None

    def _files(self) -> Iterator[dict[str, Any]]:
        where, args = self._filters("a")
        if self.scope in (ROLE_STDOUT, ROLE_STDERR):
            where += " AND a.role = :role"
            args["role"] = self.scope
        if (query := self._fts()) is not None:
            where += (
                " AND (a.index_truncated OR a.indexed_lines = 0 OR a.id IN ("
                "SELECT t.artifact FROM text_fts JOIN text_lines t ON t.id = text_fts.rowid "
                "WHERE text_fts MATCH :query AND t.artifact IS NOT NULL))"
            )
            args["query"] = query
        rows = self.db.execute(
            "SELECT a.id, a.span, a.role, a.path, s.trace_id, s.span_id, s.name "
            f"FROM artifacts a JOIN spans s ON s.id = a.span WHERE 1 {where} ORDER BY a.id",
            args,
        ).fetchall()
        # The stored paths are joined as strings: pathlib cost a third of reading a small file.
        folder = str(resolve_stored_path(".", common.db_path(self.db)))
        for artifact, span, role, path, trace_id, span_id, name in rows:
            yield {"artifact_id": artifact, "span": span, "role": role, "path": path,
                   "absolute_path": os.path.join(folder, path),
                   "run_id": trace_id, "span_id": span_id, "span_name": name}

    def _grep_span_text(self) -> Iterator[dict[str, Any]]:
        where, args = self._filters("t")
        source = "text_lines t"
        if (query := self._fts()) is not None:
            source = "text_fts JOIN text_lines t ON t.id = text_fts.rowid"
            where += " AND text_fts MATCH :query"
            args["query"] = query
        for span, trace_id, span_id, name, text in self.db.execute(
            f"SELECT t.span, s.trace_id, s.span_id, s.name, t.text FROM {source} "
            f"JOIN spans s ON s.id = t.span WHERE t.artifact IS NULL {where} ORDER BY t.id",
            args,
        ):
            if self._matches(text) and self._under_step(span):
                yield {"run_id": trace_id, "span_id": span_id, "span_name": name,
                       "step": self._step_of(span), "stream": SPAN_TEXT_STREAM, "path": None,
                       "artifact_id": None, "line": 0, "text": text, "match": True,
                       "binary": False}

    def _matches(self, text: str) -> bool:
        return (self.needle is None or self.needle in text) and bool(self.regex.search(text))

    def _under_step(self, span: int) -> bool:
        return self.step is None or self.step in self._steps_above(span)

    def _step_of(self, span: int) -> str:
        """The nearest step at or above ``span`` (itself included), else the span's name."""
        steps = self._steps_above(span)
        return steps[0] if steps else self._names[span]

    def _steps_above(self, span: int) -> list[str]:
        """Names of the steps at and above ``span``, nearest first.

        Walked a parent at a time by the (trace, span id) index: as one recursive query,
        SQLite built a Bloom filter over every span first (20 ms per 100k spans).
        """
        if span not in self._steps:
            trace_id, span_id, name, kind, parent = self.db.execute(
                "SELECT trace_id, span_id, name, harness_kind, parent_span_id FROM spans "
                "WHERE id = ?", (span,)).fetchone()
            self._names[span] = name
            found, seen = [], {span_id}
            row: tuple[str, str | None, str | None] | None = (name, kind, parent)
            while row is not None:
                if row[1] == KIND_STEP:
                    found.append(row[0])
                if row[2] is None or row[2] in seen:
                    break
                seen.add(row[2])
                row = self.db.execute(
                    "SELECT name, harness_kind, parent_span_id FROM spans "
                    "WHERE trace_id = ? AND span_id = ?", (trace_id, row[2])).fetchone()
            self._steps[span] = found
        return self._steps[span]

    # Reading one file.
    def _grep_file(self, artifact: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            raw = open(artifact["absolute_path"], "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            self.unreadable.append({"path": artifact["path"], "error": exc.strerror or str(exc)})
            return
        self.files_read += 1
        with raw:
            first = raw.read(_CHUNK)
            no_context = not (self.before or self.after)
            lines = _numbered_lines(raw, first, self.needle_bytes if no_context else None)
            if b"\0" in first[:BINARY_SNIFF_BYTES]:
                yield from self._binary_match(artifact, lines)
            else:
                yield from self._context_matches(artifact, lines)

    def _row(self, artifact: dict[str, Any], number: int | None, line: bytes | str,
             match: bool, binary: bool = False) -> dict[str, Any]:
        text = _text(line) if isinstance(line, bytes) else line
        return {
            "run_id": artifact["run_id"], "span_id": artifact["span_id"],
            "span_name": artifact["span_name"], "step": self._step_of(artifact["span"]),
            "stream": artifact["role"], "path": artifact["path"],
            "artifact_id": artifact["artifact_id"], "line": number, "text": text,
            "match": match, "binary": binary,
        }

    def _line_matches(self, line: bytes) -> bool:
        """Whether a line of a file matches: its bytes must hold the needle first, which
        spares decoding most lines (a needle in the text is in the UTF-8 bytes too)."""
        if self.needle_bytes is not None and self.needle_bytes not in line:
            return False
        return bool(self.regex.search(_text(line)))

    def _binary_match(
        self, artifact: dict[str, Any], lines: Iterator[tuple[int, bytes]]
    ) -> Iterator[dict[str, Any]]:
        for number, line in lines:
            if self._line_matches(line):
                yield self._row(artifact, number, BINARY_MATCHES, True, binary=True)
                return

    def _context_matches(
        self, artifact: dict[str, Any], lines: Iterator[tuple[int, bytes]]
    ) -> Iterator[dict[str, Any]]:
        before: deque[tuple[int, bytes]] = deque(maxlen=self.before)
        trailing = 0
        matches = 0
        for number, text in lines:
            if self.max_count is not None and matches >= self.max_count:
                if trailing == 0:
                    return
                trailing -= 1
                yield self._row(artifact, number, text, False)
                continue
            if self._line_matches(text):
                matches += 1
                for earlier, earlier_text in before:
                    yield self._row(artifact, earlier, earlier_text, False)
                before.clear()
                yield self._row(artifact, number, text, True)
                trailing = self.after
            elif trailing:
                trailing -= 1
                yield self._row(artifact, number, text, False)
            elif self.before:
                before.append((number, text))


def _text(line: bytes) -> str:
    """A line's text: bytes that are not UTF-8 read as U+FFFD; a CRLF ending is dropped."""
    return line.decode("utf-8", "replace").removesuffix("\r")


def _numbered_lines(
    raw: BinaryIO, first: bytes, needle: bytes | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of a file whose first ``_CHUNK`` bytes are ``first``.

    Read a chunk at a time; a line longer than MAX_LINE_BYTES comes in pieces of that size,
    each with the line's number. Lines end at ``\n`` only, as grep splits them (a ``\r`` of
    progress output stays in its line). With a ``needle`` every match must contain, the
    lines of a chunk without it are only counted, never split (the caller wants no context).
    """
    number, continued, carry = 0, False, b""
    chunk = first
    while chunk:
        block = carry + chunk
        cut = block.rfind(b"\n") + 1
        complete, carry = block[:cut], block[cut:]
        if needle is not None and needle not in complete:
            number += complete.count(b"\n") - (continued and cut > 0)
            continued = continued and cut == 0
        else:
            for line in complete[:-1].split(b"\n") if complete else ():
                if not continued:
                    number += 1
                continued = False
                yield number, line
        while len(carry) > MAX_LINE_BYTES:
            if not continued:
                number += 1
            continued = True
            yield number, carry[:MAX_LINE_BYTES]
            carry = carry[MAX_LINE_BYTES:]
        chunk = raw.read(_CHUNK)
    if carry:
        yield number + (not continued), carry
