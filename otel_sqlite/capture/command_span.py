"""What a command span says about its child process, built without the SDK.

The harness API's ``command()`` (through an SDK span) and ``exec`` (through a ``SpanRecord``)
describe a child with these same functions, so both record the same attributes, the same
artifact events and the same status for the same outcome.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from otel_sqlite import conventions as c
from otel_sqlite.capture.process import CapturedFile, ProcessResult


def command_name(argv: Sequence[str]) -> str:
    """The default span name of a command: the program's base name and its arguments (the
    full path is in ``process.command_args``; a venv's interpreter path says nothing)."""
    return " ".join([Path(argv[0]).name, *argv[1:]]) if argv else ""


def command_attributes(argv: Sequence[str], cwd: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The ``process.*`` attributes known before a child starts."""
    return {
        c.PROCESS_COMMAND_ARGS: list(argv),
        c.PROCESS_EXECUTABLE_NAME: Path(argv[0]).name if argv else "",
        c.PROCESS_WORKING_DIRECTORY: str(Path(cwd or os.getcwd()).absolute()),
    }


def result_attributes(result: ProcessResult) -> dict[str, Any]:
    """The attributes only known once the child has finished: pid, exit code, timeout."""
    attributes: dict[str, Any] = {c.PROCESS_EXIT_CODE: result.exit_code}
    if result.pid is not None:
        attributes[c.PROCESS_PID] = result.pid
    if result.timed_out is not None:
        attributes[c.HARNESS_TIMEOUT_SECONDS] = result.timed_out
    return attributes


def artifact_attributes(output: CapturedFile) -> dict[str, Any]:
    """The attributes of the ``artifact`` event that tells any backend where a file is."""
    attributes: dict[str, Any] = {
        c.ARTIFACT_PATH: str(output.path),
        c.ARTIFACT_ROLE: output.role,
        c.ARTIFACT_SHA256: output.sha256,
        c.ARTIFACT_SIZE: output.size,
    }
    if output.error:
        attributes[c.ARTIFACT_ERROR] = output.error
    return attributes


def error_description(result: ProcessResult) -> str | None:
    """The ERROR status message for a failed child, None when it succeeded."""
    if result.exit_code == 0:
        return None
    return describe_exit(result)


def describe_exit(result: ProcessResult) -> str:
    """Why a child ended the way it did, in words: what a person reads in a failure list."""
    if result.error:
        return result.error
    killed = f"killed by {signal_name(result.signal)}" if result.signal else ""
    if result.timed_out is not None:
        return f"timed out after {result.timed_out:g} s" + (f", {killed}" if killed else "")
    return killed or f"exit code {result.exit_code}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
