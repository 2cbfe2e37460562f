"""Readers of untrusted JSON values: what they hold, or None, never an exception.

Shared by the parsers of the gateway's answers (responses.py) and of its webhook posts
(inbound.py). Strings come out as valid Unicode (`clean_text`: JavaScript writes half an emoji as a
lone surrogate, which cannot be encoded), numbers within ranges that JSON writers accept.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import orjson

# Numbers read from text longer than this are refused (Python refuses int() of 4,300 digits).
MAX_NUMBER_TEXT: Final = 32
# Whole numbers beyond this are refused: JSON writers (orjson) refuse over 64 bits, and no count,
# duration or timestamp comes near.
_MAX_INT: Final = 2**53
# Lone UTF-16 surrogates: a str holds a pair as one code point, so any of these is alone.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_REPLACEMENT: Final = "\ufffd"


def as_dict(value: object) -> dict[str, object]:
    """Return the value if it is a JSON object, else an empty one.

    The object itself, not a copy: JSON objects have string keys, and the parser only reads.
    """
    if isinstance(value, dict):
        return value
    return {}


def clean_text(text: str) -> str:
    """Return the text with each lone surrogate replaced by U+FFFD (valid Unicode)."""
    if text.isascii():
        return text
    return _SURROGATE.sub(_REPLACEMENT, text)


def clean_json(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """Return a decoded JSON value that Home Assistant can save.

    `clean_text` is applied to every string (keys included), and whole numbers beyond 64 bits,
    which Home Assistant's JSON writer refuses, become their decimal text.
    """
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, dict):
        return {clean_text(key): clean_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    return value


def loads_lenient(text: str | bytes) -> Any:  # noqa: ANN401 - any JSON value
    r"""Decode JSON, also when it holds an escaped lone surrogate (``"\ud83d"``).

    JavaScript's ``JSON.stringify`` writes half an emoji that way; orjson refuses it, the
    standard decoder reads it into a string that cannot be encoded, which `clean_json` mends.
    Raises ValueError (or RecursionError) for anything that is not JSON.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    return clean_json(json.loads(text))


def as_text(value: object) -> str | None:
    """Return a non-empty string (whole numbers up to 2**53 as text) of valid Unicode, else None."""
    if isinstance(value, str):
        return clean_text(value) if value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) <= _MAX_INT:
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(value)
    return None


def _number_text(value: str) -> str | None:
    """Return the text of a number to convert, or None when it is too long to be one."""
    text = value.strip()
    return text if len(text) <= MAX_NUMBER_TEXT else None


def as_int(value: object) -> int | None:
    """Return a whole number (up to 2**53) given as a number or a numeric string, else None."""
    number: int | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value):
        number = int(value)
    elif isinstance(value, str) and (text := _number_text(value)) is not None:
        try:
            number = int(float(text))
        except ValueError, OverflowError:
            return None
    if number is None or abs(number) > _MAX_INT:
        return None
    return number


def as_float(value: object) -> float | None:
    """Return a finite number given as a number or a numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if (text := _number_text(value)) is None:
            return None
        value = text
    if isinstance(value, int | float | str):
        try:
            number = float(value)
        except ValueError, OverflowError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_flag(value: object) -> bool:
    """Return a boolean given as a boolean, a number or a string."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return value is True or (isinstance(value, int | float) and value == 1)


def loads_json_text(value: object) -> object:
    """Return JSON text decoded (some gateways post the payload as a string), else the value."""
    if isinstance(value, str) and value[:1] in {"{", "["}:
        try:
            return loads_lenient(value)
        except ValueError, RecursionError:
            return value
    return value
