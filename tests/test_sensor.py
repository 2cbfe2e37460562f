"""Tests of the message sensors: counters that survive restarts and the last message."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.components.sensor import SensorExtraStoredData
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EVENT_STATE_CHANGED, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.smartwats import sensor
from custom_components.smartwats.const import CONF_TARGET, DOMAIN, SUBENTRY_RECIPIENT
from custom_components.smartwats.entity import recipient_device_info
from custom_components.smartwats.models import SmartwatsConfigEntry
from custom_components.smartwats.stats import MessageStats
from smartwats_emulator.wamessages import build_inbound, received_message_payload
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, WEBHOOK_ID

SENT = f"sensor.{LINKED_PHONE}_messages_sent"
FAILED = f"sensor.{LINKED_PHONE}_messages_failed"
RECEIVED = f"sensor.{LINKED_PHONE}_messages_received"
LAST = f"sensor.{LINKED_PHONE}_last_message"


@pytest.fixture
def instance_id(fixed_instance_id: str) -> str:
    """The instance has a fixed id, so that snapshots do not change."""
    return fixed_instance_id


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the sensor platform."""
    return [Platform.SENSOR]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration_platforms: MockConfigEntry,
) -> None:
    """The four sensors: registry entries and states of a fresh instance."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration_platforms.entry_id)


async def test_last_message_is_disabled_by_default(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration_platforms: MockConfigEntry,
) -> None:
    """The last message may be private: users enable it themselves."""
    assert hass.states.get(LAST) is None
    assert entity_registry.async_get(LAST).disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get(SENT).state == "0"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_counters_follow_the_messages(
    hass: HomeAssistant, init_integration_platforms: MockConfigEntry
) -> None:
    """Each count updates its sensor at once; the last message shows its text and fields."""
    stats = init_integration_platforms.runtime_data.stats
    stats.async_count_sent()
    stats.async_count_sent()
    stats.async_count_failed()
    message = {"type": "button_reply", "text": "Disarm " * 50, "sender": "966501234567"}
    stats.async_count_received(message)
    await hass.async_block_till_done()
    assert hass.states.get(SENT).state == "2"
    assert hass.states.get(FAILED).state == "1"
    assert hass.states.get(RECEIVED).state == "1"
    last = hass.states.get(LAST)
    assert last.state == ("Disarm " * 50)[:255]
    assert last.attributes["sender"] == "966501234567"
    assert last.attributes["text"] == "Disarm " * 50
    stats.async_count_received({"type": "sticker", "text": None})
    await hass.async_block_till_done()
    assert hass.states.get(LAST).state == "sticker"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_counters_continue_after_a_restart(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, platforms: list[Platform]
) -> None:
    """Counters restore their last value; a value that is not a number is ignored."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State(SENT, "41"), SensorExtraStoredData(41, None).as_dict()),
            (State(FAILED, "unknown"), SensorExtraStoredData("unknown", None).as_dict()),
            (State(LAST, "hello"), SensorExtraStoredData("hello", None).as_dict()),
        ],
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    stats = mock_config_entry.runtime_data.stats
    assert (stats.sent, stats.failed, stats.received) == (41, 0, 0)
    stats.async_count_sent()
    await hass.async_block_till_done()
    assert hass.states.get(SENT).state == "42"
    assert hass.states.get(FAILED).state == "0"
    assert hass.states.get(LAST).state == "unknown"  # nothing received since the restart


def _restored(entity_id: str, value: int) -> tuple[State, dict[str, object]]:
    """A restore-cache item of a sensor: its state and its native value."""
    return State(entity_id, str(value)), SensorExtraStoredData(value, None).as_dict()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_messages_before_the_sensors_add_to_the_restored_count(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    instance_id: str,
    platforms: list[Platform],
) -> None:
    """Messages counted before the sensors are set up add to the restored values.

    The entry's counters exist (and the sender and the webhook run) before the platforms are set
    up: a message counted in between must not make the counter start again from 1 instead of
    continuing from 613 (a meter reset in the long-term statistics). A post to the webhook in
    between also ends up on top of the restored count, whenever the webhook processes it.
    """
    mock_restore_cache_with_extra_data(
        hass, [_restored(RECEIVED, 613), _restored(SENT, 41), _restored(FAILED, 2)]
    )
    message = build_inbound(
        "text",
        {"text": "meanwhile", "timestamp": 1718000000},
        own_jid=f"{LINKED_PHONE}@s.whatsapp.net",
        default_group=None,
    )
    body = webhook_body(instance_id, "received_message", received_message_payload(message))
    setup_sensors = sensor.async_setup_entry

    async def count_then_set_up(
        hass: HomeAssistant, entry: SmartwatsConfigEntry, add: AddConfigEntryEntitiesCallback
    ) -> None:
        entry.runtime_data.stats.async_count_received({"type": "text", "text": "first"})
        assert entry.runtime_data.stats.received == 1
        client = await hass_client_no_auth()
        response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)
        assert response.status == 200
        await setup_sensors(hass, entry, add)

    changes = async_capture_events(hass, EVENT_STATE_CHANGED)
    mock_config_entry.add_to_hass(hass)
    with (
        patch("custom_components.smartwats.PLATFORMS", platforms),
        patch.object(sensor, "async_setup_entry", count_then_set_up),
    ):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    stats = mock_config_entry.runtime_data.stats
    assert (stats.sent, stats.failed, stats.received) == (41, 2, 615)
    assert hass.states.get(RECEIVED).state == "615"
    assert hass.states.get(LAST).state == "meanwhile"
    # Never below the restored value: no meter reset in the long-term statistics.
    received = [
        event.data["new_state"].state for event in changes if event.data["entity_id"] == RECEIVED
    ]
    assert received[0] in ("614", "615")
    assert received[-1] == "615"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_sensor_added_again_does_not_restore_twice(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    mock_config_entry: MockConfigEntry,
    platforms: list[Platform],
) -> None:
    """A counter restores once per load: re-added (renamed and back), it keeps its count.

    Removing an entity saves its state in the restore cache, so that a re-added one would
    otherwise find its own current count there and add it again.
    """
    mock_restore_cache_with_extra_data(hass, [_restored(SENT, 41)])
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.smartwats.PLATFORMS", platforms):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    stats = mock_config_entry.runtime_data.stats
    stats.async_count_sent()
    stats.async_count_received({"text": "hi"})
    await hass.async_block_till_done()
    for entity_id in (SENT, RECEIVED):
        renamed = f"{entity_id}_renamed"
        for old, new in ((entity_id, renamed), (renamed, entity_id)):
            entity_registry.async_update_entity(old, new_entity_id=new)
            await hass.async_block_till_done()
    assert (stats.sent, stats.received) == (42, 1)
    assert hass.states.get(SENT).state == "42"
    assert hass.states.get(RECEIVED).state == "1"

    # A reload starts from fresh counters, which restore the values saved at the unload.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    stats = mock_config_entry.runtime_data.stats
    assert (stats.sent, stats.received) == (42, 1)
    assert hass.states.get(SENT).state == "42"


async def test_recipient_changes_reload_the_entry(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    init_integration_platforms: MockConfigEntry,
    instance_id: str,
) -> None:
    """Adding, renaming or removing a recipient reloads the entry; other changes do not."""
    entry = init_integration_platforms
    runtime = entry.runtime_data
    hass.config_entries.async_update_entry(entry, options={**entry.options, "send_interval": 2})
    await hass.async_block_till_done()
    assert entry.runtime_data is runtime  # not reloaded by an unrelated change

    subentry = ConfigSubentry(
        data={CONF_TARGET: "966501234567"},
        subentry_type=SUBENTRY_RECIPIENT,
        title="Mum",
        unique_id="966501234567",
    )
    hass.config_entries.async_add_subentry(entry, subentry)
    await hass.async_block_till_done()
    assert entry.runtime_data is not runtime
    runtime = entry.runtime_data

    (added,) = entry.subentries.values()
    info = recipient_device_info(hass, entry, added)
    assert info["identifiers"] == {(DOMAIN, f"{instance_id}_{added.subentry_id}")}
    assert info["name"] == "Mum"
    instance_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, instance_id), entry.entry_id
    )
    recipient_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{instance_id}_{added.subentry_id}"), entry.entry_id
    )
    assert recipient_device.via_device_id == instance_device.id  # on every release

    hass.config_entries.async_update_subentry(entry, added, title="Mother")
    await hass.async_block_till_done()
    assert entry.runtime_data is not runtime
    runtime = entry.runtime_data

    hass.config_entries.async_remove_subentry(entry, added.subentry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data is not runtime


def test_stats_listeners_of_one_counter() -> None:
    """A listener of one counter hears its changes only; one of every change hears them all."""
    stats = MessageStats()
    heard: list[str] = []
    stop_sent = stats.async_add_listener(lambda: heard.append("sent"), "sent")
    stats.async_add_listener(lambda: heard.append("received"), "received")
    stats.async_add_listener(lambda: heard.append("all"))
    stats.async_count_sent()
    stats.async_count_failed()
    stats.async_count_received({"text": "hi"})
    stop_sent()
    stats.async_count_sent()
    assert heard == ["sent", "all", "all", "received", "all", "all"]
    assert (stats.sent, stats.failed, stats.received) == (2, 1, 1)


def test_stats_restore_adds_once_per_counter() -> None:
    """A restored count adds to what was counted; later restores and non-counts are ignored."""
    stats = MessageStats()
    stats.async_count_received({"text": "early"})
    stats.async_restore("received", 613)
    stats.async_restore("received", 614)  # the sensor added again: its own count
    for counter, missing in (("sent", None), ("failed", float("nan"))):
        stats.async_restore(counter, missing)
        stats.async_restore(counter, 7)  # the first call was the restore, even without a value
    assert (stats.sent, stats.failed, stats.received) == (0, 0, 614)
    for not_a_count in ("12", True, -3, float("inf")):
        fresh = MessageStats()
        fresh.async_restore("sent", not_a_count)
        assert fresh.sent == 0, not_a_count
    fresh.async_restore("failed", 2.0)
    assert fresh.failed == 2
