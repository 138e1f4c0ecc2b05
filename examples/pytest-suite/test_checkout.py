"""Passing, failing and parametrised tests, with printed and logged output."""

import logging

import pytest

log = logging.getLogger("shop")


def basket_total(prices, discount=0):
    return round(sum(prices) * (1 - discount), 2)


def test_empty_basket_costs_nothing():
    assert basket_total([]) == 0


def test_total_is_printed():
    total = basket_total([1.5, 2.5])
    print(f"basket total: {total}")
    log.warning("prices are not yet in cents")
    assert total == 4


def test_checkout_total_with_discount():
    total = basket_total([10, 20, 12], discount=0.1)
    assert total == 42, "checkout total drifted after the discount"


@pytest.mark.parametrize(
    ("prices", "expected"), [([1], 1), ([1, 2], 3), ([0.1, 0.2], 0.3)], ids=["one", "two", "cents"]
)
def test_totals(prices, expected):
    assert basket_total(prices) == expected


class TestDiscounts:
    @pytest.mark.parametrize("discount", [0, 0.5])
    def test_discount_never_makes_it_negative(self, discount):
        assert basket_total([3], discount) >= 0
