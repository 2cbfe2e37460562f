"""Tests of the config entry diagnostics."""

from __future__ import annotations

from datetime import datetime
import json

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.smartwats.const import CONF_PHONE, CONF_TARGET, SUBENTRY_RECIPIENT
from smartwats_emulator import Emulator

from .conftest import LINKED_PHONE, WEBHOOK_ID

RECIPIENT = "966501234567"


@pytest.fixture
def instance_id(fixed_instance_id: str) -> str:
    """The instance has a fixed id (it is redacted, but keep the snapshot stable anyway)."""
    return fixed_instance_id


@pytest.fixture
async def entry(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry with the linked phone and a recipient, set up."""
    entry = MockConfigEntry(
        domain=mock_config_entry.domain,
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        version=1,
        data={**mock_config_entry.data, CONF_PHONE: LINKED_PHONE},
        options=mock_config_entry.options,
        subentries_data=[
            ConfigSubentryData(
                data={CONF_NAME: "Mum", CONF_TARGET: RECIPIENT},
                subentry_type=SUBENTRY_RECIPIENT,
                title="Mum",
                unique_id=RECIPIENT,
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def assert_no_secrets(result: object, *secrets: str) -> None:
    """None of the secrets appears anywhere in the diagnostics."""
    text = json.dumps(result)
    for secret in secrets:
        assert secret not in text


async def test_diagnostics(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    access_token: str,
    instance_id: str,
    entry: MockConfigEntry,
) -> None:
    """Diagnostics of a linked entry: everything secret or personal is redacted."""
    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert result == snapshot(exclude=props("base_url", "last_sync_at"))
    # The webhook's state: the kind of URL (never the URL) and when the gateway last took it.
    assert result["webhook"]["url_kind"] == "internal"
    assert result["webhook"]["last_sync"] == "ok"
    assert datetime.fromisoformat(result["webhook"]["last_sync_at"])
    assert_no_secrets(result, access_token, WEBHOOK_ID, LINKED_PHONE, RECIPIENT, instance_id)


async def test_diagnostics_logged_out(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    entry: MockConfigEntry,
) -> None:
    """The QR code (which would link a phone) is redacted too."""
    emulator.state.unlink(instance_id)
    await entry.runtime_data.coordinator.async_refresh()
    qr_code = entry.runtime_data.coordinator.data.qr_code
    assert qr_code is not None

    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert result["link_state"] == {
        "status": "logged_out",
        "linked": False,
        "qr_code": "**REDACTED**",
    }
    assert_no_secrets(result, access_token, WEBHOOK_ID, LINKED_PHONE, qr_code.partition(",")[2])
