"""grep: Python regular expressions over captured output, printed as grep prints them."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_sqlite.cli.main import cli
from otel_sqlite.conventions import ARTIFACT_EVENT, ARTIFACT_PATH, ARTIFACT_ROLE, HARNESS_KIND
from otel_sqlite.queries.grep import MAX_LINE_BYTES, Grep
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage import artifacts
from otel_sqlite.storage.schema import connect_readonly
from otel_sqlite.storage.store import Store

TRACE_A = "a" * 32
TRACE_B = "b" * 32
CONTEXT_LOG = "".join(
    f"line {n}: {'ERR042 disk full' if n in (5, 7, 15) else 'all good'}\n" for n in range(1, 21)
)


def record(db_path: Path, trace: str, step: str, outputs: dict[str, bytes | str | Path],
           start: int = 1_000) -> None:
    """A run with one step whose command wrote ``outputs`` ({role: content, or its file})."""
    folder = db_path.parent / trace / step
    folder.mkdir(parents=True, exist_ok=True)
    events = []
    for role, content in outputs.items():
        path = content if isinstance(content, Path) else folder / role
        if not isinstance(content, Path):
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        events.append(EventRecord(ARTIFACT_EVENT, start, {ARTIFACT_PATH: str(path),
                                                          ARTIFACT_ROLE: role}))
    root, step_id, command = (f"{trace[:8]}{n:08x}" for n in (1, 2, 3))
    Store(db_path).write([
        SpanRecord(trace, root, "nightly", start, start + 100,
                   attributes={HARNESS_KIND: "run"}),
        SpanRecord(trace, step_id, step, start + 1, start + 90, parent_span_id=root,
                   attributes={HARNESS_KIND: "step", "note": f"{step} ERR042 in span text"}),
        SpanRecord(trace, command, "make", start + 2, start + 80, parent_span_id=step_id,
                   attributes={HARNESS_KIND: "command"}, events=events),
    ])


def grep(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["grep", *args])
    return result.exit_code, result.output


def test_context_lines_read_as_gnu_grep_prints_them(db_path):
    record(db_path, TRACE_A, "build", {"stdout": CONTEXT_LOG})
    code, output = grep("ERR0[0-9]{2}", "-B", "2", "-A", "1")
    assert code == 0
    ours = [line.split(" ", 2)[2].removeprefix("stdout") if line != "--" else line
            for line in output.splitlines()]
    if shutil.which("grep") is None:
        pytest.skip("no grep on this machine to compare with")
    theirs = subprocess.run(
        ["grep", "-n", "-E", "-B", "2", "-A", "1", "ERR0[0-9]{2}"],
        input=CONTEXT_LOG, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert ours == [re.sub(r"^(\d+)([:-])", r"\2\1\2", line) for line in theirs]


def test_a_match_names_run_step_stream_and_line(db_path):
    record(db_path, TRACE_A, "build", {"stdout": CONTEXT_LOG})
    code, output = grep("ERR042", "-m", "1")
    assert (code, output) == (0, f"{TRACE_A[:12]} build stdout:5:line 5: ERR042 disk full\n")


def test_scopes_pick_the_stream(db_path):
    record(db_path, TRACE_A, "build", {"stdout": "out ERR042\n", "stderr": "err ERR042\n"})
    streams = {scope: [row["stream"] for row in json.loads(grep(
        "ERR042", "--scope", scope, "--format", "json")[1])]
        for scope in ("stdout", "stderr", "output", "span", "all")}
    assert streams == {"stdout": ["stdout"], "stderr": ["stderr"],
                       "output": ["stdout", "stderr"], "span": ["span"],
                       "all": ["stdout", "stderr", "span"]}


def test_a_run_and_a_step_name_narrow_the_search(db_path):
    record(db_path, TRACE_A, "build", {"stdout": "ERR042 in build\n"})
    record(db_path, TRACE_B, "deploy", {"stdout": "ERR042 in deploy\n"}, start=5_000)
    assert grep("ERR042", "bbbb")[1] == f"{TRACE_B[:12]} deploy stdout:1:ERR042 in deploy\n"
    assert grep("ERR042", "--step", "build")[1] == (
        f"{TRACE_A[:12]} build stdout:1:ERR042 in build\n")
    assert grep("ERR042", "bbbb", "--step", "build") == (1, "")


def test_ignore_case_csv_and_no_match(db_path):
    record(db_path, TRACE_A, "build", {"stdout": "Disk Full\n"})
    assert grep("disk full") == (1, "")
    code, output = grep("-i", "disk full", "--format", "csv")
    assert code == 0
    assert output.splitlines()[0].startswith("run_id,step,span_id")
    assert output.splitlines()[1].endswith(",stdout," + f"{TRACE_A}/build/stdout,1,True,False,"
                                           "Disk Full")


def test_binary_output_says_it_matches_without_printing_it(db_path):
    record(db_path, TRACE_A, "build", {"stdout": b"\x00\x01ELF\xff\nheader ERR042\x00\n"})
    code, output = grep("ERR042")
    assert (code, output) == (0, f"{TRACE_A[:12]} build stdout: binary file matches\n")


def test_a_bad_pattern_is_one_line_and_status_2(db_path):
    record(db_path, TRACE_A, "build", {"stdout": "x\n"})
    code, output = grep("ERR(0")
    assert code == 2
    assert output == ("Error: bad regular expression 'ERR(0': missing ), unterminated "
                      "subpattern at position 3\n")


def test_an_unreadable_file_is_reported_and_status_2_when_nothing_else_matched(db_path):
    record(db_path, TRACE_A, "build", {"stdout": "ERR042\n"})
    (db_path.parent / TRACE_A / "build" / "stdout").unlink()
    result = CliRunner().invoke(cli, ["grep", "ERR042"])
    assert result.exit_code == 2
    assert "stdout: No such file or directory" in result.output


def test_the_index_narrows_the_files_read_for_a_pattern_with_words(db_path):
    for n, trace in enumerate(("1", "2", "3", "4")):
        record(db_path, trace * 32, f"step{n}", {"stdout": f"{'fatal' if n == 2 else 'ok'} "
                                                           "error: code 7\n"})
    search = Grep(connect_readonly(db_path), r"\bfatal error: code \d")
    assert [row["step"] for row in search] == ["step2"]
    assert search.files_read == 1
    everything = Grep(connect_readonly(db_path), r"fat.l")
    assert [row["step"] for row in everything] == ["step2"] and everything.files_read == 4


def test_lines_the_index_never_saw_are_still_read(db_path, monkeypatch):
    monkeypatch.setattr(artifacts, "MAX_LINES", 4)
    monkeypatch.setattr(artifacts, "MAX_LINE_BYTES", 64)
    middle = "".join(["ok\n"] * 3 + ["the needle in the middle\n"] + ["ok\n"] * 3)
    long_line = "x" * 100 + " needle at the end of a long line\n"
    record(db_path, TRACE_A, "middle", {"stdout": middle})
    record(db_path, TRACE_B, "long", {"stdout": long_line}, start=5_000)
    found = list(Grep(connect_readonly(db_path), r"\bneedle\b"))
    assert [(row["step"], row["line"]) for row in found] == [("middle", 4), ("long", 1)]


def test_a_big_file_is_streamed_in_bounded_memory(db_path, tmp_path):
    """A 48 MB log (a 3 MB line without a newline in it) costs no more memory than a tiny one:
    the peak RSS of the grep process grows by less than a fifth of the file's size."""
    record(db_path, TRACE_A, "small", {"stdout": "ERR042\n"})
    line = b"info compiling module ok linking cache hit fetch and some more words\n"
    big = tmp_path / "big.log"
    with open(big, "wb") as f:
        for n in range(48 * 1024 * 1024 // len(line)):
            f.write(line if n != 300_000 else b"ERR042 " + b"y" * 3_000_000 + b"\n")
    record(db_path, TRACE_B, "big", {"stdout": big}, start=5_000)

    def peak_rss_kib(run: str) -> int:
        measure = ("import resource, subprocess, sys; "
                   "done = subprocess.run(sys.argv[1:], capture_output=True); "
                   "print(done.returncode, done.stdout.count(b'\\n'), "
                   "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run(
            [sys.executable, "-c", measure, str(Path(sys.executable).with_name("otel-sqlite")),
             "grep", "ERR042", run, "--db", str(db_path)],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        assert out[:2] == ["0", "1"]
        return int(out[2])

    growth_mib = (peak_rss_kib(TRACE_B[:8]) - peak_rss_kib(TRACE_A[:8])) / 1024
    assert growth_mib < 48 / 5


def test_lines_are_numbered_as_grep_numbers_them_whatever_their_length(db_path):
    """CRLF endings, a line longer than the piece size, and a last line without a newline."""
    long_line = b"x" * (2 * MAX_LINE_BYTES + 10) + b" needle"
    record(db_path, TRACE_A, "build", {"stdout": b"first\r\n" + long_line + b"\nneedle last"})
    found = list(Grep(connect_readonly(db_path), "needle|first"))
    assert [(row["line"], row["text"][-11:]) for row in found] == [
        (1, "first"), (2, "xxxx needle"), (3, "needle last")]


@pytest.mark.skipif(shutil.which("grep") is None, reason="no grep on this machine to compare")
def test_line_numbers_agree_with_gnu_grep_across_chunks_and_long_lines(db_path, tmp_path):
    """Chunks without the pattern's literal are counted, not split: the numbers stay true."""
    rng = random.Random(5)
    log = tmp_path / "mixed.log"
    with open(log, "wb") as f:
        for n in range(200_000):
            size = rng.choice((0, 5, 40, 40, 40, 300_000 if n % 40_000 == 7 else 60))
            if n in (90_001, 150_001):  # longer than a piece: searched in pieces
                size = MAX_LINE_BYTES + MAX_LINE_BYTES // 2
            needle = b" ERR042 " if n % 37_000 == 11 or n == 150_001 else b""
            f.write(b"k" * size + needle + b"\n")
    record(db_path, TRACE_A, "build", {"stdout": log})
    for pattern in (r"ERR[0-9]+", r"E.R042", r"^k{5}$"):
        ours = [row["line"] for row in Grep(connect_readonly(db_path), pattern)]
        theirs = subprocess.run(["grep", "-n", "-E", pattern, str(log)], capture_output=True,
                                text=True).stdout.splitlines()
        assert ours == [int(line.split(":")[0]) for line in theirs], pattern


def test_every_error_is_status_2_so_that_1_still_means_no_match(tmp_path):
    code, output = grep("x", "--db", str(tmp_path / "missing.db"))
    assert (code, output.splitlines()[-1]) == (
        2, f"Error: no database at {tmp_path / 'missing.db'} (record something first, or pass "
           "--db)")
