"""The harness API's command() and exec describe a child process the same way."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from exec_support import clean_env, otel_sqlite, spans

HARNESS = textwrap.dedent("""
    import otel_sqlite
    otel_sqlite.configure()
    with otel_sqlite.run("suite"):
        result = otel_sqlite.command(["sh", "-c", "echo hi; exit 3"], name="harness")
        slow = otel_sqlite.command(["sleep", "30"], name="slow", timeout=0.5)
    print(result.exit_code, result.stdout, slow.exit_code)
""")


def test_harness_command_and_exec_record_the_same_attributes_and_status(tmp_path):
    db = tmp_path / "t.db"
    done = subprocess.run([sys.executable, "-c", HARNESS], env=clean_env(db),
                          capture_output=True, timeout=60)
    assert done.stdout.decode().splitlines()[-1] == "3 b'hi\\n' 124"
    otel_sqlite(db, "exec", "--name", "exec", "--", "sh", "-c", "echo hi; exit 3")
    by_name = {span["name"]: span for span in spans(db)}
    harness, wrapped = by_name["harness"], by_name["exec"]
    assert set(harness["attributes"]) == set(wrapped["attributes"])
    assert harness["attributes"]["process.exit.code"] == wrapped["attributes"]["process.exit.code"]
    assert (harness["status_code"], harness["status_message"]) == (
        wrapped["status_code"], wrapped["status_message"]
    )
    assert by_name["slow"]["status_message"] == "timed out after 0.5 s, killed by SIGTERM"
    assert by_name["harness"]["parent_span_id"] == by_name["suite"]["span_id"]


def test_harness_command_joins_the_trace_of_an_enclosing_exec(tmp_path):
    db = tmp_path / "t.db"
    script = (
        "import otel_sqlite; otel_sqlite.configure(); otel_sqlite.command(['true'], name='inner')"
    )
    otel_sqlite(db, "exec", "--name", "outer", "--", sys.executable, "-c", script)
    by_name = {span["name"]: span for span in spans(db)}
    assert by_name["inner"]["parent_span_id"] == by_name["outer"]["span_id"]
    assert by_name["inner"]["trace_id"] == by_name["outer"]["trace_id"]
