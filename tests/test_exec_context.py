"""exec joins the trace in TRACEPARENT and hands it on, so nested calls nest with no flags."""

from __future__ import annotations

from exec_support import clean_env, only_span, otel_sqlite, spans

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_three_nested_execs_make_one_trace_with_the_right_parents(tmp_path):
    db = tmp_path / "t.db"
    inner = "otel-sqlite exec --name inner -- true"
    middle = f"otel-sqlite exec --name middle -- sh -c '{inner}'"
    done = otel_sqlite(db, "exec", "--name", "outer", "--", "sh", "-c", middle)
    assert done.returncode == 0, done.stderr
    by_name = {span["name"]: span for span in spans(db)}
    assert set(by_name) == {"outer", "middle", "inner"}
    assert len({span["trace_id"] for span in by_name.values()}) == 1
    assert by_name["outer"]["parent_span_id"] is None
    assert by_name["middle"]["parent_span_id"] == by_name["outer"]["span_id"]
    assert by_name["inner"]["parent_span_id"] == by_name["middle"]["span_id"]


def test_a_traceparent_in_the_environment_becomes_the_parent(tmp_path):
    db = tmp_path / "t.db"
    otel_sqlite(db, "exec", "--", "true", env=clean_env(db, TRACEPARENT=PARENT))
    span = only_span(db)
    assert span["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert span["parent_span_id"] == "b7ad6b7169203331"


def test_the_child_sees_the_exec_span_as_its_parent_with_tracestate_kept(tmp_path):
    db = tmp_path / "t.db"
    env = clean_env(db, TRACEPARENT=PARENT, TRACESTATE="vendor=abc")
    done = otel_sqlite(db, "exec", "--", "sh", "-c", 'echo "$TRACEPARENT $TRACESTATE"', env=env)
    span = only_span(db)
    assert done.stdout.decode() == f"00-{span['trace_id']}-{span['span_id']}-01 vendor=abc\n"
    assert span["trace_state"] == "vendor=abc"


def test_an_invalid_traceparent_starts_a_new_trace(tmp_path):
    db = tmp_path / "t.db"
    otel_sqlite(db, "exec", "--", "true", env=clean_env(db, TRACEPARENT="00-zz-nonsense-01"))
    span = only_span(db)
    assert span["parent_span_id"] is None
    assert len(span["trace_id"]) == 32


def test_the_child_writes_to_the_same_database_as_an_absolute_path(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(
        db, "exec", "--db", "t.db", "--", "sh", "-c", 'echo "$OTEL_SQLITE_DB"', cwd=tmp_path
    )
    assert done.stdout.decode() == f"{db}\n"


def test_attributes_are_typed_like_otel_attributes(tmp_path):
    db = tmp_path / "t.db"
    otel_sqlite(
        db, "exec", "--attr", "retries=3", "--attr", "ratio=0.5", "--attr", "ci=true",
        "--attr", "build=007", "--attr", "note=a=b", "--", "true",
    )
    attributes = only_span(db)["attributes"]
    assert attributes["retries"] == 3
    assert attributes["ratio"] == 0.5
    assert attributes["ci"] is True
    assert attributes["build"] == "007"
    assert attributes["note"] == "a=b"


def test_a_malformed_attribute_is_a_usage_error_and_runs_nothing(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "exec", "--attr", "novalue", "--", "touch", str(tmp_path / "ran"))
    assert done.returncode == 2
    assert b"'novalue' is not KEY=VALUE" in done.stderr
    assert not (tmp_path / "ran").exists()
    assert not db.exists()


def test_kind_name_and_process_attributes_are_recorded(tmp_path):
    db = tmp_path / "t.db"
    otel_sqlite(db, "exec", "--kind", "step", "--name", "setup", "--cwd", str(tmp_path), "--",
                "sh", "-c", "true")
    span = only_span(db)
    assert span["name"] == "setup"
    assert span["harness_kind"] == "step"
    attributes = span["attributes"]
    assert attributes["process.command_args"] == ["sh", "-c", "true"]
    assert attributes["process.executable.name"] == "sh"
    assert attributes["process.working_directory"] == str(tmp_path)
    assert isinstance(attributes["process.pid"], int)


def test_kind_run_records_provenance(tmp_path):
    db = tmp_path / "t.db"
    otel_sqlite(db, "exec", "--kind", "run", "--", "true")
    assert "host.name" in only_span(db)["attributes"]
