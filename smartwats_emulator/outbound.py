"""Builders of the WhatsApp message objects (WAMessage) of what the API sends.

`send` answers with the sent WAMessage (id under `key.id`, `messageTimestamp` a string, byte fields
as base64) and the same object comes back by webhook as the `messages.upsert` echo.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
from typing import Any
from urllib.parse import urlsplit

from .ids import random_b64
from .jsontypes import JsonDict

_EXTRA_TYPES = {".opus": "audio/ogg", ".oga": "audio/ogg", ".webp": "image/webp"}


def guess_mimetype(url: str, default: str = "application/octet-stream") -> str:
    """Guess a media URL's MIME type from its path's extension."""
    path = urlsplit(url).path.lower()
    for extension, mimetype in _EXTRA_TYPES.items():
        if path.endswith(extension):
            return mimetype
    return mimetypes.guess_type(path)[0] or default


def file_name(url: str) -> str:
    """Return the last path segment of a URL (the document's name when none is given)."""
    return urlsplit(url).path.rsplit("/", 1)[-1] or "file"


def wamessage(jid: str, message_id: str, content: JsonDict, timestamp: int) -> JsonDict:
    """Wrap message content into a sent WAMessage, as the engine answers it."""
    return {
        "key": {"remoteJid": jid, "fromMe": True, "id": message_id},
        "message": content,
        "messageTimestamp": str(timestamp),
        "status": "SUCCESS",
    }


def _media_fields(mimetype: str) -> JsonDict:
    """Return the fields every media message carries: an encrypted CDN blob, keys, hashes."""
    blob = secrets.token_hex(12)
    return {
        "url": f"https://mmg.whatsapp.net/v/t62.7118-24/{blob}.enc?ccb=11-4",
        "mimetype": mimetype,
        "fileSha256": random_b64(32),
        "fileLength": str(1000 + secrets.randbelow(900_000)),
        "mediaKey": random_b64(32),
        "fileEncSha256": random_b64(32),
        "directPath": f"/v/t62.7118-24/{blob}.enc?ccb=11-4",
        "mediaKeyTimestamp": "1718000000",
    }


def text_content(text: str) -> JsonDict:
    """Return the content of a sent text (the engine always uses extendedTextMessage)."""
    return {"extendedTextMessage": {"text": text}}


def media_kind(url: str) -> str:
    """Return "image", "video", "audio" or "document" for a media URL, by its type."""
    mimetype = guess_mimetype(url)
    for kind in ("image", "video", "audio"):
        if mimetype.startswith(kind + "/"):
            return kind
    return "document"


def media_content(url: str, caption: str, filename: str) -> JsonDict:
    """Return the content of a sent media message, its kind chosen from the URL's extension."""
    kind = media_kind(url)
    body = _media_fields(guess_mimetype(url))
    if kind == "document":
        body["fileName"] = filename or file_name(url)
        body["title"] = body["fileName"]
    if caption and kind != "audio":
        body["caption"] = caption
    if kind == "audio":
        body["ptt"] = False
        body["seconds"] = 12
    return {f"{kind}Message": body}


def location_content(latitude: float, longitude: float, name: str, address: str) -> JsonDict:
    """Return the content of a sent location."""
    body: JsonDict = {"degreesLatitude": latitude, "degreesLongitude": longitude}
    if name:
        body["name"] = name
    if address:
        body["address"] = address
    return {"locationMessage": body}


def vcard(name: str, phone: str) -> str:
    """Return a vCard as WhatsApp builds it (with the waid the app uses to link the contact)."""
    number = "".join(ch for ch in phone if ch.isdigit())
    return (
        "BEGIN:VCARD\nVERSION:3.0\n"
        f"FN:{name}\n"
        f"TEL;type=CELL;type=VOICE;waid={number}:+{number}\n"
        "END:VCARD"
    )


def contact_content(name: str, phone: str) -> JsonDict:
    """Return the content of a sent contact card."""
    return {"contactMessage": {"displayName": name, "vcard": vcard(name, phone)}}


def audio_content(ptt: bool) -> JsonDict:
    """Return the content of sent audio (the gateway converts it to Opus for voice notes)."""
    mimetype = "audio/ogg; codecs=opus" if ptt else "audio/mpeg"
    body = _media_fields(mimetype)
    body.update({"ptt": ptt, "seconds": 9})
    if ptt:
        body["waveform"] = random_b64(64)
    return {"audioMessage": body}


def album_item_content(kind: str, caption: str) -> JsonDict:
    """Return the content of one album item (image or video)."""
    body = _media_fields("video/mp4" if kind == "video" else "image/jpeg")
    if caption:
        body["caption"] = caption
    return {f"{kind}Message": body}


def card_image_url(card: JsonDict) -> str:
    """Return a carousel card's image URL, given as a string or as {"url": …}."""
    image = card.get("image")
    if isinstance(image, dict):
        return str(image.get("url") or "")
    return str(image or "")


def native_flow_button(button: JsonDict) -> JsonDict | None:
    """Translate one of the docs' button objects into the native-flow button WhatsApp renders."""
    specs: dict[str, tuple[str, dict[str, str]]] = {
        "quickReplyButton": ("quick_reply", {"displayText": "display_text", "id": "id"}),
        "urlButton": ("cta_url", {"displayText": "display_text", "url": "url"}),
        "copyButton": ("cta_copy", {"displayText": "display_text", "copyCode": "copy_code"}),
        "callButton": ("cta_call", {"displayText": "display_text", "phoneNumber": "phone_number"}),
    }
    for key, (name, fields) in specs.items():
        spec: Any = button.get(key)
        if isinstance(spec, dict):
            params = {out: str(spec.get(src, "")) for src, out in fields.items()}
            if name == "cta_url":
                params["merchant_url"] = params["url"]
            return {"name": name, "buttonParamsJson": json.dumps(params, ensure_ascii=False)}
    return None


def carousel_content(text: str, title: str, footer: str, cards: list[JsonDict]) -> JsonDict:
    """Return the content of a sent carousel: a view-once interactive message, like WhatsApp's."""
    wa_cards = []
    for card in cards:
        buttons = [native_flow_button(b) for b in card.get("buttons") or [] if isinstance(b, dict)]
        image = _media_fields(guess_mimetype(card_image_url(card), "image/jpeg"))
        wa_cards.append(
            {
                "header": {
                    "title": str(card.get("title", "")),
                    "hasMediaAttachment": True,
                    "imageMessage": image,
                },
                "body": {"text": str(card.get("body", ""))},
                "footer": {"text": str(card.get("footer", ""))},
                "nativeFlowMessage": {"buttons": [b for b in buttons if b is not None]},
            }
        )
    interactive = {
        "header": {"title": title, "hasMediaAttachment": False},
        "body": {"text": text},
        "footer": {"text": footer},
        "carouselMessage": {"cards": wa_cards, "messageVersion": 1},
    }
    return {"viewOnceMessage": {"message": {"interactiveMessage": interactive}}}
