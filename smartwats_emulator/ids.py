"""Generators of identifiers shaped like the real gateway's and WhatsApp's."""

from __future__ import annotations

import base64
import secrets
import time

# Baileys' pairing-code alphabet: no 0/O or 1/I/U look-alikes.
_PAIR_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"


def uniqid() -> str:
    """Return 13 lower-case hex chars like PHP's uniqid: seconds, then 5 digits below a second.

    The real access tokens and instance ids are uniqid() values; the sub-second part is random here
    so that ids made in the same microsecond still differ.
    """
    return f"{int(time.time()):08x}{secrets.randbelow(0x100000):05x}"


def new_token() -> str:
    """Return a new access token (13 lower-case hex chars)."""
    return uniqid()


def new_instance_id() -> str:
    """Return a new instance id (13 upper-case hex chars)."""
    return uniqid().upper()


def new_message_id(*, from_api: bool = True) -> str:
    """Return a WhatsApp message id: "3EB0…" when a web client sent it, "3A…" when a phone did."""
    if from_api:
        return "3EB0" + secrets.token_hex(8).upper()
    return "3A" + secrets.token_hex(9).upper()


def new_pair_code() -> str:
    """Return an 8-character pairing code formatted "ABCD-EFGH"."""
    code = "".join(secrets.choice(_PAIR_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def new_group_id() -> str:
    """Return a group JID of the modern 18-digit form."""
    return f"1203630{secrets.randbelow(10**11):011d}@g.us"


def new_lid() -> str:
    """Return a random 15-digit LID user part (WhatsApp's privacy-preserving address)."""
    return str(10**14 + secrets.randbelow(9 * 10**14))


def random_b64(size: int) -> str:
    """Return `size` random bytes as base64, as byte fields travel in the gateway's JSON."""
    return base64.b64encode(secrets.token_bytes(size)).decode()
