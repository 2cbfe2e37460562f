"""QR codes of the linking flow: payloads shaped like WhatsApp Web's, rendered as real PNGs."""

from __future__ import annotations

import base64

import segno

from .ids import Rng, random_b64, random_bytes


def new_qr_payload(rng: Rng = None) -> str:
    """Return a QR payload like Baileys': server ref, noise key, identity key, ADV secret.

    The phone app would reject it, but any QR reader decodes it, which is what a test or a
    person looking at the page needs.
    """
    # What secrets.token_urlsafe(60) makes, from either source of randomness.
    ref = "2@" + base64.urlsafe_b64encode(random_bytes(60, rng)).rstrip(b"=").decode()
    return ",".join((ref, random_b64(32, rng), random_b64(32, rng), random_b64(16, rng)))


def qr_data_uri(payload: str) -> str:
    """Render the payload as a scannable PNG `data:image/png;base64,…` URI, like the gateway."""
    return segno.make(payload, error="l").png_data_uri(scale=5, border=4)
