"""End to end: the emulated gateway posts to Home Assistant over a real socket."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.const import (
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
)
from smartwats_emulator import Emulator

from .conftest import WEBHOOK_ID


async def start_http(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> TestServer:
    """Start Home Assistant's HTTP server (after every view is registered: it freezes them)."""
    assert await async_setup_component(hass, DOMAIN, {})
    return (await hass_client_no_auth()).server


async def test_button_reply_from_the_gateway(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The integration gives the gateway its URL; an injected button reply fires the event.

    Home Assistant's HTTP server listens on a free 127.0.0.1 port and is its internal URL; the
    emulator (a local gateway) accepts that URL and posts messages.upsert and received_message
    there, as the real gateway would to the external URL.
    """
    server = await start_http(hass, hass_client_no_auth)
    base = f"http://{server.host}:{server.port}"
    await async_process_ha_core_config(hass, {"internal_url": base})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    instance = emulator.state.instance(instance_id)
    assert instance.webhook_url == f"{base}/api/webhook/{WEBHOOK_ID}"
    assert instance.webhook_enabled

    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    message = await emulator.inject_inbound(
        instance_id,
        "button_reply",
        button_id="alarm_disarm",
        display_text="Disarm",
        from_number="+966 50 123 4567",
        push_name="Sara",
    )
    await hass.async_block_till_done()

    deliveries = emulator.webhooks.deliveries
    assert [(d.event, d.result) for d in deliveries] == [
        ("messages.upsert", 200),
        ("received_message", 200),
    ]
    (event,) = received  # both posts, one message
    assert event.data["type"] == "button_reply"
    assert event.data["button_id"] == "alarm_disarm"
    assert event.data["text"] == "Disarm"
    assert event.data["message_id"] == message["key"]["id"]
    assert event.data["sender"] == "966501234567"
    assert event.data["sender_name"] == "Sara"
    assert event.data["instance_id"] == instance_id
    assert mock_config_entry.runtime_data.stats.received == 1
    assert result_status(hass, "event.966500000001_message") == "button_reply"


def result_status(hass: HomeAssistant, entity_id: str) -> str | None:
    """The event type an event entity fired last."""
    state = hass.states.get(entity_id)
    assert state is not None
    return state.attributes.get("event_type")


async def test_read_receipts_from_the_gateway(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A message sent through the gateway reports sent, delivered and read."""
    server = await start_http(hass, hass_client_no_auth)
    await async_process_ha_core_config(
        hass, {"internal_url": f"http://{server.host}:{server.port}"}
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    result = await mock_config_entry.runtime_data.client.send_text("966501234567", "Armed")
    await emulator.webhooks.drain()  # the echo of our own message (not reported)
    await emulator.send_receipts(instance_id, result.message_id, up_to="read")
    await hass.async_block_till_done()

    assert [(e.data["message_id"], e.data["status"]) for e in statuses] == [
        (result.message_id, "sent"),
        (result.message_id, "delivered"),
        (result.message_id, "read"),
    ]
    assert received == []
