"""Unit tests of the gateway-answer parsers that need more than a round trip to show."""

from __future__ import annotations

import base64
import re

import pytest

from custom_components.smartwats.api.responses import (
    MAX_QR_IMAGE_BYTES,
    normalize_instance_id,
    qr_data_uri,
)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63646060f80f00020701"
    "80eb47ba920000000049454e44ae426082"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PNG_B64 = base64.b64encode(PNG).decode()
JPEG_B64 = base64.b64encode(JPEG).decode()
PNG_URI = f"data:image/png;base64,{PNG_B64}"
JPEG_URI = f"data:image/jpeg;base64,{JPEG_B64}"
# What a rebuilt URI may hold: the prefix, then the base64 alphabet only.
CLEAN_URI = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/]+={0,2}")


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (PNG_URI, PNG_URI),
        (PNG_B64, PNG_URI),
        (f"  {PNG_URI}\n", PNG_URI),
        (f"data:image/png;base64,{PNG_B64[:20]}\n  {PNG_B64[20:]}", PNG_URI),
        (f"DATA:IMAGE/PNG;BASE64,{PNG_B64}", PNG_URI),
        (JPEG_URI, JPEG_URI),
        (JPEG_B64, JPEG_URI),
        # The bytes decide the type, not what the gateway wrote.
        (f"data:image/png;base64,{JPEG_B64}", JPEG_URI),
        (f"data:image/svg+xml;base64,{PNG_B64}", PNG_URI),
    ],
)
def test_qr_image_is_rebuilt_from_its_bytes(field: str, expected: str) -> None:
    """A PNG or JPEG, however the gateway wrote it, comes back as a fresh, canonical URI."""
    uri = qr_data_uri(field)
    assert uri == expected
    assert CLEAN_URI.fullmatch(uri)


@pytest.mark.parametrize(
    "field",
    [
        # Markdown injection: the image would be followed by the gateway's own markdown.
        f"{PNG_URI}) ![a](https://evil.example/a.png",
        f"{PNG_URI})![a](https://evil.example/a.png",
        "x) ![a](https://evil",
        f"data:image/png;base64,{PNG_B64}<img src=x>",
        # Not a base64 image.
        "2@AbCdEf,xyz=,abc=",
        "",
        "   ",
        "data:image/png;base64,",
        f"data:text/html;base64,{PNG_B64}",
        f"data:image/png,{PNG_B64}",
        f"data:;base64,{PNG_B64}",
        "data:image/png;base64,not base64!",
        PNG_B64.rstrip("="),  # padding missing
        PNG_B64.replace("+", "-").replace("/", "_") + "-_",  # URL-safe alphabet
        "٩٦٦" + PNG_B64,  # not ASCII
        # Base64, but not a PNG or JPEG.
        base64.b64encode(b"GIF89a\x01\x00\x01\x00").decode(),
        base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode(),
        base64.b64encode(PNG[1:]).decode(),
        base64.b64encode(b"\xff\xd8").decode(),
    ],
)
def test_what_is_not_an_image(field: str) -> None:
    """Anything else is not an image: nothing of it may reach a page."""
    assert qr_data_uri(field) is None


def test_qr_image_size_is_capped() -> None:
    """An image up to the cap is taken; one byte more, or a huge text, is not."""
    largest = PNG + b"\0" * (MAX_QR_IMAGE_BYTES - len(PNG))
    assert qr_data_uri(base64.b64encode(largest).decode()) == (
        "data:image/png;base64," + base64.b64encode(largest).decode()
    )
    # One byte over: its base64 is no longer than the cap's, so the decoded size decides.
    assert qr_data_uri(base64.b64encode(largest + b"\0").decode()) is None
    # Far over: refused before decoding.
    assert qr_data_uri("A" * (8 * MAX_QR_IMAGE_BYTES)) is None
    assert qr_data_uri(base64.b64encode(largest + b"\0\0\0").decode()) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("68DBB04FECCBA", "68DBB04FECCBA"),
        ("68dbb04feccba ", "68DBB04FECCBA"),
        ("\t68dBb04fEccBa\n", "68DBB04FECCBA"),
        ("", ""),
    ],
)
def test_normalize_instance_id(typed: str, expected: str) -> None:
    """Instance ids are upper-case hex: typed in any case, with spaces, they are the same id."""
    assert normalize_instance_id(typed) == expected
