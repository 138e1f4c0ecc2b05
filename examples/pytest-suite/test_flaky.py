"""A test that fails on its first attempt and passes when pytest-rerunfailures reruns it."""

import itertools

import pytest

_attempts = itertools.count(1)


@pytest.mark.flaky(reruns=2)
def test_inventory_sync_eventually_settles():
    attempt = next(_attempts)
    print(f"sync attempt {attempt}")
    assert attempt > 1, "inventory not settled yet"
