"""Tests of the webhook handler, through Home Assistant's real HTTP stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
import logging
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.const import (
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_PHONE,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
    EVENT_WEBHOOK_EVENT,
    WEBHOOK_MAX_BODY,
)
from custom_components.smartwats.webhook import RECENT_MESSAGE_IDS, WEBHOOK_INBOXES, RecentIds
from smartwats_emulator import Emulator
from smartwats_emulator.wamessages import INBOUND_KINDS, build_inbound, received_message_payload
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, WEBHOOK_ID

URL = f"/api/webhook/{WEBHOOK_ID}"
OWN_JID = f"{LINKED_PHONE}@s.whatsapp.net"
GROUP = "120363025246125486@g.us"
TS = 1718000000
TS_ISO = "2024-06-10T06:13:20+00:00"
LOGGER_NAME = "custom_components.smartwats"


@pytest.fixture
async def client(
    hass_client_no_auth: ClientSessionGenerator, init_integration: MockConfigEntry
) -> TestClient:
    """An HTTP client of Home Assistant, with the entry set up."""
    return await hass_client_no_auth()


def wamessage(kind: str = "text", **fields: object) -> dict[str, Any]:
    """A WAMessage the emulator would post."""
    fields.setdefault("timestamp", TS)
    return build_inbound(kind, fields, own_jid=OWN_JID, default_group=GROUP)


def upsert_body(iid: str, *messages: dict[str, Any], kind: str = "notify") -> dict[str, Any]:
    """The messages.upsert body of WAMessages."""
    return webhook_body(iid, "messages.upsert", {"type": kind, "messages": list(messages)})


def received_body(iid: str, message: dict[str, Any]) -> dict[str, Any]:
    """The received_message body of a WAMessage."""
    return webhook_body(iid, "received_message", received_message_payload(message))


async def post(client: TestClient, body: object, status: int = 200) -> None:
    """Post a JSON body and check the answer."""
    response = await client.post(URL, json=body)
    assert response.status == status


# -- messages --------------------------------------------------------------------------------------

KIND_TYPES = {
    "text": "text",
    "extended_text": "text",
    "image": "image",
    "video": "video",
    "document": "document",
    "audio": "audio",
    "voice": "voice",
    "location": "location",
    "contact": "contact",
    "sticker": "sticker",
    "reaction": "reaction",
    "button_reply": "button_reply",
    "template_reply": "button_reply",
    "native_flow_reply": "button_reply",
    "list_reply": "list_reply",
}


@pytest.mark.parametrize("kind", INBOUND_KINDS)
async def test_every_kind_in_both_envelopes_is_reported_once(
    hass: HomeAssistant,
    client: TestClient,
    init_integration: MockConfigEntry,
    instance_id: str,
    kind: str,
) -> None:
    """Each kind posted as messages.upsert and received_message fires one event."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    message = wamessage(kind)
    await post(client, upsert_body(instance_id, message))
    await post(client, received_body(instance_id, message))
    await hass.async_block_till_done()

    (event,) = events
    assert event.data["type"] == KIND_TYPES[kind]
    assert event.data["message_id"] == message["key"]["id"]
    assert event.data["config_entry_id"] == init_integration.entry_id
    assert event.data["instance_id"] == instance_id
    assert event.data["sender"] == "966501234567"
    assert event.data["timestamp"] == TS_ISO


async def test_event_fields(
    hass: HomeAssistant, client: TestClient, init_integration: MockConfigEntry, instance_id: str
) -> None:
    """The event carries exactly the contract's fields."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    message = wamessage(
        "document", caption="The bill", file_name="bill.pdf", message_id="3A00DOC", push_name="Ali"
    )
    await post(client, upsert_body(instance_id, message))
    await hass.async_block_till_done()
    assert events[0].data == {
        "config_entry_id": init_integration.entry_id,
        "instance_id": instance_id,
        "message_id": "3A00DOC",
        "chat_id": "966501234567@s.whatsapp.net",
        "sender": "966501234567",
        "sender_jid": "966501234567@s.whatsapp.net",
        "sender_name": "Ali",
        "is_group": False,
        "group_id": None,
        "type": "document",
        "text": "The bill",
        "button_id": None,
        "latitude": None,
        "longitude": None,
        "media": {"mimetype": "application/pdf", "filename": "bill.pdf", "seconds": None},
        "quoted_message_id": None,
        "timestamp": TS_ISO,
        "from_me": False,
        "assist": False,
    }


async def test_buttons_and_lists(hass: HomeAssistant, client: TestClient, instance_id: str) -> None:
    """Button ids of old buttons, template quick replies, native flow and list rows."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    for message in (
        wamessage("button_reply", button_id="disarm", display_text="Disarm"),
        wamessage("template_reply", selected_id="card_1_buy", display_text="Buy"),
        wamessage("native_flow_reply", button_id="gate_open", display_text="Open"),
        wamessage("list_reply", row_id="kitchen", title="Kitchen lights"),
    ):
        await post(client, upsert_body(instance_id, message))
    await hass.async_block_till_done()
    assert [(e.data["type"], e.data["button_id"], e.data["text"]) for e in events] == [
        ("button_reply", "disarm", "Disarm"),
        ("button_reply", "card_1_buy", "Buy"),
        ("button_reply", "gate_open", "Open"),
        ("list_reply", "kitchen", "Kitchen lights"),
    ]


async def test_groups_lid_and_wrappers(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """Group senders, LID chats with their phone, wrapped content, every timestamp form."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await post(
        client,
        upsert_body(
            instance_id,
            wamessage("text", group=GROUP, from_number="966507654321", timestamp_style="long"),
            wamessage("text", lid="123456789012345", timestamp_style="ms"),
            wamessage("image", caption="once", wrap="view_once", timestamp_style="string"),
            wamessage("text", text="gone soon", wrap="ephemeral"),
        ),
    )
    await hass.async_block_till_done()
    group, lid, view_once, ephemeral = (event.data for event in events)
    assert (group["is_group"], group["group_id"], group["chat_id"]) == (True, GROUP, GROUP)
    assert (group["sender"], group["sender_jid"]) == (
        "966507654321",
        "966507654321@s.whatsapp.net",
    )
    assert (lid["chat_id"], lid["sender"]) == ("123456789012345@lid", "966501234567")
    assert (view_once["type"], view_once["text"]) == ("image", "once")
    assert ephemeral["text"] == "gone soon"
    assert {event.data["timestamp"] for event in events} == {TS_ISO}


async def test_received_message_only_gets_the_arrival_time(
    hass: HomeAssistant, client: TestClient, instance_id: str, freezer: FrozenDateTimeFactory
) -> None:
    """received_message has no time of its own: the time it arrived is reported."""
    freezer.move_to("2025-01-02T03:04:05+00:00")
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await post(client, received_body(instance_id, wamessage("text")))
    await hass.async_block_till_done()
    assert events[0].data["timestamp"] == "2025-01-02T03:04:05+00:00"


async def test_duplicates_are_reported_once(
    hass: HomeAssistant, client: TestClient, init_integration: MockConfigEntry, instance_id: str
) -> None:
    """The same id in either envelope, in any order, repeated, is one message."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    first, second = wamessage("text", text="one"), wamessage("text", text="two")
    await post(client, received_body(instance_id, first))
    await post(client, upsert_body(instance_id, first))
    await post(client, upsert_body(instance_id, first, second))
    await post(client, received_body(instance_id, second))
    await hass.async_block_till_done()
    assert [event.data["text"] for event in events] == ["one", "two"]
    stats = init_integration.runtime_data.stats
    assert stats.received == 2
    assert stats.last_message is not None
    assert stats.last_message["text"] == "two"


async def test_memory_of_ids_is_bounded(
    hass: HomeAssistant, client: TestClient, init_integration: MockConfigEntry, instance_id: str
) -> None:
    """Only the most recent ids are remembered."""
    inbox = hass.data[WEBHOOK_INBOXES][WEBHOOK_ID]
    messages = [wamessage("text", message_id=f"ID{n}") for n in range(RECENT_MESSAGE_IDS + 1)]
    half = len(messages) // 2
    await post(client, upsert_body(instance_id, *messages[:half]))
    await post(client, upsert_body(instance_id, *messages[half:]))
    await hass.async_block_till_done()
    assert len(inbox.recent_ids) == RECENT_MESSAGE_IDS
    assert "ID0" not in inbox.recent_ids
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await post(client, upsert_body(instance_id, messages[0], messages[-1]))
    await hass.async_block_till_done()
    assert [event.data["message_id"] for event in events] == ["ID0"]


async def test_own_messages_are_not_reported_by_default(
    hass: HomeAssistant, client: TestClient, init_integration: MockConfigEntry, instance_id: str
) -> None:
    """Echoes of own messages (fromMe) are dropped."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    message = wamessage("text")
    message["key"]["fromMe"] = True
    await post(client, upsert_body(instance_id, message, kind="append"))
    await hass.async_block_till_done()
    assert events == []
    assert init_integration.runtime_data.stats.received == 0


async def test_own_messages_when_enabled(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    instance_id: str,
) -> None:
    """With the option on they are reported (from the linked number), but not counted."""
    entry = MockConfigEntry(
        domain=mock_config_entry.domain,
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        data={**mock_config_entry.data, CONF_PHONE: LINKED_PHONE},
        options={**mock_config_entry.options, CONF_INCLUDE_OWN_MESSAGES: True},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    message = wamessage("text", text="sent from the phone")
    message["key"]["fromMe"] = True
    await post(client, upsert_body(instance_id, message, kind="append"))
    await hass.async_block_till_done()
    (event,) = events
    assert event.data["from_me"] is True
    assert event.data["sender"] == LINKED_PHONE
    assert event.data["chat_id"] == "966501234567@s.whatsapp.net"
    assert entry.runtime_data.stats.received == 0


async def test_options_and_number_changed_while_loaded(
    hass: HomeAssistant, client: TestClient, init_integration: MockConfigEntry, instance_id: str
) -> None:
    """What the entry's options and data say is read again once they change (no reload)."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    first = wamessage("text", text="before")
    first["key"]["fromMe"] = True
    await post(client, upsert_body(instance_id, first, kind="append"))
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, CONF_INCLUDE_OWN_MESSAGES: True}
    )
    second = wamessage("text", text="own, number unknown")
    second["key"]["fromMe"] = True
    await post(client, upsert_body(instance_id, second, kind="append"))
    hass.config_entries.async_update_entry(
        init_integration, data={**init_integration.data, CONF_PHONE: LINKED_PHONE}
    )
    third = wamessage("text", text="own, number known")
    third["key"]["fromMe"] = True
    await post(client, upsert_body(instance_id, third, kind="append"))
    await hass.async_block_till_done()
    assert [(event.data["text"], event.data["sender"]) for event in events] == [
        ("own, number unknown", None),
        ("own, number known", LINKED_PHONE),
    ]


@pytest.mark.parametrize("chat", ["status@broadcast", "120363000000000001@newsletter"])
async def test_status_and_newsletters_are_skipped(
    hass: HomeAssistant, client: TestClient, instance_id: str, chat: str
) -> None:
    """Status updates and channel posts are not reported."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    message = wamessage("text")
    message["key"]["remoteJid"] = chat
    await post(client, upsert_body(instance_id, message))
    await hass.async_block_till_done()
    assert events == []


async def test_inbound_message_marks_the_instance_linked(
    hass: HomeAssistant,
    client: TestClient,
    emulator: Emulator,
    init_integration: MockConfigEntry,
    instance_id: str,
) -> None:
    """A message proves the session is linked again; the webhook is then given again."""
    coordinator = init_integration.runtime_data.coordinator
    emulator.state.unlink(instance_id)
    coordinator.async_set_logged_out()
    await hass.async_block_till_done()
    assert not coordinator.data.linked
    emulator.state.link(instance_id)
    before = len(emulator.requests)

    await post(client, upsert_body(instance_id, wamessage("text")))
    await hass.async_block_till_done()
    assert coordinator.data.linked
    assert [r.endpoint for r in list(emulator.requests)[before:]] == ["set_webhook"]


async def test_contact_events_do_not_mark_linked(
    hass: HomeAssistant,
    client: TestClient,
    emulator: Emulator,
    init_integration: MockConfigEntry,
    instance_id: str,
) -> None:
    """Only message events say anything about the session."""
    coordinator = init_integration.runtime_data.coordinator
    emulator.state.unlink(instance_id)
    coordinator.async_set_logged_out()
    await post(client, webhook_body(instance_id, "contacts.update", [{"id": "1@s.whatsapp.net"}]))
    await hass.async_block_till_done()
    assert not coordinator.data.linked


# -- receipts and other events ---------------------------------------------------------------------


async def test_receipts(
    hass: HomeAssistant, client: TestClient, init_integration: MockConfigEntry, instance_id: str
) -> None:
    """Receipts as numbers or names fire status events; deletes and edits do not."""
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    others = async_capture_events(hass, EVENT_WEBHOOK_EVENT)
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    chat = "966501234567@s.whatsapp.net"
    key = {"remoteJid": chat, "fromMe": True, "id": "3EB0SENT"}
    delete = {"key": {**key, "id": "3EB0GONE"}, "update": {"message": None, "messageStubType": 1}}
    for update in (
        {"key": key, "update": {"status": 2}},
        {"key": key, "update": {"status": "DELIVERY_ACK"}},
        {"key": key, "update": {"status": 4}},
        delete,
        {"key": key, "update": {"status": "PLAYED"}},
        {"key": key, "update": {"status": 0}},
    ):
        await post(client, webhook_body(instance_id, "messages.update", [update]))
    await hass.async_block_till_done()
    assert [event.data for event in statuses] == [
        {
            "config_entry_id": init_integration.entry_id,
            "instance_id": instance_id,
            "message_id": "3EB0SENT",
            "chat_id": chat,
            "status": status,
        }
        for status in ("sent", "delivered", "read", "played", "failed")
    ]
    (other,) = others
    assert other.data["event"] == "messages.update"
    assert other.data["data"] == [delete]
    assert received == []


@pytest.mark.parametrize(
    ("posted", "reported", "payload"),
    [
        ("contacts.update", "contacts.update", [{"id": "966501234567@s.whatsapp.net"}]),
        ("groups.update", "groups.update", [{"id": GROUP, "subject": "Family"}]),
        (
            "capturer",
            "capturer",
            {"suscriptorId": 5, "chatid": "x", "newData": {"inputName": "a", "value": "b"}},
        ),
        ("new subscriber", "new_subscriber", {"chatid": "966501234567@s.whatsapp.net"}),
        ("new_subscriber", "new_subscriber", {"chatid": "966501234567@s.whatsapp.net"}),
        ("call", "call", [{"from": "966501234567@s.whatsapp.net", "status": "offer"}]),
    ],
)
async def test_other_events(
    hass: HomeAssistant,
    *,
    client: TestClient,
    init_integration: MockConfigEntry,
    instance_id: str,
    posted: str,
    reported: str,
    payload: object,
) -> None:
    """Contacts, groups, capturer, new subscriber (either spelling) and unknown events."""
    events = async_capture_events(hass, EVENT_WEBHOOK_EVENT)
    await post(client, webhook_body(instance_id, posted, payload))
    await hass.async_block_till_done()
    assert [event.data for event in events] == [
        {
            "config_entry_id": init_integration.entry_id,
            "instance_id": instance_id,
            "event": reported,
            "data": payload,
        }
    ]


async def test_contacts_burst(hass: HomeAssistant, client: TestClient, instance_id: str) -> None:
    """The history sync's burst of 5,000 contacts is one event, accepted at once."""
    events = async_capture_events(hass, EVENT_WEBHOOK_EVENT)
    contacts = [
        {
            "id": f"9665{n:08d}@s.whatsapp.net",
            "lid": f"{10**14 + n}@lid",
            "phoneNumber": f"9665{n:08d}@s.whatsapp.net",
            "name": f"Contact number {n}",
            "notify": f"Contact {n}",
            "imgUrl": "changed",
        }
        for n in range(5000)
    ]
    body = webhook_body(instance_id, "contacts.upsert", contacts)
    await post(client, body)
    await hass.async_block_till_done()
    (event,) = events
    assert event.data["event"] == "contacts.upsert"
    assert len(event.data["data"]) == 5000


# -- refused and ignored posts ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"not json", b"{", b"[1, 2]", b'"text"', b"42", b"\xff\xfe"])
async def test_not_a_json_object(hass: HomeAssistant, client: TestClient, body: bytes) -> None:
    """Bodies that are not a JSON object are refused with 400."""
    events = async_capture_events(hass, EVENT_WEBHOOK_EVENT)
    response = await client.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert events == []


async def test_too_large_by_content_length(client: TestClient, instance_id: str) -> None:
    """A body announced above 4 MiB is refused with 413 without reading it."""
    body = b'{"instance_id": "' + b"x" * WEBHOOK_MAX_BODY + b'"}'
    response = await client.post(URL, data=body)
    assert response.status == 413


async def test_too_large_when_streamed(client: TestClient) -> None:
    """A chunked body (no Content-Length) is refused with 413 once it passes 4 MiB."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"instance_id": "'
        for _ in range(WEBHOOK_MAX_BODY // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(URL, data=chunks())
    assert response.status == 413


async def test_just_below_the_limit_is_accepted(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """A body of almost 4 MiB is read."""
    events = async_capture_events(hass, EVENT_WEBHOOK_EVENT)
    filler = "x" * (WEBHOOK_MAX_BODY - 200)
    await post(client, webhook_body(instance_id, "contacts.upsert", [{"id": filler}]))
    await hass.async_block_till_done()
    assert len(events) == 1


async def test_other_instance_is_ignored(
    hass: HomeAssistant,
    client: TestClient,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A post for another instance is answered 200 and ignored (logged at debug)."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await post(client, upsert_body("OTHERINSTANCE", wamessage("text")))
    await post(client, {"data": {"event": "messages.upsert"}})
    await hass.async_block_till_done()
    assert events == []
    assert init_integration.runtime_data.stats.received == 0
    assert "for another instance" in caplog.text
    assert "OTHERINSTANCE" not in caplog.text


async def test_instance_id_in_another_case(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """Instance ids are compared without regard to case."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await post(client, upsert_body(instance_id.lower(), wamessage("text")))
    await hass.async_block_till_done()
    assert len(events) == 1


async def test_get_is_not_allowed(client: TestClient) -> None:
    """Only POST is accepted."""
    response = await client.get(URL)
    assert response.status == 405


async def test_processing_errors_are_swallowed(
    hass: HomeAssistant,
    client: TestClient,
    instance_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected error is logged and the gateway still gets 200."""
    with patch(
        "custom_components.smartwats.webhook.read_webhook", side_effect=RuntimeError("boom")
    ):
        await post(client, upsert_body(instance_id, wamessage("text")))
    assert "Could not process a webhook post" in caplog.text


async def test_webhook_id_is_never_logged(
    hass: HomeAssistant,
    client: TestClient,
    instance_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing the integration logs contains the webhook id (or its URL)."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    await post(client, upsert_body(instance_id, wamessage("text")))
    await post(client, upsert_body("OTHER", wamessage("text")))
    await post(client, webhook_body(instance_id, "whatever", {}))
    await client.post(URL, data=b"nope")
    await client.post(URL, data=b"[]")
    with patch("custom_components.smartwats.webhook.read_webhook", side_effect=RuntimeError):
        await post(client, upsert_body(instance_id, wamessage("text")))
    ours = [record for record in caplog.records if record.name.startswith(LOGGER_NAME)]
    assert ours
    for record in ours:
        assert WEBHOOK_ID not in record.getMessage()
        assert WEBHOOK_ID not in (record.exc_text or "")


async def test_unloaded_entry_receives_nothing(
    hass: HomeAssistant, client: TestClient, init_integration: MockConfigEntry, instance_id: str
) -> None:
    """Unloading unregisters the webhook."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await post(client, upsert_body(instance_id, wamessage("text")))
    await hass.async_block_till_done()
    assert events == []


def test_recent_ids_forget_the_oldest() -> None:
    """A bounded memory: seeing an id again refreshes it; the least recent goes first."""
    recent = RecentIds(3)
    assert not recent.seen("a")
    assert not recent.seen("b")
    assert not recent.seen("c")
    assert recent.seen("a")  # a is now the most recent
    assert not recent.seen("d")  # b goes
    assert len(recent) == 3
    assert "b" not in recent
    assert "a" in recent
    assert not recent.seen("b")
