"""The pytest plugin's switch: ``pytest --otel-sqlite[=DB]`` or ``OTEL_SQLITE_PYTEST=1``.

It is registered under the ``pytest11`` entry point, so pytest loads it in every session of an
environment where otel-sqlite is installed, including suites that never asked for it. Until it
is enabled it only declares its options: it imports no OTel SDK and touches no file. The
recorder (``otel_sqlite.plugins.pytest_recorder``) is imported and registered only when asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from otel_sqlite.conventions import ENV_PYTEST

RECORDER_NAME = "otel-sqlite-recorder"
_TRUE = frozenset({"1", "true", "yes", "on"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("otel-sqlite", "record the session as OpenTelemetry spans")
    group.addoption(
        "--otel-sqlite",
        dest="otel_sqlite",
        nargs="?",
        const="",
        default=None,
        metavar="DB",
        help=(
            "record this session as a run and each test as a step, in DB (give it with '=', "
            f"e.g. --otel-sqlite=runs.db; default $OTEL_SQLITE_DB, else ./otel-sqlite.db). "
            f"{ENV_PYTEST}=1 does the same."
        ),
    )
    group.addoption(
        "--otel-sqlite-name",
        dest="otel_sqlite_name",
        default=None,
        metavar="NAME",
        help="name of the recorded run (default: the rootdir's name)",
    )


def enabled(config: pytest.Config) -> bool:
    """Whether this session asked to be recorded (the flag, or the environment variable)."""
    if config.getoption("otel_sqlite", None) is not None:
        return True
    return os.environ.get(ENV_PYTEST, "").strip().lower() in _TRUE


def database_option(config: pytest.Config) -> str | None:
    """The DB given to ``--otel-sqlite``, refusing a test path swallowed by the flag.

    ``--otel-sqlite tests/`` parses as the database ``tests/``; running the whole suite into
    a file named after a folder would be a silent surprise, so it is a usage error instead.
    """
    value = config.getoption("otel_sqlite", None)
    if not value:
        return None
    path = Path(value)
    if path.is_dir() or path.suffix == ".py" or "::" in value:
        raise pytest.UsageError(
            f"--otel-sqlite takes its database after '=' (--otel-sqlite=PATH); "
            f"'{value}' looks like a test path"
        )
    return value


def pytest_configure(config: pytest.Config) -> None:
    if not enabled(config):
        return
    from otel_sqlite.plugins.pytest_recorder import Recorder

    config.pluginmanager.register(Recorder(config, database_option(config)), RECORDER_NAME)
