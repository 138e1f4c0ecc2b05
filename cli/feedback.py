"""How wrapper commands talk to the person next to the command they wrap: rarely, on stderr."""

from __future__ import annotations

from collections.abc import Callable

import click


def warn_once() -> Callable[[str], None]:
    """A ``warn`` callback that prints its first message only.

    One broken database makes several failures (the in-flight row, the final row, the
    artifact folder); the person needs one line about it, not a wall of them.
    """
    said: list[str] = []

    def warn(message: str) -> None:
        if not said:
            said.append(message)
            click.echo(f"otel-sqlite: warning: {message}", err=True)

    return warn


def attribute_option_values(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict:
    """Click callback for ``--attr KEY=VALUE`` (repeatable): typed attributes, or a usage error."""
    from otel_sqlite.attribute_args import parse_attributes

    try:
        return parse_attributes(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
