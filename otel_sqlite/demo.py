"""A built-in example run, so a newcomer sees real records before writing a line of code.

One run that holds each story the project serves: scenario steps whose commands pass, warn and
fail, a flaky step retried, a step skipped with its reason, a known bug expected to fail
(xfail), and an agent's paid API calls with their cost.
"""

from __future__ import annotations

import os
import subprocess
import sys

from otel_sqlite import harness as h

_PY = sys.executable


def _script(source: str) -> list[str]:
    return [_PY, "-c", source]


def record_demo(db: str | os.PathLike[str]) -> str:
    """Record the demo run into ``db`` and return its trace id (the run's id)."""
    h.configure(db=db, service_name="otel-sqlite-demo")
    try:
        with h.run("demo-suite", suite="demo") as run_span:
            with h.step("setup", number=1):
                h.command(_script("print('creating 3 fixtures'); print('fixtures ready')"),
                          check=True)
            with h.step("lint", number=2):
                h.command(_script("import sys; print('WARNING: unused import in app.py', "
                                  "file=sys.stderr)"), check=True)
            for attempt in (1, 2):
                try:
                    with h.step("health check", number=3, attempt=attempt):
                        h.command(_script(f"import sys; print('probe {attempt}'); "
                                          f"sys.exit({int(attempt == 1)})"), check=True)
                    break
                except subprocess.CalledProcessError:
                    h.event("retry", step="health check", attempt=attempt)
            with h.step("plan fix", number=4):
                for model, tokens_in, tokens_out, cost in (
                    ("claude-sonnet-4", 1840, 420, 0.01182),
                    ("claude-haiku-4", 960, 180, 0.001488),
                ):
                    with h.api_call(model, provider="anthropic", input_tokens=tokens_in,
                                    output_tokens=tokens_out, cost_usd=cost):
                        h.event("decision", choice=f"ask {model}")
            with h.step("deploy preview", number=5):
                h.skip("no preview environment on this machine")
            with h.step("export csv", number=6, xfail="unicode names are dropped, bug #12"):
                h.command(_script("import sys; print('exporting'); "
                                  "print('UnicodeEncodeError: Zoë', file=sys.stderr); "
                                  "sys.exit(1)"), check=True)
            with h.step("integration", number=7):
                h.command(_script("import sys; print('connecting to db:5432'); "
                                  "print('ERROR: connection refused', file=sys.stderr); "
                                  "sys.exit(2)"), check=True)
    except subprocess.CalledProcessError:
        pass  # the failing step is part of the demo; it is recorded as an error
    finally:
        h.configure().force_flush()
    return f"{run_span.get_span_context().trace_id:032x}"

