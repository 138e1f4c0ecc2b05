"""Files a span produced: where they are recorded, how they are fingerprinted and indexed.

The file itself is never cut or copied into the database; only its text lines are indexed for
search, within the caps below so that one runaway log cannot bloat the database or stall the
writer that indexes it.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path

# Indexing caps. A line longer than MAX_LINE_BYTES is indexed by its first MAX_LINE_BYTES. Of an
# artifact longer than MAX_LINES lines, the first half and the last half of MAX_LINES are
# indexed (a failure is usually at the end of a log) and the middle is not (the artifact row
# says so); line numbers stay true. Indexing costs ~10 us a line, so 20,000 lines keep a
# 100 MB log's indexing near 0.2 s.
MAX_LINE_BYTES = 4096
MAX_LINES = 20_000
# A file whose first BINARY_SNIFF_BYTES hold a NUL byte is binary and is not indexed.
BINARY_SNIFF_BYTES = 8192
_CHUNK = 1 << 16


def stored_path(path: str | os.PathLike[str], db_path: str | os.PathLike[str]) -> str:
    """``path`` relative to the database's folder when it lies under it, else absolute."""
    absolute = Path(path).absolute()
    folder = Path(db_path).absolute().parent
    try:
        return absolute.relative_to(folder).as_posix()
    except ValueError:
        return str(absolute)


def resolve_stored_path(stored: str, db_path: str | os.PathLike[str]) -> Path:
    """The file a stored artifact path names, wherever the reader's working directory is."""
    path = Path(stored)
    return path if path.is_absolute() else Path(db_path).absolute().parent / path


def media_type(path: str | os.PathLike[str], role: str) -> str:
    if role in ("stdout", "stderr"):
        return "text/plain"
    guessed, _ = mimetypes.guess_type(str(path))
    return guessed or "application/octet-stream"


def fingerprint(path: str | os.PathLike[str]) -> tuple[int, str]:
    """Size and sha256 of a file, read in chunks so huge files cost no memory."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class LineIndex:
    """The text lines of one artifact for the full-text index, honouring the caps.

    Iterate it for ``(line_number, text)``; afterwards ``truncated`` says whether some text
    was left out (the middle lines beyond MAX_LINES, or a line's tail beyond MAX_LINE_BYTES),
    so that ``grep`` knows to read the file itself, and ``count`` how many lines were given.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.truncated = False
        self.count = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        with open(self.path, "rb") as f:
            if b"\0" in f.read(BINARY_SNIFF_BYTES):
                return
            f.seek(0)
            head, tail = MAX_LINES - MAX_LINES // 2, MAX_LINES // 2
            number = yield from self._lines(f, 0, head)
            if number < head:
                return  # the whole file fitted in the head
            here = f.tell()
            tail_start = _start_of_last_lines(f, here, tail)
            if tail_start > here:
                self.truncated = True
                number += _count_newlines(f, here, tail_start)
            f.seek(tail_start)
            yield from self._lines(f, number, tail)

    def _lines(self, f, number: int, limit: int):  # noqa: ANN001, ANN202 - file, generator
        """Up to ``limit`` lines from ``f``'s position, numbered after ``number``; returns the
        number of the last line read."""
        for _ in range(limit):
            raw = f.readline(MAX_LINE_BYTES)
            if not raw:
                break
            number += 1
            if not raw.endswith(b"\n") and _skip_rest_of_line(f):
                self.truncated = True
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if text.strip():
                self.count += 1
                yield number, text
        return number


def _start_of_last_lines(f, floor: int, lines: int) -> int:  # noqa: ANN001 - a binary file
    """Where the last ``lines`` lines of ``f`` start, but not before ``floor``."""
    end = f.seek(0, os.SEEK_END)
    if end > floor:
        f.seek(end - 1)
        if f.read(1) == b"\n":
            end -= 1  # the final newline ends the last line; it does not start another
    position = end
    while position > floor:
        start = max(floor, position - _CHUNK)
        f.seek(start)
        chunk = f.read(position - start)
        found = chunk.count(b"\n")
        if found >= lines:
            cut = len(chunk)
            for _ in range(lines):
                cut = chunk.rindex(b"\n", 0, cut)
            return start + cut + 1
        lines -= found
        position = start
    return floor


def _count_newlines(f, start: int, end: int) -> int:  # noqa: ANN001 - a binary file
    f.seek(start)
    count = 0
    while start < end:
        chunk = f.read(min(_CHUNK * 16, end - start))
        if not chunk:
            break
        count += chunk.count(b"\n")
        start += len(chunk)
    return count


def _skip_rest_of_line(f) -> bool:  # noqa: ANN001 - a binary file object
    """Moves past the current line; whether any of it was left."""
    skipped = False
    while True:
        chunk = f.readline(_CHUNK)
        if chunk.strip(b"\r\n"):
            skipped = True
        if not chunk or chunk.endswith(b"\n"):
            return skipped
