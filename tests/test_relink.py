"""Relinking a loaded entry whose session died, also while the gateway still calls it linked."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartwats.const import CONF_PHONE
from smartwats_emulator import Emulator, Fault

from .flow_helpers import PHONE, choose, configure, qr_markdown

pytestmark = pytest.mark.usefixtures("no_retry_delay")


async def test_relink_of_a_stale_session_by_qr_without_reload(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
) -> None:
    """The gateway calls a dead session linked: the relink logs it out for a fresh QR.

    The loaded entry is told the session is back; nothing reloads it.
    """
    entry = init_integration
    emulator.state.set_fault(instance_id, Fault("stale_session"))
    with patch("custom_components.smartwats.async_setup_entry") as setup:
        result = await entry.start_reauth_flow(hass)
        # A "linked" from the QR call is not believed: the session is dead.
        assert result["type"] is FlowResultType.MENU
        assert result["step_id"] == "relink"

        result = await choose(hass, result, "qr")
        assert result["step_id"] == "qr"
        assert [r.endpoint for r in emulator.requests].count("logout") == 1
        assert result["description_placeholders"]["qr_code"] == qr_markdown(emulator, instance_id)

        emulator.state.link(instance_id)
        result = await configure(hass, result, {})
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
    setup.assert_not_called()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator.data.linked
    assert not list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))


async def test_relink_of_a_stale_session_by_pair_code(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
    fast_polling: None,
) -> None:
    """The pair code of a dead session that the gateway calls linked: logged out first."""
    emulator.state.set_fault(instance_id, Fault("stale_session"))
    result = await init_integration.start_reauth_flow(hass)
    result = await choose(hass, result, "pair_code")
    result = await configure(hass, result, {CONF_PHONE: "050 123 4567"})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert [r.endpoint for r in emulator.requests].count("logout") == 1

    emulator.state.link(instance_id)
    await hass.async_block_till_done()
    result = await configure(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_integration.data[CONF_PHONE] == PHONE
