"""Tests of the QR code image."""

from __future__ import annotations

import base64
from datetime import timedelta
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import image
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.smartwats.api.responses import qr_image
from custom_components.smartwats.const import QR_WATCH_POLL_INTERVAL, UNLINKED_POLL_INTERVAL
from smartwats_emulator import Emulator, Fault

from .conftest import LINKED_PHONE

ENTITY_ID = f"image.{LINKED_PHONE}_qr_code_for_relinking"
PNG = b"\x89PNG\r\n\x1a\nfake"


@pytest.fixture
def instance_id(fixed_instance_id: str) -> str:
    """The instance has a fixed id, so that snapshots do not change."""
    return fixed_instance_id


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the image platform."""
    return [Platform.IMAGE]


@pytest.fixture(autouse=True)
def fixed_access_token() -> None:
    """Image entities' access tokens (in their state attributes) are random: fix them."""
    with patch.object(image._RND, "getrandbits", return_value=0xC0FFEE):
        yield


def png_of(data_uri: str | None) -> bytes:
    """The PNG bytes of a QR data URI."""
    assert data_uri is not None
    return base64.b64decode(data_uri.partition(",")[2])


def rotate_qr(emulator: Emulator, instance_id: str) -> None:
    """Make the emulator show a new QR at its next answer (as 20 s passing would)."""
    emulator.state.instance(instance_id).qr_generated_at -= emulator.state.qr_rotate_seconds


async def fetch(hass_client: ClientSessionGenerator, entity_id: str = ENTITY_ID) -> bytes:
    """Fetch the image as the frontend does."""
    client = await hass_client()
    response = await client.get(f"/api/image_proxy/{entity_id}")
    assert response.status == 200
    assert response.content_type == "image/png"
    return await response.read()


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Let time pass and run what falls due."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.freeze_time("2026-05-01 12:00:00+00:00")
async def test_entities(
    hass: HomeAssistant,
    *,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    platforms: list[Platform],
) -> None:
    """The image: registry entry and state while a QR is shown."""
    emulator.state.unlink(instance_id)
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.smartwats.PLATFORMS", platforms):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_unavailable_while_linked(
    hass: HomeAssistant, init_integration_platforms: MockConfigEntry
) -> None:
    """A linked instance has no QR: the image is unavailable."""
    assert hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE


async def test_shows_the_current_qr(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    init_integration_platforms: MockConfigEntry,
) -> None:
    """The image is the gateway's current QR, follows its rotation, and goes once linked."""
    coordinator = init_integration_platforms.runtime_data.coordinator
    emulator.state.unlink(instance_id)
    coordinator.async_set_logged_out()
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE  # no QR known yet

    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    first_state = hass.states.get(ENTITY_ID).state
    assert first_state != STATE_UNAVAILABLE
    first = png_of(emulator.qr_data_uri(instance_id))
    assert await fetch(hass_client) == first
    # Being looked at, the QR is probed at the faster pace.
    assert coordinator.update_interval == QR_WATCH_POLL_INTERVAL

    # The gateway rotates the QR: the next probe moves the state, the frontend fetches the new one.
    rotate_qr(emulator, instance_id)
    await tick(hass, freezer, QR_WATCH_POLL_INTERVAL)
    second_state = hass.states.get(ENTITY_ID).state
    assert second_state != first_state
    second = png_of(emulator.qr_data_uri(instance_id))
    assert second != first
    assert await fetch(hass_client) == second

    # A QR that has aged (no probe ran) is fetched again before it is served.
    rotate_qr(emulator, instance_id)
    freezer.tick(timedelta(seconds=16))
    third = await fetch(hass_client)
    assert third == png_of(emulator.qr_data_uri(instance_id))
    assert third != second
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(ENTITY_ID).state != second_state

    # Linked again: no QR any more.
    emulator.state.link(instance_id)
    await tick(hass, freezer, QR_WATCH_POLL_INTERVAL)
    assert hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE


async def test_slow_gateway_serves_the_qr_it_has(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    emulator: Emulator,
    instance_id: str,
    init_integration_platforms: MockConfigEntry,
) -> None:
    """A slow refresh does not hold the picture up: the QR at hand is served meanwhile."""
    coordinator = init_integration_platforms.runtime_data.coordinator
    emulator.state.unlink(instance_id)
    coordinator.async_set_logged_out()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    first = png_of(emulator.qr_data_uri(instance_id))

    rotate_qr(emulator, instance_id)
    emulator.state.set_fault(instance_id, Fault("latency", count=1, delay=0.3))
    with patch("custom_components.smartwats.image.QR_FETCH_WAIT", timedelta(seconds=0.01)):
        assert await fetch(hass_client) == first
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.data.qr_code == emulator.qr_data_uri(instance_id)
    assert await fetch(hass_client) == png_of(coordinator.data.qr_code)


JPEG = b"\xff\xd8\xfffake"


@pytest.mark.parametrize(
    ("data_uri", "expected"),
    [
        ("data:image/png;base64," + base64.b64encode(PNG).decode(), ("image/png", PNG)),
        ("data:image/jpeg;base64," + base64.b64encode(JPEG).decode(), ("image/jpeg", JPEG)),
        # The type is read from the bytes, not from the label.
        ("data:image/jpeg;base64," + base64.b64encode(PNG).decode(), ("image/png", PNG)),
        ("data:image/png;base64,not base64!", None),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a").decode(), None),
    ],
)
def test_qr_image(data_uri: str, expected: tuple[str, bytes] | None) -> None:
    """The image serves the QR's bytes only when they are a PNG or JPEG image."""
    assert qr_image(data_uri) == expected
