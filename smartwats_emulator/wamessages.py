"""Builders of inbound WhatsApp messages, as the gateway's webhooks carry them.

`build_inbound` makes the Baileys WAMessage that `messages.upsert` carries (content under the
paths of the note's table), `received_message_payload` the gateway's pre-digested
`received_message` variant. Fields are checked: a misspelt field name raises instead of being
silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
import secrets
import time
from typing import Any

from .ids import Rng, new_lid, new_message_id, random_b64
from .jsontypes import JsonDict
from .outbound import vcard
from .state import digits, phone_jid

DEFAULT_FROM = "966501234567"
DEFAULT_PUSH_NAME = "Ahmed"
WRAPS = ("ephemeral", "view_once")
TIMESTAMP_STYLES = ("number", "string", "long", "ms")
_ALIASES = {
    "reply": "extended_text",
    "ptt": "voice",
    "voice_note": "voice",
    "carousel_reply": "template_reply",
}
# Options every kind takes (the rest are the kind's own fields).
_OPTIONS = frozenset(
    {
        "from_number",
        "push_name",
        "group",
        "lid",
        "wrap",
        "timestamp_style",
        "timestamp",
        "message_id",
    }
)
# Wrappers a client must unwrap before reading the content (the note's list).
_WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)


class _Fields:
    """The fields of one injection, read by type, remembering which ones were used."""

    def __init__(self, fields: Mapping[str, object]) -> None:
        self._fields = dict(fields)
        self._used: set[str] = set()

    def get(self, name: str) -> object:
        self._used.add(name)
        return self._fields.get(name)

    def text(self, name: str, default: str = "") -> str:
        value = self.get(name)
        return default if value is None else str(value)

    def number(self, name: str, default: float) -> float:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"field {name} must be a number")

    def integer(self, name: str, default: int) -> int:
        return int(self.number(name, default))

    def flag(self, name: str, *, default: bool) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return bool(value)

    def check_all_used(self, kind: str) -> None:
        unknown = sorted(set(self._fields) - self._used)
        if unknown:
            raise ValueError(f"unknown field(s) for inbound kind {kind!r}: {', '.join(unknown)}")


@dataclass(frozen=True, slots=True)
class _Context:
    """What content builders need to know about the chat."""

    chat: str
    own_jid: str
    timestamp: int
    rng: Rng


def _media(fields: _Fields, default_mimetype: str) -> JsonDict:
    """Return the fields of a received media message (an encrypted CDN blob, not downloadable)."""
    blob = secrets.token_hex(12)
    body: JsonDict = {
        "url": f"https://mmg.whatsapp.net/v/t62.7117-24/{blob}.enc?ccb=11-4",
        "mimetype": fields.text("mimetype", default_mimetype),
        "fileSha256": random_b64(32),
        "fileLength": str(fields.integer("file_length", 48213)),
        "mediaKey": random_b64(32),
        "fileEncSha256": random_b64(32),
        "directPath": f"/v/t62.7117-24/{blob}.enc?ccb=11-4",
        "mediaKeyTimestamp": str(int(time.time())),
    }
    caption = fields.text("caption")
    if caption:
        body["caption"] = caption
    return body


def _context_info(fields: _Fields, ctx: _Context, *, quoted_text: str | None = None) -> JsonDict:
    """Return the contextInfo of a reply: the quoted message's id, sender and (for text) content."""
    quoted_id = fields.text("quoted_id")
    if not quoted_id:
        return {}
    info: JsonDict = {"stanzaId": quoted_id, "participant": ctx.own_jid}
    if quoted_text is not None:
        info["quotedMessage"] = {"conversation": quoted_text}
    return {"contextInfo": info}


def _text(fields: _Fields, ctx: _Context) -> JsonDict:
    return {"conversation": fields.text("text", "Hello")}


def _extended_text(fields: _Fields, ctx: _Context) -> JsonDict:
    body: JsonDict = {"text": fields.text("text", "Hello"), "previewType": "NONE"}
    body.update(_context_info(fields, ctx, quoted_text=fields.text("quoted_text", "…")))
    return {"extendedTextMessage": body}


def _image(fields: _Fields, ctx: _Context) -> JsonDict:
    body = _media(fields, "image/jpeg")
    body.update({"height": 1280, "width": 960, "jpegThumbnail": random_b64(24)})
    return {"imageMessage": body}


def _video(fields: _Fields, ctx: _Context) -> JsonDict:
    body = _media(fields, "video/mp4")
    body.update({"seconds": fields.integer("seconds", 14), "height": 1280, "width": 720})
    return {"videoMessage": body}


def _document(fields: _Fields, ctx: _Context) -> JsonDict:
    body = _media(fields, "application/pdf")
    name = fields.text("file_name", "document.pdf")
    body.update({"fileName": name, "title": name, "pageCount": 1})
    document = {"documentMessage": body}
    # The app sends a captioned document wrapped, as the note's unwrap list says.
    if "caption" in body:
        return {"documentWithCaptionMessage": {"message": document}}
    return document


def _audio(fields: _Fields, ctx: _Context, *, ptt: bool) -> JsonDict:
    body = _media(fields, "audio/ogg; codecs=opus" if ptt else "audio/mpeg")
    body.update({"ptt": ptt, "seconds": fields.integer("seconds", 7)})
    if ptt:
        body["waveform"] = random_b64(64)
    return {"audioMessage": body}


def _location(fields: _Fields, ctx: _Context) -> JsonDict:
    body: JsonDict = {
        "degreesLatitude": fields.number("latitude", 24.7136),
        "degreesLongitude": fields.number("longitude", 46.6753),
        "jpegThumbnail": random_b64(24),
    }
    for name in ("name", "address"):
        value = fields.text(name)
        if value:
            body[name] = value
    return {"locationMessage": body}


def _contact(fields: _Fields, ctx: _Context) -> JsonDict:
    name = fields.text("display_name", "John Doe")
    card = fields.text("vcard") or vcard(name, fields.text("phone", "966509876543"))
    return {"contactMessage": {"displayName": name, "vcard": card}}


def _sticker(fields: _Fields, ctx: _Context) -> JsonDict:
    body = _media(fields, "image/webp")
    body.update({"height": 512, "width": 512, "isAnimated": fields.flag("animated", default=False)})
    return {"stickerMessage": body}


def _reaction(fields: _Fields, ctx: _Context) -> JsonDict:
    from_me = fields.flag("target_from_me", default=True)
    target: JsonDict = {
        "remoteJid": ctx.chat,
        "fromMe": from_me,
        "id": fields.text("target_id") or new_message_id(rng=ctx.rng),
    }
    if ctx.chat.endswith("@g.us") and from_me:
        target["participant"] = ctx.own_jid
    return {
        "reactionMessage": {
            "key": target,
            "text": fields.text("emoji", "👍"),
            "senderTimestampMs": str(ctx.timestamp * 1000),
        }
    }


def _button_reply(fields: _Fields, ctx: _Context) -> JsonDict:
    body: JsonDict = {
        "selectedButtonId": fields.text("button_id", "btn_1"),
        "selectedDisplayText": fields.text("display_text", "Yes"),
        "type": "DISPLAY_TEXT",
    }
    body.update(_context_info(fields, ctx))
    return {"buttonsResponseMessage": body}


def _template_reply(fields: _Fields, ctx: _Context) -> JsonDict:
    body: JsonDict = {
        "selectedId": fields.text("selected_id", "btn_1"),
        "selectedDisplayText": fields.text("display_text", "Select"),
        "selectedIndex": fields.integer("index", 0),
        "selectedCarouselCardIndex": fields.integer("card_index", 0),
    }
    body.update(_context_info(fields, ctx))
    return {"templateButtonReplyMessage": body}


def _native_flow_reply(fields: _Fields, ctx: _Context) -> JsonDict:
    params = {"id": fields.text("button_id", "btn_1")}
    body: JsonDict = {
        "body": {"text": fields.text("display_text", "Select"), "format": "DEFAULT"},
        "nativeFlowResponseMessage": {
            "name": fields.text("flow_name", "quick_reply"),
            "paramsJson": json.dumps(params),
            "version": 3,
        },
    }
    body.update(_context_info(fields, ctx))
    return {"interactiveResponseMessage": body}


def _list_reply(fields: _Fields, ctx: _Context) -> JsonDict:
    body: JsonDict = {
        "title": fields.text("title", "Option 1"),
        "listType": "SINGLE_SELECT",
        "singleSelectReply": {"selectedRowId": fields.text("row_id", "row_1")},
    }
    description = fields.text("description")
    if description:
        body["description"] = description
    body.update(_context_info(fields, ctx))
    return {"listResponseMessage": body}


_BUILDERS: dict[str, Callable[[_Fields, _Context], JsonDict]] = {
    "text": _text,
    "extended_text": _extended_text,
    "image": _image,
    "video": _video,
    "document": _document,
    "audio": lambda fields, ctx: _audio(fields, ctx, ptt=False),
    "voice": lambda fields, ctx: _audio(fields, ctx, ptt=True),
    "location": _location,
    "contact": _contact,
    "sticker": _sticker,
    "reaction": _reaction,
    "button_reply": _button_reply,
    "template_reply": _template_reply,
    "native_flow_reply": _native_flow_reply,
    "list_reply": _list_reply,
}
INBOUND_KINDS = tuple(_BUILDERS)


def canonical_kind(kind: str) -> str:
    """Return the kind's canonical name (aliases such as "reply" or "ptt" allowed)."""
    kind = _ALIASES.get(kind, kind)
    if kind not in _BUILDERS:
        raise ValueError(f"unknown inbound kind {kind!r}; known: {', '.join(INBOUND_KINDS)}")
    return kind


def format_timestamp(seconds: int, style: str) -> Any:  # noqa: ANN401 - the point is its varying type
    """Return a timestamp in one of the gateway's shapes: number, string, Long, milliseconds."""
    if style == "number":
        return seconds
    if style == "string":
        return str(seconds)
    if style == "ms":
        return seconds * 1000
    if style == "long":
        low = seconds & 0xFFFFFFFF
        return {
            "low": low - 2**32 if low >= 2**31 else low,
            "high": seconds >> 32,
            "unsigned": False,
        }
    raise ValueError(f"unknown timestamp_style {style!r}; known: {', '.join(TIMESTAMP_STYLES)}")


def _key(reader: _Fields, default_group: str | None, rng: Rng) -> JsonDict:
    """Return the message key: chat, sender in groups, and phone JIDs when addressed by LID."""
    sender_phone = phone_jid(reader.text("from_number", DEFAULT_FROM))
    if sender_phone == "@s.whatsapp.net":
        raise ValueError("from_number must contain digits")
    lid_option = reader.get("lid")
    lid_jid = None
    if lid_option not in (None, False, ""):
        lid_jid = (
            new_lid(rng) if lid_option is True else digits(str(lid_option)) or new_lid(rng)
        ) + "@lid"
    group_option = reader.get("group")
    group_jid = None
    if group_option is True:
        if default_group is None:
            raise ValueError("the instance has no group")
        group_jid = default_group
    elif group_option not in (None, False, ""):
        text = str(group_option)
        group_jid = text if text.endswith("@g.us") else f"{digits(text)}@g.us"

    sender = lid_jid or sender_phone
    key: JsonDict = {"remoteJid": group_jid or sender, "fromMe": False}
    key["id"] = reader.text("message_id") or new_message_id(from_api=False, rng=rng)
    if group_jid:
        key["participant"] = sender
        if lid_jid:
            key["participantAlt"] = sender_phone
    elif lid_jid:
        key["remoteJidAlt"] = sender_phone
    return key


def build_inbound(
    kind: str,
    fields: Mapping[str, object],
    *,
    own_jid: str,
    default_group: str | None,
    rng: Rng = None,
) -> JsonDict:
    """Build the WAMessage of a message the linked phone receives.

    Options besides the kind's fields: `from_number`, `push_name`, `group` (a group JID, or True for
    the instance's first group), `lid` (True or a LID number: the chat is addressed by LID),
    `wrap` ("ephemeral" or "view_once"), `timestamp_style`, `timestamp`, `message_id`. `rng`
    makes the ids it invents reproducible (see ids.py).
    """
    kind = canonical_kind(kind)
    reader = _Fields(fields)
    key = _key(reader, default_group, rng)
    timestamp = reader.integer("timestamp", int(time.time()))
    style = reader.text("timestamp_style", "number")
    formatted = format_timestamp(timestamp, style)
    ctx = _Context(chat=key["remoteJid"], own_jid=own_jid, timestamp=timestamp, rng=rng)
    content = _BUILDERS[kind](reader, ctx)
    wrap = reader.text("wrap")
    if wrap == "ephemeral":
        content = {"ephemeralMessage": {"message": content}}
    elif wrap == "view_once":
        content = {"viewOnceMessageV2": {"message": content}}
    elif wrap:
        raise ValueError(f"unknown wrap {wrap!r}; known: {', '.join(WRAPS)}")
    push_name = reader.text("push_name", DEFAULT_PUSH_NAME)
    reader.check_all_used(kind)
    return {
        "key": key,
        "messageTimestamp": formatted,
        "pushName": push_name,
        "broadcast": False,
        "message": content,
    }


def unwrap(content: JsonDict) -> JsonDict:
    """Return the content inside the wrappers (ephemeral, view once, captioned document, edit)."""
    while True:
        for wrapper in _WRAPPERS:
            inner = content.get(wrapper)
            if isinstance(inner, dict) and isinstance(inner.get("message"), dict):
                content = inner["message"]
                break
        else:
            return content


# received_message supports these content types only; what it shows as `content` for each.
_DIGESTS: dict[str, tuple[str, Callable[[JsonDict], str]]] = {
    "conversation": ("textMessage", str),
    "extendedTextMessage": ("textMessage", lambda body: str(body.get("text", ""))),
    "imageMessage": ("imageMessage", lambda body: str(body.get("caption", ""))),
    "videoMessage": ("videoMessage", lambda body: str(body.get("caption", ""))),
    "audioMessage": ("audioMessage", lambda _: ""),
    "stickerMessage": ("stickerMessage", lambda _: ""),
    "buttonsResponseMessage": (
        "buttonsResponseMessage",
        lambda body: str(body.get("selectedDisplayText", "")),
    ),
    "templateButtonReplyMessage": (
        "templateButtonReplyMessage",
        lambda body: str(body.get("selectedDisplayText", "")),
    ),
    "listResponseMessage": ("listResponseMessage", lambda body: str(body.get("title", ""))),
}
_EMPTY_MESSAGE = {"conversation": "👋"}


def received_message_payload(message: JsonDict) -> JsonDict:
    """Return the gateway's pre-digested `received_message` form of an inbound WAMessage.

    Unsupported kinds become `emptyMessage`, their content replaced by a wave: the original is lost.
    """
    content = unwrap(message.get("message") or {})
    for name, (digest_type, read) in _DIGESTS.items():
        if name in content:
            body = {"content": read(content[name]), "type": digest_type, "messages": content}
            break
    else:
        body = {"content": "👋", "type": "emptyMessage", "messages": dict(_EMPTY_MESSAGE)}
    key = message["key"]
    return {
        "body_message": body,
        "message_key": dict(key),
        "push_name": message.get("pushName", ""),
        # The chat's user part, as the engine splits it: the group in groups, the LID for LID chats.
        "from_contact": str(key["remoteJid"]).split("@", 1)[0],
    }
