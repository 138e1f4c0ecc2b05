"""The example bash suite records a run of steps, a retry, nested commands and a failure."""

from __future__ import annotations

import subprocess
from pathlib import Path

from exec_support import artifacts, clean_env, spans

SUITE = Path(__file__).resolve().parent.parent / "examples" / "scenario-suite" / "run.sh"


def test_the_scenario_suite_runs_from_any_folder_and_records_everything(tmp_path):
    db = tmp_path / "suite.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(["bash", str(SUITE)], cwd=elsewhere, env=clean_env(db),
                          capture_output=True, timeout=120)
    assert done.returncode == 1, done.stderr  # step 04 fails on purpose
    recorded = spans(db)
    (run,) = [span for span in recorded if span["harness_kind"] == "run"]
    assert (run["status_code"], run["end_ns"] is not None) == ("ERROR", True)
    steps = [span for span in recorded if span["harness_kind"] == "step"]
    outcomes = [
        (s["name"], s["attributes"]["harness.step.attempt"], s["status_code"]) for s in steps
    ]
    assert outcomes == [
        ("00-setup", 1, "UNSET"),
        ("01-build", 1, "UNSET"),
        ("02-lint", 1, "UNSET"),
        ("03-flaky-download", 1, "ERROR"),
        ("03-flaky-download", 2, "UNSET"),
        ("04-check", 1, "ERROR"),
        ("05-teardown", 1, "UNSET"),
    ]
    assert {s["parent_span_id"] for s in steps} == {run["span_id"]}
    build = next(s for s in steps if s["name"] == "01-build")
    commands = [span for span in recorded if span["harness_kind"] == "command"]
    assert len(commands) == 3
    assert {c["parent_span_id"] for c in commands} == {build["span_id"]}
    lint = next(s for s in steps if s["name"] == "02-lint")
    assert b"warning: design.md" in artifacts(db, lint["span_id"])["stderr"]["file"].read_bytes()
    assert not list(elsewhere.iterdir())  # nothing left behind in the caller's folder
