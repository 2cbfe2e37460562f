"""Tests of the notify entities: one per recipient, on the recipient's device."""

from __future__ import annotations

from types import MappingProxyType
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.notify import ATTR_MESSAGE, ATTR_TITLE, SERVICE_SEND_MESSAGE
from homeassistant.components.notify.const import DOMAIN as NOTIFY_DOMAIN
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.smartwats.const import (
    CONF_INSTANCE_ID,
    DOMAIN,
    EVENT_MESSAGE_SENT,
    LINKED_POLL_INTERVAL,
)
from custom_components.smartwats.notify import format_message
from smartwats_emulator import Emulator, Fault

from .conftest import RECIPIENT_MUM

FAMILY_GROUP = "120363000000000001@g.us"
MUM = "notify.mum"
FAMILY = "notify.family"


@pytest.fixture
def instance_id(fixed_instance_id: str) -> str:
    """A fixed instance id, so that snapshots do not change."""
    return fixed_instance_id


@pytest.fixture
def group_id(emulator: Emulator, instance_id: str) -> str:
    """The phone's "Family" group, with a fixed id so that snapshots do not change."""
    group = emulator.state.instance(instance_id).groups[0]
    group.id = FAMILY_GROUP
    return group.id


@pytest.fixture
def entry(notify_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry with its recipients, notify entities and no pause between sends."""
    return notify_entry


async def test_entities(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """One entity per recipient subentry, each on its recipient's device under the instance."""
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    instance = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.data[CONF_INSTANCE_ID]), config_entry_id=entry.entry_id
    )
    for entity_id, subentry in zip((MUM, FAMILY), entry.subentries.values(), strict=True):
        registered = entity_registry.async_get(entity_id)
        assert registered.config_subentry_id == subentry.subentry_id
        device = device_registry.async_get(registered.device_id)
        assert device.name == subentry.title
        assert device.via_device_id == instance.id


async def test_only_recipients_get_entities(
    hass: HomeAssistant, recipients_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Subentries of other types (none exist yet) get no notify entity."""
    recipients_entry.add_to_hass(hass)
    hass.config_entries.async_add_subentry(
        recipients_entry,
        ConfigSubentry(data=MappingProxyType({}), subentry_type="other", title="X", unique_id="x"),
    )
    with patch("custom_components.smartwats.PLATFORMS", [Platform.NOTIFY]):
        assert await hass.config_entries.async_setup(recipients_entry.entry_id)
        await hass.async_block_till_done()
    entities = er.async_entries_for_config_entry(entity_registry, recipients_entry.entry_id)
    assert sorted(entity.entity_id for entity in entities) == [FAMILY, MUM]


async def test_send_message(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """The message goes as text; a title becomes a bold first line; groups use their endpoint."""
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await hass.services.async_call(
        NOTIFY_DOMAIN,
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: MUM, ATTR_MESSAGE: "The door is open", ATTR_TITLE: "Alarm"},
        blocking=True,
    )
    await hass.services.async_call(
        NOTIFY_DOMAIN,
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: FAMILY, ATTR_MESSAGE: "Dinner"},
        blocking=True,
    )
    sent = [r for r in emulator.requests if r.endpoint in ("send", "send_group")]
    assert [(r.endpoint, r.json) for r in sent] == [
        ("send", {"number": RECIPIENT_MUM, "type": "text", "message": "*Alarm*\nThe door is open"}),
        (
            "send_group",
            {"group_id": FAMILY_GROUP, "type": "text", "message": "Dinner"},
        ),
    ]
    assert [event.data["target"] for event in events] == [
        RECIPIENT_MUM,
        FAMILY_GROUP,
    ]
    assert hass.states.get(MUM).state != "unknown"


async def test_send_message_failure(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """A failure is raised as the translated error (the phone left the group)."""
    emulator.state.instance(instance_id).groups.pop(0)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            NOTIFY_DOMAIN,
            SERVICE_SEND_MESSAGE,
            {ATTR_ENTITY_ID: FAMILY, ATTR_MESSAGE: "Dinner"},
            blocking=True,
        )
    assert err.value.translation_key == "rejected"
    assert entry.runtime_data.stats.failed == 1


@pytest.mark.parametrize(
    ("title", "expected"),
    [(None, "Hi"), ("", "Hi"), ("  ", "Hi"), (" News ", "*News*\nHi")],
)
def test_format_message(title: str | None, expected: str) -> None:
    """Only a real title makes a bold first line."""
    assert format_message("Hi", title) == expected


@pytest.mark.usefixtures("no_retry_delay")
async def test_available_after_a_failed_probe(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
) -> None:
    """A failed link probe (a gateway hiccup) never makes notify.send_message skip an alert."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    freezer.tick(LINKED_POLL_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not entry.runtime_data.coordinator.reachable
    assert hass.states.get(MUM).state != STATE_UNAVAILABLE

    emulator.state.set_fault(instance_id, None)
    await hass.services.async_call(
        NOTIFY_DOMAIN,
        SERVICE_SEND_MESSAGE,
        {ATTR_ENTITY_ID: MUM, ATTR_MESSAGE: "Door open"},
        blocking=True,
    )
    assert [sent.payload["message"] for sent in emulator.state.instance(instance_id).sent] == [
        "Door open"
    ]
    # The send proved the session alive: the link state is back at once, not at the next probe.
    assert entry.runtime_data.coordinator.reachable
