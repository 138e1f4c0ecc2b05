"""Times people type: ages (``90d``, ``2h``, ``30m``) and moments (an age ago, or a date).

``--since 2h`` and ``prune --older-than 90d`` mean the same thing everywhere because both go
through here.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from otel_sqlite.errors import OtelSqliteError
from otel_sqlite.storage.values import INT64_MAX, INT64_MIN

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


class TimeSpecError(OtelSqliteError):
    """A duration or date that cannot be read."""


def parse_age(text: str) -> float:
    """Seconds in an age like ``90d``, ``2h``, ``1.5w`` (units s, m, h, d, w)."""
    match = _AGE.fullmatch(text.strip().lower())
    if not match:
        raise TimeSpecError(
            f"'{text}' is not an age: use a number and a unit s, m, h, d or w (e.g. 2h, 90d)"
        )
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_moment(text: str, now: float | None = None) -> int:
    """Nanoseconds since the epoch for an age ago (``2h``) or an ISO date / date-time (UTC
    unless it says otherwise), held within what a stored time can be: a date past 2262 is
    simply "never", an age longer than history "always"."""
    now = time.time() if now is None else now
    if _AGE.fullmatch(text.strip().lower()):
        return _clamped((now - parse_age(text)) * 1e9)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TimeSpecError(
            f"'{text}' is neither an age (2h, 90d) nor a date (2026-01-31, 2026-01-31T08:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return _clamped(moment.timestamp() * 1e9)


def _clamped(ns: float) -> int:
    return int(min(max(ns, INT64_MIN), INT64_MAX))
