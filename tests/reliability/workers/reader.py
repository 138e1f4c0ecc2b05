"""A reader polling the database the whole time writers run, as the CLI's readers would.

Usage: reader.py DB STOP_FILE RESULT_JSON
Each round opens a fresh read-only connection (like one CLI call), runs a few typical
queries and closes it, then pauses PAUSE_S (a reader polling a dashboard, not a CPU hog
starving the writers of a two-core machine). Rounds before the database first exists do
not count; every error after that is recorded.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from otel_sqlite.errors import DatabaseError
from otel_sqlite.storage.schema import connect_readonly

QUERIES = (
    "SELECT count(*) FROM spans",
    "SELECT name, status, duration_ms FROM runs ORDER BY start_ns DESC LIMIT 20",
    "SELECT count(*) FROM steps WHERE end_ns IS NULL",
    "SELECT key, count(*) FROM attributes GROUP BY key",
)
FTS_QUERY = "SELECT count(*) FROM text_fts WHERE text_fts MATCH 'span'"
PAUSE_S = 0.01


def main(db: str, stop_file: str, result_path: str) -> None:
    rounds, errors, ready = 0, [], False
    stop = Path(stop_file)
    while not stop.exists():
        try:
            connection = connect_readonly(db)
        except DatabaseError as exc:
            if ready:
                errors.append(str(exc))
            time.sleep(0.01)
            continue
        ready = True
        try:
            for query in QUERIES:
                connection.execute(query).fetchall()
            if connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'text_fts'"
            ).fetchone():
                connection.execute(FTS_QUERY).fetchall()
            rounds += 1
            time.sleep(PAUSE_S)
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()
    Path(result_path).write_text(json.dumps({"rounds": rounds, "errors": errors}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
