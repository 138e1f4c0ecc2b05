"""``exec``: one command run as one span, built as a plain record so start-up stays cheap.

The span is recorded twice through the recorder (the SQLite store by default): in flight as
soon as the child has started (with its pid), and finished when it has exited, with its exit
code, status and output artifacts. Nothing here imports the OTel SDK unless
``OTEL_TRACES_EXPORTER`` asks for another exporter.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from collections.abc import Mapping, Sequence

from otel_sqlite import conventions as c
from otel_sqlite.capture.command_span import (
    artifact_attributes,
    command_attributes,
    command_name,
    error_description,
    result_attributes,
)
from otel_sqlite.capture.process import (
    KILL_AFTER_SECONDS,
    ProcessResult,
    SignalForwarder,
    run_captured,
)
from otel_sqlite.capture.recorder import Warn, child_environment, new_record, open_recorder
from otel_sqlite.records import STATUS_ERROR, AttributeValue, EventRecord, SpanRecord
from otel_sqlite.storage.paths import resolve_db_path, span_artifact_dir

SCOPE = "otel_sqlite.exec"
KINDS = (c.KIND_COMMAND, c.KIND_STEP, c.KIND_RUN)


def run_wrapped(
    argv: Sequence[str],
    *,
    warn: Warn,
    db: str | os.PathLike[str] | None = None,
    name: str | None = None,
    kind: str = c.KIND_COMMAND,
    attributes: Mapping[str, AttributeValue] | None = None,
    timeout: float | None = None,
    kill_after: float = KILL_AFTER_SECONDS,
    tee: bool = True,
    cwd: str | os.PathLike[str] | None = None,
    skip_exit_code: int | None = None,
) -> ProcessResult:
    """Run ``argv`` as a ``kind`` span and return what happened to it.

    A child leaving with ``skip_exit_code`` skipped itself (the convention of automake and
    of CI systems that allow an exit code): its span is skipped, not failed.

    Recording problems (an unwritable database, a full disk) go to ``warn`` and never change
    how the command runs or what it returns.
    """
    db_path = resolve_db_path(db).absolute()
    initial: dict[str, AttributeValue] = {c.HARNESS_KIND: kind}
    if kind == c.KIND_RUN:
        from otel_sqlite.capture import provenance  # runs git: only runs pay for it

        initial.update(provenance.run_attributes())
    initial.update(command_attributes(argv, cwd))
    initial.update(attributes or {})
    record = new_record(name or command_name(argv), initial, SCOPE)
    recorder = open_recorder(db_path, warn)

    def in_flight(child: subprocess.Popen) -> None:
        recorder.begin(
            dataclasses.replace(record, attributes={**initial, c.PROCESS_PID: child.pid})
        )

    # Signals stay forwarded (not fatal to us) until the final row is written.
    with SignalForwarder() as forwarder:
        try:
            result = run_captured(
                argv,
                span_artifact_dir(db_path, record.trace_id, record.span_id),
                cwd=cwd,
                env=child_environment(record, db_path),
                tee=tee,
                timeout=timeout,
                kill_after=kill_after,
                on_spawn=in_flight,
                forwarder=forwarder,
            )
            if result.capture_error:
                warn(result.capture_error)
            recorder.finish(finished_record(record, result, skip_exit_code))
        finally:
            recorder.close()
    return result


def finished_record(
    started: SpanRecord, result: ProcessResult, skip_exit_code: int | None = None
) -> SpanRecord:
    """``started`` once its child is done: end time, exit attributes, status, artifacts."""
    end_ns = time.time_ns()
    attributes = {**started.attributes, **result_attributes(result)}
    description = error_description(result)
    if (
        skip_exit_code is not None and result.exit_code == skip_exit_code
        and not result.signal and result.timed_out is None and not result.error
    ):
        description = None
        attributes[c.HARNESS_TEST_OUTCOME] = c.OUTCOME_SKIPPED
        attributes[c.HARNESS_TEST_REASON] = f"exit code {skip_exit_code}"
    return dataclasses.replace(
        started,
        end_ns=end_ns,
        attributes=attributes,
        events=[
            EventRecord(c.ARTIFACT_EVENT, end_ns, artifact_attributes(output))
            for output in result.outputs
        ],
        status_code=STATUS_ERROR if description is not None else started.status_code,
        status_message=description or "",
    )

