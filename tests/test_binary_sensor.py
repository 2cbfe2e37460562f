"""Tests of the "linked" binary sensor."""

from __future__ import annotations

from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from smartwats_emulator import Emulator

from .conftest import LINKED_PHONE

ENTITY_ID = f"binary_sensor.{LINKED_PHONE}_linked"


@pytest.fixture
def instance_id(fixed_instance_id: str) -> str:
    """The instance has a fixed id, so that snapshots do not change."""
    return fixed_instance_id


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the binary sensor platform."""
    return [Platform.BINARY_SENSOR]


async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration_platforms: MockConfigEntry,
) -> None:
    """The binary sensor: registry entry and state of a linked instance."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration_platforms.entry_id)


async def test_follows_the_link_state(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    init_integration_platforms: MockConfigEntry,
) -> None:
    """Off while logged out, on again once linked."""
    coordinator = init_integration_platforms.runtime_data.coordinator
    assert hass.states.get(ENTITY_ID).state == STATE_ON

    emulator.state.unlink(instance_id)
    coordinator.async_set_logged_out()
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY_ID).state == STATE_OFF

    emulator.state.link(instance_id)
    coordinator.async_set_linked()
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY_ID).state == STATE_ON
