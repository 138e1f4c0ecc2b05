"""Skipped, expected-to-fail (strict and not) and erroring tests."""

import sys

import pytest


@pytest.mark.skip(reason="payments sandbox is down")
def test_card_payment():
    raise AssertionError("never runs")


@pytest.mark.skipif(sys.platform != "win32", reason="Windows only")
def test_windows_paths():
    pass


@pytest.mark.xfail(reason="rounding bug #12")
def test_rounding_of_thirds():
    assert round(1 / 3, 2) * 3 == 1


@pytest.fixture
def warehouse():
    raise ConnectionError("warehouse database unreachable")


def test_stock_level(warehouse):
    assert warehouse


@pytest.mark.xfail(reason="refund rounding fixed in 2.1", strict=True)
def test_refund_rounding():
    assert round(2.675, 2) == 2.67


@pytest.mark.xfail(reason="tax table lookup is slow upstream")
def test_tax_table_lookup():
    assert {"NL": 0.21}["NL"] == 0.21


def test_currency_feed():
    pytest.skip("no network in CI")
