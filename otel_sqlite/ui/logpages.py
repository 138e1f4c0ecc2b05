"""Pages of a captured log, read from the file itself: the browser never loads a whole log.

A page is a run of lines starting at a line number. The reader names where to start by line
number (a search hit) and, when it has one, by the byte offset a previous page returned, so
reading on through a large log never rescans it from the top.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from otel_sqlite.artifacts import BINARY_SNIFF_BYTES, skip_rest_of_line

# A page holds at most this many lines and about this many bytes; lines longer than
# MAX_LINE_CHARS are cut for display (the raw download has them whole).
MAX_PAGE_LINES = 2000
MAX_PAGE_BYTES = 1 << 20
MAX_LINE_CHARS = 10_000
_CHUNK = 1 << 20
_MAX_LINE_READ = 4 * MAX_LINE_CHARS


def is_binary(path: Path) -> bool:
    with open(path, "rb") as f:
        return b"\0" in f.read(BINARY_SNIFF_BYTES)


def _offset_of_line(f: Any, line: int) -> int:
    """Byte offset where 1-based ``line`` starts (end of file when it has fewer lines)."""
    remaining = line - 1
    offset = 0
    while remaining > 0:
        chunk = f.read(_CHUNK)
        if not chunk:
            return offset
        count = chunk.count(b"\n")
        if count < remaining:
            remaining -= count
            offset += len(chunk)
            continue
        position = -1
        for _ in range(remaining):
            position = chunk.index(b"\n", position + 1)
        return offset + position + 1
    return offset


def read_page(
    path: str | os.PathLike[str],
    start: int = 1,
    count: int = 500,
    offset: int | None = None,
) -> dict[str, Any]:
    """Lines ``start`` .. ``start + count - 1`` of a text file, as JSON-ready data.

    ``offset``, when given, must be the byte offset of line ``start`` (as returned in a
    previous page's ``next_offset``); it saves scanning from the top.
    """
    path = Path(path)
    start = max(1, start)
    count = max(1, min(count, MAX_PAGE_LINES))
    size = path.stat().st_size
    if is_binary(path):
        return {"binary": True, "size": size, "start": start, "lines": [], "next_offset": None}
    lines: list[str] = []
    cut: list[int] = []
    with open(path, "rb") as f:
        if offset is None or not 0 <= offset <= size:
            offset = _offset_of_line(f, start)
        f.seek(offset)
        while len(lines) < count and f.tell() - offset < MAX_PAGE_BYTES:
            raw = f.readline(_MAX_LINE_READ)
            if not raw:
                break
            long_line = False
            if not raw.endswith(b"\n"):
                before = f.tell()
                skip_rest_of_line(f)
                long_line = f.tell() > before
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if long_line or len(text) > MAX_LINE_CHARS:
                cut.append(start + len(lines))
                text = text[:MAX_LINE_CHARS]
            lines.append(text)
        next_offset = f.tell()
    return {
        "binary": False,
        "size": size,
        "start": start,
        "lines": lines,
        "cut_lines": cut,
        "next_line": start + len(lines),
        "next_offset": next_offset if next_offset < size else None,
    }
