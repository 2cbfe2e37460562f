"""Tests of the message sensors: counters that survive restarts and the last message."""

from __future__ import annotations

from homeassistant.components.sensor import SensorExtraStoredData
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.smartwats.const import CONF_TARGET, DOMAIN, SUBENTRY_RECIPIENT
from custom_components.smartwats.entity import recipient_device_info
from custom_components.smartwats.stats import MessageStats

from .conftest import LINKED_PHONE

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
    instance_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, instance_id), entry.entry_id
    )
    assert info["via_device_id"] == instance_device.id
    assert info["identifiers"] == {(DOMAIN, f"{instance_id}_966501234567")}
    assert info["name"] == "Mum"

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
