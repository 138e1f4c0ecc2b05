"""A host application using the harness API, exiting with its own status.

Usage: host_app.py DB EXIT_CODE [PAUSE_FILE]
Records a run with two steps (the first runs a command). With PAUSE_FILE, it writes
"paused" into it after the first step and waits until the file says "go", so a test can
change the world (delete the database...) while the run is open.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from otel_sqlite import harness


def main(db: str, exit_code: int, pause: str | None) -> None:
    harness.configure(db=db, service_name="host-app")
    with harness.run("host run"):
        with harness.step("first", number=1):
            result = harness.command(["echo", "hello from the command"])
            assert result.exit_code == 0
        if pause:
            Path(pause).write_text("paused")
            while Path(pause).read_text() != "go":
                time.sleep(0.01)
        with harness.step("second", number=2):
            harness.command(["echo", "second command"])
    sys.exit(exit_code)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
