"""Messages both ways between a real Home Assistant and the emulated gateway.

Sending goes through the `smartwats.send_text` action over the REST API; receiving goes from the
emulated phone through the gateway's webhook to events seen on a WebSocket subscription, as an
automation would see them. Each test skips (saying why) while the feature it needs is not in the
tree yet, and runs as soon as it lands.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
import itertools
from typing import Any

import pytest
import yaml

from .conftest import DOMAIN
from .harness import (
    REPO,
    EmulatorClient,
    HomeAssistantClient,
    HomeAssistantServer,
    wait_for_webhook,
)

INTEGRATION = REPO / "custom_components" / "smartwats"
SENDER = "966501234567"
SENDER_JID = f"{SENDER}@s.whatsapp.net"
_PHONES = (f"9665000001{n:02d}" for n in itertools.count())


def _services() -> dict[str, Any]:
    path = INTEGRATION / "services.yaml"
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text("utf-8")) or {}


requires_send_text = pytest.mark.skipif(
    "send_text" not in _services(),
    reason="smartwats.send_text is not in custom_components/smartwats/services.yaml yet",
)
requires_webhook = pytest.mark.skipif(
    not (INTEGRATION / "webhook.py").exists(),
    reason="the webhook (custom_components/smartwats/webhook.py) is not implemented yet",
)


class LinkedEntry:
    """A config entry of a linked instance, set up through the config flow."""

    def __init__(self, entry_id: str, instance_id: str, phone: str) -> None:
        """Remember the entry's ids."""
        self.entry_id = entry_id
        self.instance_id = instance_id
        self.phone = phone


@pytest.fixture
async def linked_entry(ha: HomeAssistantClient, emu: EmulatorClient) -> AsyncIterator[LinkedEntry]:
    """An instance that is already linked, added through the config flow; removed afterwards."""
    phone = next(_PHONES)
    token, instance_id = await emu.create_instance(linked=True, phone=phone)
    result = await ha.start_flow(DOMAIN)
    flow_id = result["flow_id"]
    result = await ha.flow_step(
        flow_id,
        {
            "access_token": token,
            "instance_id": instance_id,
            "advanced": {"base_url": emu.api_url},
        },
    )
    # Linked already: straight to the last step, whose fields (number, name) are all optional.
    assert (result["type"], result["step_id"]) == ("form", "finish"), result
    result = await ha.flow_step(flow_id, {})
    assert result["type"] == "create_entry", result
    entry_id = result["result"]["entry_id"]
    await ha.wait_entry_state(entry_id, "loaded")
    yield LinkedEntry(entry_id, instance_id, phone)
    await ha.delete(f"/api/config/config_entries/entry/{entry_id}")


async def send_text(
    ha: HomeAssistantClient, entry: LinkedEntry, target: str, message: str
) -> dict[str, Any]:
    """Call smartwats.send_text over the REST API; return the action's response."""
    answer = await ha.post(
        "/api/services/smartwats/send_text?return_response",
        {"config_entry_id": entry.entry_id, "target": target, "message": message},
    )
    return dict(answer["service_response"])


@requires_send_text
async def test_send_text_reaches_the_gateway(
    ha: HomeAssistantClient, emu: EmulatorClient, linked_entry: LinkedEntry
) -> None:
    """The action sends one text to the number, normalised from the way a person types it."""
    response = await send_text(ha, linked_entry, "+966 50 123 4567", "The garage door is open")

    sent = await emu.sent(linked_entry.instance_id)
    assert len(sent) == 1, sent
    assert sent[0]["to"] == SENDER_JID
    assert sent[0]["type"] == "text"
    assert sent[0]["payload"]["message"] == "The garage door is open"
    assert response == {
        "messages": [{"target": SENDER, "message_id": sent[0]["message_id"], "status": "sent"}]
    }


@requires_webhook
async def test_inbound_text_and_carousel_button_fire_message_received(
    ha: HomeAssistantClient, emu: EmulatorClient, linked_entry: LinkedEntry
) -> None:
    """A text and a carousel button press from the phone reach automations as events."""
    await wait_for_webhook(emu, linked_entry.instance_id, ha.base_url)
    timestamp = 1_790_000_000
    async with ha.events("smartwats_message_received") as events:
        text = await emu.inject(
            linked_entry.instance_id,
            "text",
            text="Is the garage door closed?",
            from_number=SENDER,
            push_name="Ahmed",
            timestamp=timestamp,
        )
        text_id = text["key"]["id"]
        event = await events.wait_for(
            lambda e: e.data.get("message_id") == text_id, "for the inbound text"
        )
        expected = {
            "config_entry_id": linked_entry.entry_id,
            "instance_id": linked_entry.instance_id,
            "message_id": text_id,
            "chat_id": SENDER_JID,
            "sender": SENDER,
            "sender_jid": SENDER_JID,
            "sender_name": "Ahmed",
            "is_group": False,
            "group_id": None,
            "type": "text",
            "text": "Is the garage door closed?",
            "button_id": None,
            "from_me": False,
        }
        assert {key: event.data.get(key) for key in expected} == expected
        assert datetime.fromisoformat(event.data["timestamp"]) == datetime.fromtimestamp(
            timestamp, UTC
        )

        button = await emu.inject(
            linked_entry.instance_id,
            "carousel_reply",
            selected_id="garage_close",
            display_text="Close it",
            index=1,
            card_index=2,
            from_number=SENDER,
            push_name="Ahmed",
        )
        button_id = button["key"]["id"]
        event = await events.wait_for(
            lambda e: e.data.get("message_id") == button_id, "for the button press"
        )
        expected = {
            "config_entry_id": linked_entry.entry_id,
            "instance_id": linked_entry.instance_id,
            "chat_id": SENDER_JID,
            "sender": SENDER,
            "type": "button_reply",
            "button_id": "garage_close",
            "text": "Close it",
            "from_me": False,
        }
        assert {key: event.data.get(key) for key in expected} == expected

    # The gateway posts each message twice (messages.upsert and received_message): one event.
    received = [e.data["message_id"] for e in events.events]
    assert received.count(text_id) == 1, received


@requires_send_text
@requires_webhook
async def test_receipts_fire_message_status_up_to_read(
    ha: HomeAssistantClient, emu: EmulatorClient, linked_entry: LinkedEntry
) -> None:
    """The receipts of a sent message become status events: sent, delivered, then read."""
    await wait_for_webhook(emu, linked_entry.instance_id, ha.base_url)
    response = await send_text(ha, linked_entry, SENDER, "Please confirm you read this")
    message_id = response["messages"][0]["message_id"]
    assert message_id

    async with ha.events("smartwats_message_status") as events:
        await emu.receipts(linked_entry.instance_id, message_id, "read")
        await events.wait_for(
            lambda e: e.data.get("message_id") == message_id and e.data.get("status") == "read",
            "with status read",
        )
    statuses = [e.data for e in events.events if e.data.get("message_id") == message_id]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    for status in statuses:
        assert status["config_entry_id"] == linked_entry.entry_id
        assert status["instance_id"] == linked_entry.instance_id
        assert status["chat_id"] == SENDER_JID


@requires_send_text
async def test_queued_message_is_delivered_after_a_restart(
    ha: HomeAssistantClient,
    emu: EmulatorClient,
    linked_entry: LinkedEntry,
    hass_server: HomeAssistantServer,
) -> None:
    """A message accepted while the gateway cannot send survives a restart of Home Assistant.

    It is in the outbox on disk when the action returns; the restarted Home Assistant sends it,
    once.
    """
    instance_id = linked_entry.instance_id
    await emu.post(f"/_emulator/instances/{instance_id}/fault", {"kind": "outage"})
    response = await send_text(ha, linked_entry, SENDER, "The freezer door is open")
    [item] = response["messages"]
    assert item["status"] == "queued", response
    assert item["message_id"] is None
    await asyncio.to_thread(hass_server.restart)
    await emu.delete(f"/_emulator/instances/{instance_id}/fault")
    await ha.wait_entry_state(linked_entry.entry_id, "loaded")
    sent: list[dict[str, Any]] = []
    async with asyncio.timeout(60):
        while not sent:
            sent = await emu.sent(instance_id)
            await asyncio.sleep(0.2)
    await asyncio.sleep(1)  # nothing more comes: it was sent once
    sent = await emu.sent(instance_id)
    assert [message["payload"]["message"] for message in sent] == ["The freezer door is open"]
