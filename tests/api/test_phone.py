"""Tests of phone number normalising."""

from __future__ import annotations

import pytest

from custom_components.smartwats.api import InvalidPhoneNumberError, normalize_phone
from custom_components.smartwats.api.phone import to_group_jid, to_user_jid


@pytest.mark.parametrize(
    ("value", "country", "expected"),
    [
        ("+966 50-123 4567", None, "966501234567"),
        ("00966501234567", None, "966501234567"),
        ("(966) 501234567", None, "966501234567"),
        ("966501234567@s.whatsapp.net", None, "966501234567"),
        ("966501234567:12@s.whatsapp.net", None, "966501234567"),
        ("966501234567@c.us", None, "966501234567"),
        ("  966501234567  ", None, "966501234567"),
        ("966.50.123.4567", None, "966501234567"),
        ("+٩٦٦٥٠١٢٣٤٥٦٧", None, "966501234567"),
        ("0501234567", "966", "966501234567"),
        ("0501234567", "+966", "966501234567"),
        ("0501234567", "00966", "966501234567"),
        ("050 123 4567", "966", "966501234567"),
        ("+966501234567", "49", "966501234567"),
        ("1234567", None, "1234567"),
        ("123456789012345", None, "123456789012345"),
        ("120363012345678901@g.us", None, "120363012345678901@g.us"),
        ("966501234567-1600000000@g.us", None, "966501234567-1600000000@g.us"),
        ("123456789012345@lid", None, "123456789012345@lid"),
    ],
)
def test_normalize_phone(value: str, country: str | None, expected: str) -> None:
    """Numbers in the usual notations become international digits; group ids and LIDs pass."""
    assert normalize_phone(value, country) == expected


@pytest.mark.parametrize(
    ("value", "country", "message"),
    [
        ("", None, "empty"),
        ("   ", None, "empty"),
        ("0501234567", None, "needs a country code"),
        ("05012345", "0", "Invalid country code '0'"),
        ("05012345", "1234", "Invalid country code '1234'"),
        ("05012345", "ab", "Invalid country code 'ab'"),
        ("96650abc567", None, "only digits"),
        ("call me", None, "only digits"),
        ("+", None, "only digits"),
        ("9665+01234567", None, "only digits"),
        ("123456", None, "6 digits"),
        ("1234567890123456", None, "16 digits"),
        ("+0501234567", None, "no country code"),
        ("000501234567", None, "no country code"),
        ("abc@g.us", None, "expected <digits>@g.us"),
        ("1203-@g.us", None, "expected <digits>@g.us"),
        ("12a@lid", None, "expected <digits>@lid"),
        ("abc@s.whatsapp.net", None, "expected <digits>@s.whatsapp.net"),
        ("@s.whatsapp.net", None, "expected <digits>@s.whatsapp.net"),
        ("123@s.whatsapp.net", None, "3 digits"),
        ("966501234567@example.com", None, "unknown domain 'example.com'"),
    ],
)
def test_normalize_phone_rejects(value: str, country: str | None, message: str) -> None:
    """Bad numbers raise InvalidPhoneNumberError (a ValueError) naming the value."""
    with pytest.raises(InvalidPhoneNumberError) as caught:
        normalize_phone(value, country)
    assert isinstance(caught.value, ValueError)
    assert message in str(caught.value)
    if value.strip() and "country code" not in message:
        assert repr(value) in str(caught.value)


def test_normalize_phone_rejects_non_strings() -> None:
    """A number given as an int is a mistake of the caller, reported as such."""
    with pytest.raises(InvalidPhoneNumberError, match="not a string"):
        normalize_phone(966501234567)  # type: ignore[arg-type]


def test_jid_helpers() -> None:
    """Chat ids for numbers and groups."""
    assert to_user_jid("966501234567") == "966501234567@s.whatsapp.net"
    assert to_user_jid("123@lid") == "123@lid"
    assert to_group_jid("120363012345678901") == "120363012345678901@g.us"
    assert to_group_jid("966501234567-1600000000") == "966501234567-1600000000@g.us"
    assert to_group_jid(" 120363012345678901@g.us ") == "120363012345678901@g.us"
    for bad in ("966501234567@s.whatsapp.net", "966501234567", "family", "", 12):
        with pytest.raises(InvalidPhoneNumberError, match="Invalid group id"):
            to_group_jid(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("966501234567", "966501234567"),
        ("٩٦٦٥٠١٢٣٤٥٦٧", "966501234567"),
        ("۹۶۶۵۰۱۲۳۴۵۶۷", "966501234567"),
        ("0501234567", "966501234567"),
    ],
)
def test_normalize_phone_digits_only(value: str, expected: str) -> None:
    """Digits alone, ASCII (already normalized) or of another script, or with a trunk zero."""
    assert normalize_phone(value, "966") == expected


@pytest.mark.parametrize("value", ["²966501234567", "0" * 8, "1" * 16, "123456"])
def test_normalize_phone_digits_only_rejects(value: str) -> None:
    """Digit strings that are no number are refused as before (not taken as already normal)."""
    with pytest.raises(InvalidPhoneNumberError):
        normalize_phone(value)
