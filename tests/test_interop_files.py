"""``export otlp`` and ``import``: OTLP/JSON lines out and back in, reproducing every row."""

from __future__ import annotations

import gzip
import json
import subprocess

from click.testing import CliRunner
from interop_support import OTEL_SQLITE, env, rich_database, snapshot

from otel_sqlite.cli.main import cli


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([OTEL_SQLITE, *args], capture_output=True, text=True, env=env())


def test_export_then_import_reproduces_every_row(tmp_path):
    source = rich_database(tmp_path / "a.db")
    exported = run("export", "otlp", "--db", str(source), "-o", str(tmp_path / "a.jsonl"))
    assert exported.returncode == 0, exported.stderr
    imported = run("import", "--db", str(tmp_path / "b.db"), str(tmp_path / "a.jsonl"))
    assert imported.returncode == 0, imported.stderr
    assert "imported 5 spans" in imported.stdout
    assert snapshot(tmp_path / "b.db") == snapshot(source)


def test_export_writes_one_request_per_line_in_the_collector_file_format(tmp_path):
    source = rich_database(tmp_path / "a.db")
    result = CliRunner().invoke(cli, ["export", "otlp", "--db", str(source)])
    lines = result.output.splitlines()
    assert len(lines) == 1
    request = json.loads(lines[0])
    spans = [span for rs in request["resourceSpans"] for ss in rs["scopeSpans"]
             for span in ss["spans"]]
    assert len(spans) == 5
    assert all(len(span["traceId"]) == 32 and len(span["spanId"]) == 16 for span in spans)


def test_importing_twice_changes_nothing(tmp_path):
    source = rich_database(tmp_path / "a.db")
    run("export", "otlp", "--db", str(source), "-o", str(tmp_path / "a.jsonl"))
    target = tmp_path / "b.db"
    run("import", "--db", str(target), str(tmp_path / "a.jsonl"))
    once = snapshot(target)
    run("import", "--db", str(target), str(tmp_path / "a.jsonl"))
    assert snapshot(target) == once


def test_export_of_one_run_by_trace_id_prefix(tmp_path):
    source = rich_database(tmp_path / "a.db")
    prefix = snapshot(source)["spans"][0][0][:8]
    result = CliRunner().invoke(cli, ["export", "otlp", "--db", str(source), prefix])
    request = json.loads(result.output)
    trace_ids = {span["traceId"] for rs in request["resourceSpans"]
                 for ss in rs["scopeSpans"] for span in ss["spans"]}
    assert len(trace_ids) == 1 and trace_ids.pop().startswith(prefix)


def test_a_gzipped_export_imports(tmp_path):
    source = rich_database(tmp_path / "a.db")
    run("export", "otlp", "--db", str(source), "-o", str(tmp_path / "a.jsonl.gz"))
    with gzip.open(tmp_path / "a.jsonl.gz") as f:
        assert f.readline().startswith(b'{"resourceSpans"')
    run("import", "--db", str(tmp_path / "b.db"), str(tmp_path / "a.jsonl.gz"))
    assert snapshot(tmp_path / "b.db") == snapshot(source)


def test_a_single_pretty_printed_document_imports(tmp_path):
    source = rich_database(tmp_path / "a.db")
    line = CliRunner().invoke(cli, ["export", "otlp", "--db", str(source)]).output
    (tmp_path / "doc.json").write_text(json.dumps(json.loads(line), indent=2))
    result = run("import", "--db", str(tmp_path / "b.db"), str(tmp_path / "doc.json"))
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path / "b.db") == snapshot(source)


def test_bad_lines_are_reported_with_their_number_and_the_rest_imported(tmp_path):
    source = rich_database(tmp_path / "a.db")
    good = CliRunner().invoke(cli, ["export", "otlp", "--db", str(source)]).output.strip()
    bad_id = good.replace(json.loads(good)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
                          ["spanId"], "nothex!!nothex!!")
    (tmp_path / "mixed.jsonl").write_text("\n".join(["{not json", "", bad_id, good, "[]"]) + "\n")
    result = run("import", "--db", str(tmp_path / "b.db"), str(tmp_path / "mixed.jsonl"))
    assert result.returncode == 1
    assert "mixed.jsonl:1: malformed JSON" in result.stderr
    assert "mixed.jsonl:3: 'spanId' 'nothex!!nothex!!' is not hex" in result.stderr
    assert "mixed.jsonl:5:" in result.stderr
    assert "imported 5 spans" in result.stdout
    assert snapshot(tmp_path / "b.db") == snapshot(source)


def test_import_of_a_missing_file_is_one_clean_error(tmp_path):
    result = run("import", "--db", str(tmp_path / "b.db"), str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "b.db").exists()


def test_since_keeps_whole_traces_that_have_a_span_in_the_window(tmp_path):
    source = rich_database(tmp_path / "a.db")
    recent = CliRunner().invoke(cli, ["export", "otlp", "--db", str(source), "--since", "1h"])
    future = CliRunner().invoke(
        cli, ["export", "otlp", "--db", str(source), "--since", "2999-01-01"]
    )
    assert len(json.loads(recent.output)["resourceSpans"][0]["scopeSpans"]) == 2
    assert '"name":"command: sleep 100"' not in recent.output  # recorded in 2023
    assert future.output == ""


def test_a_bad_since_is_one_clean_error(tmp_path):
    source = rich_database(tmp_path / "a.db")
    result = CliRunner().invoke(cli, ["export", "otlp", "--db", str(source), "--since", "2 days"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: '2 days' is neither an age (2h, 90d) nor a date (2026-01-31, 2026-01-31T08:00)"]
