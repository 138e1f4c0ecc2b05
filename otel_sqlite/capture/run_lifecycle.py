"""``run start`` / ``run end``: a run span for a shell script that cannot be wrapped whole.

``start_run`` records the run in flight at once and returns the environment that everything
after it needs: ``TRACEPARENT`` (so each ``exec`` nests under the run), ``OTEL_SQLITE_DB``
(an absolute path, so a ``cd`` changes nothing) and ``OTEL_SQLITE_RUN``, a JSON object holding
what ``end_run`` needs to finish the very same span: its ids, parent, name, start time and
attributes. Everything travels in the environment, so ``run end`` works the same whether the
spans go to SQLite or to an OTLP collector, which never saw the in-flight row.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping

from otel_sqlite import conventions as c
from otel_sqlite.capture.recorder import (
    Warn,
    child_environment,
    new_record,
    open_recorder,
    resource_record,
    scope_record,
)
from otel_sqlite.errors import NotFoundError
from otel_sqlite.records import STATUS_ERROR, STATUS_OK, AttributeValue, SpanRecord
from otel_sqlite.storage.paths import resolve_db_path

SCOPE = "otel_sqlite.run"
STATUSES = ("ok", "error")
_STATE_FIELDS = ("trace_id", "span_id", "parent_span_id", "name", "start_ns", "trace_state",
                 "trace_flags", "attributes")


def start_run(
    name: str,
    attributes: Mapping[str, AttributeValue],
    *,
    warn: Warn,
    db: str | os.PathLike[str] | None = None,
) -> dict[str, str | None]:
    """Record a run as in flight and return the variables to set (None: to unset) for the
    rest of it."""
    from otel_sqlite.capture import provenance

    db_path = resolve_db_path(db).absolute()
    record = new_record(
        name, {c.HARNESS_KIND: c.KIND_RUN, **provenance.run_attributes(), **attributes}, SCOPE
    )
    recorder = open_recorder(db_path, warn)
    try:
        recorder.begin(record)
    finally:
        recorder.close()
    env: dict[str, str | None] = {c.ENV_TRACESTATE: None}
    env.update(child_environment(record, db_path, env={}))
    env[c.ENV_RUN] = json.dumps(
        {field: getattr(record, field) for field in _STATE_FIELDS}, separators=(",", ":")
    )
    return env


def end_run(
    *,
    warn: Warn,
    exit_code: int | None = None,
    status: str | None = None,
    db: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> SpanRecord:
    """Finish the run ``start_run`` exported into ``env`` (default: ours), start time intact.

    The status is ``status`` when given, else ERROR for a non-zero ``exit_code``, else UNSET
    (as for any span that ended without trouble). Raises NotFoundError when no run was started.
    """
    env = os.environ if env is None else env
    started = _started_run(env)
    end_ns = time.time_ns()
    attributes = dict(started.attributes)
    if exit_code is not None:
        attributes[c.PROCESS_EXIT_CODE] = exit_code
    failed = status == "error" or (status is None and exit_code not in (None, 0))
    finished = dataclasses.replace(started, end_ns=end_ns, attributes=attributes)
    if failed:
        finished.status_code = STATUS_ERROR
        finished.status_message = f"exit code {exit_code}" if exit_code else "failed"
    elif status == "ok":
        finished.status_code = STATUS_OK
    db_path = resolve_db_path(db or env.get(c.ENV_DB)).absolute()
    recorder = open_recorder(db_path, warn)
    try:
        recorder.finish(finished)
    finally:
        recorder.close()
    return finished


def _started_run(env: Mapping[str, str]) -> SpanRecord:
    raw = env.get(c.ENV_RUN)
    if not raw:
        raise NotFoundError(
            f"no run in progress: {c.ENV_RUN} is not set "
            '(start one with: eval "$(otel-sqlite run start)")'
        )
    try:
        state = json.loads(raw)
        return SpanRecord(
            **{field: state[field] for field in _STATE_FIELDS},
            resource=resource_record(),
            scope=scope_record(SCOPE),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise NotFoundError(
            f"{c.ENV_RUN} is not a run exported by 'otel-sqlite run start'"
        ) from exc


def shell_exports(variables: Mapping[str, str | None]) -> str:
    """``export NAME='value'`` (or ``unset NAME``) lines for ``eval "$(otel-sqlite run start)"``,
    safely quoted."""
    import shlex

    return "".join(
        f"unset {name}\n" if value is None else f"export {name}={shlex.quote(value)}\n"
        for name, value in variables.items()
    )

