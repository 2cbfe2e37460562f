"""What the gateway's webhook posts, turned into messages, receipts and other events.

Pure functions, no I/O and no Home Assistant: `parse_webhook` takes the decoded JSON body of one
POST and never raises, whatever it is given (the gateway posts once and never retries, and its
shapes are only partly documented, so anything unexpected is passed on rather than dropped).

Shapes (`gateway-behaviour.md` §5): the body is ``{"instance_id": …, "data": {"event": …, …}}``;
Baileys pass-through events carry their payload in ``data.data``, the gateway's digested
``received_message`` in ``data.message``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import logging
import math
import re
from types import MappingProxyType
from typing import Any, Final, Literal

import orjson

_LOGGER = logging.getLogger(__name__)

type MessageType = Literal[
    "text",
    "image",
    "video",
    "audio",
    "voice",
    "document",
    "sticker",
    "location",
    "contact",
    "button_reply",
    "list_reply",
    "reaction",
    "other",
]
type MessageStatusName = Literal["pending", "sent", "delivered", "read", "played", "failed"]

MESSAGE_TYPES: Final[tuple[MessageType, ...]] = (
    "text",
    "image",
    "video",
    "audio",
    "voice",
    "document",
    "sticker",
    "location",
    "contact",
    "button_reply",
    "list_reply",
    "reaction",
    "other",
)
MESSAGE_STATUSES: Final[tuple[MessageStatusName, ...]] = (
    "pending",
    "sent",
    "delivered",
    "read",
    "played",
    "failed",
)

EVENT_MESSAGES_UPSERT: Final = "messages.upsert"
EVENT_MESSAGES_UPDATE: Final = "messages.update"
EVENT_RECEIVED_MESSAGE: Final = "received_message"

# How many message ids an entry remembers to report a message once (it arrives as both
# messages.upsert and received_message, usually within milliseconds of each other).
RECENT_MESSAGE_IDS: Final = 1024
# Items of one post beyond this are ignored: a 4 MiB post could otherwise hold ~46,000 messages.
MAX_POST_ITEMS: Final = 1000
# An item whose id or chat id is longer is ignored (real ones have well under 100 characters), and
# so is a post whose event name is: ids are remembered, names are compared and reported.
MAX_ID_LENGTH: Final = 256
# Numbers read from text longer than this are refused (Python refuses int() of 4,300 digits).
_MAX_NUMBER_TEXT: Final = 32
# Whole numbers beyond this are refused: Home Assistant's JSON writer refuses over 64 bits, and
# no count, duration or timestamp of a message comes near.
_MAX_INT: Final = 2**53

# Chats that are not conversations: status updates and channels.
_SKIPPED_CHAT_SUFFIXES: Final = ("@newsletter", "@broadcast")
_GROUP_SUFFIX: Final = "@g.us"
_LID_SUFFIX: Final = "@lid"
_PHONE_SUFFIXES: Final = ("@s.whatsapp.net", "@c.us")

# Timestamps above this are milliseconds (1e11 seconds is the year 5138).
_MILLISECONDS_FROM: Final = 1e11
# The high word of a Long timestamp is small (2**21 * 2**32 ms is the year 287,000).
_MAX_LONG_HIGH: Final = 2**21

# Containers to open before reading the content (`editedMessage` holds the new version).
_WRAPPERS: Final = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
    "botInvokeMessage",
    "groupMentionedMessage",
    "lottieStickerMessage",
)
_MAX_WRAPPING: Final = 8
_WRAPPER_ORDER: Final[dict[str, int]] = {key: index for index, key in enumerate(_WRAPPERS)}

# A protocol message of this type carries an edit (the new content in `editedMessage`).
_PROTOCOL_MESSAGE_EDIT: Final = (14, "MESSAGE_EDIT")

# WhatsApp's message status codes (Baileys' proto.WebMessageInfo.Status) and their names.
_STATUSES: Final[dict[int | str, MessageStatusName]] = {
    0: "failed",
    1: "pending",
    2: "sent",
    3: "delivered",
    4: "read",
    5: "played",
    "error": "failed",
    "failed": "failed",
    "pending": "pending",
    "server_ack": "sent",
    "sent": "sent",
    "delivery_ack": "delivered",
    "delivered": "delivered",
    "read": "read",
    "played": "played",
}
# An update with any of these is a delete, an edit, a poll vote or a reaction, not a receipt.
_NOT_RECEIPT_KEYS: Final = frozenset(
    {"message", "messageStubType", "pollUpdates", "reactions", "userReceipt"}
)

_WHITESPACE = re.compile(r"\s+")
# Lone UTF-16 surrogates: a str holds a pair as one code point, so any of these is alone. Such a
# string cannot be encoded, and one in Home Assistant's state breaks saving it for every entity.
_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT: Final = "\ufffd"
# The names the gateway posts (normalized), computed once; any other name is normalized each
# time, so that names coming from the network fill no cache.
_KNOWN_EVENT_NAMES: Final[dict[str, str]] = {
    name: name
    for name in (
        "received_message",
        "messages.upsert",
        "messages.update",
        "contacts.upsert",
        "contacts.update",
        "groups.update",
        "new_subscriber",
        "capturer",
    )
} | {"new subscriber": "new_subscriber"}


_NO_FIELDS: Final[Mapping[str, object]] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaInfo:
    """What is known of a received file (its content is an encrypted blob on WhatsApp's CDN)."""

    mimetype: str | None = None
    filename: str | None = None
    seconds: int | None = None

    def as_dict(self) -> dict[str, str | int | None]:
        """Return the fields as the `media` of the event."""
        return {"mimetype": self.mimetype, "filename": self.filename, "seconds": self.seconds}


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """A received message (or an own one echoed back), as `smartwats_message_received` says it.

    `chat_number` is not part of the event: the phone number of the other side of a one-to-one
    chat when known (also for own messages), to find the chat's recipient.
    """

    message_id: str
    chat_id: str
    sender: str | None
    sender_jid: str | None
    sender_name: str | None
    is_group: bool
    group_id: str | None
    type: MessageType
    text: str | None = None
    button_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    media: MediaInfo | None = None
    quoted_message_id: str | None = None
    timestamp: str | None = None
    from_me: bool = False
    chat_number: str | None = None

    def event_data(self, common: Mapping[str, object] = _NO_FIELDS) -> dict[str, object]:
        """Return the fields of the `smartwats_message_received` event, after ``common`` ones.

        Without ``common``, the message's own fields only (not the entry's).
        """
        return {
            **common,
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "sender": self.sender,
            "sender_jid": self.sender_jid,
            "sender_name": self.sender_name,
            "is_group": self.is_group,
            "group_id": self.group_id,
            "type": self.type,
            "text": self.text,
            "button_id": self.button_id,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "media": None if self.media is None else self.media.as_dict(),
            "quoted_message_id": self.quoted_message_id,
            "timestamp": self.timestamp,
            "from_me": self.from_me,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStatus:
    """A delivery or read receipt of a message (usually one this instance sent)."""

    message_id: str
    chat_id: str
    status: MessageStatusName

    def event_data(self) -> dict[str, object]:
        """Return the fields of the `smartwats_message_status` event (without the entry's)."""
        return {"message_id": self.message_id, "chat_id": self.chat_id, "status": self.status}


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayEvent:
    """Any other event (contacts, groups, capturer, new_subscriber, unknown), passed on as is."""

    event: str
    data: object

    def event_data(self) -> dict[str, object]:
        """Return the fields of the `smartwats_webhook_event` event (without the entry's)."""
        return {"event": self.event, "data": self.data}


type WebhookItem = InboundMessage | MessageStatus | GatewayEvent


@dataclass(slots=True, kw_only=True)
class WebhookPost:
    """One webhook body, read lazily: the envelope at once, its items one at a time.

    ``items`` parses each item only when it is taken, so that the reader of a large post can
    yield to the event loop between items. ``skipped`` counts items beyond `MAX_POST_ITEMS`.
    """

    instance_id: str | None
    event: str | None
    items: Iterator[WebhookItem]
    skipped: int = 0


@dataclass(slots=True, kw_only=True)
class ParsedWebhook:
    """Everything one webhook body holds."""

    instance_id: str | None
    event: str | None = None
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[MessageStatus] = field(default_factory=list)
    events: list[GatewayEvent] = field(default_factory=list)


class RecentIds:
    """A bounded memory of the message ids seen last (least recently seen forgotten first)."""

    def __init__(self, size: int = RECENT_MESSAGE_IDS) -> None:
        """Remember at most ``size`` ids."""
        self._size = max(size, 1)
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        """Return how many ids are remembered."""
        return len(self._ids)

    def __contains__(self, message_id: object) -> bool:
        """Tell whether the id is remembered."""
        return message_id in self._ids

    def seen(self, message_id: str) -> bool:
        """Remember the id; return whether it was remembered already."""
        if message_id in self._ids:
            self._ids.move_to_end(message_id)
            return True
        self._ids[message_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False


# -- small readers of untrusted JSON --------------------------------------------------------------


def _dict(value: object) -> dict[str, object]:
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


def _str(value: object) -> str | None:
    """Return a non-empty string (numbers as text) of valid Unicode, else None."""
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
    return text if len(text) <= _MAX_NUMBER_TEXT else None


def _int(value: object) -> int | None:
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


def _float(value: object) -> float | None:
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


def _flag(value: object) -> bool:
    """Return a boolean given as a boolean, a number or a string."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return value is True or (isinstance(value, int | float) and value == 1)


def _loads(value: object) -> object:
    """Return JSON text decoded (some gateways post the payload as a string), else the value."""
    if isinstance(value, str) and value[:1] in {"{", "["}:
        try:
            return loads_lenient(value)
        except ValueError, RecursionError:
            return value
    return value


# -- addresses ------------------------------------------------------------------------------------


def _jid(value: object) -> str | None:
    """Return a JID without its device part (``user:12@server`` → ``user@server``)."""
    text = _str(value)
    if text is None:
        return None
    user, at, server = text.partition("@")
    if not at:
        return None
    device = user.partition(":")
    if device[1]:
        user = device[0]
    elif user and server:
        return text  # already without a device part
    if not user or not server:
        return None
    return f"{user}@{server}"


def _phone_of(*jids: str | None) -> str | None:
    """Return the first phone JID among those given."""
    for jid in jids:
        if jid is not None and jid.endswith(_PHONE_SUFFIXES):
            return jid
    return None


def _digits(jid: str | None) -> str | None:
    """Return the phone or LID digits of a JID."""
    if jid is None:
        return None
    user = jid.partition("@")[0]
    if user.isdigit():
        return user
    digits = "".join(char for char in user if char.isdigit())
    return digits or None


def normalize_event_name(name: str) -> str:
    """Return an event's name as reported: trimmed, spaces as underscores (``new subscriber``)."""
    if (known := _KNOWN_EVENT_NAMES.get(name)) is not None:
        return known
    return _WHITESPACE.sub("_", name.strip()) or "unknown"


# -- timestamps -----------------------------------------------------------------------------------


def parse_timestamp(value: object) -> str | None:
    """Return a WhatsApp timestamp as ISO 8601 in UTC, or None when there is none.

    It arrives as seconds (a number or a numeric string), as a protobuf Long object
    ``{"low": …, "high": …, "unsigned": …}``, or in milliseconds (values above 1e11).
    """
    seconds: float | None
    if type(value) is int and 0 < value <= _MILLISECONDS_FROM:
        # The usual case: whole seconds.
        seconds = value
    elif isinstance(value, dict):
        long = _dict(value)
        low, high = _int(long.get("low")), _int(long.get("high"))
        if low is None or high is None or not 0 <= high < _MAX_LONG_HIGH:
            return None
        seconds = float((high << 32) | (low & 0xFFFFFFFF))
    else:
        seconds = _float(value)
    if seconds is None or seconds <= 0:
        return None
    if seconds > _MILLISECONDS_FROM:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except OverflowError, OSError, ValueError:
        return None


# -- content --------------------------------------------------------------------------------------


def unwrap(content: Mapping[str, object]) -> dict[str, object]:
    """Return the content inside its wrappers (ephemeral, view once, captioned document, edit)."""
    current = _dict(content)
    for _ in range(_MAX_WRAPPING):
        # The first of _WRAPPERS holding a message: found among the message's few keys.
        found: dict[str, object] | None = None
        first = len(_WRAPPERS)
        for key, outer in current.items():
            if (
                (index := _WRAPPER_ORDER.get(key, first)) < first
                and isinstance(outer, dict)
                and isinstance(inner := outer.get("message"), dict)
                and inner
            ):
                first, found = index, inner
        if found is not None:
            current = found
        else:
            protocol = _dict(current.get("protocolMessage"))
            edited = _dict(protocol.get("editedMessage"))
            if not edited or protocol.get("type") not in _PROTOCOL_MESSAGE_EDIT:
                return current
            current = edited
    return current


def _context_id(body: Mapping[str, object]) -> str | None:
    """Return the id of the message quoted (replied to)."""
    return _str(_dict(body.get("contextInfo")).get("stanzaId"))


@dataclass(slots=True)
class _Content:
    type: MessageType
    text: str | None = None
    button_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    media: MediaInfo | None = None
    quoted_message_id: str | None = None


def _media(body: Mapping[str, object], *, with_name: bool = False) -> MediaInfo:
    return MediaInfo(
        mimetype=_str(body.get("mimetype")),
        filename=_str(body.get("fileName")) if with_name else None,
        seconds=_int(body.get("seconds")),
    )


def _text_content(body: Mapping[str, object]) -> _Content:
    return _Content(
        "text",
        text=_str(body.get("text")) or _str(body.get("matchedText")),
        quoted_message_id=_context_id(body),
    )


def _media_content(kind: MessageType, *, with_name: bool = False) -> _Reader:
    def read(body: Mapping[str, object]) -> _Content:
        return _Content(
            kind,
            text=_str(body.get("caption")),
            media=_media(body, with_name=with_name),
            quoted_message_id=_context_id(body),
        )

    return read


def _audio_content(body: Mapping[str, object]) -> _Content:
    return _Content(
        "voice" if _flag(body.get("ptt")) else "audio",
        media=_media(body),
        quoted_message_id=_context_id(body),
    )


def _location_content(body: Mapping[str, object]) -> _Content:
    name, address = _str(body.get("name")), _str(body.get("address"))
    return _Content(
        "location",
        text=name or address or _str(body.get("caption")),
        latitude=_float(body.get("degreesLatitude")),
        longitude=_float(body.get("degreesLongitude")),
        quoted_message_id=_context_id(body),
    )


def _contact_content(body: Mapping[str, object]) -> _Content:
    return _Content(
        "contact",
        text=_str(body.get("displayName")),
        quoted_message_id=_context_id(body),
    )


def _button_reply(id_key: str) -> Callable[[Mapping[str, object]], _Content]:
    """Return the reader of a button reply whose pressed button's id is under ``id_key``."""

    def read(body: Mapping[str, object]) -> _Content:
        return _Content(
            "button_reply",
            text=_str(body.get("selectedDisplayText")),
            button_id=_str(body.get(id_key)),
            quoted_message_id=_context_id(body),
        )

    return read


def _native_flow_reply(body: Mapping[str, object]) -> _Content:
    flow = _dict(body.get("nativeFlowResponseMessage"))
    params = _dict(_loads(flow.get("paramsJson")))
    return _Content(
        "button_reply",
        text=_str(_dict(body.get("body")).get("text")),
        button_id=_str(params.get("id")),
        quoted_message_id=_context_id(body),
    )


def _list_reply(body: Mapping[str, object]) -> _Content:
    return _Content(
        "list_reply",
        text=_str(body.get("title")),
        button_id=_str(_dict(body.get("singleSelectReply")).get("selectedRowId")),
        quoted_message_id=_context_id(body),
    )


def _reaction(body: Mapping[str, object]) -> _Content:
    return _Content(
        "reaction",
        text=_str(body.get("text")),
        quoted_message_id=_str(_dict(body.get("key")).get("id")),
    )


type _Reader = Callable[[Mapping[str, object]], _Content]

# Content keys in the order they are looked for (a message also holds metadata keys such as
# messageContextInfo or senderKeyDistributionMessage next to its content).
_READERS: Final[tuple[tuple[str, _Reader], ...]] = (
    ("extendedTextMessage", _text_content),
    ("imageMessage", _media_content("image")),
    ("videoMessage", _media_content("video")),
    ("ptvMessage", _media_content("video")),
    ("audioMessage", _audio_content),
    ("documentMessage", _media_content("document", with_name=True)),
    ("stickerMessage", _media_content("sticker")),
    ("locationMessage", _location_content),
    ("liveLocationMessage", _location_content),
    ("contactMessage", _contact_content),
    ("contactsArrayMessage", _contact_content),
    ("buttonsResponseMessage", _button_reply("selectedButtonId")),
    ("templateButtonReplyMessage", _button_reply("selectedId")),
    ("interactiveResponseMessage", _native_flow_reply),
    ("listResponseMessage", _list_reply),
    ("reactionMessage", _reaction),
)
# Where each content key is in that order.
_READER_ORDER: Final[dict[str, int]] = {key: index for index, (key, _) in enumerate(_READERS)}
# Keys that are never content on their own.
_METADATA_KEYS: Final = frozenset(
    {"messageContextInfo", "senderKeyDistributionMessage", "deviceSentMessage"}
)


def parse_content(content: Mapping[str, object]) -> _Content | None:
    """Return what a message holds, or None for nothing to report (protocol messages, stubs)."""
    inner = unwrap(content)
    if (text := inner.get("conversation")) is not None and not isinstance(text, dict):
        return _Content("text", text=_str(text))
    # The first of _READERS whose key holds an object: found among the message's few keys.
    found: dict[str, object] | None = None
    first = len(_READERS)
    for key, body in inner.items():
        if (index := _READER_ORDER.get(key, first)) < first and isinstance(body, dict):
            first, found = index, body
    if found is not None:
        return _READERS[first][1](found)
    kinds = [key for key, value in inner.items() if value is not None and key not in _METADATA_KEYS]
    if not kinds or "protocolMessage" in kinds:
        return None
    return _Content("other")


# -- messages -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Options:
    include_own_messages: bool
    own_number: str | None
    upsert_subscribed: bool


def _message(
    key: Mapping[str, object],
    content: _Content,
    *,
    push_name: object,
    timestamp: object,
    options: _Options,
) -> InboundMessage | None:
    """Build a message from its key and content; None when it is not to be reported."""
    message_id = _str(key.get("id"))
    chat = _jid(key.get("remoteJid"))
    if message_id is None or chat is None or chat.endswith(_SKIPPED_CHAT_SUFFIXES):
        return None
    if _too_long(message_id, chat):
        return None
    from_me = _flag(key.get("fromMe"))
    if from_me and not options.include_own_messages:
        return None
    is_group = chat.endswith(_GROUP_SUFFIX)
    chat_phone = None if is_group else _phone_of(chat, _jid(key.get("remoteJidAlt")))
    if is_group:
        participant = _jid(key.get("participant"))
        alternatives = (
            _jid(key.get("participantAlt")),
            _jid(key.get("participantPn")),
            _jid(key.get("senderPn")),
        )
        sender_jid = _phone_of(participant, *alternatives) or participant
    elif from_me:
        sender_jid = None
    else:
        sender_jid = chat_phone or _phone_of(_jid(key.get("senderPn"))) or chat
    if from_me and options.own_number:
        sender_jid = f"{options.own_number}@s.whatsapp.net"
    return InboundMessage(
        message_id=message_id,
        chat_id=chat,
        sender=_digits(sender_jid),
        sender_jid=sender_jid,
        sender_name=_str(push_name),
        is_group=is_group,
        group_id=chat if is_group else None,
        type=content.type,
        text=content.text,
        button_id=content.button_id,
        latitude=content.latitude,
        longitude=content.longitude,
        media=content.media,
        quoted_message_id=content.quoted_message_id,
        timestamp=parse_timestamp(timestamp),
        from_me=from_me,
        chat_number=_digits(chat_phone),
    )


def _too_long(message_id: str, chat: str) -> bool:
    """Tell (with a debug line) whether an item's id or chat id is too long to be real."""
    if len(message_id) <= MAX_ID_LENGTH and len(chat) <= MAX_ID_LENGTH:
        return False
    _LOGGER.debug("Ignored a webhook item whose id or chat id is over %d characters", MAX_ID_LENGTH)
    return True


def _upsert_messages(payload: object) -> list[object]:
    """Return the WAMessages of a messages.upsert payload (a list or a single one accepted)."""
    payload = _loads(payload)
    if isinstance(payload, list):
        return payload
    body = _dict(payload)
    messages = body.get("messages")
    if isinstance(messages, list):
        return messages
    if isinstance(messages, dict) or "key" in body:
        return [messages if isinstance(messages, dict) else body]
    return []


def _upsert_message(item: object, options: _Options) -> InboundMessage | None:
    wamessage = _dict(item)
    content = parse_content(_dict(wamessage.get("message")))
    if content is None:
        return None
    return _message(
        _dict(wamessage.get("key")),
        content,
        push_name=wamessage.get("pushName"),
        timestamp=wamessage.get("messageTimestamp"),
        options=options,
    )


def _received_message(payload: object, options: _Options) -> InboundMessage | None:
    """Read the gateway's digested form of a message."""
    body = _dict(_loads(payload))
    digest = _dict(body.get("body_message"))
    key = _dict(body.get("message_key")) or _dict(body.get("key"))
    if digest.get("type") == "emptyMessage":
        # The gateway replaced an unsupported message by a wave: the original is lost. When
        # messages.upsert is subscribed too, it brings the real content under the same id.
        if options.upsert_subscribed:
            return None
        content: _Content | None = _Content("other")
    else:
        content = parse_content(_dict(digest.get("messages")))
        if content is None and (text := _str(digest.get("content"))) is not None:
            content = _Content("text", text=text)
    if content is None:
        return None
    return _message(
        key,
        content,
        push_name=body.get("push_name") or body.get("pushName"),
        timestamp=body.get("messageTimestamp") or body.get("timestamp"),
        options=options,
    )


# -- receipts -------------------------------------------------------------------------------------


def parse_status(value: object) -> MessageStatusName | None:
    """Return a message status given as a number (0-5) or an enum name (``"READ"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if text.isdecimal():
            return _STATUSES.get(int(text)) if len(text) <= _MAX_NUMBER_TEXT else None
        return _STATUSES.get(text)
    if isinstance(value, int):
        return _STATUSES.get(value)
    return None


def _update_items(payload: object) -> list[object]:
    payload = _loads(payload)
    return payload if isinstance(payload, list) else [payload]


def _receipt(item: object) -> MessageStatus | None:
    """Return the receipt an update is, or None for any other update (delete, edit, vote)."""
    body = _dict(item)
    update = _dict(body.get("update"))
    key = _dict(body.get("key"))
    status = parse_status(update.get("status", body.get("status")))
    message_id, chat = _str(key.get("id")), _jid(key.get("remoteJid"))
    if (
        status is None
        or message_id is None
        or chat is None
        or _NOT_RECEIPT_KEYS.intersection(update)
        or _too_long(message_id, chat)
    ):
        return None
    return MessageStatus(message_id=message_id, chat_id=chat, status=status)


# -- the body -------------------------------------------------------------------------------------


def _payload(data: Mapping[str, object]) -> object:
    """Return an event's payload: ``data``, ``message``, or the fields next to ``event``."""
    for name in ("data", "message"):
        if name in data:
            return _loads(data[name])
    return {key: value for key, value in data.items() if key != "event"}


def _each[T](items: Iterable[object], read: Callable[[object], T | None]) -> Iterator[T]:
    """Read each item on its own: one that cannot be read is skipped, never its siblings."""
    for item in items:
        try:
            result = read(item)
        except Exception:  # a parser bug must not lose the rest of the post
            _LOGGER.debug("Ignored a webhook item that could not be read", exc_info=True)
            continue
        if result is not None:
            yield result


def _updates(items: list[object], event: str) -> Iterator[WebhookItem]:
    """Yield the receipts of a messages.update, then the other updates as one event."""
    others: list[object] = []

    def read(item: object) -> MessageStatus | None:
        receipt = _receipt(item)
        if receipt is None and _dict(item):
            others.append(clean_json(item))
        return receipt

    yield from _each(items, read)
    if others:
        yield GatewayEvent(event=event, data=others)


def read_webhook(
    body: object,
    *,
    include_own_messages: bool = False,
    own_number: str | None = None,
    upsert_subscribed: bool = True,
) -> WebhookPost:
    """Read the envelope of one webhook body; its items are parsed as they are taken.

    Never raises, nor does taking the items. Options as for `parse_webhook`.
    """
    envelope = _dict(body)
    instance = _str(envelope.get("instance_id"))
    data = _dict(_loads(envelope.get("data")))
    event_name = _str(data.get("event")) or _str(envelope.get("event"))
    if event_name is None:
        unknown = GatewayEvent(event="unknown", data=clean_json(envelope.get("data")))
        return WebhookPost(instance_id=instance, event=None, items=iter((unknown,)))
    if len(event_name) > MAX_ID_LENGTH:
        _LOGGER.debug("Ignored a webhook post with an event name over %d characters", MAX_ID_LENGTH)
        return WebhookPost(instance_id=instance, event=None, items=iter(()))
    event = normalize_event_name(event_name)
    options = _Options(include_own_messages, own_number, upsert_subscribed)
    payload = _payload(data) if "event" in data else _loads(envelope.get("data"))
    items: Iterator[WebhookItem]
    listed: list[object] = []
    if event == EVENT_MESSAGES_UPSERT:
        listed = _upsert_messages(payload)
        items = _each(listed[:MAX_POST_ITEMS], lambda item: _upsert_message(item, options))
    elif event == EVENT_RECEIVED_MESSAGE:
        items = _each((payload,), lambda item: _received_message(item, options))
    elif event == EVENT_MESSAGES_UPDATE:
        listed = _update_items(payload)
        items = _updates(listed[:MAX_POST_ITEMS], event)
    else:
        items = iter((GatewayEvent(event=event, data=clean_json(payload)),))
    skipped = max(len(listed) - MAX_POST_ITEMS, 0)
    return WebhookPost(instance_id=instance, event=event, items=items, skipped=skipped)


def parse_webhook(
    body: object,
    *,
    include_own_messages: bool = False,
    own_number: str | None = None,
    upsert_subscribed: bool = True,
) -> ParsedWebhook:
    """Read one webhook body; never raises.

    ``include_own_messages`` reports this account's own messages (``fromMe``) echoed back,
    ``own_number`` is the linked number (the sender of those), ``upsert_subscribed`` tells
    whether messages.upsert is among the events sent (it then brings the content of messages
    that received_message could only show as an empty one).
    """
    post = read_webhook(
        body,
        include_own_messages=include_own_messages,
        own_number=own_number,
        upsert_subscribed=upsert_subscribed,
    )
    result = ParsedWebhook(instance_id=post.instance_id, event=post.event)
    for item in post.items:
        if isinstance(item, InboundMessage):
            result.messages.append(item)
        elif isinstance(item, MessageStatus):
            result.statuses.append(item)
        else:
            result.events.append(item)
    return result
