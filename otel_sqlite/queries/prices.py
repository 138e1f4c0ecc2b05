"""Model prices, for estimating what a call cost when it recorded no ``harness.cost.usd``.

A built-in table (``prices.toml`` beside this module) covers the common models of the big
providers; a file named by ``--prices`` or ``OTEL_SQLITE_PRICES`` (TOML or JSON, the same
shape) overrides or extends it entry by entry. An estimate is always reported apart from
recorded costs, and a model the table does not know is unpriced, never $0.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from otel_sqlite.conventions import ENV_PRICES
from otel_sqlite.errors import OtelSqliteError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BUILT_IN = Path(__file__).with_name("prices.toml")
PER_TOKENS = 1_000_000


class PriceTableError(OtelSqliteError):
    """A price file that cannot be read or does not have the documented shape."""


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens, as taken on ``taken`` (a date)."""

    model: str
    input: float
    output: float
    cached_input: float | None
    taken: str

    def estimate(self, input_tokens: int, output_tokens: int, cached_input_tokens: int) -> float:
        """Dollars for these tokens. Cached tokens are part of the input tokens (as the
        GenAI conventions count them) and cost ``cached_input`` where the table has it."""
        cached = min(cached_input_tokens, input_tokens)
        cached_price = self.input if self.cached_input is None else self.cached_input
        return (
            (input_tokens - cached) * self.input + cached * cached_price
            + output_tokens * self.output
        ) / PER_TOKENS


class PriceTable:
    """Prices by model name; ``lookup`` finds dated releases through their family's entry."""

    def __init__(self, prices: dict[str, Price], sources: tuple[str, ...]) -> None:
        self.prices = prices
        self.sources = sources

    @cache  # noqa: B019 - tables live as long as the process and hold few names
    def lookup(self, model: str | None) -> Price | None:
        """The entry for ``model``: exact, else the longest entry it starts with followed by
        ``-`` (``gpt-4o-2024-08-06`` -> ``gpt-4o``); a ``provider/`` prefix is ignored."""
        if not model:
            return None
        name = model.rsplit("/", 1)[-1].lower()
        if name in self.prices:
            return self.prices[name]
        family = max((key for key in self.prices if name.startswith(key + "-")), key=len,
                     default=None)
        return None if family is None else self.prices[family]


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise PriceTableError(f"cannot read the price file {path}: {exc.strerror}") from exc
    try:
        if path.suffix.lower() == ".json":
            found = json.loads(text)
        else:
            found = tomllib.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise PriceTableError(f"the price file {path} is not valid {kind}: {exc}") from exc
    if not isinstance(found, dict) or not isinstance(found.get("models"), dict):
        raise PriceTableError(
            f"the price file {path} has no models table (see otel_sqlite/queries/prices.toml)"
        )
    return found


def _entries(path: Path) -> dict[str, Price]:
    found = _read(path)
    default_taken = str(found.get("taken", ""))
    prices = {}
    for model, entry in found["models"].items():
        try:
            prices[model.lower()] = Price(
                model=model,
                input=float(entry["input"]),
                output=float(entry["output"]),
                cached_input=(None if entry.get("cached_input") is None
                              else float(entry["cached_input"])),
                taken=str(entry.get("taken", default_taken)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PriceTableError(
                f"the price file {path}: model '{model}' needs numeric input and output "
                f"prices per million tokens ({type(exc).__name__}: {exc})"
            ) from exc
    return prices


def load(path: str | None = None) -> PriceTable:
    """The built-in table, overridden and extended by ``path`` (else ``$OTEL_SQLITE_PRICES``)."""
    return _load(path or os.environ.get(ENV_PRICES) or None)


@cache
def _load(extra: str | None) -> PriceTable:
    prices = _entries(BUILT_IN)
    sources = (str(BUILT_IN),)
    if extra:
        prices.update(_entries(Path(extra)))
        sources += (extra,)
    return PriceTable(prices, sources)
