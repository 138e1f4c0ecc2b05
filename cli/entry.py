"""The ``otel-sqlite`` console script: ``exec`` first, without click, everything else by click.

See ``exec_args`` for why: a plain ``otel-sqlite exec ... -- CMD`` never imports click.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["exec"]:
        from otel_sqlite.cli import exec_args

        parsed = exec_args.parse(sys.argv[2:])
        if parsed is not None:
            sys.exit(exec_args.execute(*parsed))
    from otel_sqlite.cli.main import main as click_main

    click_main()
