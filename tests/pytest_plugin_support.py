"""Running pytest for real, in a subprocess, on a suite copied into a temporary folder."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

EXAMPLE_SUITE = Path(__file__).resolve().parent.parent / "examples" / "pytest-suite"
# What the example suite holds, by outcome, as pytest itself counts them.
EXAMPLE_OUTCOMES = {
    "test_checkout.py::test_empty_basket_costs_nothing": "passed",
    "test_checkout.py::test_total_is_printed": "passed",
    "test_checkout.py::test_checkout_total_with_discount": "failed",
    "test_checkout.py::test_totals[one]": "passed",
    "test_checkout.py::test_totals[two]": "passed",
    "test_checkout.py::test_totals[cents]": "passed",
    "test_checkout.py::TestDiscounts::test_discount_never_makes_it_negative[0]": "passed",
    "test_checkout.py::TestDiscounts::test_discount_never_makes_it_negative[0.5]": "passed",
    "test_flaky.py::test_inventory_sync_eventually_settles": "passed",
    "test_harness_calls.py::test_a_command_and_a_paid_call": "passed",
    "test_skips.py::test_card_payment": "skipped",
    "test_skips.py::test_windows_paths": "skipped",
    "test_skips.py::test_rounding_of_thirds": "xfailed",
    "test_skips.py::test_stock_level": "error",
    "test_skips.py::test_refund_rounding": "failed",  # a strict xfail that passed
    "test_skips.py::test_tax_table_lookup": "xpassed",
    "test_skips.py::test_currency_feed": "skipped",
}


def clean_env(**extra: str) -> dict[str, str]:
    """Our environment without anything that would change how the inner pytest records."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "PYTEST_")) and key not in ("TRACEPARENT", "TRACESTATE")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def copy_example_suite(folder: Path) -> Path:
    shutil.copytree(EXAMPLE_SUITE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def run_pytest(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=120,
    )


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql, params).fetchall()


def attribute(db: Path, span_id: str, key: str) -> object:
    found = rows(
        db,
        "SELECT a.value FROM attributes a JOIN spans s ON s.id = a.span "
        "WHERE s.span_id = ? AND a.key = ?",
        span_id, key,
    )
    return found[0][0] if found else None
