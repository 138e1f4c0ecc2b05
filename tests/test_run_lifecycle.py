"""run start / run end: a run span around a bash script, with exec calls nested inside."""

from __future__ import annotations

import json
import subprocess

from exec_support import clean_env, only_span, otel_sqlite, spans


def bash(db, script: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script], env=clean_env(db, **env), capture_output=True, timeout=60
    )


def test_run_start_exec_and_run_end_make_a_run_with_the_exec_nested(tmp_path):
    db = tmp_path / "t.db"
    done = bash(db, """
        set -e
        eval "$(otel-sqlite run start --name nightly --attr suite=smoke)"
        otel-sqlite exec --kind step --name setup -- true
        otel-sqlite exec --kind step --name check -- sh -c 'otel-sqlite exec -- true'
        otel-sqlite run end --exit-code 0
    """)
    assert done.returncode == 0, done.stderr
    by_name = {span["name"]: span for span in spans(db)}
    run = by_name["nightly"]
    assert run["harness_kind"] == "run"
    assert run["parent_span_id"] is None
    assert run["end_ns"] is not None
    assert run["attributes"]["suite"] == "smoke"
    assert {span["trace_id"] for span in by_name.values()} == {run["trace_id"]}
    assert by_name["setup"]["parent_span_id"] == run["span_id"]
    assert by_name["check"]["parent_span_id"] == run["span_id"]
    assert by_name["true"]["parent_span_id"] == by_name["check"]["span_id"]
    assert run["start_ns"] < by_name["setup"]["start_ns"]
    assert run["end_ns"] > by_name["check"]["end_ns"]


def test_the_run_is_in_flight_as_soon_as_it_starts(tmp_path):
    db = tmp_path / "t.db"
    bash(db, 'eval "$(otel-sqlite run start --name never-ended)"')
    run = only_span(db)
    assert run["name"] == "never-ended"
    assert run["end_ns"] is None


def test_run_end_keeps_the_original_start_time_and_ids(tmp_path):
    db = tmp_path / "t.db"
    bash(db, 'eval "$(otel-sqlite run start)"; sleep 0.2; otel-sqlite run end')
    (started,) = spans(db)
    assert started["end_ns"] - started["start_ns"] >= 200_000_000
    assert started["status_code"] == "UNSET"


def test_a_non_zero_exit_code_makes_the_run_an_error(tmp_path):
    db = tmp_path / "t.db"
    bash(db, 'eval "$(otel-sqlite run start)"; otel-sqlite run end --exit-code 3')
    run = only_span(db)
    assert (run["status_code"], run["status_message"]) == ("ERROR", "exit code 3")
    assert run["attributes"]["process.exit.code"] == 3


def test_status_can_be_set_outright(tmp_path):
    db = tmp_path / "t.db"
    bash(db, 'eval "$(otel-sqlite run start)"; otel-sqlite run end --status ok')
    assert only_span(db)["status_code"] == "OK"


def test_run_start_exports_the_context_and_an_absolute_database_path(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "run", "start", "--db", "t.db", "--name", "it's \"quoted\"",
                       cwd=tmp_path)
    exports = done.stdout.decode()
    assert "export TRACEPARENT=00-" in exports
    assert f"export OTEL_SQLITE_DB={db}\n" in exports
    assert "export OTEL_SQLITE_RUN=" in exports
    echoed = bash(db, f'eval "$(cat <<\'EOF\'\n{exports}EOF\n)"; echo "$OTEL_SQLITE_DB"')
    assert echoed.stdout.decode() == f"{db}\n"
    assert only_span(db)["name"] == "it's \"quoted\""


def test_a_run_nests_under_an_outer_traceparent(tmp_path):
    db = tmp_path / "t.db"
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    bash(db, 'eval "$(otel-sqlite run start)"; otel-sqlite run end', TRACEPARENT=parent)
    run = only_span(db)
    assert (run["trace_id"], run["parent_span_id"]) == (
        "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    )


def test_run_end_without_a_run_is_one_clear_error(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "run", "end", "--exit-code", "1")
    assert done.returncode == 1
    assert done.stderr.decode().startswith("Error: no run in progress")
    assert done.stderr.count(b"\n") == 1
    assert not db.exists()


def test_run_start_with_an_unwritable_database_still_prints_its_exports(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = otel_sqlite(blocker / "t.db", "run", "start")
    assert done.returncode == 0
    assert b"export TRACEPARENT=" in done.stdout
    assert done.stderr.count(b"\n") == 1
    assert done.stderr.startswith(b"otel-sqlite: warning:")


def test_run_end_sends_the_whole_run_through_another_exporter(tmp_path):
    db = tmp_path / "t.db"
    done = bash(db, 'eval "$(otel-sqlite run start --name ci --attr shard=2)"; otel-sqlite run end',
                OTEL_TRACES_EXPORTER="console")
    printed = json.loads(done.stdout)
    assert printed["name"] == "ci"
    assert printed["attributes"]["shard"] == 2
    assert printed["attributes"]["harness.kind"] == "run"
    assert printed["start_time"] < printed["end_time"]
    assert not db.exists()
