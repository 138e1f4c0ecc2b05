"""``exec``'s options, declared once, and the fast path that runs ``exec`` without click.

``otel-sqlite exec`` runs hundreds of times in a suite, and importing click costs about as much
as the rest of ``exec`` together. So the console script (``otel_sqlite.cli.entry``) first tries
``parse``: for an ordinary command line it yields the options and the command and ``exec`` runs
at once; for anything else (``--help``, a bad value, an unknown option) it gives up and the
click command, built from the same ``EXEC_OPTIONS``, parses, explains and fails as usual.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from otel_sqlite.capture.attribute_args import parse_attribute
from otel_sqlite.capture.process import KILL_AFTER_SECONDS, died_of_forwarded_signal
from otel_sqlite.capture.wrap import KINDS, run_wrapped
from otel_sqlite.cli.feedback import warn_once
from otel_sqlite.conventions import ENV_DB


def seconds(text: str) -> float:
    """A duration in seconds: a finite number, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{text} is not a number of seconds (0 or more)")
    return value


def exit_code(text: str) -> int:
    """An exit status a process can leave with: 0 to 255."""
    if not (text.isdigit() and int(text) <= 255):
        raise ValueError(f"{text} is not an exit code (0 to 255)")
    return int(text)


def positive_seconds(text: str) -> float:
    if (value := seconds(text)) == 0:
        raise ValueError("0 seconds leaves the command no time at all")
    return value


def existing_directory(text: str) -> str:
    if not os.path.isdir(text):
        raise ValueError(f"directory '{text}' does not exist")
    return text


@dataclass(frozen=True)
class Option:
    """One option of ``exec``: enough to build the click option and to parse it without click."""

    flags: tuple[str, ...]
    dest: str
    help: str
    metavar: str | None = None
    is_flag: bool = False
    multiple: bool = False
    default: Any = None
    choices: tuple[str, ...] | None = None
    convert: Callable[[str], Any] | None = None  # raises ValueError with a sentence
    envvar: str | None = None  # shown in help; the library reads it when the option is absent


EXEC_OPTIONS: tuple[Option, ...] = (
    Option(("--db",), "db", "Database file (default: ./otel-sqlite.db).", metavar="FILE",
           envvar=ENV_DB),
    Option(("--name",), "name", "Span name (default: the command line).", metavar="NAME"),
    Option(("--kind",), "kind", "The span's harness.kind; a run also records git revision, "
           "host and user.", default="command", choices=KINDS),
    Option(("--attr",), "attributes", "Attribute on the span (repeatable); int, float, "
           "true/false, else string.", metavar="KEY=VALUE", multiple=True,
           convert=parse_attribute),
    Option(("--timeout",), "timeout", "Stop the command's process group after SECONDS "
           "(SIGTERM, then SIGKILL); exit 124.", metavar="SECONDS", convert=positive_seconds),
    Option(("--kill-after",), "kill_after", "With --timeout: how long after SIGTERM the group "
           "gets SIGKILL.", metavar="SECONDS", default=KILL_AFTER_SECONDS, convert=seconds),
    Option(("--skip-exit-code",), "skip_exit_code", "An exit code that means the command "
           "skipped itself (as automake's 77): recorded as skipped, not failed; exec still "
           "exits with it.", metavar="CODE", convert=exit_code),
    Option(("--quiet", "-q"), "quiet", "Capture output without echoing it.", is_flag=True,
           default=False),
    Option(("--cwd",), "cwd", "Run the command in DIR.", metavar="DIR",
           convert=existing_directory),
)
_BY_FLAG = {flag: option for option in EXEC_OPTIONS for flag in option.flags}


def parse(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]] | None:
    """``exec``'s options and command from ``argv``, or None when click should handle it."""
    values: dict[str, Any] = {
        option.dest: () if option.multiple else option.default for option in EXEC_OPTIONS
    }
    position = 0
    while position < len(argv):
        argument = argv[position]
        if argument == "--":
            position += 1
            break
        if not argument.startswith("-") or argument == "-":
            break
        flag, equals, inline = argument.partition("=")
        option = _BY_FLAG.get(flag)
        if option is None or (option.is_flag and equals):
            return None  # --help, an unknown option, -qq...: click explains
        if option.is_flag:
            values[option.dest] = True
            position += 1
            continue
        if equals:
            text, position = inline, position + 1
        elif position + 1 < len(argv):
            text, position = argv[position + 1], position + 2
        else:
            return None
        if option.choices is not None and text not in option.choices:
            return None
        try:
            value = option.convert(text) if option.convert else text
        except ValueError:
            return None
        values[option.dest] = (*values[option.dest], value) if option.multiple else value
    command = list(argv[position:])
    return (values, command) if command else None


def execute(options: dict[str, Any], command: Sequence[str]) -> int:
    """Run ``command`` under ``exec``'s ``options``; the exit status to leave with.

    When the command died of a signal that reached us, we die of it too, after recording.
    """
    result = run_wrapped(
        command, warn=warn_once(), db=options["db"], name=options["name"],
        kind=options["kind"], attributes=dict(options["attributes"]),
        timeout=options["timeout"], kill_after=options["kill_after"],
        tee=not options["quiet"], cwd=options["cwd"], skip_exit_code=options["skip_exit_code"],
    )
    if result.error:
        print(f"otel-sqlite: {result.error}", file=sys.stderr, flush=True)
    if (signum := died_of_forwarded_signal(result)) is not None:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
    return result.exit_code
