"""Adds to the example database (``tests/scenarios.py``) what the UI's tests need, through the
real harness API: ``python tests/ui_scenarios.py DB``.

1. ``<script>alert(1)</script>``: a run whose names, attributes and output are hostile HTML;
2. ``release``: a step that raises, so its span holds an exception event with a stack trace,
   and a long stdout (300 lines) with a needle on line 250;
3. ``deploy``: killed with SIGKILL mid-step, so its run and step stay in flight.
"""

from __future__ import annotations

import os
import signal
import sys

from otel_sqlite import harness

SH = "/bin/sh"
HOSTILE = "<script>alert(1)</script>"
PAYLOAD = "<img src=x onerror=\"window.__pwned=1;alert(2)\">"
NEEDLE_LINE = 250


def hostile() -> None:
    with harness.run(HOSTILE, note=f"<b>bold</b>{PAYLOAD}"):
        with harness.step(PAYLOAD, number=1):
            harness.command([SH, "-c", f"echo '{HOSTILE}'; echo '{PAYLOAD}' >&2"],
                            name=f"echo {HOSTILE}")


def explode() -> None:
    raise ValueError("release notes are missing")


def release() -> None:
    script = f"i=1; while [ $i -le 300 ]; do if [ $i -eq {NEEDLE_LINE} ]; then " \
             "echo \"line $i: zanzibar checksum mismatch\"; else echo \"line $i: ok\"; fi; " \
             "i=$((i+1)); done"
    try:
        with harness.run("release"):
            with harness.step("package", number=1):
                harness.command([SH, "-c", script], name="build package")
            with harness.step("publish", number=2):
                explode()
    except ValueError:
        pass


def killed_mid_run() -> None:
    with harness.run("deploy"):
        with harness.step("migrate", number=1):
            harness.configure().force_flush()
            os.kill(os.getpid(), signal.SIGKILL)


def main(db: str) -> None:
    harness.configure(db, service_name="ci")
    hostile()
    release()
    harness.configure().force_flush()
    killed_mid_run()


if __name__ == "__main__":
    main(sys.argv[1])
