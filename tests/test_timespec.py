"""Times people type, read the same way by every command (``queries.timespec``)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from otel_sqlite.cli.main import cli
from otel_sqlite.queries.timespec import TimeSpecError, parse_age, parse_moment
from otel_sqlite.storage.values import INT64_MAX, INT64_MIN

NOW = 1_800_000_000.0


def test_an_age_is_that_long_before_now():
    assert parse_moment("2h", now=NOW) == int((NOW - 7200) * 1e9)
    assert parse_age("1.5w") == 1.5 * 7 * 86400


def test_a_date_without_a_zone_is_utc():
    assert parse_moment("2027-01-15") == parse_moment("2027-01-15T00:00:00Z")


def test_a_date_past_2262_is_the_last_moment_a_span_can_have():
    assert parse_moment("2300-01-01") == INT64_MAX


def test_an_age_longer_than_history_is_the_first_moment():
    assert parse_moment("99999999999d", now=NOW) == INT64_MIN


def test_text_that_is_neither_says_what_would_do():
    with pytest.raises(TimeSpecError, match="neither an age"):
        parse_moment("yesterday")


@pytest.mark.parametrize("command", ["runs", "events", "costs"])
def test_read_commands_take_a_far_future_date_without_a_traceback(tmp_path, command):
    db = tmp_path / "t.db"
    CliRunner().invoke(cli, ["init", "--db", str(db)], catch_exceptions=False)
    done = CliRunner().invoke(cli, [command, "--since", "2300-01-01", "--db", str(db)],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
