"""What the gateway's webhook posts, turned into messages, receipts and other events.

Pure functions, no I/O, no state and no Home Assistant: `read_webhook` (lazily) and
`parse_webhook` (at once) take the decoded JSON body of one POST and never raise, whatever they are
given (the gateway posts once and never retries, and its shapes are only partly documented, so
anything unexpected is passed on rather than dropped). What to report of it (own messages,
duplicates, which recipient's chat) is decided by the integration (webhook.py).

Shapes (`gateway-behaviour.md` §5): the body is ``{"instance_id": …, "data": {"event": …, …}}``;
Baileys pass-through events carry their payload in ``data.data``, the gateway's digested
``received_message`` in ``data.message``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
import logging
import re
from types import MappingProxyType
from typing import Final, Literal, get_args

from .coerce import (
    MAX_NUMBER_TEXT,
    as_dict,
    as_flag,
    as_float,
    as_int,
    as_text,
    clean_json,
    loads_json_text,
)
from .phone import GROUP_SUFFIX, PHONE_JID_SUFFIXES

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

MESSAGE_TYPES: Final[tuple[MessageType, ...]] = get_args(MessageType.__value__)
MESSAGE_STATUSES: Final[tuple[MessageStatusName, ...]] = get_args(MessageStatusName.__value__)

# Events the gateway can post to the webhook (vendor docs: set_webhook "Allowed Events").
GATEWAY_EVENTS: Final = (
    "received_message",
    "messages.upsert",
    "messages.update",
    "contacts.upsert",
    "contacts.update",
    "groups.update",
    "new_subscriber",
    "capturer",
)
EVENT_MESSAGES_UPSERT: Final = "messages.upsert"
EVENT_MESSAGES_UPDATE: Final = "messages.update"
EVENT_RECEIVED_MESSAGE: Final = "received_message"

# Items of one post beyond this are ignored: a 4 MiB post could otherwise hold ~46,000 messages.
MAX_POST_ITEMS: Final = 1000
# An item whose id or chat id is longer is ignored (real ones have well under 100 characters), and
# so is a post whose event name is: ids are remembered, names are compared and reported.
MAX_ID_LENGTH: Final = 256

# Chats that are not conversations: status updates and channels.
_SKIPPED_CHAT_SUFFIXES: Final = ("@newsletter", "@broadcast")

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
# The names the gateway posts (normalized), computed once; any other name is normalized each
# time, so that names coming from the network fill no cache.
_KNOWN_EVENT_NAMES: Final[dict[str, str]] = {name: name for name in GATEWAY_EVENTS} | {
    "new subscriber": "new_subscriber"
}


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

    `content_lost` is not part of the event either: the gateway's digest replaced the content by
    a wave (``emptyMessage``), the real one may come as messages.upsert under the same id.
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
    content_lost: bool = False

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


# -- addresses ------------------------------------------------------------------------------------


def _jid(value: object) -> str | None:
    """Return a JID without its device part (``user:12@server`` → ``user@server``)."""
    text = as_text(value)
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
        if jid is not None and jid.endswith(PHONE_JID_SUFFIXES):
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
    if isinstance(value, dict):
        long = as_dict(value)
        low, high = as_int(long.get("low")), as_int(long.get("high"))
        if low is None or high is None or not 0 <= high < _MAX_LONG_HIGH:
            return None
        seconds = float((high << 32) | (low & 0xFFFFFFFF))
    else:
        seconds = as_float(value)
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
    current = as_dict(content)
    for _ in range(_MAX_WRAPPING):
        # The first of _WRAPPERS holding a message.
        found = None
        for key in _WRAPPERS:
            outer = current.get(key)
            if (
                isinstance(outer, dict)
                and isinstance(inner := outer.get("message"), dict)
                and inner
            ):
                found = inner
                break
        if found is not None:
            current = found
        else:
            protocol = as_dict(current.get("protocolMessage"))
            edited = as_dict(protocol.get("editedMessage"))
            if not edited or protocol.get("type") not in _PROTOCOL_MESSAGE_EDIT:
                return current
            current = edited
    return current


def _context_id(body: Mapping[str, object]) -> str | None:
    """Return the id of the message quoted (replied to)."""
    return as_text(as_dict(body.get("contextInfo")).get("stanzaId"))


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
        mimetype=as_text(body.get("mimetype")),
        filename=as_text(body.get("fileName")) if with_name else None,
        seconds=as_int(body.get("seconds")),
    )


def _text_content(body: Mapping[str, object]) -> _Content:
    return _Content(
        "text",
        text=as_text(body.get("text")) or as_text(body.get("matchedText")),
        quoted_message_id=_context_id(body),
    )


def _media_content(kind: MessageType, *, with_name: bool = False) -> _Reader:
    def read(body: Mapping[str, object]) -> _Content:
        return _Content(
            kind,
            text=as_text(body.get("caption")),
            media=_media(body, with_name=with_name),
            quoted_message_id=_context_id(body),
        )

    return read


def _audio_content(body: Mapping[str, object]) -> _Content:
    return _Content(
        "voice" if as_flag(body.get("ptt")) else "audio",
        media=_media(body),
        quoted_message_id=_context_id(body),
    )


def _location_content(body: Mapping[str, object]) -> _Content:
    name, address = as_text(body.get("name")), as_text(body.get("address"))
    return _Content(
        "location",
        text=name or address or as_text(body.get("caption")),
        latitude=as_float(body.get("degreesLatitude")),
        longitude=as_float(body.get("degreesLongitude")),
        quoted_message_id=_context_id(body),
    )


def _contact_content(body: Mapping[str, object]) -> _Content:
    return _Content(
        "contact",
        text=as_text(body.get("displayName")),
        quoted_message_id=_context_id(body),
    )


def _button_reply(id_key: str) -> Callable[[Mapping[str, object]], _Content]:
    """Return the reader of a button reply whose pressed button's id is under ``id_key``."""

    def read(body: Mapping[str, object]) -> _Content:
        return _Content(
            "button_reply",
            text=as_text(body.get("selectedDisplayText")),
            button_id=as_text(body.get(id_key)),
            quoted_message_id=_context_id(body),
        )

    return read


def _native_flow_reply(body: Mapping[str, object]) -> _Content:
    flow = as_dict(body.get("nativeFlowResponseMessage"))
    params = as_dict(loads_json_text(flow.get("paramsJson")))
    return _Content(
        "button_reply",
        text=as_text(as_dict(body.get("body")).get("text")),
        button_id=as_text(params.get("id")),
        quoted_message_id=_context_id(body),
    )


def _list_reply(body: Mapping[str, object]) -> _Content:
    return _Content(
        "list_reply",
        text=as_text(body.get("title")),
        button_id=as_text(as_dict(body.get("singleSelectReply")).get("selectedRowId")),
        quoted_message_id=_context_id(body),
    )


def _reaction(body: Mapping[str, object]) -> _Content:
    return _Content(
        "reaction",
        text=as_text(body.get("text")),
        quoted_message_id=as_text(as_dict(body.get("key")).get("id")),
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
# Keys that are never content on their own.
_METADATA_KEYS: Final = frozenset(
    {"messageContextInfo", "senderKeyDistributionMessage", "deviceSentMessage"}
)


def parse_content(content: Mapping[str, object]) -> _Content | None:
    """Return what a message holds, or None for nothing to report (protocol messages, stubs)."""
    inner = unwrap(content)
    if (text := inner.get("conversation")) is not None and not isinstance(text, dict):
        return _Content("text", text=as_text(text))
    # The first of _READERS whose key holds an object.
    for key, read in _READERS:
        if isinstance(body := inner.get(key), dict):
            return read(body)
    kinds = [key for key, value in inner.items() if value is not None and key not in _METADATA_KEYS]
    if not kinds or "protocolMessage" in kinds:
        return None
    return _Content("other")


# -- messages -------------------------------------------------------------------------------------


def _message(
    key: Mapping[str, object],
    content: _Content,
    *,
    push_name: object,
    timestamp: object,
    content_lost: bool = False,
) -> InboundMessage | None:
    """Build a message from its key and content; None when it is no message of a chat."""
    message_id = as_text(key.get("id"))
    chat = _jid(key.get("remoteJid"))
    if message_id is None or chat is None or chat.endswith(_SKIPPED_CHAT_SUFFIXES):
        return None
    if _too_long(message_id, chat):
        return None
    from_me = as_flag(key.get("fromMe"))
    is_group = chat.endswith(GROUP_SUFFIX)
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
    return InboundMessage(
        message_id=message_id,
        chat_id=chat,
        sender=_digits(sender_jid),
        sender_jid=sender_jid,
        sender_name=as_text(push_name),
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
        content_lost=content_lost,
    )


def _too_long(message_id: str, chat: str) -> bool:
    """Tell (with a debug line) whether an item's id or chat id is too long to be real."""
    if len(message_id) <= MAX_ID_LENGTH and len(chat) <= MAX_ID_LENGTH:
        return False
    _LOGGER.debug("Ignored a webhook item whose id or chat id is over %d characters", MAX_ID_LENGTH)
    return True


def _upsert_messages(payload: object) -> list[object]:
    """Return the WAMessages of a messages.upsert payload (a list or a single one accepted)."""
    payload = loads_json_text(payload)
    if isinstance(payload, list):
        return payload
    body = as_dict(payload)
    messages = body.get("messages")
    if isinstance(messages, list):
        return messages
    if isinstance(messages, dict) or "key" in body:
        return [messages if isinstance(messages, dict) else body]
    return []


def _upsert_message(item: object) -> InboundMessage | None:
    wamessage = as_dict(item)
    content = parse_content(as_dict(wamessage.get("message")))
    if content is None:
        return None
    return _message(
        as_dict(wamessage.get("key")),
        content,
        push_name=wamessage.get("pushName"),
        timestamp=wamessage.get("messageTimestamp"),
    )


def _received_message(payload: object) -> InboundMessage | None:
    """Read the gateway's digested form of a message."""
    body = as_dict(loads_json_text(payload))
    digest = as_dict(body.get("body_message"))
    key = as_dict(body.get("message_key")) or as_dict(body.get("key"))
    # The gateway replaced an unsupported message by a wave: the original is lost.
    content_lost = digest.get("type") == "emptyMessage"
    content: _Content | None
    if content_lost:
        content = _Content("other")
    else:
        content = parse_content(as_dict(digest.get("messages")))
        if content is None and (text := as_text(digest.get("content"))) is not None:
            content = _Content("text", text=text)
    if content is None:
        return None
    return _message(
        key,
        content,
        push_name=body.get("push_name") or body.get("pushName"),
        timestamp=body.get("messageTimestamp") or body.get("timestamp"),
        content_lost=content_lost,
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
            return _STATUSES.get(int(text)) if len(text) <= MAX_NUMBER_TEXT else None
        return _STATUSES.get(text)
    if isinstance(value, int):
        return _STATUSES.get(value)
    return None


def _update_items(payload: object) -> list[object]:
    payload = loads_json_text(payload)
    return payload if isinstance(payload, list) else [payload]


def _receipt(item: object) -> MessageStatus | None:
    """Return the receipt an update is, or None for any other update (delete, edit, vote)."""
    body = as_dict(item)
    update = as_dict(body.get("update"))
    key = as_dict(body.get("key"))
    status = parse_status(update.get("status", body.get("status")))
    message_id, chat = as_text(key.get("id")), _jid(key.get("remoteJid"))
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
            return loads_json_text(data[name])
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
        if receipt is None and as_dict(item):
            others.append(clean_json(item))
        return receipt

    yield from _each(items, read)
    if others:
        yield GatewayEvent(event=event, data=others)


def read_webhook(body: object) -> WebhookPost:
    """Read the envelope of one webhook body; its items are parsed as they are taken.

    Never raises, nor does taking the items.
    """
    envelope = as_dict(body)
    instance = as_text(envelope.get("instance_id"))
    data = as_dict(loads_json_text(envelope.get("data")))
    event_name = as_text(data.get("event")) or as_text(envelope.get("event"))
    if event_name is None:
        unknown = GatewayEvent(event="unknown", data=clean_json(envelope.get("data")))
        return WebhookPost(instance_id=instance, event=None, items=iter((unknown,)))
    if len(event_name) > MAX_ID_LENGTH:
        _LOGGER.debug("Ignored a webhook post with an event name over %d characters", MAX_ID_LENGTH)
        return WebhookPost(instance_id=instance, event=None, items=iter(()))
    event = normalize_event_name(event_name)
    payload = _payload(data) if "event" in data else loads_json_text(envelope.get("data"))
    items: Iterator[WebhookItem]
    listed: list[object] = []
    if event == EVENT_MESSAGES_UPSERT:
        listed = _upsert_messages(payload)
        items = _each(listed[:MAX_POST_ITEMS], _upsert_message)
    elif event == EVENT_RECEIVED_MESSAGE:
        items = _each((payload,), _received_message)
    elif event == EVENT_MESSAGES_UPDATE:
        listed = _update_items(payload)
        items = _updates(listed[:MAX_POST_ITEMS], event)
    else:
        items = iter((GatewayEvent(event=event, data=clean_json(payload)),))
    skipped = max(len(listed) - MAX_POST_ITEMS, 0)
    return WebhookPost(instance_id=instance, event=event, items=items, skipped=skipped)


def parse_webhook(body: object) -> ParsedWebhook:
    """Read one webhook body at once; never raises."""
    post = read_webhook(body)
    result = ParsedWebhook(instance_id=post.instance_id, event=post.event)
    for item in post.items:
        if isinstance(item, InboundMessage):
            result.messages.append(item)
        elif isinstance(item, MessageStatus):
            result.statuses.append(item)
        else:
            result.events.append(item)
    return result
