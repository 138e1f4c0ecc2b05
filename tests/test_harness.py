"""The Python harness API, driven in a fresh interpreter per test (it is process-global)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HARNESS = """
import otel_sqlite as h
h.configure(service_name="nightly-suite")
with h.run("nightly", suite="smoke"):
    with h.step("build", number=1):
        h.command(["sh", "-c", "echo compiled; echo 'WARNING: deprecated flag' >&2"])
    with h.step("test", number=2, attempt=1):
        result = h.command(["sh", "-c", "exit 3"])
    with h.api_call("claude-sonnet", provider="anthropic", input_tokens=1200) as call:
        call.output_tokens = 300
        call.cost_usd = 0.0081
        h.event("decision", choice="retry")
print(result.exit_code)
"""


def test_a_harness_records_its_run_steps_commands_and_api_calls(run_python, query) -> None:
    done = run_python(HARNESS)
    assert done.stdout.splitlines()[-1] == "3"
    rows = query("SELECT name, harness_kind, status_code FROM spans ORDER BY start_ns")
    assert rows == [
        ("nightly", "run", "UNSET"),
        ("build", "step", "UNSET"),
        ("sh -c echo compiled; echo 'WARNING: deprecated flag' >&2", "command", "UNSET"),
        ("test", "step", "UNSET"),
        ("sh -c exit 3", "command", "ERROR"),
        ("chat claude-sonnet", "api_call", "UNSET"),
    ]
    assert query("SELECT DISTINCT service_name FROM resources") == [("nightly-suite",)]


def test_spans_nest_under_the_run_in_one_trace(run_python, query) -> None:
    run_python(HARNESS)
    assert query("SELECT count(DISTINCT trace_id) FROM spans") == [(1,)]
    (run_id,) = query("SELECT span_id FROM spans WHERE harness_kind = 'run'")[0]
    parents = query("SELECT parent_span_id FROM spans WHERE harness_kind IN ('step', 'api_call')")
    assert {p for (p,) in parents} == {run_id}


def test_a_command_records_process_attributes_and_its_exit_code(run_python, query) -> None:
    run_python(HARNESS)
    attributes = dict(query(
        "SELECT a.key, a.value FROM attributes a JOIN spans s ON s.id = a.span "
        "WHERE s.name = 'sh -c exit 3'"))
    assert attributes["process.exit.code"] == 3
    assert json.loads(attributes["process.command_args"]) == ["sh", "-c", "exit 3"]
    assert attributes["process.executable.name"] == "sh"
    assert isinstance(attributes["process.pid"], int)
    assert query("SELECT status_message FROM spans WHERE name = 'sh -c exit 3'") == [
        ("exit code 3",)]


def test_command_output_is_kept_as_files_next_to_the_database(
    run_python, query, db_path: Path
) -> None:
    done = run_python(HARNESS)
    assert "compiled" in done.stdout and "WARNING: deprecated flag" in done.stderr
    artifacts = query("SELECT role, path, size, sha256 FROM artifacts ORDER BY id LIMIT 2")
    for role, path, size, sha256 in artifacts:
        file = db_path.parent / path
        assert not Path(path).is_absolute()
        assert file.name == role
        assert size == file.stat().st_size
        assert sha256 == hashlib.sha256(file.read_bytes()).hexdigest()


def test_a_word_from_a_commands_stderr_is_found_by_full_text_search(run_python, query) -> None:
    run_python(HARNESS)
    hits = query(
        "SELECT s.name, a.role, t.line FROM text_fts f JOIN text_lines t ON t.id = f.rowid "
        "JOIN artifacts a ON a.id = t.artifact JOIN spans s ON s.id = t.span "
        "WHERE text_fts MATCH 'deprecated'")
    assert hits == [("sh -c echo compiled; echo 'WARNING: deprecated flag' >&2", "stderr", 1)]


def test_api_call_usage_and_cost_use_the_gen_ai_conventions(run_python, query) -> None:
    run_python(HARNESS)
    assert query("SELECT provider, model, input_tokens, output_tokens, cost_usd "
                 "FROM api_calls") == [("anthropic", "claude-sonnet", 1200, 300, 0.0081)]
    assert query("SELECT name, attributes FROM events WHERE name = 'decision'") == [
        ("decision", '{"choice":"retry"}')]


def test_an_exception_in_a_step_marks_it_failed_records_it_and_propagates(
    run_python, query
) -> None:
    done = run_python("""
        import otel_sqlite as h
        try:
            with h.run("suite"):
                with h.step("explodes"):
                    raise RuntimeError("fixture missing")
        except RuntimeError:
            print("propagated")
    """)
    assert done.stdout.strip() == "propagated"
    assert query("SELECT name, status_code FROM spans ORDER BY start_ns") == [
        ("suite", "ERROR"), ("explodes", "ERROR")]
    assert query("SELECT count(*) FROM events WHERE name = 'exception' "
                 "AND attributes LIKE '%fixture missing%'") == [(2,)]


def test_check_true_raises_like_subprocess_run_and_still_records(run_python, query) -> None:
    done = run_python("""
        import subprocess, otel_sqlite as h
        with h.run("suite"):
            try:
                h.command(["false"], check=True)
            except subprocess.CalledProcessError as exc:
                print("raised", exc.returncode)
    """)
    assert done.stdout.strip() == "raised 1"
    assert query("SELECT value FROM attributes WHERE key = 'process.exit.code'") == [(1,)]


def test_the_outermost_span_joins_the_trace_in_traceparent(run_python, query) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    run_python("import otel_sqlite as h\nwith h.run('child-run'):\n    pass\n",
               env={"TRACEPARENT": parent})
    assert query("SELECT trace_id, parent_span_id FROM spans") == [
        ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")]


def test_a_child_command_gets_the_command_span_as_its_traceparent(run_python, query) -> None:
    done = run_python("""
        import otel_sqlite as h
        with h.run("suite"):
            r = h.command(["sh", "-c", "echo $TRACEPARENT"])
    """)
    traceparent = done.stdout.strip()
    (trace_id, span_id) = query("SELECT trace_id, span_id FROM spans "
                                "WHERE harness_kind = 'command'")[0]
    assert traceparent.startswith(f"00-{trace_id}-{span_id}-")


def test_otel_traces_exporter_otlp_style_selection_sends_spans_elsewhere(
    run_python, db_path: Path
) -> None:
    done = run_python("import otel_sqlite as h\nwith h.run('to-console'):\n    pass\n",
                      env={"OTEL_TRACES_EXPORTER": "console"})
    assert '"name": "to-console"' in done.stdout
    assert not db_path.exists()


def test_configure_loses_none_of_20k_spans_created_in_a_tight_loop(run_python, query) -> None:
    run_python("""
        import otel_sqlite as h
        from opentelemetry import trace
        h.configure()
        tracer = trace.get_tracer("loop")
        for i in range(20_000):
            with tracer.start_as_current_span("tick", attributes={"i": i}):
                pass
    """, timeout=120)
    assert query("SELECT count(*) FROM spans") == [(20_000,)]
