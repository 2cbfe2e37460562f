"""What anyone who has the webhook URL, or any WhatsApp user, can post: nothing of it breaks us.

Through Home Assistant's real HTTP server, and the parser directly for the property tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_dumps
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.api import inbound
from custom_components.smartwats.api.coerce import loads_lenient
from custom_components.smartwats.api.inbound import (
    MAX_ID_LENGTH,
    MAX_POST_ITEMS,
    parse_status,
    parse_webhook,
)
from custom_components.smartwats.const import (
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
    EVENT_WEBHOOK_EVENT,
)
from smartwats_emulator.wamessages import build_inbound
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, WEBHOOK_ID

URL = f"/api/webhook/{WEBHOOK_ID}"
OWN_JID = f"{LINKED_PHONE}@s.whatsapp.net"
CHAT = "966501234567@s.whatsapp.net"
EVENT_ENTITY = f"event.{LINKED_PHONE}_message"
LOGGER_NAME = "custom_components.smartwats"


@pytest.fixture
async def client(
    hass_client_no_auth: ClientSessionGenerator, init_integration: MockConfigEntry
) -> TestClient:
    """An HTTP client of Home Assistant, with the entry set up."""
    return await hass_client_no_auth()


def wamessage(kind: str = "text", **fields: object) -> dict[str, Any]:
    """A WAMessage the emulator would post."""
    fields.setdefault("timestamp", 1718000000)
    return build_inbound(kind, fields, own_jid=OWN_JID, default_group=None)


def upsert(iid: str, *messages: dict[str, Any]) -> dict[str, Any]:
    """The messages.upsert body of WAMessages."""
    return webhook_body(iid, "messages.upsert", {"type": "notify", "messages": list(messages)})


def receipt(message_id: str, status: object) -> dict[str, Any]:
    """One messages.update item: a receipt of a message sent to CHAT."""
    return {
        "key": {"remoteJid": CHAT, "fromMe": True, "id": message_id},
        "update": {"status": status},
    }


async def post_bytes(client: TestClient, body: bytes) -> int:
    """Post a raw body; return the HTTP status."""
    response = await client.post(URL, data=body, headers={"Content-Type": "application/json"})
    return response.status


# -- lone surrogates ------------------------------------------------------------------------------


async def test_lone_surrogate_in_button_params_is_replaced(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """A native-flow reply whose paramsJson holds half an emoji never poisons the state."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    message = wamessage("native_flow_reply", display_text="Open")
    flow = message["message"]["interactiveResponseMessage"]["nativeFlowResponseMessage"]
    flow["paramsJson"] = '{"id":"\\ud83d"}'  # plain ASCII: passes every JSON parser
    assert (await client.post(URL, json=upsert(instance_id, message))).status == 200
    await hass.async_block_till_done()
    (event,) = events
    assert event.data["button_id"] == "\ufffd"
    json_dumps(event.data)
    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.attributes["button_id"] == "\ufffd"
    json_dumps(state.as_dict())


async def test_body_with_escaped_lone_surrogate_is_accepted(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """JSON.stringify writes a split emoji as an escaped lone surrogate: read and mended."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    body = json.dumps(upsert(instance_id, wamessage("text", text="cut 🚪 here")))
    body = body.replace("\\ud83d\\udeaa", "\\ud83d")  # json.dumps escapes the emoji as a pair
    assert "\\ud83d" in body
    assert await post_bytes(client, body.encode()) == 200
    await hass.async_block_till_done()
    (event,) = events
    assert event.data["text"] == "cut \ufffd here"
    json_dumps(event.data)
    json_dumps(hass.states.get(EVENT_ENTITY).as_dict())


async def test_lone_surrogates_in_other_events_are_replaced(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """Payloads passed on as they are (contacts, groups...) are mended too, keys included."""
    events = async_capture_events(hass, EVENT_WEBHOOK_EVENT)
    body = json.dumps(webhook_body(instance_id, "contacts.update", [{"id": "x", "name": "a"}]))
    body = body.replace('"name": "a"', '"\\udc00": "\\ud800b"')
    assert await post_bytes(client, body.encode()) == 200
    await hass.async_block_till_done()
    (event,) = events
    assert event.data["data"] == [{"id": "x", "\ufffd": "\ufffdb"}]
    json_dumps(event.data)


def test_loads_lenient_keeps_pairs_and_refuses_what_is_not_json() -> None:
    """A real pair stays the emoji; what no decoder reads raises ValueError."""
    assert loads_lenient('["\\ud83d\\ude00", "\\ud83d"]') == ["😀", "\ufffd"]
    with pytest.raises(ValueError, match="Expecting property name"):
        loads_lenient(b"{nope")


# Any text, lone surrogates (category Cs) included.
_ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_ANY_TEXT, children, max_size=3)
    ),
    max_leaves=12,
)


def _message_with(text: str, button: str, value: object) -> dict[str, Any]:
    return {
        "key": {"remoteJid": f"{text}@s.whatsapp.net", "fromMe": False, "id": text or "id"},
        "pushName": text,
        "messageTimestamp": value,
        "message": {
            "interactiveResponseMessage": {
                "body": {"text": text},
                "nativeFlowResponseMessage": {"paramsJson": json.dumps({"id": button})},
                "contextInfo": {"stanzaId": text},
            },
            "documentMessage": {"fileName": text, "mimetype": text, "seconds": value},
        },
    }


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=_ANY_TEXT, button=_ANY_TEXT, value=_JSON, extra=_JSON)
def test_any_string_anywhere_keeps_event_data_serialisable(
    text: str, button: str, value: object, extra: object
) -> None:
    """Whatever strings a payload holds, wherever, the events made of it can be saved."""
    message = _message_with(text, button, value)
    bodies: list[object] = [
        {"instance_id": "I", "data": {"event": "messages.upsert", "data": {"messages": [message]}}},
        {"instance_id": "I", "data": {"event": "received_message", "message": extra}},
        {"instance_id": "I", "data": {"event": "messages.update", "data": [extra, value]}},
        {"instance_id": "I", "data": {"event": text, "data": extra}},
        {"instance_id": text, "data": json.dumps({"event": "contacts.upsert", "data": extra})},
    ]
    for body in bodies:
        # As it travels: JSON text (surrogates escaped), read back by the handler's decoder.
        decoded = loads_lenient(json.dumps(body))
        parsed = parse_webhook(decoded)
        for item in (*parsed.messages, *parsed.statuses, *parsed.events):
            json_dumps(item.event_data())


# -- bounded --------------------------------------------------------------------------------------


async def test_instance_id_is_checked_before_anything_is_parsed(
    hass: HomeAssistant, client: TestClient
) -> None:
    """A post for another instance is not read at all."""
    with patch("custom_components.smartwats.webhook.read_webhook") as read:
        response = await client.post(URL, json=upsert("OTHER", wamessage("text")))
        await hass.async_block_till_done()
    assert response.status == 200
    read.assert_not_called()


async def test_unknown_event_names_fill_no_cache(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """Names of any length are not remembered; over 256 characters the post is ignored."""
    events = async_capture_events(hass, EVENT_WEBHOOK_EVENT)
    known = dict(inbound._KNOWN_EVENT_NAMES)
    for name in ("x" * (MAX_ID_LENGTH + 1), "y" * 5000, "odd name"):
        response = await client.post(URL, json=webhook_body(instance_id, name, {}))
        assert response.status == 200
    await hass.async_block_till_done()
    assert [event.data["event"] for event in events] == ["odd_name"]
    assert known == inbound._KNOWN_EVENT_NAMES
    assert not hasattr(inbound, "_EVENT_NAMES")


async def test_items_with_overlong_ids_are_ignored_not_their_siblings(
    hass: HomeAssistant,
    client: TestClient,
    instance_id: str,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An id or chat id over 256 characters drops that item only, with one debug line."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    long_id = wamessage("text", message_id="A" * (MAX_ID_LENGTH + 1))
    long_chat = wamessage("text", message_id="B")
    long_chat["key"]["remoteJid"] = "9" * (MAX_ID_LENGTH + 1) + "@s.whatsapp.net"
    fine = wamessage("text", message_id="C", text="fine")
    await client.post(URL, json=upsert(instance_id, long_id, long_chat, fine))
    update = [receipt("D" * 300, 4), receipt("E", 4)]
    await client.post(URL, json=webhook_body(instance_id, "messages.update", update))
    await hass.async_block_till_done()
    assert [event.data["message_id"] for event in events] == ["C"]
    assert [event.data["message_id"] for event in statuses] == ["E"]
    inbox_ids = hass.data["smartwats_webhook_inboxes"][WEBHOOK_ID].recent_ids
    assert len(inbox_ids) == 1
    lines = [r for r in caplog.records if "over 256 characters" in r.getMessage()]
    assert len(lines) == 3


async def test_at_most_1000_items_per_post(
    hass: HomeAssistant,
    client: TestClient,
    instance_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The items beyond the first 1,000 of one post are ignored, with one warning."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    messages = [wamessage("text", message_id=f"M{n}") for n in range(MAX_POST_ITEMS + 5)]
    assert (await client.post(URL, json=upsert(instance_id, *messages))).status == 200
    await hass.async_block_till_done()
    assert len(events) == MAX_POST_ITEMS
    assert events[-1].data["message_id"] == f"M{MAX_POST_ITEMS - 1}"
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "5 more items" in r.getMessage()
    ]
    assert len(warnings) == 1


async def test_a_large_post_yields_to_the_event_loop(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """A large post is processed in slices: other work runs between them."""
    fired: list[int] = []
    ticks: list[int] = []
    hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, lambda _event: fired.append(len(ticks)))
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(1)
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    messages = [wamessage("text", message_id=f"M{n}") for n in range(50)]
    with patch("custom_components.smartwats.webhook._SLICE", 0):
        await client.post(URL, json=upsert(instance_id, *messages))
        await hass.async_block_till_done()
    stop.set()
    await task
    assert len(fired) == 50
    # The ticker ran while the post was being processed, not only before or after it.
    assert len(set(fired)) > 10


async def test_odd_numbers_never_drop_a_post(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """A status of "²" or numbers of 5,000 digits are unknown values, not errors."""
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    update = [receipt("A", "²"), receipt("B", "9" * 5000), receipt("C", "read"), receipt("D", 3)]
    await client.post(URL, json=webhook_body(instance_id, "messages.update", update))
    message = wamessage("document", message_id="E")
    message["messageTimestamp"] = "9" * 5000
    message["message"]["documentMessage"]["seconds"] = "1" * 5000
    await client.post(URL, json=upsert(instance_id, message))
    await hass.async_block_till_done()
    assert [(e.data["message_id"], e.data["status"]) for e in statuses] == [
        ("C", "read"),
        ("D", "delivered"),
    ]
    (event,) = received
    assert event.data["media"]["seconds"] is None


def test_parse_status_refuses_what_int_cannot_read() -> None:
    """Digits that int() refuses, or too many of them, are no status."""
    assert parse_status("²") is None
    assert parse_status("٣") == "delivered"  # an Arabic-Indic three is a decimal digit
    assert parse_status("0" * 5000 + "4") is None
    assert parse_status(" 4 ") == "read"


def test_one_bad_item_never_drops_its_siblings() -> None:
    """An item that makes reading fail is skipped; the others are still reported."""
    messages = [
        {"key": {"remoteJid": CHAT, "id": "A"}, "message": {"conversation": "a"}},
        {"key": {"remoteJid": CHAT, "id": "B"}, "message": {"conversation": "b"}},
    ]
    real = inbound._message

    def flaky(key: Any, *args: Any, **kwargs: Any) -> Any:
        if key.get("id") == "A":
            raise RuntimeError("a bug")
        return real(key, *args, **kwargs)

    with patch.object(inbound, "_message", flaky):
        parsed = parse_webhook(upsert("I", *messages))
    assert [message.message_id for message in parsed.messages] == ["B"]
