"""--attr KEY=VALUE typing: int, float, bool, else string."""

from __future__ import annotations

import pytest

from otel_sqlite.capture.attribute_args import parse_attribute, typed_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("-12", -12),
        ("0.25", 0.25),
        ("1e3", 1000.0),
        ("true", True),
        ("FALSE", False),
        ("007", "007"),
        ("99999999999999999999", "99999999999999999999"),
        ("nan", "nan"),
        ("1.2.3", "1.2.3"),
        ("", ""),
        ("main", "main"),
    ],
)
def test_values_are_typed_only_when_they_read_as_that_type(text, value):
    typed = typed_value(text)
    assert typed == value
    assert type(typed) is type(value)


def test_only_the_first_equals_sign_splits():
    assert parse_attribute("query=a=b") == ("query", "a=b")


@pytest.mark.parametrize("argument", ["novalue", "=3", " =x"])
def test_a_missing_key_or_equals_sign_is_an_error(argument):
    with pytest.raises(ValueError, match="is not KEY=VALUE"):
        parse_attribute(argument)
