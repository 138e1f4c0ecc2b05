"""A harness running one shell command as a command span: ``run_command.py DB SHELL``."""

from __future__ import annotations

import sys

from otel_sqlite import harness


def main(db: str, shell: str) -> None:
    harness.configure(db=db)
    with harness.run("output"):
        harness.command(["sh", "-c", shell])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
