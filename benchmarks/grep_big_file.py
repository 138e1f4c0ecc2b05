"""grep over one captured file of 1,000,000 lines whose middle the index never saw.

    python benchmarks/grep_big_file.py                      # a word, a needle, no needle
    python benchmarks/grep_big_file.py 'PATTERN' ...        # patterns of your own

Such a file (``index_truncated``) is always read, whatever the index says, so this is the cost
narrowing cannot save: how fast ``grep`` streams a big log. Prints the median of 3 per pattern.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from otel_sqlite.conventions import ARTIFACT_EVENT, ARTIFACT_PATH, ARTIFACT_ROLE, HARNESS_KIND
from otel_sqlite.queries.grep import Grep
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage.schema import connect_readonly
from otel_sqlite.storage.store import Store

LINES = 1_000_000
LINE = b"info compiling module ok linking cache hit fetch and a few more words here\n"
PATTERNS = (r"\bzanzibar\b", r"z[a-z]nzibar", r"(?i)\bzanzibar\b")


def main(patterns: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db, log = Path(tmp) / "big.db", Path(tmp) / "big.log"
        with open(log, "wb") as f:
            for n in range(LINES):
                f.write(LINE if n != LINES // 2 else b"zanzibar in the middle\n")
        Store(db).write([SpanRecord("a" * 32, "b" * 16, "build", 1, 2,
                                    attributes={HARNESS_KIND: "run"}, events=[EventRecord(
                                        ARTIFACT_EVENT, 1, {ARTIFACT_PATH: str(log),
                                                            ARTIFACT_ROLE: "stdout"})])])
        reader = connect_readonly(db)
        truncated, = reader.execute("SELECT index_truncated FROM artifacts").fetchone()
        print(f"{LINES:,} lines, {log.stat().st_size / 1e6:.0f} MB, index_truncated={truncated}")
        for pattern in patterns:
            times = []
            for _ in range(3):
                search = Grep(reader, pattern)
                started = time.perf_counter()
                found = len(list(search))
                times.append((time.perf_counter() - started) * 1000)
            print(f"{pattern!r:28} {found} match, median {statistics.median(times):7.0f} ms")


if __name__ == "__main__":
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    main(sys.argv[1:] or list(PATTERNS))
