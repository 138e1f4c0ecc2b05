"""The UI's JSON API, over a real server on 127.0.0.1 and a database written by the harness."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ui_support import get_json, request, running, write_run

from otel_sqlite.conventions import ARTIFACT_EVENT, ARTIFACT_PATH, ARTIFACT_ROLE, HARNESS_KIND
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage.store import Store

pytest_plugins = ["ui_fixtures"]  # the example database and server fixtures

HOSTILE = "<script>alert(1)</script>"


def _run_id(server, name: str, status: str | None = None) -> str:
    _, data = get_json(server, "/api/runs?limit=500")
    return next(r["run_id"] for r in data["runs"]
                if r["name"] == name and (status is None or r["status"] == status))


def _spans(server, run_id: str) -> list[dict]:
    _, data = get_json(server, f"/api/runs/{run_id}/spans")
    return data["spans"]


def test_runs_come_newest_first_with_their_statuses(ui_server):
    status, data = get_json(ui_server, "/api/runs")
    assert status == 200
    names = [(r["name"], r["status"]) for r in data["runs"]]
    assert names[0] == ("deploy", "incomplete")
    assert ("nightly", "error") in names and ("agent-session", "ok") in names
    starts = [r["start"] for r in data["runs"]]
    assert starts == sorted(starts, reverse=True)


def test_runs_are_paged_with_a_more_flag(ui_server):
    _, first = get_json(ui_server, "/api/runs?limit=2")
    _, second = get_json(ui_server, "/api/runs?limit=2&offset=2")
    assert first["more"] is True and len(first["runs"]) == 2
    assert {r["run_id"] for r in first["runs"]}.isdisjoint(r["run_id"] for r in second["runs"])


def test_runs_filter_by_status_name_and_text(ui_server):
    _, failed = get_json(ui_server, "/api/runs?status=error")
    assert {r["name"] for r in failed["runs"]} == {"nightly", "release"}
    _, named = get_json(ui_server, "/api/runs?name=nightly&since=1h")
    assert len(named["runs"]) == 2
    _, text = get_json(ui_server, "/api/runs?q=gh-450")
    assert [r["name"] for r in text["runs"]] == ["agent-session"]


def test_a_bad_parameter_is_a_400_with_a_sentence(ui_server):
    status, data = get_json(ui_server, "/api/runs?limit=lots")
    assert status == 400
    assert "limit must be a whole number" in data["error"]


def test_an_unknown_run_is_a_404(ui_server):
    status, data = get_json(ui_server, "/api/runs/00000000000000000000000000000000")
    assert status == 404
    assert "no run" in data["error"]
    assert get_json(ui_server, "/api/runs/ffff0000/spans")[0] == 404


def test_the_run_tree_marks_the_failed_step_and_groups_retries(ui_server):
    _, nightly = get_json(ui_server, "/api/runs?name=nightly")
    first_night = nightly["runs"][-1]
    spans = _spans(ui_server, first_night["run_id"])
    assert next(s for s in spans if s["name"] == "test")["status"] == "error"
    assert sorted(s["attempt"] for s in spans if s["name"] == "flaky") == [1, 2]
    assert all(s["attempt"] is None for s in spans if s["name"] != "flaky")


def test_an_in_flight_run_has_open_spans(ui_server):
    spans = _spans(ui_server, _run_id(ui_server, "deploy"))
    assert {s["name"]: s["status"] for s in spans} == {"deploy": "incomplete",
                                                       "migrate": "incomplete"}
    assert all(s["duration_ms"] is None for s in spans)


def test_span_details_have_typed_attributes_events_and_artifacts(ui_server):
    run_id = _run_id(ui_server, "release")
    spans = _spans(ui_server, run_id)
    publish = next(s for s in spans if s["name"] == "publish")
    status, details = get_json(ui_server, f"/api/spans/{run_id}/{publish['span_id']}")
    assert status == 200
    assert details["attributes"]["harness.step.number"] == 2
    exception = next(e for e in details["events"] if e["name"] == "exception")
    assert "release notes are missing" in exception["attributes"]["exception.message"]
    assert "Traceback" in exception["attributes"]["exception.stacktrace"]
    assert exception["offset_ms"] >= 0
    command = next(s for s in spans if s["name"] == "build package")
    _, details = get_json(ui_server, f"/api/spans/{run_id}/{command['span_id']}")
    assert {a["role"] for a in details["artifacts"]} == {"stdout", "stderr"}


def test_an_unknown_span_is_a_404(ui_server):
    run_id = _run_id(ui_server, "release")
    assert get_json(ui_server, f"/api/spans/{run_id}/0000000000000000")[0] == 404


def _artifact(ui_server, run: str, span: str, role: str) -> dict:
    run_id = _run_id(ui_server, run)
    command = next(s for s in _spans(ui_server, run_id) if s["name"] == span)
    _, details = get_json(ui_server, f"/api/spans/{run_id}/{command['span_id']}")
    return next(a for a in details["artifacts"] if a["role"] == role)


def test_artifact_lines_come_in_pages(ui_server):
    artifact = _artifact(ui_server, "release", "build package", "stdout")
    path = f"/api/artifacts/{artifact['artifact_id']}?start=249&count=3"
    _, page = get_json(ui_server, path)
    assert [line["line"] for line in page["lines"]] == [249, 250, 251]
    assert page["lines"][1]["text"] == "line 250: zanzibar checksum mismatch"
    assert page["next_line"] == 252


def test_raw_artifacts_download_exactly_and_by_range(ui_server):
    artifact = _artifact(ui_server, "release", "build package", "stdout")
    url = f"{ui_server.url}api/artifacts/{artifact['artifact_id']}/raw"
    status, headers, body = request(url)
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == artifact["sha256"]
    assert headers["Content-Disposition"].startswith("attachment")
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, part = request(url, {"Range": "bytes=0-9"})
    assert (status, part) == (206, body[:10])
    assert headers["Content-Range"] == f"bytes 0-9/{len(body)}"


def test_a_range_past_the_end_is_416_and_a_suffix_range_is_the_tail(ui_server):
    artifact = _artifact(ui_server, "release", "build package", "stdout")
    url = f"{ui_server.url}api/artifacts/{artifact['artifact_id']}/raw"
    status, headers, _ = request(url, {"Range": f"bytes={artifact['size']}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{artifact['size']}"
    status, _, tail = request(url, {"Range": "bytes=-12"})
    assert (status, tail) == (206, b"line 300: ok\n"[-12:])


def test_an_unknown_artifact_is_a_404(ui_server):
    assert request(f"{ui_server.url}api/artifacts/999999/raw")[0] == 404
    assert get_json(ui_server, "/api/artifacts/999999")[0] == 404


def test_an_artifact_outside_the_database_folder_is_not_served(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2\n")
    db = tmp_path / "db" / "traces.db"
    store = Store(db)
    store.write([SpanRecord(
        "ab" * 16, "cd" * 8, "imported", 1, 2, attributes={HARNESS_KIND: "run"},
        events=[EventRecord(ARTIFACT_EVENT, 1, {ARTIFACT_PATH: str(secret),
                                                ARTIFACT_ROLE: "stdout"})],
    )])
    store.close()
    with running(db) as server:
        _, details = get_json(server, f"/api/spans/{'ab' * 16}/{'cd' * 8}")
        artifact_id = details["artifacts"][0]["artifact_id"]
        status, headers, body = request(f"{server.url}api/artifacts/{artifact_id}/raw")
        assert status == 403 and b"hunter2" not in body
        status, page = get_json(server, f"/api/artifacts/{artifact_id}")
        assert status == 403 and "outside the database's folder" in page["error"]


def test_paths_outside_the_shipped_files_are_404(ui_server):
    for path in ("/static/../pyproject.toml", "/static/%2e%2e/server.py", "/etc/passwd",
                 "/static/js/../../api.py"):
        status, _, body = request(ui_server.url.rstrip("/") + path)
        assert status == 404, path
        assert b"def " not in body


def test_search_hits_name_their_run_span_stream_and_line(ui_server):
    status, data = get_json(ui_server, "/api/search?q=zanzibar")
    assert status == 200
    hit = next(h for h in data["hits"] if h["stream"] == "stdout")
    assert (hit["run_name"], hit["span_name"], hit["line"]) == ("release", "build package", 250)
    assert hit["artifact_id"] is not None


def test_a_malformed_search_is_a_400_that_says_how_to_fix_it(ui_server):
    status, data = get_json(ui_server, "/api/search?q=%22unterminated")
    assert status == 400
    assert "double quotes" in data["error"]


def test_costs_sum_tokens_and_dollars_per_model(ui_server):
    _, data = get_json(ui_server, "/api/costs?by=model")
    rows = {r["model"]: r for r in data["rows"]}
    assert rows["claude-sonnet-4"]["calls"] == 2
    assert rows["claude-sonnet-4"]["cost_usd"] == 0.0135
    assert rows["gpt-4o"]["input_tokens"] == 2000


def test_diff_names_newly_failing_and_fixed_steps(ui_server):
    _, runs = get_json(ui_server, "/api/runs?name=nightly")
    newer, older = (r["run_id"] for r in runs["runs"])
    status, diff = get_json(ui_server, f"/api/diff?a={older}&b={newer}")
    assert status == 200
    assert [s["path"] for s in diff["newly_failing"]] == ["compile"]
    assert [s["path"] for s in diff["fixed"]] == ["test"]


def test_flaky_lists_the_retried_step(ui_server):
    _, data = get_json(ui_server, "/api/flaky?name=nightly")
    assert any(s["step"] == "flaky" and s["retried"] for s in data["steps"])


def test_hostile_text_is_returned_as_data_and_pages_forbid_inline_script(ui_server):
    _, data = get_json(ui_server, "/api/runs?q=script")
    assert HOSTILE in [r["name"] for r in data["runs"]]
    status, headers, body = request(ui_server.url)
    assert status == 200 and b"<main" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def _fingerprint(db: Path) -> list[str]:
    """The database file and its write-ahead log, as they are on disk."""
    files = [db, Path(f"{db}-wal")]
    return [hashlib.sha256(f.read_bytes()).hexdigest() if f.exists() else "-" for f in files]


def test_the_ui_refuses_anything_but_reading(ui_server, ui_example_db):
    before = _fingerprint(ui_example_db)
    for method in ("POST", "PUT", "DELETE"):
        assert request(ui_server.url + "api/runs", method=method)[0] == 405
    for path in ("/api/runs", "/api/costs", "/api/search?q=zanzibar", "/api/flaky"):
        assert get_json(ui_server, path)[0] == 200
    assert _fingerprint(ui_example_db) == before


def test_a_foreign_host_header_is_refused(ui_server):
    status, _, _ = request(ui_server.url + "api/runs", {"Host": "evil.example:8787"})
    assert status == 403


def test_runs_written_while_serving_appear(tmp_path):
    db = tmp_path / "live.db"
    write_run(db, "first", "1" * 32)
    with running(db) as server:
        assert [r["name"] for r in get_json(server, "/api/runs")[1]["runs"]] == ["first"]
        write_run(db, "second", "2" * 32)
        assert [r["name"] for r in get_json(server, "/api/runs")[1]["runs"]] == ["second",
                                                                                 "first"]


def test_the_server_survives_its_database_replaced_or_removed(tmp_path):
    db, other = tmp_path / "a.db", tmp_path / "b.db"
    write_run(db, "original", "1" * 32)
    write_run(other, "replacement", "2" * 32)
    with running(db) as server:
        assert get_json(server, "/api/runs")[1]["runs"][0]["name"] == "original"
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.replace(other, db)
        assert get_json(server, "/api/runs")[1]["runs"][0]["name"] == "replacement"
        moved = tmp_path / "moved.db"
        shutil.move(db, moved)
        status, data = get_json(server, "/api/runs")
        assert status == 503 and "no database" in data["error"]
        shutil.move(moved, db)
        assert get_json(server, "/api/runs")[0] == 200


def test_a_pruned_run_disappears_and_its_id_becomes_a_404(tmp_path):
    db = tmp_path / "prune.db"
    write_run(db, "old", "1" * 32)
    write_run(db, "new", "2" * 32)
    with running(db) as server:
        assert get_json(server, f"/api/runs/{'1' * 32}")[0] == 200
        store = Store(db)
        store._db.execute("DELETE FROM spans WHERE trace_id = ?", ("1" * 32,))
        store.close()
        assert [r["name"] for r in get_json(server, "/api/runs")[1]["runs"]] == ["new"]
        assert get_json(server, f"/api/runs/{'1' * 32}")[0] == 404
