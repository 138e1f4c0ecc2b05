"""Runs of every shape the outcome model must count alike, through the real harness API and the
real ``exec``: ``python tests/outcome_scenarios.py DB`` (the harness is configured once per
process, so each Python run is its own interpreter). In order:

1. ``nested``: feature -> scenarios -> steps; one leaf fails, one scenario fails on its own
   after its steps passed, one API call;
2. ``retries``: a step that passes on its second attempt, one that fails all three;
3. ``skips``: ``skip()``, an xfail that fails, an xfail that passes, a plain pass;
4. ``suite.sh``-style: ``exec --name nightly -- bash suite.sh`` whose ``exec --kind step``
   children pass, fail, skip themselves with exit 77 (``--skip-exit-code 77``) and pass;
5. ``commands``: ``exec --kind run`` over two commands and no step, one failing;
6. ``lonely``: ``exec --kind run -- false``, a run with nothing inside;
7. ``killed``: killed with SIGKILL inside its second step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

PYTHON_RUNS = {
    "nested": """
with h.run("nested"):
    try:
        with h.step("feature: checkout"):
            with h.step("scenario: pay by card"):
                with h.step("given a basket"):
                    pass
                with h.step("when I pay"):
                    with h.api_call("m1", provider="p", input_tokens=3, output_tokens=4,
                                    cost_usd=0.5):
                        pass
                    h.command(["sh", "-c", "echo declined >&2; exit 2"], check=True)
    except subprocess.CalledProcessError:
        pass
    try:
        with h.step("feature: refunds"):
            with h.step("scenario: refund a card"):
                with h.step("given a payment"):
                    pass
                raise RuntimeError("refund ledger is locked")
    except RuntimeError:
        pass
""",
    "retries": """
with h.run("retries"):
    for attempt in (1, 2):
        try:
            with h.step("sync", attempt=attempt):
                h.command(["sh", "-c", f"exit {int(attempt == 1)}"], check=True)
        except subprocess.CalledProcessError:
            pass
    for attempt in (1, 2, 3):
        try:
            with h.step("doomed", attempt=attempt):
                h.command(["sh", "-c", "echo nope >&2; exit 5"], check=True)
        except subprocess.CalledProcessError:
            pass
""",
    "skips": """
with h.run("skips"):
    with h.step("needs credentials"):
        h.skip("no credentials in CI")
        raise AssertionError("never runs")
    with h.step("known bug", xfail="bug #12"):
        raise ValueError("still broken")
    with h.step("fixed bug", xfail="bug #13"):
        pass
    with h.step("plain"):
        pass
""",
    "killed": """
with h.run("killed"):
    with h.step("first"):
        pass
    with h.step("second"):
        h.configure().force_flush()
        os.kill(os.getpid(), signal.SIGKILL)
""",
}
SUITE_SH = """
otel-sqlite exec --kind step --name build -- true
otel-sqlite exec --kind step --name test -- sh -c 'echo "2 != 3" >&2; exit 3'
otel-sqlite exec --kind step --name gpu --skip-exit-code 77 -- sh -c 'exit 77'
otel-sqlite exec --kind step --name package -- true
exit 1
"""


def main(db: str) -> None:
    env = {**os.environ, "OTEL_SQLITE_DB": db}
    env.pop("TRACEPARENT", None)
    head = "import os, signal, subprocess\nfrom otel_sqlite import harness as h\n"
    for name, body in PYTHON_RUNS.items():
        if name == "killed":
            continue
        subprocess.run([sys.executable, "-c", head + body], env=env, check=True)
    folder = Path(db).parent
    (folder / "suite.sh").write_text(SUITE_SH)
    bin_dir = Path(sys.executable).parent  # where the console script otel-sqlite lives
    exec_ = [str(bin_dir / "otel-sqlite"), "exec"]
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    for argv in (
        ["--name", "nightly", "--", "bash", str(folder / "suite.sh")],
        ["--kind", "run", "--name", "commands", "--", "sh", "-c",
         "otel-sqlite exec -- true; otel-sqlite exec -- false; true"],
        ["--kind", "run", "--name", "lonely", "--", "false"],
    ):
        subprocess.run([*exec_, "-q", *argv], env=env, check=False)
    killed = subprocess.run([sys.executable, "-c", head + PYTHON_RUNS["killed"]], env=env)
    assert killed.returncode == -signal.SIGKILL


if __name__ == "__main__":
    main(sys.argv[1])
