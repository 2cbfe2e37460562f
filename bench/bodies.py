"""The webhook bodies the benchmarks post: the gateway's, built by the emulator, and Telegram's.

Every body is built with the emulator's own builders (`smartwats_emulator.wamessages`), so that it
has the shape, size and random fields (ids, media keys, thumbnails) of what the gateway really
posts.
"""

from __future__ import annotations

from dataclasses import dataclass
import itertools
import json
import time
from typing import Any

from smartwats_emulator.ids import new_message_id
from smartwats_emulator.jsontypes import JsonDict
from smartwats_emulator.wamessages import build_inbound, received_message_payload
from smartwats_emulator.webhooks import webhook_body

# Who writes: the first number is the recipient the benchmark's entry has (its event entity fires).
SENDERS = ("966501234567", "966551112222", "966559876543", "971501234567")
DUPLICATE = "duplicate"
RECEIPT = "receipt"

# One cycle of the inbound mix: 20 posts, of which 15 messages of every common kind, 3 duplicates
# (the gateway posts each message twice: messages.upsert, then received_message) and 2 receipts.
INBOUND_MIX: tuple[tuple[str, dict[str, object]], ...] = (
    ("text", {"text": "Is the garage door closed?"}),
    ("button_reply", {"button_id": "alarm_disarm", "display_text": "Disarm"}),
    (DUPLICATE, {}),
    ("text", {"text": "Turn the heating on", "group": True}),
    (RECEIPT, {}),
    ("image", {"caption": "Front door"}),
    ("extended_text", {"text": "Yes please", "quoted_id": "3EB0C0FFEE0000000001"}),
    ("list_reply", {"row_id": "scene_evening", "title": "Evening"}),
    (DUPLICATE, {}),
    ("voice", {}),
    ("text", {"text": "Good night", "lid": True}),
    ("document", {"caption": "Invoice", "file_name": "invoice.pdf"}),
    ("template_reply", {"selected_id": "lights_off", "display_text": "Lights off"}),
    (RECEIPT, {}),
    ("location", {"name": "Home"}),
    ("reaction", {"emoji": "👍"}),
    (DUPLICATE, {}),
    ("text", {"text": "On my way", "wrap": "ephemeral"}),
    ("native_flow_reply", {"button_id": "garage_close", "display_text": "Close"}),
    ("sticker", {}),
)

# Bodies of the parser benchmark: one per kind the gateway posts.
PARSER_KINDS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("text", "text", {"text": "Is the garage door closed?"}),
    ("text (group)", "text", {"text": "Turn the heating on", "group": True}),
    ("text (LID, ephemeral)", "text", {"text": "Good night", "lid": True, "wrap": "ephemeral"}),
    ("extended_text (reply)", "extended_text", {"text": "Yes", "quoted_id": "3EB0C0FFEE000001"}),
    ("button_reply", "button_reply", {"button_id": "alarm_disarm", "display_text": "Disarm"}),
    ("template_reply", "template_reply", {"selected_id": "lights_off"}),
    ("native_flow_reply", "native_flow_reply", {"button_id": "garage_close"}),
    ("list_reply", "list_reply", {"row_id": "scene_evening"}),
    ("image", "image", {"caption": "Front door"}),
    ("video", "video", {}),
    ("document (captioned)", "document", {"caption": "Invoice"}),
    ("audio", "audio", {}),
    ("voice", "voice", {}),
    ("sticker", "sticker", {}),
    ("location", "location", {"name": "Home", "address": "Riyadh"}),
    ("contact", "contact", {}),
    ("reaction", "reaction", {}),
    ("received_message (digest)", "received_message", {"text": "Hello"}),
    ("receipt (messages.update)", RECEIPT, {}),
)


@dataclass(frozen=True, slots=True)
class Gateway:
    """What the bodies name: the instance, and the linked phone's JID and first group."""

    instance_id: str
    own_jid: str
    group: str | None


def encode(body: object) -> bytes:
    """Serialise a body as the gateway does (compact UTF-8 JSON)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _message(gateway: Gateway, kind: str, fields: dict[str, object], sender: str) -> JsonDict:
    return build_inbound(
        kind,
        {"from_number": sender, "push_name": "Ahmed", **fields},
        own_jid=gateway.own_jid,
        default_group=gateway.group,
    )


def _receipt(gateway: Gateway, sender: str, status: int) -> JsonDict:
    update = {
        "key": {"remoteJid": f"{sender}@s.whatsapp.net", "fromMe": True, "id": new_message_id()},
        "update": {"status": status},
    }
    return webhook_body(gateway.instance_id, "messages.update", [update])


def smartwats_bodies(gateway: Gateway, count: int) -> list[bytes]:
    """Return ``count`` bodies of the inbound mix, each message with a new id."""
    bodies: list[bytes] = []
    last: JsonDict | None = None
    senders = itertools.cycle(SENDERS)
    for index, (kind, fields) in zip(range(count), itertools.cycle(INBOUND_MIX), strict=False):
        sender = next(senders)
        if kind == DUPLICATE:
            if last is None:
                raise ValueError("the mix must start with a message")
            body = webhook_body(
                gateway.instance_id, "received_message", received_message_payload(last)
            )
        elif kind == RECEIPT:
            body = _receipt(gateway, sender, 3 + index % 2)
        else:
            last = _message(gateway, kind, fields, sender)
            body = webhook_body(
                gateway.instance_id, "messages.upsert", {"type": "notify", "messages": [last]}
            )
        bodies.append(encode(body))
    return bodies


def parser_bodies(gateway: Gateway) -> dict[str, JsonDict]:
    """Return one decoded body per kind of the parser benchmark."""
    bodies: dict[str, JsonDict] = {}
    for name, kind, fields in PARSER_KINDS:
        if kind == RECEIPT:
            bodies[name] = _receipt(gateway, SENDERS[0], 4)
            continue
        message = _message(
            gateway, "text" if kind == "received_message" else kind, fields, SENDERS[0]
        )
        if kind == "received_message":
            bodies[name] = webhook_body(
                gateway.instance_id, "received_message", received_message_payload(message)
            )
        else:
            bodies[name] = webhook_body(
                gateway.instance_id, "messages.upsert", {"type": "notify", "messages": [message]}
            )
    return bodies


def telegram_updates(chat_id: int, count: int, first_update_id: int) -> list[bytes]:
    """Return ``count`` Telegram text updates from one allowed private chat."""
    now = int(time.time())
    texts = ("Is the garage door closed?", "Turn the heating on", "Good night", "On my way")
    updates: list[bytes] = []
    for index in range(count):
        user: dict[str, Any] = {
            "id": chat_id,
            "is_bot": False,
            "first_name": "Ahmed",
            "language_code": "en",
        }
        update = {
            "update_id": first_update_id + index,
            "message": {
                "message_id": first_update_id + index,
                "from": user,
                "chat": {"id": chat_id, "first_name": "Ahmed", "type": "private"},
                "date": now,
                "text": texts[index % len(texts)],
            },
        }
        updates.append(encode(update))
    return updates
