"""``otel-sqlite exec -- CMD``: run any command as a span, behaving exactly like the command.

The click command is built from ``exec_args.EXEC_OPTIONS``, the declaration the fast path
parses too, so both read a command line the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from otel_sqlite.cli.exec_args import EXEC_OPTIONS, Option, execute


class _Converted(click.ParamType):
    """A value checked by one of ``exec_args``' converters; its ValueError is the message."""

    def __init__(self, option: Option) -> None:
        self.name = (option.metavar or "value").lower()
        self._convert = option.convert

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default, already converted
        try:
            return self._convert(value)  # type: ignore[misc]
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _click_option(option: Option) -> Callable:
    settings: dict[str, Any] = {"help": option.help, "multiple": option.multiple}
    if option.is_flag:
        settings["is_flag"] = True
    else:
        settings["metavar"] = option.metavar
        settings["default"] = option.default
        settings["show_default"] = option.default is not None
    if option.choices is not None:
        settings["type"] = click.Choice(option.choices)
        settings.pop("metavar")
    elif option.convert is not None:
        settings["type"] = _Converted(option)
    if option.envvar:
        settings.update(envvar=option.envvar, show_envvar=True)
    return click.option(*option.flags, option.dest, **settings)


def _with_options(fn: Callable) -> Callable:
    for option in reversed(EXEC_OPTIONS):
        fn = _click_option(option)(fn)
    return fn


@click.command(
    name="exec",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@_with_options
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_context
def exec_command(ctx: click.Context, command: tuple[str, ...], **options: Any) -> None:
    """Run COMMAND as a span, keeping its output; exit with the command's own status.

    Joins the trace in TRACEPARENT when set (and sets it for COMMAND, so nested
    calls nest). stdout and stderr are captured to files beside the database and
    still printed. 127: command not found; 126: not executable; 128+N: killed by
    signal N; 124: timed out.
    """
    ctx.exit(execute(options, command))
