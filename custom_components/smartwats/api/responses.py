"""Defensive parsing of the gateway's answers.

The gateway's answers are barely documented and differ between builds (see the project's notes on
the gateway's behaviour), so every reader here accepts the known variants and never trusts a shape.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
import re
from typing import Final

from .exceptions import (
    SmartwatsAlreadyLinkedError,
    SmartwatsAuthError,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsInstanceError,
    SmartwatsLoggedOutError,
    SmartwatsNotLinkedError,
    SmartwatsNotReadyError,
    SmartwatsQuotaError,
    SmartwatsRequestError,
)
from .models import Group, GroupParticipant, PhoneCheck

# A QR code PNG is a few kilobytes; anything far bigger is not one.
MAX_QR_IMAGE_BYTES: Final = 512 * 1024

_SUCCESS_TEXTS: Final = frozenset({"success", "true", "1"})

# Checked in order against the lower-cased error text; the first match wins.
_ERROR_PATTERNS: Final[tuple[tuple[type[SmartwatsError], tuple[str, ...]], ...]] = (
    (SmartwatsAuthError, ("access token",)),
    (SmartwatsAlreadyLinkedError, ("has been used", "logged in successfully")),
    (SmartwatsNotLinkedError, ("not been activated", "not activated")),
    (SmartwatsLoggedOutError, ("relogin", "account does not exist", "logged out")),
    (SmartwatsInstanceError, ("invalidated", "instance id")),
    (SmartwatsNotReadyError, ("cannot generate", "qr code", "pair code", "paircode")),
    (SmartwatsQuotaError, ("exceeded", "maximum limit", "quota")),
    (
        SmartwatsConnectionError,
        ("cannot connect", "could not be found", "try again later", "timed out", "timeout"),
    ),
)

_ALREADY_LINKED_TEXTS: Final = _ERROR_PATTERNS[1][1]

_MESSAGE_ID_PATHS: Final = (
    ("message", "key", "id"),
    ("message_payload", "key", "id"),
    ("data", "key", "id"),
    ("data", "message", "key", "id"),
    ("data", "id"),
    ("data", "message_id"),
    ("id",),
    ("message_id",),
    ("messageId",),
)
_QR_KEYS: Final = ("base64", "qrcode", "qr_code", "qr")
# The prefix of a QR field written as a data URI; the bytes, not this, tell the image type.
_IMAGE_DATA_URI: Final = re.compile(r"data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)
_MAX_QR_BASE64_CHARS: Final = 4 * -(-MAX_QR_IMAGE_BYTES // 3)
# The images a QR code is accepted as, by their first bytes.
_QR_IMAGE_TYPES: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
_PAIR_CODE_KEYS: Final = ("code", "pairing_code", "paircode", "pair_code", "pairCode")
_INSTANCE_ID_KEYS: Final = ("instance_id", "instanceId", "instance")
_PHONE_KEYS: Final = ("phone", "number", "inputPhone", "input", "phone_number")
_EXISTS_KEYS: Final = (
    "exists",
    "is_whatsapp",
    "isWhatsapp",
    "is_on_whatsapp",
    "valid",
    "numberExists",
)
_TRUE_TEXTS: Final = frozenset({"true", "1", "yes"})
_FALSE_TEXTS: Final = frozenset({"false", "0", "no"})


def is_success(status: object) -> bool:
    """Whether a ``status`` field means success: ``success``/``true``/``1`` in any case, or true."""
    if isinstance(status, bool):
        return status
    if isinstance(status, int):
        return status == 1
    return isinstance(status, str) and status.strip().lower() in _SUCCESS_TEXTS


def error_message(payload: object, default: str = "Error") -> str:
    """Return the gateway's error text from an answer, or ``default``."""
    for key in ("message", "error", "msg", "reason"):
        value = _get(payload, key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return default


def error_for_message(message: str) -> SmartwatsError:
    """Return the exception matching a gateway error text (`SmartwatsRequestError` if unknown)."""
    text = message.lower()
    for error_class, needles in _ERROR_PATTERNS:
        if any(needle in text for needle in needles):
            return error_class(message)
    return SmartwatsRequestError(message)


def says_already_linked(payload: object) -> bool:
    """Whether a QR / pair code answer says the instance is linked already."""
    text = error_message(payload, "").lower()
    return any(needle in text for needle in _ALREADY_LINKED_TEXTS)


def parse_message_id(payload: object) -> str | None:
    """Return the id of a sent message: ``message.key.id`` or one of the known fallbacks."""
    for path in _MESSAGE_ID_PATHS:
        value = _dig(payload, path)
        if value is not None:
            return value
    return None


def parse_instance_id(payload: object) -> str | None:
    """Return the instance id of a ``create_instance`` answer."""
    return _first_text(payload, _INSTANCE_ID_KEYS)


def normalize_instance_id(value: str) -> str:
    """Return an instance id as the gateway issues it: trimmed, upper-case (``68DBB04FECCBA``)."""
    return value.strip().upper()


def parse_qr_code(payload: object) -> str | None:
    """Return the QR code field of a ``get_qrcode`` answer as found (URI or base64), if any."""
    return _first_text(payload, _QR_KEYS)


def qr_image(value: str) -> tuple[str, bytes] | None:
    """Return a QR field (data URI or bare base64) as its content type and image bytes.

    None unless it is strictly base64 of a PNG or JPEG image of at most `MAX_QR_IMAGE_BYTES`
    (the type is read from the bytes, not from what the text says).
    """
    text = value.strip()
    if prefix := _IMAGE_DATA_URI.match(text):
        text = text[prefix.end() :]
    elif text[:5].lower() == "data:":  # another kind of data: URI
        return None
    compact = "".join(text.split())
    if len(compact) > _MAX_QR_BASE64_CHARS:  # not worth decoding
        return None
    try:
        image = base64.b64decode(compact, validate=True)
    except ValueError:  # binascii.Error, and text that is not ASCII
        return None
    if len(image) > MAX_QR_IMAGE_BYTES:
        return None
    for magic, content_type in _QR_IMAGE_TYPES:
        if image.startswith(magic):
            return content_type, image
    return None


def qr_data_uri(value: str) -> str | None:
    """Return a QR field (data URI or bare base64) as a PNG or JPEG data URI; None if not one.

    The URI is rebuilt from the decoded bytes (`qr_image`), never copied: whatever else the
    gateway's text holds (markdown, HTML) cannot reach the page that shows the image.
    """
    if (decoded := qr_image(value)) is None:
        return None
    content_type, image = decoded
    return f"data:{content_type};base64,{base64.b64encode(image).decode('ascii')}"


def parse_pair_code(payload: object) -> str | None:
    """Return the pairing code of a ``get_paircode`` answer, if any."""
    return _first_text(payload, _PAIR_CODE_KEYS)


def parse_groups(payload: object) -> list[Group]:
    """Return the groups of a ``get_groups`` answer (a list, or an object keyed by group id)."""
    items = _find_list(payload, (("data", "groups"), ("data",), ("groups",), ()))
    groups: list[Group] = []
    for item in items or ():
        group_id = _first_text(item, ("id", "jid"), nested=False)
        if group_id is None:
            continue
        participants = _parse_participants(_get(item, "participants"))
        size = _as_int(_get(item, "size"))
        if size is None and participants is not None:
            size = len(participants)
        name = _first_text(item, ("name", "subject"), nested=False) or ""
        groups.append(Group(id=group_id, name=name, size=size, participants=participants))
    return groups


def parse_phone_checks(payload: object, phones: Sequence[str]) -> list[PhoneCheck]:
    """Return one check per number of ``phones``, in order; a number not answered does not exist."""
    by_phone: dict[str, dict[str, object]] = {}
    by_jid: dict[str, dict[str, object]] = {}
    items = _find_list(payload, (("data", "results"), ("data",), ("results",), ()))
    for item in items or ():
        if not isinstance(item, dict):
            continue
        for key in _PHONE_KEYS:
            if digits := _digits(item.get(key)):
                by_phone.setdefault(digits, item)
        jid = item.get("jid")
        if isinstance(jid, str) and (digits := _digits(jid.partition("@")[0].partition(":")[0])):
            by_jid.setdefault(digits, item)
    return [_phone_check(phone, by_phone.get(phone) or by_jid.get(phone)) for phone in phones]


def parse_phone_check(payload: object, phone: str) -> PhoneCheck:
    """Return the check of one number: from a list answer, or flags at the top or under ``data``."""
    (check,) = parse_phone_checks(payload, [phone])
    if check.exists:
        return check
    for candidate in (_get(payload, "data"), _get(payload, "result"), payload):
        if isinstance(candidate, dict) and _exists(candidate) is not None:
            return _phone_check(phone, candidate)
    return check


def _phone_check(phone: str, item: dict[str, object] | None) -> PhoneCheck:
    if item is None:
        return PhoneCheck(phone=phone, exists=False)
    jid = item.get("jid")
    jid = jid if isinstance(jid, str) and jid else None
    exists = _exists(item)
    if exists is None:
        # Baileys' onWhatsApp lists only the numbers that exist, with their jid.
        exists = jid is not None
    return PhoneCheck(phone=phone, exists=exists, jid=jid)


def _exists(item: dict[str, object]) -> bool | None:
    for key in _EXISTS_KEYS:
        if (value := _as_bool(item.get(key))) is not None:
            return value
    return None


def _parse_participants(value: object) -> list[GroupParticipant] | None:
    if isinstance(value, dict):
        value = [value[key] for key in sorted(value, key=_index_key)]
    if not isinstance(value, list):
        return None
    participants: list[GroupParticipant] = []
    for item in value:
        if isinstance(item, str) and item:
            participants.append(GroupParticipant(id=item))
            continue
        member_id = _first_text(item, ("id", "jid"), nested=False)
        if member_id is not None:
            participants.append(GroupParticipant(id=member_id, admin=_admin_role(item)))
    return participants


def _admin_role(item: object) -> str | None:
    admin = _get(item, "admin")
    if isinstance(admin, str) and admin:
        return admin
    if admin is True or _get(item, "isSuperAdmin") is True:
        return "superadmin" if _get(item, "isSuperAdmin") is True else "admin"
    return "admin" if _get(item, "isAdmin") is True else None


def _index_key(key: object) -> tuple[int, str]:
    text = str(key)
    return (int(text), text) if text.isdigit() else (1 << 62, text)


def _find_list(payload: object, paths: Iterable[tuple[str, ...]]) -> list[object] | None:
    """Return the first list found under one of ``paths`` (an object keyed by ids: its values)."""
    for path in paths:
        value: object = payload
        for key in path:
            value = _get(value, key)
        if isinstance(value, list):
            return value
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            return [_with_key(key, item) for key, item in value.items()]
    return None


def _with_key(key: object, item: dict[str, object]) -> dict[str, object]:
    """Keep the key of an entry of an object keyed by ids (group ids, phone numbers)."""
    extra: dict[str, object] = {"id": key} if "@" in str(key) else {"phone": key}
    return extra | item


def _first_text(payload: object, keys: Sequence[str], *, nested: bool = True) -> str | None:
    """Return the first non-empty text (or number) under ``keys``: at the top, then in ``data``."""
    containers = [payload]
    if nested:
        data = _get(payload, "data")
        if isinstance(data, str) and data.strip():
            containers.append({keys[0]: data})
        else:
            containers.append(data)
    for container in containers:
        for key in keys:
            if (text := _text(_get(container, key))) is not None:
                return text
    return None


def _dig(payload: object, path: Sequence[str]) -> str | None:
    """Follow ``path``; a list on the way is searched item by item (an album's messages)."""
    if not path:
        return _text(payload)
    if isinstance(payload, list):
        for item in payload:
            if (found := _dig(item, path)) is not None:
                return found
        return None
    return _dig(_get(payload, path[0]), path[1:])


def _get(payload: object, key: str) -> object:
    return payload.get(key) if isinstance(payload, dict) else None


def _text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _digits(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        return ""
    return "".join(char for char in value if char.isascii() and char.isdigit())


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in {0, 1}:
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_TEXTS:
            return True
        if text in _FALSE_TEXTS:
            return False
    return None
