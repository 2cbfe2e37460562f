"""QR codes of the linking flow: payloads shaped like WhatsApp Web's, rendered as real PNGs."""

from __future__ import annotations

import secrets

import segno

from .ids import random_b64


def new_qr_payload() -> str:
    """Return a QR payload like Baileys': server ref, noise key, identity key, ADV secret.

    The phone app would reject it, but any QR reader decodes it, which is what a test or a
    person looking at the page needs.
    """
    ref = "2@" + secrets.token_urlsafe(60)
    return ",".join((ref, random_b64(32), random_b64(32), random_b64(16)))


def qr_data_uri(payload: str) -> str:
    """Render the payload as a scannable PNG `data:image/png;base64,…` URI, like the gateway."""
    return segno.make(payload, error="l").png_data_uri(scale=5, border=4)
