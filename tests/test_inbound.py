"""Tests of the webhook body parser (pure: no Home Assistant, no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.smartwats.api.inbound import (
    MESSAGE_STATUSES,
    MESSAGE_TYPES,
    GatewayEvent,
    InboundMessage,
    MediaInfo,
    MessageStatus,
    ParsedWebhook,
    normalize_event_name,
    parse_content,
    parse_status,
    parse_timestamp,
    parse_webhook,
    unwrap,
)
from smartwats_emulator.wamessages import (
    INBOUND_KINDS,
    build_inbound,
    received_message_payload,
)
from smartwats_emulator.webhooks import webhook_body

FIXTURES = Path(__file__).parent / "fixtures"
IID = "68DBB04FECCBA"
OWN_JID = "966500000001@s.whatsapp.net"
GROUP = "120363025246125486@g.us"
SENDER = "966501234567"
TS = 1718000000
TS_ISO = "2024-06-10T06:13:20+00:00"


def fixture(name: str) -> dict[str, Any]:
    """Load a JSON fixture (bodies as the note shows them)."""
    return json.loads((FIXTURES / name).read_text())


def upsert(kind: str, **fields: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return a WAMessage built by the emulator and its messages.upsert body."""
    fields.setdefault("timestamp", TS)
    message = build_inbound(kind, fields, own_jid=OWN_JID, default_group=GROUP)
    return message, webhook_body(IID, "messages.upsert", {"type": "notify", "messages": [message]})


def received(message: dict[str, Any]) -> dict[str, Any]:
    """Return the received_message body of a WAMessage."""
    return webhook_body(IID, "received_message", received_message_payload(message))


def only(parsed: ParsedWebhook) -> InboundMessage:
    """Return the one message of a parsed body."""
    assert parsed.instance_id == IID
    assert not parsed.statuses
    assert not parsed.events
    (message,) = parsed.messages
    return message


# -- the note's examples ---------------------------------------------------------------------------


def test_note_upsert_example() -> None:
    """The note's messages.upsert example, field by field."""
    message = only(parse_webhook(fixture("messages_upsert.json")))
    assert message == InboundMessage(
        message_id="3EB0C767D26A1D8E4F2A",
        chat_id="966501234567@s.whatsapp.net",
        sender=SENDER,
        sender_jid="966501234567@s.whatsapp.net",
        sender_name="Ahmed",
        is_group=False,
        group_id=None,
        type="text",
        text="turn on the lights",
        timestamp=TS_ISO,
        chat_number=SENDER,
    )
    assert message.event_data() == {
        "message_id": "3EB0C767D26A1D8E4F2A",
        "chat_id": "966501234567@s.whatsapp.net",
        "sender": SENDER,
        "sender_jid": "966501234567@s.whatsapp.net",
        "sender_name": "Ahmed",
        "is_group": False,
        "group_id": None,
        "type": "text",
        "text": "turn on the lights",
        "button_id": None,
        "latitude": None,
        "longitude": None,
        "media": None,
        "quoted_message_id": None,
        "timestamp": TS_ISO,
        "from_me": False,
    }


def test_note_received_message_example() -> None:
    """The note's received_message example: same message, no timestamp in this envelope."""
    parsed = parse_webhook(fixture("received_message.json"))
    assert parsed.event == "received_message"
    message = only(parsed)
    assert (message.message_id, message.type, message.text) == (
        "3EB0C767D26A1D8E4F2A",
        "text",
        "turn on the lights",
    )
    assert (message.sender, message.sender_name, message.timestamp) == (SENDER, "Ahmed", None)


def test_note_receipt_example() -> None:
    """The note's messages.update example: a read receipt."""
    parsed = parse_webhook(fixture("messages_update.json"))
    assert parsed.statuses == [
        MessageStatus(
            message_id="3EB0A1B2C3D4E5F60718",
            chat_id="966501234567@s.whatsapp.net",
            status="read",
        )
    ]
    assert parsed.statuses[0].event_data() == {
        "message_id": "3EB0A1B2C3D4E5F60718",
        "chat_id": "966501234567@s.whatsapp.net",
        "status": "read",
    }
    assert not parsed.messages
    assert not parsed.events


# -- every kind, both envelopes --------------------------------------------------------------------

EXPECTED: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": "Hello"},
    "extended_text": {"type": "text", "text": "Hello", "quoted_message_id": "3EB0QUOTED"},
    "image": {
        "type": "image",
        "text": "A cat",
        "media": MediaInfo(mimetype="image/jpeg"),
    },
    "video": {
        "type": "video",
        "text": None,
        "media": MediaInfo(mimetype="video/mp4", seconds=14),
    },
    "document": {
        "type": "document",
        "text": "The bill",
        "media": MediaInfo(mimetype="application/pdf", filename="bill.pdf"),
    },
    "audio": {"type": "audio", "media": MediaInfo(mimetype="audio/mpeg", seconds=7)},
    "voice": {
        "type": "voice",
        "media": MediaInfo(mimetype="audio/ogg; codecs=opus", seconds=7),
    },
    "location": {
        "type": "location",
        "latitude": 24.7136,
        "longitude": 46.6753,
        "text": "Home",
    },
    "contact": {"type": "contact", "text": "John Doe"},
    "sticker": {"type": "sticker", "media": MediaInfo(mimetype="image/webp")},
    "reaction": {"type": "reaction", "text": "❤️", "quoted_message_id": "3EB0TARGET"},
    "button_reply": {
        "type": "button_reply",
        "button_id": "disarm",
        "text": "Disarm",
        "quoted_message_id": "3EB0QUOTED",
    },
    "template_reply": {"type": "button_reply", "button_id": "card_2", "text": "Buy"},
    "native_flow_reply": {"type": "button_reply", "button_id": "open_gate", "text": "Open"},
    "list_reply": {"type": "list_reply", "button_id": "row_7", "text": "Kitchen"},
}
FIELDS: dict[str, dict[str, object]] = {
    "text": {},
    "extended_text": {"quoted_id": "3EB0QUOTED"},
    "image": {"caption": "A cat"},
    "video": {},
    "document": {"caption": "The bill", "file_name": "bill.pdf"},
    "audio": {},
    "voice": {},
    "location": {"name": "Home"},
    "contact": {},
    "sticker": {},
    "reaction": {"emoji": "❤️", "target_id": "3EB0TARGET"},
    "button_reply": {"button_id": "disarm", "display_text": "Disarm", "quoted_id": "3EB0QUOTED"},
    "template_reply": {"selected_id": "card_2", "display_text": "Buy", "card_index": 1},
    "native_flow_reply": {"button_id": "open_gate", "display_text": "Open"},
    "list_reply": {"row_id": "row_7", "title": "Kitchen"},
}
# received_message shows these kinds as an empty message: their content is lost.
LOST_IN_RECEIVED_MESSAGE = {"document", "location", "contact", "reaction", "native_flow_reply"}


def test_every_kind_is_tested() -> None:
    """The table covers every kind the emulator can inject."""
    assert set(EXPECTED) == set(INBOUND_KINDS) == set(FIELDS)


def _fields(message: InboundMessage) -> dict[str, Any]:
    return {name: getattr(message, name) for name in EXPECTED_NAMES}


EXPECTED_NAMES = (
    "type",
    "text",
    "button_id",
    "latitude",
    "longitude",
    "media",
    "quoted_message_id",
)


def _expected(kind: str) -> dict[str, Any]:
    return dict.fromkeys(EXPECTED_NAMES) | EXPECTED[kind]


@pytest.mark.parametrize("kind", INBOUND_KINDS)
def test_every_kind_in_messages_upsert(kind: str) -> None:
    """Each kind read from messages.upsert: type, text, ids, coordinates, media."""
    wamessage, body = upsert(kind, **FIELDS[kind])
    message = only(parse_webhook(body))
    assert _fields(message) == _expected(kind)
    assert message.message_id == wamessage["key"]["id"]
    assert message.sender == SENDER
    assert message.timestamp == TS_ISO
    assert not message.from_me


@pytest.mark.parametrize("kind", INBOUND_KINDS)
def test_every_kind_in_received_message(kind: str) -> None:
    """Each kind read from received_message: the same, except the kinds the gateway loses."""
    wamessage, _ = upsert(kind, **FIELDS[kind])
    body = received(wamessage)
    if kind in LOST_IN_RECEIVED_MESSAGE:
        # An "other" message whose content is marked lost (messages.upsert may bring it).
        message = only(parse_webhook(body))
        assert message.content_lost
        assert _fields(message) == _expected(kind) | dict.fromkeys(EXPECTED_NAMES) | {
            "type": "other"
        }
    else:
        message = only(parse_webhook(body))
        assert _fields(message) == _expected(kind)
    assert message.message_id == wamessage["key"]["id"]
    assert message.sender == SENDER
    assert message.sender_name == "Ahmed"


# -- addressing ------------------------------------------------------------------------------------


def test_group_message_sender_is_the_participant() -> None:
    """In a group the chat is the group and the sender its participant."""
    _, body = upsert("text", group=GROUP, from_number="966507654321")
    message = only(parse_webhook(body))
    assert message.is_group
    assert message.chat_id == message.group_id == GROUP
    assert message.sender == "966507654321"
    assert message.sender_jid == "966507654321@s.whatsapp.net"
    assert message.chat_number is None


def test_group_message_in_received_message() -> None:
    """received_message of a group: from_contact is the group, the sender the key's participant."""
    wamessage, _ = upsert("text", group=GROUP, from_number="966507654321")
    message = only(parse_webhook(received(wamessage)))
    assert (message.is_group, message.group_id, message.sender) == (True, GROUP, "966507654321")


def test_lid_chat_uses_the_phone_alternative() -> None:
    """A LID chat: the chat stays the LID, the sender is the phone from remoteJidAlt."""
    _, body = upsert("text", lid="123456789012345")
    message = only(parse_webhook(body))
    assert message.chat_id == "123456789012345@lid"
    assert message.sender == SENDER
    assert message.sender_jid == "966501234567@s.whatsapp.net"
    assert message.chat_number == SENDER


def test_lid_group_participant_uses_participant_alt() -> None:
    """In a group with LID addressing the sender's phone is in participantAlt."""
    _, body = upsert("text", lid="123456789012345", group=GROUP)
    message = only(parse_webhook(body))
    assert message.sender == SENDER
    assert message.group_id == GROUP


def test_lid_without_phone_reports_the_lid() -> None:
    """Without a phone alternative, the sender is the LID's digits."""
    _, body = upsert("text", lid="123456789012345")
    del body["data"]["data"]["messages"][0]["key"]["remoteJidAlt"]
    message = only(parse_webhook(body))
    assert message.sender == "123456789012345"
    assert message.sender_jid == "123456789012345@lid"
    assert message.chat_number is None


def test_lid_group_participant_without_phone() -> None:
    """A group participant known by LID only."""
    _, body = upsert("text", lid="123456789012345", group=GROUP)
    del body["data"]["data"]["messages"][0]["key"]["participantAlt"]
    assert only(parse_webhook(body)).sender_jid == "123456789012345@lid"


def test_sender_pn_and_device_suffix() -> None:
    """Other spellings of the phone alternative, and JIDs with a device part."""
    body = webhook_body(
        IID,
        "messages.upsert",
        {
            "messages": [
                {
                    "key": {
                        "remoteJid": "111122223333444@lid",
                        "senderPn": "966501234567:12@s.whatsapp.net",
                        "id": "A1",
                    },
                    "message": {"conversation": "hi"},
                },
                {
                    "key": {
                        "remoteJid": GROUP,
                        "participant": "222233334444555@lid",
                        "participantPn": "966507654321@s.whatsapp.net",
                        "id": "A2",
                    },
                    "message": {"conversation": "hi"},
                },
            ]
        },
    )
    first, second = parse_webhook(body).messages
    assert (first.sender, first.sender_jid) == (SENDER, "966501234567@s.whatsapp.net")
    assert second.sender == "966507654321"


@pytest.mark.parametrize(
    "chat", ["status@broadcast", "120363000000000000@newsletter", "12345@broadcast"]
)
def test_status_and_newsletters_are_skipped(chat: str) -> None:
    """Status updates and channel posts are not conversations."""
    _, body = upsert("text")
    body["data"]["data"]["messages"][0]["key"]["remoteJid"] = chat
    assert parse_webhook(body).messages == []


# -- own messages ----------------------------------------------------------------------------------


def _own(body: dict[str, Any]) -> dict[str, Any]:
    key = body["data"]["data"]["messages"][0]["key"]
    key["fromMe"] = True
    body["data"]["data"]["type"] = "append"
    return body


def test_own_messages_are_read_as_such() -> None:
    """Echoes of this account's own messages: from_me, with no sender (the policy adds it)."""
    _, body = upsert("text")
    message = only(parse_webhook(_own(body)))
    assert message.from_me
    assert (message.sender, message.sender_jid) == (None, None)
    assert message.chat_id == "966501234567@s.whatsapp.net"
    assert message.chat_number == SENDER
    assert message.event_data()["from_me"] is True


@pytest.mark.parametrize("from_me", ["true", 1, "1"])
def test_from_me_spellings(from_me: object) -> None:
    """The fromMe flag given as a string or a number."""
    _, body = upsert("text")
    body["data"]["data"]["messages"][0]["key"]["fromMe"] = from_me
    assert only(parse_webhook(body)).from_me


# -- wrappers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrapper",
    [
        "ephemeralMessage",
        "viewOnceMessage",
        "viewOnceMessageV2",
        "viewOnceMessageV2Extension",
        "documentWithCaptionMessage",
        "editedMessage",
    ],
)
def test_wrappers(wrapper: str) -> None:
    """Content inside each wrapper is found."""
    content = {wrapper: {"message": {"imageMessage": {"caption": "inside", "mimetype": "x/y"}}}}
    parsed = parse_content(content)
    assert parsed is not None
    assert (parsed.type, parsed.text) == ("image", "inside")


@pytest.mark.parametrize("wrap", ["ephemeral", "view_once"])
def test_emulator_wraps(wrap: str) -> None:
    """The emulator's wrapped messages, in both envelopes."""
    wamessage, body = upsert("image", caption="secret", wrap=wrap)
    assert only(parse_webhook(body)).text == "secret"
    assert only(parse_webhook(received(wamessage))).text == "secret"


def test_nested_wrappers() -> None:
    """Wrappers inside wrappers (an ephemeral view-once captioned document)."""
    content = {
        "ephemeralMessage": {
            "message": {
                "viewOnceMessageV2": {
                    "message": {
                        "documentWithCaptionMessage": {
                            "message": {"documentMessage": {"fileName": "a.pdf", "caption": "c"}}
                        }
                    }
                }
            }
        }
    }
    parsed = parse_content(content)
    assert parsed is not None
    assert parsed.media == MediaInfo(filename="a.pdf")
    assert parsed.text == "c"


def test_endless_wrapping_stops() -> None:
    """Absurdly deep wrapping is not followed for ever."""
    content: dict[str, Any] = {"conversation": "deep"}
    for _ in range(50):
        content = {"ephemeralMessage": {"message": content}}
    assert unwrap(content) != {"conversation": "deep"}


def test_edit_as_protocol_message() -> None:
    """An edit arrives as a protocol message holding the new content."""
    content = {
        "editedMessage": {
            "message": {
                "protocolMessage": {
                    "key": {"id": "3EB0ORIGINAL"},
                    "type": 14,
                    "editedMessage": {"conversation": "fixed typo"},
                }
            }
        }
    }
    parsed = parse_content(content)
    assert parsed is not None
    assert (parsed.type, parsed.text) == ("text", "fixed typo")


@pytest.mark.parametrize(
    "content",
    [
        {"protocolMessage": {"type": 0, "key": {"id": "X"}}},
        {"protocolMessage": {"type": "REVOKE"}, "messageContextInfo": {}},
        {"messageContextInfo": {"deviceListMetadata": {}}},
        {"senderKeyDistributionMessage": {"groupId": GROUP}},
        {},
    ],
    ids=["revoke", "revoke_by_name", "metadata_only", "key_distribution", "empty"],
)
def test_nothing_to_report(content: dict[str, Any]) -> None:
    """Protocol messages (deletes, settings) and metadata only are not messages."""
    assert parse_content(content) is None


def test_metadata_next_to_content() -> None:
    """Metadata keys next to the content do not hide it."""
    content = {
        "senderKeyDistributionMessage": {"groupId": GROUP},
        "conversation": "hello",
        "messageContextInfo": {},
    }
    parsed = parse_content(content)
    assert parsed is not None
    assert parsed.text == "hello"


@pytest.mark.parametrize(
    "content",
    [
        {"pollCreationMessageV3": {"name": "Lunch?"}},
        {"eventMessage": {"name": "Party"}},
    ],
)
def test_unknown_kinds_are_other(content: dict[str, Any]) -> None:
    """Kinds without a reader are reported as "other"."""
    parsed = parse_content(content)
    assert parsed is not None
    assert parsed.type == "other"


def test_stub_without_content_is_skipped() -> None:
    """A message that failed to decrypt has no content: it comes again once decrypted."""
    body = webhook_body(
        IID,
        "messages.upsert",
        {
            "messages": [
                {
                    "key": {"remoteJid": "966501234567@s.whatsapp.net", "id": "X"},
                    "messageStubType": 2,
                }
            ]
        },
    )
    assert parse_webhook(body).messages == []


def test_extended_text_variants() -> None:
    """Link previews keep the text; a bare matched link is text too."""
    parsed = parse_content({"extendedTextMessage": {"matchedText": "https://x.y"}})
    assert parsed is not None
    assert parsed.text == "https://x.y"


def test_live_location_and_contacts_array() -> None:
    """Live locations and contact arrays."""
    live = parse_content(
        {"liveLocationMessage": {"degreesLatitude": "1.5", "degreesLongitude": 2, "caption": "c"}}
    )
    assert live is not None
    assert (live.type, live.latitude, live.longitude, live.text) == ("location", 1.5, 2.0, "c")
    contacts = parse_content({"contactsArrayMessage": {"displayName": "2 contacts"}})
    assert contacts is not None
    assert (contacts.type, contacts.text) == ("contact", "2 contacts")


def test_native_flow_params_not_json() -> None:
    """A native-flow reply whose paramsJson is broken still reports the button's text."""
    content = {
        "interactiveResponseMessage": {
            "body": {"text": "Open"},
            "nativeFlowResponseMessage": {"paramsJson": "{not json"},
        }
    }
    parsed = parse_content(content)
    assert parsed is not None
    assert (parsed.type, parsed.text, parsed.button_id) == ("button_reply", "Open", None)


# -- timestamps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["number", "string", "long", "ms"])
def test_emulator_timestamp_styles(style: str) -> None:
    """Every timestamp form the gateway uses gives the same time."""
    _, body = upsert("text", timestamp_style=style)
    assert only(parse_webhook(body)).timestamp == TS_ISO


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TS, TS_ISO),
        (float(TS), TS_ISO),
        (str(TS), TS_ISO),
        (TS * 1000, TS_ISO),
        (str(TS * 1000), TS_ISO),
        ({"low": TS, "high": 0, "unsigned": True}, TS_ISO),
        ({"low": -1, "high": 0, "unsigned": False}, "2106-02-07T06:28:15+00:00"),
        ({"low": "5", "high": "0"}, "1970-01-01T00:00:05+00:00"),
        ({"low": 1, "high": 2**30}, None),
        ({"low": None, "high": 0}, None),
        ({}, None),
        (None, None),
        (0, None),
        (-5, None),
        ("soon", None),
        (True, None),
        (float("inf"), None),
        ("1e400", None),
        (1e30, None),
        ([TS], None),
    ],
)
def test_timestamps(value: object, expected: str | None) -> None:
    """Numbers, strings, Long objects, milliseconds; anything else gives no time."""
    assert parse_timestamp(value) == expected


# -- receipts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "failed"),
        (1, "pending"),
        (2, "sent"),
        (3, "delivered"),
        (4, "read"),
        (5, "played"),
        ("4", "read"),
        ("ERROR", "failed"),
        ("PENDING", "pending"),
        ("SERVER_ACK", "sent"),
        ("DELIVERY_ACK", "delivered"),
        ("READ", "read"),
        ("PLAYED", "played"),
        (" read ", "read"),
        (6, None),
        ("seen", None),
        (True, None),
        (None, None),
        (4.0, None),
    ],
)
def test_statuses(value: object, expected: str | None) -> None:
    """Status codes as numbers or enum names."""
    assert parse_status(value) == expected


def test_every_status_is_reachable() -> None:
    """Each documented status name comes out of some code."""
    assert {parse_status(code) for code in range(6)} == set(MESSAGE_STATUSES)


def test_receipts_and_other_updates() -> None:
    """Deletes, edits and poll votes in messages.update are not receipts: passed on as is."""
    chat = "966501234567@s.whatsapp.net"
    delete = {
        "key": {"remoteJid": chat, "id": "D1", "fromMe": False},
        "update": {"message": None, "messageStubType": 1},
    }
    edit = {
        "key": {"remoteJid": chat, "id": "E1"},
        "update": {"message": {"editedMessage": {"message": {"conversation": "new"}}}},
    }
    vote = {"key": {"remoteJid": chat, "id": "P1"}, "update": {"pollUpdates": [{}]}}
    starred = {"key": {"remoteJid": chat, "id": "S1"}, "update": {"starred": True}}
    receipts = [
        {"key": {"remoteJid": chat, "id": "R1", "fromMe": True}, "update": {"status": "READ"}},
        {"key": {"remoteJid": chat, "id": "R2", "fromMe": True}, "status": 3},
    ]
    body = webhook_body(
        IID, "messages.update", [delete, receipts[0], edit, vote, "junk", starred, receipts[1]]
    )
    parsed = parse_webhook(body)
    assert parsed.statuses == [
        MessageStatus(message_id="R1", chat_id=chat, status="read"),
        MessageStatus(message_id="R2", chat_id=chat, status="delivered"),
    ]
    assert parsed.events == [
        GatewayEvent(event="messages.update", data=[delete, edit, vote, starred])
    ]
    assert not parsed.messages


def test_single_update_object() -> None:
    """A messages.update payload that is one object instead of a list."""
    body = webhook_body(
        IID,
        "messages.update",
        {"key": {"remoteJid": "1@s.whatsapp.net", "id": "R"}, "update": {"status": 2}},
    )
    assert [status.status for status in parse_webhook(body).statuses] == ["sent"]


# -- other events ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("new subscriber", "new_subscriber"),
        ("new_subscriber", "new_subscriber"),
        ("  new   subscriber ", "new_subscriber"),
        ("contacts.upsert", "contacts.upsert"),
        ("   ", "unknown"),
    ],
)
def test_event_names(name: str, normalised: str) -> None:
    """Event names are trimmed and their spaces become underscores."""
    assert normalize_event_name(name) == normalised


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        (
            "contacts.upsert",
            [{"id": "966501234567@s.whatsapp.net", "lid": "1@lid", "notify": "Ahmed"}],
        ),
        ("contacts.update", [{"id": "966501234567@s.whatsapp.net", "imgUrl": "changed"}]),
        ("groups.update", [{"id": GROUP, "subject": "Family", "author": OWN_JID}]),
        (
            "capturer",
            {
                "suscriptorId": 5,
                "chatid": "966501234567@s.whatsapp.net",
                "newData": {"inputName": "email", "value": "a@b.c"},
            },
        ),
        ("new subscriber", {"chatid": "966501234567@s.whatsapp.net"}),
        ("presence.update", {"id": "x"}),
    ],
)
def test_other_events_are_passed_on(event: str, payload: object) -> None:
    """Contacts, groups, capturer, new subscriber and unknown events: payload as is."""
    parsed = parse_webhook(webhook_body(IID, event, payload))
    assert parsed.events == [GatewayEvent(event=normalize_event_name(event), data=payload)]
    assert parsed.events[0].event_data() == {"event": normalize_event_name(event), "data": payload}


def test_flat_event_payload() -> None:
    """An event without data or message: its other fields are the payload."""
    body = {"instance_id": IID, "data": {"event": "capturer", "chatid": "x", "suscriptorId": 1}}
    parsed = parse_webhook(body)
    assert parsed.events == [
        GatewayEvent(event="capturer", data={"chatid": "x", "suscriptorId": 1})
    ]


def test_event_at_the_top() -> None:
    """An event named next to instance_id, its payload in data."""
    body = {"instance_id": IID, "event": "new subscriber", "data": {"chatid": "x"}}
    assert parse_webhook(body).events == [
        GatewayEvent(event="new_subscriber", data={"chatid": "x"})
    ]


def test_no_event_name() -> None:
    """A body without an event name is passed on as unknown."""
    parsed = parse_webhook({"instance_id": IID, "data": {"foo": 1}})
    assert parsed.event is None
    assert parsed.events == [GatewayEvent(event="unknown", data={"foo": 1})]


def test_payload_as_json_text() -> None:
    """A payload posted as JSON text is decoded."""
    _, body = upsert("text")
    body["data"]["data"] = json.dumps(body["data"]["data"])
    assert only(parse_webhook(body)).text == "Hello"


def test_payload_shapes_of_upsert() -> None:
    """messages.upsert as a bare list, a single message, or a messages object."""
    wamessage, _ = upsert("text")
    for payload in ([wamessage], wamessage, {"messages": wamessage}, {"type": "notify"}):
        parsed = parse_webhook(webhook_body(IID, "messages.upsert", payload))
        assert len(parsed.messages) == (0 if payload == {"type": "notify"} else 1)


def test_received_message_fallbacks() -> None:
    """received_message with only the digest's content, or with nothing at all."""
    key = {"remoteJid": "966501234567@s.whatsapp.net", "id": "X1"}
    body = webhook_body(
        IID,
        "received_message",
        {
            "body_message": {"content": "typed", "type": "textMessage"},
            "key": key,
            "pushName": "A",
            "messageTimestamp": TS,
        },
    )
    message = only(parse_webhook(body))
    assert (message.text, message.sender_name, message.timestamp) == ("typed", "A", TS_ISO)
    empty = webhook_body(IID, "received_message", {"body_message": {}, "message_key": key})
    assert parse_webhook(empty).messages == []


def test_incomplete_keys_are_skipped() -> None:
    """A message without an id or a chat cannot be reported."""
    body = webhook_body(
        IID,
        "messages.upsert",
        [
            {"key": {"remoteJid": "1@s.whatsapp.net"}, "message": {"conversation": "x"}},
            {"key": {"id": "X", "remoteJid": "nobody"}, "message": {"conversation": "x"}},
            {"key": {"id": "X", "remoteJid": "@s.whatsapp.net"}, "message": {"conversation": "x"}},
            {"key": {"id": "X", "remoteJid": 5}, "message": {"conversation": "x"}},
        ],
    )
    assert parse_webhook(body).messages == []


def test_odd_values() -> None:
    """Numbers where text is expected, text where numbers are."""
    body = webhook_body(
        IID,
        "messages.upsert",
        [
            {
                "key": {"remoteJid": "966501234567@c.us", "id": 42, "fromMe": None},
                "pushName": "",
                "messageTimestamp": "1718000000123",
                "message": {
                    "audioMessage": {"ptt": "true", "seconds": "9.5", "mimetype": ["x"]},
                },
            }
        ],
    )
    message = only(parse_webhook(body))
    assert message.message_id == "42"
    assert message.sender_name is None
    assert message.type == "voice"
    assert message.media == MediaInfo(seconds=9)
    assert message.timestamp == "2024-06-10T06:13:20.123000+00:00"


def test_not_a_body() -> None:
    """Bodies that are not objects, or objects without an instance."""
    assert parse_webhook([1, 2]) == ParsedWebhook(
        instance_id=None, events=[GatewayEvent(event="unknown", data=None)]
    )
    assert parse_webhook({"instance_id": 7, "data": {"event": "x"}}).instance_id == "7"


def test_message_types_are_the_contract() -> None:
    """The `type` values are exactly the issue's list."""
    assert MESSAGE_TYPES == (
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


# -- never raises ----------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", "@g.us", "1@lid", "x@s.whatsapp.net", "status@broadcast", "{", "[1]"]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "instance_id",
                    "data",
                    "event",
                    "message",
                    "messages",
                    "key",
                    "remoteJid",
                    "remoteJidAlt",
                    "participant",
                    "participantAlt",
                    "id",
                    "fromMe",
                    "status",
                    "update",
                    "conversation",
                    "extendedTextMessage",
                    "imageMessage",
                    "audioMessage",
                    "documentMessage",
                    "locationMessage",
                    "interactiveResponseMessage",
                    "nativeFlowResponseMessage",
                    "paramsJson",
                    "listResponseMessage",
                    "singleSelectReply",
                    "ephemeralMessage",
                    "protocolMessage",
                    "editedMessage",
                    "type",
                    "messageTimestamp",
                    "low",
                    "high",
                    "body_message",
                    "message_key",
                    "contextInfo",
                    "stanzaId",
                ]
            )
            | st.text(max_size=10),
            children,
            max_size=6,
        )
    ),
    max_leaves=40,
)
_EVENTS = st.sampled_from(
    ["messages.upsert", "received_message", "messages.update", "new subscriber", "x"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_JSON)
def test_arbitrary_json_never_raises(body: object) -> None:
    """Whatever JSON arrives, the parser returns a result."""
    assert isinstance(parse_webhook(body), ParsedWebhook)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=_EVENTS, payload=_JSON, envelope=st.sampled_from(["data", "message"]))
def test_arbitrary_payloads_never_raise(event: str, payload: object, envelope: str) -> None:
    """Any payload under a known event name, in either envelope."""
    body = {"instance_id": IID, "data": {"event": event, envelope: payload}}
    result = parse_webhook(body)
    for message in result.messages:
        assert message.type in MESSAGE_TYPES
        message.event_data()
    for status in result.statuses:
        assert status.status in MESSAGE_STATUSES


@settings(max_examples=200, deadline=None)
@given(
    wamessage=st.fixed_dictionaries(
        {
            "key": st.fixed_dictionaries(
                {"remoteJid": st.just("966501234567@s.whatsapp.net"), "id": st.text(min_size=1)}
            ),
            "messageTimestamp": _JSON,
            "message": _JSON,
        }
    )
)
def test_arbitrary_contents_never_raise(wamessage: dict[str, Any]) -> None:
    """Any content and timestamp under a valid key."""
    body = webhook_body(IID, "messages.upsert", {"messages": [wamessage]})
    for message in parse_webhook(body).messages:
        assert message.type in MESSAGE_TYPES


def test_deeply_nested_params_json() -> None:
    """JSON text nested deeper than the decoder can go is not decoded."""
    deep = "[" * 100_000 + "]" * 100_000
    content = {
        "interactiveResponseMessage": {"nativeFlowResponseMessage": {"paramsJson": deep}},
    }
    parsed = parse_content(content)
    assert parsed is not None
    assert parsed.button_id is None


@pytest.mark.parametrize(
    ("seconds", "mimetype", "expected"),
    [
        (9.7, "audio/ogg", MediaInfo(mimetype="audio/ogg", seconds=9)),
        (True, True, MediaInfo()),
        ("nine", 3.5, MediaInfo(mimetype="3.5")),
        ("1e400", float("nan"), MediaInfo()),
        (float("inf"), "", MediaInfo()),
    ],
)
def test_media_fields_of_odd_types(seconds: object, mimetype: object, expected: MediaInfo) -> None:
    """Media details of unexpected types are read when they make sense, else left out."""
    parsed = parse_content({"audioMessage": {"seconds": seconds, "mimetype": mimetype}})
    assert parsed is not None
    assert parsed.media == expected
    assert expected.as_dict() == {
        "mimetype": expected.mimetype,
        "filename": None,
        "seconds": expected.seconds,
    }


# -- the parser's shortcuts read what the plain way read -----------------------------------------


def test_parsing_leaves_the_body_as_it_was() -> None:
    """The parser reads the decoded body in place: nothing in it is changed."""
    for kind in INBOUND_KINDS:
        wamessage, body = upsert(kind, wrap="ephemeral")
        before = json.dumps(body, sort_keys=True)
        parse_webhook(body)
        parse_webhook(received(wamessage))
        assert json.dumps(body, sort_keys=True) == before


def test_first_content_key_wins_whatever_the_order() -> None:
    """Two content keys: the earlier in the readers' order is read, wherever it is in the body."""
    content = {
        "reactionMessage": {"text": "👍", "key": {"id": "X"}},
        "messageContextInfo": {},
        "extendedTextMessage": {"text": "Hello"},
    }
    parsed = parse_content(content)
    assert parsed is not None
    assert (parsed.type, parsed.text) == ("text", "Hello")
    content["extendedTextMessage"] = "not an object"
    parsed = parse_content(content)
    assert parsed is not None
    assert parsed.type == "reaction"


def test_first_wrapper_wins_whatever_the_order() -> None:
    """Two wrappers side by side: the earlier in the wrappers' order is opened."""
    content = {
        "viewOnceMessage": {"message": {"conversation": "second"}},
        "ephemeralMessage": {"message": {"conversation": "first"}},
    }
    assert unwrap(content) == {"conversation": "first"}
    content["ephemeralMessage"] = {"message": {}}
    assert unwrap(content) == {"conversation": "second"}


@pytest.mark.parametrize(
    ("participant", "sender"),
    [("ab12cd@lid", "12"), ("abc@lid", None), ("966507654321:3@lid", "966507654321")],
)
def test_sender_digits_of_odd_participants(participant: str, sender: str | None) -> None:
    """A sender id that is not all digits: its digits, or none."""
    body = webhook_body(
        IID,
        "messages.upsert",
        {
            "messages": [
                {
                    "key": {"remoteJid": GROUP, "participant": participant, "id": "A1"},
                    "message": {"conversation": "hi"},
                    "messageTimestamp": TS,
                }
            ]
        },
    )
    message = only(parse_webhook(body))
    assert message.sender == sender
    assert message.timestamp == TS_ISO


def test_many_event_names() -> None:
    """More distinct event names than are remembered: each still reported as written."""
    for index in range(200):
        assert normalize_event_name(f" custom event {index} ") == f"custom_event_{index}"
        assert normalize_event_name(f" custom event {index} ") == f"custom_event_{index}"
