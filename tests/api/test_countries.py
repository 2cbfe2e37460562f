"""Tests of the country calling codes and of numbers written for people."""

from __future__ import annotations

from homeassistant.generated.countries import COUNTRIES
import pytest

from custom_components.smartwats.api import (
    CALLING_CODES,
    calling_code,
    format_phone,
    normalize_phone,
)
from custom_components.smartwats.api.countries import split_calling_code


def test_every_country_has_its_calling_code() -> None:
    """Every ISO 3166-1 country Home Assistant can be set to has a code, and nothing else does."""
    assert set(CALLING_CODES) == set(COUNTRIES)


@pytest.mark.parametrize(("country", "code"), sorted(CALLING_CODES.items()))
def test_calling_codes_are_default_country_codes(country: str, code: str) -> None:
    """Each code is 1 to 3 digits without a leading 0: one the number normaliser accepts."""
    assert code.isascii()
    assert code.isdigit()
    assert 1 <= len(code) <= 3
    assert not code.startswith("0")
    assert normalize_phone("0501234567", code) == f"{code}501234567"


def test_calling_codes_are_prefix_free() -> None:
    """No code begins another: a number's country code is read without ambiguity."""
    codes = set(CALLING_CODES.values())
    assert not [(a, b) for a in codes for b in codes if a != b and b.startswith(a)]


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("SA", "966"),
        ("sa", "966"),
        (" AE ", "971"),
        ("US", "1"),
        ("JM", "1"),  # the North American Numbering Plan: its area code is part of the number
        ("KZ", "7"),
        ("EG", "20"),
        ("GB", "44"),
        ("VA", "39"),
        ("XX", None),
        ("", None),
        (None, None),
    ],
)
def test_calling_code(country: str | None, code: str | None) -> None:
    """A country (any case) gives its code; no country, or an unknown one, none."""
    assert calling_code(country) == code


@pytest.mark.parametrize(
    ("number", "parts"),
    [
        ("966501112222", ("966", "501112222")),
        ("12025550123", ("1", "2025550123")),
        ("201001234567", ("20", "1001234567")),
        ("9995550101", ("", "9995550101")),  # no country has 999, 99 or 9
    ],
)
def test_split_calling_code(number: str, parts: tuple[str, str]) -> None:
    """The country code of an international number is found; an unknown one is left in."""
    assert split_calling_code(number) == parts


@pytest.mark.parametrize(
    ("number", "written"),
    [
        ("966501112222", "+966 50 111 2222"),
        ("966500000001", "+966 50 000 0001"),
        ("12025550123", "+1 202 555 0123"),
        ("971501234567", "+971 50 123 4567"),
        ("201001234567", "+20 100 123 4567"),
        ("4930123456", "+49 3012 3456"),
        ("4915112345678", "+49 1511 234 5678"),
        ("3612345678", "+36 1234 5678"),
        ("35312345", "+353 12345"),
        ("9995550101", "+999 555 0101"),
        ("123456789012345", "+1 2345 678 901 2345"),
    ],
)
def test_format_phone(number: str, written: str) -> None:
    """The country code, then the rest in groups: the last of 4 digits, before it groups of 3.

    A group of one digit at the front joins the next one. Written so, the number reads back
    as itself.
    """
    assert format_phone(number) == written
    assert normalize_phone(written) == number


@pytest.mark.parametrize(
    "value", ["120363012345678901@g.us", "123456789012345@lid", "", "+966501112222", "٩٦٦٥٠"]
)
def test_format_phone_leaves_other_values(value: str) -> None:
    """Anything but international digits (a group, a LID, text) is shown as it is."""
    assert format_phone(value) == value
