"""How wrapper commands talk to the person next to the command they wrap: rarely, on stderr.

No click here: ``exec``'s fast path uses it without importing click.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def warn_once() -> Callable[[str], None]:
    """A ``warn`` callback that prints its first message only.

    One broken database makes several failures (the in-flight row, the final row, the
    artifact folder); the person needs one line about it, not a wall of them. (A host
    application logs once per cause instead: ``otel_sqlite.sdk.notices.WarnOnce``.)
    """
    said: list[str] = []

    def warn(message: str) -> None:
        if not said:
            said.append(message)
            print(f"otel-sqlite: warning: {message}", file=sys.stderr, flush=True)

    return warn


def attribute_option_values(ctx: Any, param: Any, value: tuple[str, ...]) -> dict:
    """Click callback for ``--attr KEY=VALUE`` (repeatable): typed attributes, or a usage error."""
    import click

    from otel_sqlite.capture.attribute_args import parse_attributes

    try:
        return parse_attributes(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
