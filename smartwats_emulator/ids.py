"""Generators of identifiers shaped like the real gateway's and WhatsApp's.

Every maker takes an optional `random.Random`: given one (the emulator's `seed`), the ids depend
only on the seed and the order of the calls, so a run can be repeated; without one they come from
`secrets`, as unpredictable as the real ones.
"""

from __future__ import annotations

import base64
import random
import secrets
import time

type Rng = random.Random | None

# Baileys' pairing-code alphabet: no 0/O or 1/I/U look-alikes.
_PAIR_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
# A seeded uniqid() takes its seconds from the generator, within 2025, not from the clock.
_SEEDED_SECONDS = (1_735_689_600, 1_767_225_600)


def random_below(limit: int, rng: Rng = None) -> int:
    """Return a random integer in [0, limit)."""
    return secrets.randbelow(limit) if rng is None else rng.randrange(limit)


def random_bytes(size: int, rng: Rng = None) -> bytes:
    """Return `size` random bytes."""
    return secrets.token_bytes(size) if rng is None else rng.randbytes(size)


def uniqid(rng: Rng = None) -> str:
    """Return 13 lower-case hex chars like PHP's uniqid: seconds, then 5 digits below a second.

    The real access tokens and instance ids are uniqid() values; the sub-second part is random here
    so that ids made in the same microsecond still differ.
    """
    seconds = int(time.time()) if rng is None else rng.randrange(*_SEEDED_SECONDS)
    return f"{seconds:08x}{random_below(0x100000, rng):05x}"


def new_token(rng: Rng = None) -> str:
    """Return a new access token (13 lower-case hex chars)."""
    return uniqid(rng)


def new_instance_id(rng: Rng = None) -> str:
    """Return a new instance id (13 upper-case hex chars)."""
    return uniqid(rng).upper()


def new_message_id(*, from_api: bool = True, rng: Rng = None) -> str:
    """Return a WhatsApp message id: "3EB0…" when a web client sent it, "3A…" when a phone did."""
    if from_api:
        return "3EB0" + random_bytes(8, rng).hex().upper()
    return "3A" + random_bytes(9, rng).hex().upper()


def new_pair_code(rng: Rng = None) -> str:
    """Return an 8-character pairing code formatted "ABCD-EFGH"."""
    code = "".join(_PAIR_ALPHABET[random_below(len(_PAIR_ALPHABET), rng)] for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def new_group_id(rng: Rng = None) -> str:
    """Return a group JID of the modern 18-digit form."""
    return f"1203630{random_below(10**11, rng):011d}@g.us"


def new_lid(rng: Rng = None) -> str:
    """Return a random 15-digit LID user part (WhatsApp's privacy-preserving address)."""
    return str(10**14 + random_below(9 * 10**14, rng))


def random_b64(size: int, rng: Rng = None) -> str:
    """Return `size` random bytes as base64, as byte fields travel in the gateway's JSON."""
    return base64.b64encode(random_bytes(size, rng)).decode()
