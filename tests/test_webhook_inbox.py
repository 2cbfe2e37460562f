"""Nothing the gateway posts is lost while an entry is not loaded (it posts once, never retries)."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.aiohttp import MockRequest
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.const import DOMAIN, EVENT_MESSAGE_RECEIVED
from custom_components.smartwats.webhook import INBOX_MAX_AGE, INBOX_MAX_POSTS, WEBHOOK_INBOXES
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.wamessages import build_inbound
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, WEBHOOK_ID

URL = f"/api/webhook/{WEBHOOK_ID}"
OWN_JID = f"{LINKED_PHONE}@s.whatsapp.net"


def text_post(instance_id: str, message_id: str) -> dict[str, Any]:
    """A messages.upsert post of one text message."""
    message = build_inbound(
        "text", {"message_id": message_id, "text": message_id}, own_jid=OWN_JID, default_group=None
    )
    return webhook_body(instance_id, "messages.upsert", {"type": "notify", "messages": [message]})


async def set_up(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client_no_auth: ClientSessionGenerator
) -> TestClient:
    """Add the entry, set the integration up (the entry may fail) and return an HTTP client."""
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return await hass_client_no_auth()


async def test_posts_while_setup_retries_are_delivered_once_loaded(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The gateway answers 500 at start-up: posts meanwhile wait, then fire once, in order."""
    emulator.state.set_fault(instance_id, Fault("http_500"))
    client = await set_up(hass, mock_config_entry, hass_client_no_auth)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    for message_id in ("one", "two", "three"):
        assert (await client.post(URL, json=text_post(instance_id, message_id))).status == 200
    await hass.async_block_till_done()
    assert events == []

    emulator.state.set_fault(instance_id, None)
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert [event.data["message_id"] for event in events] == ["one", "two", "three"]
    # Counted once the counters were restored: nothing counted twice, nothing skipped.
    assert mock_config_entry.runtime_data.stats.received == 3

    # Exactly once: a reload delivers nothing again.
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert len(events) == 3


async def test_posts_while_unloaded_wait_for_the_next_load(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """An entry unloaded (as during a reload) keeps what arrives and reports it when loaded."""
    client = await set_up(hass, mock_config_entry, hass_client_no_auth)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    assert (await client.post(URL, json=text_post(instance_id, "while away"))).status == 200
    await hass.async_block_till_done()
    assert events == []
    assert len(hass.data[WEBHOOK_INBOXES][WEBHOOK_ID].pending) == 1
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert [event.data["message_id"] for event in events] == ["while away"]
    assert len(hass.data[WEBHOOK_INBOXES][WEBHOOK_ID].pending) == 0


async def test_buffer_is_bounded_oldest_dropped_with_one_warning(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At most 1,000 posts wait (10 here); the oldest go first, with one warning."""
    assert INBOX_MAX_POSTS == 1000
    client = await set_up(hass, mock_config_entry, hass_client_no_auth)
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    inbox = hass.data[WEBHOOK_INBOXES][WEBHOOK_ID]
    with patch("custom_components.smartwats.webhook.INBOX_MAX_POSTS", 10):
        for number in range(12):
            await client.post(URL, json=text_post(instance_id, f"M{number}"))
    assert len(inbox.pending) == 10
    assert inbox.dropped == 2
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "dropped" in r.getMessage()
    ]
    assert len(warnings) == 1
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert len(events) == 10
    assert events[0].data["message_id"] == "M2"


async def test_posts_older_than_10_minutes_are_dropped(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A post that waited more than 10 minutes is not reported late."""
    client = await set_up(hass, mock_config_entry, hass_client_no_auth)
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await client.post(URL, json=text_post(instance_id, "stale"))
    freezer.tick(timedelta(seconds=INBOX_MAX_AGE + 1))
    await client.post(URL, json=text_post(instance_id, "fresh"))
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert [event.data["message_id"] for event in events] == ["fresh"]


async def test_webhook_has_its_handler_before_the_entry_loads(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """From the integration's set-up on, whatever the entry's state (here: setup_retry)."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    client = await set_up(hass, mock_config_entry, hass_client_no_auth)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert WEBHOOK_ID in hass.data[WEBHOOK_INBOXES]
    response = await client.post(URL, json=text_post(instance_id, "kept"))
    assert response.status == 200
    assert len(hass.data[WEBHOOK_INBOXES][WEBHOOK_ID].pending) == 1


async def test_removed_entry_posts_are_answered_and_ignored(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Once the entry is removed its webhook is gone: posts get 200 and nothing happens."""
    client = await set_up(hass, mock_config_entry, hass_client_no_auth)
    inbox = hass.data[WEBHOOK_INBOXES][WEBHOOK_ID]
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    assert (await client.post(URL, json=text_post(instance_id, "late"))).status == 200
    # Even a post that reached the handler as the entry went is answered and dropped.
    assert WEBHOOK_ID not in hass.data[WEBHOOK_INBOXES]
    assert inbox.pending == type(inbox.pending)()
    await hass.async_block_till_done()
    assert events == []


async def test_post_to_handler_of_a_removed_entry(
    hass: HomeAssistant, instance_id: str, mock_config_entry: MockConfigEntry
) -> None:
    """The handler itself answers 200 and keeps nothing when its entry no longer exists."""
    mock_config_entry.add_to_hass(hass)
    assert await async_setup_component(hass, "http", {})
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    inbox = hass.data[WEBHOOK_INBOXES][WEBHOOK_ID]
    inbox.entry_id = "no-such-entry"

    request = MockRequest(content=b'{"instance_id": "x"}', mock_source=DOMAIN)
    response = await inbox.async_handle(hass, WEBHOOK_ID, request)
    assert response.status == 200
    assert not inbox.pending
