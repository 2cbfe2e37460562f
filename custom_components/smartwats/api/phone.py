"""Phone numbers and WhatsApp ids in the form the gateway expects."""

from __future__ import annotations

import re
from typing import Final
import unicodedata

from .exceptions import InvalidPhoneNumberError

MIN_DIGITS: Final = 7
MAX_DIGITS: Final = 15
MAX_COUNTRY_CODE_DIGITS: Final = 3

USER_SUFFIX: Final = "@s.whatsapp.net"
GROUP_SUFFIX: Final = "@g.us"
# Chats with a phone number (``@c.us`` in older clients).
PHONE_JID_SUFFIXES: Final = (USER_SUFFIX, "@c.us")

# Characters people write around the digits of a phone number.
_SEPARATORS: Final = re.compile(r"[\s\-().]")
_GROUP_LOCAL: Final = re.compile(r"[0-9]+(?:-[0-9]+)*")
_LID_LOCAL: Final = re.compile(r"[0-9]+")
_USER_DOMAINS: Final = frozenset({"s.whatsapp.net", "c.us"})


def normalize_phone(value: str, default_country_code: str | None = None) -> str:
    """Return the number as international digits (no ``+``), as the gateway expects.

    ``+966 50-123 4567``, ``00966501234567``, ``(966) 501234567`` and
    ``966501234567@s.whatsapp.net`` all become ``966501234567``. A national number starting with
    ``0`` takes ``default_country_code`` (``0501234567`` with ``966`` becomes ``966501234567``) and
    is rejected without one. Group ids (``...@g.us``) and LIDs (``...@lid``) are returned unchanged
    once their local part is checked.

    Raises `InvalidPhoneNumberError` (a `ValueError`) naming the bad value.
    """
    if not isinstance(value, str):
        raise InvalidPhoneNumberError(f"Invalid phone number {value!r}: not a string")
    if (
        value.isdigit()
        and value.isascii()
        and value[0] != "0"
        and MIN_DIGITS <= len(value) <= MAX_DIGITS
    ):
        return value  # already international digits (a known target): nothing to change
    text = value.strip()
    if not text:
        raise InvalidPhoneNumberError(f"Invalid phone number {value!r}: empty")
    if "@" in text:
        return _normalize_jid(value, text, default_country_code)
    return _normalize_number(value, text, default_country_code)


def is_group_jid(target: str) -> bool:
    """Tell whether a target is a group (``<digits>@g.us``) rather than a chat with a number."""
    return target.lower().endswith(GROUP_SUFFIX)


def to_user_jid(number: str) -> str:
    """Return the chat id (``966501234567@s.whatsapp.net``) of a number; JIDs pass through."""
    return number if "@" in number else f"{number}{USER_SUFFIX}"


def to_group_jid(group_id: str) -> str:
    """Return a checked group id ``<digits>@g.us``.

    A bare id gets the suffix when it cannot be a phone number: longer than 15 digits (current
    ids) or ``<digits>-<digits>`` (old ids).
    """
    text = group_id.strip() if isinstance(group_id, str) else ""
    if _GROUP_LOCAL.fullmatch(text) and ("-" in text or len(text) > MAX_DIGITS):
        return f"{text}{GROUP_SUFFIX}"
    if not text.lower().endswith(GROUP_SUFFIX):
        raise InvalidPhoneNumberError(f"Invalid group id {group_id!r}: expected <digits>@g.us")
    return normalize_phone(text)


def _normalize_jid(value: str, text: str, default_country_code: str | None) -> str:
    local, _, domain = text.partition("@")
    domain = domain.lower()
    if domain == "g.us":
        if not _GROUP_LOCAL.fullmatch(local):
            raise InvalidPhoneNumberError(f"Invalid group id {value!r}: expected <digits>@g.us")
        return text
    if domain == "lid":
        if not _LID_LOCAL.fullmatch(local):
            raise InvalidPhoneNumberError(f"Invalid WhatsApp id {value!r}: expected <digits>@lid")
        return text
    if domain in _USER_DOMAINS:
        # A device suffix (``966501234567:12@s.whatsapp.net``) names one of the user's devices.
        number = local.partition(":")[0]
        if not number.isascii() or not number.isdigit():
            raise InvalidPhoneNumberError(
                f"Invalid WhatsApp id {value!r}: expected <digits>@s.whatsapp.net"
            )
        return _normalize_number(value, number, default_country_code)
    raise InvalidPhoneNumberError(f"Invalid WhatsApp id {value!r}: unknown domain {domain!r}")


def _normalize_number(value: str, text: str, default_country_code: str | None) -> str:
    international = text.startswith("+")
    body = _ascii_digits(_SEPARATORS.sub("", text[1:] if international else text))
    if not body.isascii() or not body.isdigit():
        raise InvalidPhoneNumberError(
            f"Invalid phone number {value!r}: "
            "only digits, spaces, '+', '-', '(', ')' and '.' are allowed"
        )
    if international:
        digits = body
    elif body.startswith("00"):
        digits = body[2:]
    elif body.startswith("0"):
        if default_country_code is None:
            raise InvalidPhoneNumberError(
                f"Invalid phone number {value!r}: a national number needs a country code; "
                "write it in international format (e.g. 966501234567)"
            )
        digits = _country_code(default_country_code) + body[1:]
    else:
        digits = body
    if digits.startswith("0"):
        raise InvalidPhoneNumberError(f"Invalid phone number {value!r}: no country code")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidPhoneNumberError(
            f"Invalid phone number {value!r}: {len(digits)} digits, "
            f"expected {MIN_DIGITS} to {MAX_DIGITS} with the country code"
        )
    return digits


def _ascii_digits(text: str) -> str:
    """Write decimal digits of any script (Arabic-Indic ``٩٦٦``...) as ASCII digits."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(char)) if not char.isascii() and char.isdecimal() else char
        for char in text
    )


def _country_code(value: str) -> str:
    code = value.strip().removeprefix("+")
    code = code.removeprefix("00")
    if not (
        code.isascii() and code.isdigit() and 1 <= len(code) <= MAX_COUNTRY_CODE_DIGITS
    ) or code.startswith("0"):
        raise InvalidPhoneNumberError(f"Invalid country code {value!r}: expected 1 to 3 digits")
    return code
