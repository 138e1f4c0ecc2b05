"""The words grep narrows by: never a line the regex matches left out, checked against FTS5."""

from __future__ import annotations

import re
import sqlite3

import pytest

from otel_sqlite.queries.regex_literals import fts_query, literals

LINES = [
    "ERROR: connection refused: port 5432",
    "error: Connection Refused: port 80",
    "xERR042 in foo_bar.baz",
    "ERR042 at start",
    "warning: disk almost full",
    "a warnings list",
    "Traceback (most recent call last):",
    "  File \"app.py\", line 3, in <module>",
    "café refused: port 1",
    "déjà vu: port 22",
    "timeout after 30s",
    "foo_bar baz",
    "path /var/log/app-1.log rotated",
    "disk\tfull",
    "k8s pod crashloop",
]
PATTERNS = [
    r"connection refused: port \d+",
    r"(?i)connection refused: port \d+",
    r"ERR[0-9]{3}",
    r"\bERR\d+",
    r"\bwarning\b",
    r"warning",
    r"^Traceback",
    r"line \d+, in",
    r"refused: port",
    r"vu: port \d+",
    r"(timeout|refused)",
    r"foo_bar baz",
    r"/var/log/app-\d+\.log",
    r"disk\s+full",
    r"\bk8s\b",
    r"\b\w+ crashloop$",
]


@pytest.fixture(scope="module")
def index() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(text)")  # the store's tokenizer: unicode61
    db.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", enumerate(LINES))
    return db


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_index_finds_every_line_the_regex_matches(index, pattern):
    regex = re.compile(pattern)
    found = literals(pattern, regex.flags)
    matching = {n for n, line in enumerate(LINES) if regex.search(line)}
    if found.words:
        narrowed = {n for (n,) in index.execute("SELECT rowid FROM t WHERE t MATCH ?",
                                                (fts_query(found.words),))}
        assert matching <= narrowed
    if found.needle is not None:
        assert all(found.needle in LINES[n] for n in matching)


def test_words_need_a_token_boundary_before_them():
    assert literals(r"ERR[0-9]{3}").words == []
    assert literals(r"connection refused: port \d+").words == [("refused", True),
                                                                ("port", True)]
    assert literals(r"\bwarning\b").words == [("warning", True)]
    assert literals(r"^Traceback").words == [("traceback", False)]


def test_the_needle_is_the_longest_literal_run_and_only_when_case_matters():
    assert literals(r"connection refused: port \d+").needle == "connection refused: port "
    assert literals(r"ERR[0-9]{3}").needle == "ERR"
    assert literals(r"error", re.IGNORECASE).needle is None
    assert literals(r"ab(?i:cd)ef").needle is None
    assert literals(r"(timeout|refused)").needle is None
