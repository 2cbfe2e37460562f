"""Tests of the repair flow of a session the phone logged out."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.const import DOMAIN
from smartwats_emulator import Emulator

from .conftest import LINKED_PHONE

FIX_URL = "/api/repairs/issues/fix"


@pytest.fixture(autouse=True)
async def setup_repairs(hass: HomeAssistant) -> None:
    """The repairs integration, whose HTTP API the frontend uses."""
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})


async def start_fix(
    hass_client: ClientSessionGenerator, issue_id: str
) -> tuple[Any, dict[str, Any]]:
    """Open an issue's fix flow as the frontend does; return the client and the first step."""
    client = await hass_client()
    response = await client.post(FIX_URL, json={"handler": DOMAIN, "issue_id": issue_id})
    assert response.status == HTTPStatus.OK
    return client, await response.json()


def abort_reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Abort the entry's re-authentication flows (as a user closing the dialog)."""
    for flow in entry.async_get_active_flows(hass, {SOURCE_REAUTH}):
        hass.config_entries.flow.async_abort(flow["flow_id"])


async def test_fix_flow_starts_the_relink(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The fix flow explains, then opens the entry's re-authentication (relink) flow."""
    entry = init_integration
    emulator.logout_from_phone(instance_id)
    entry.runtime_data.coordinator.async_set_logged_out()
    await hass.async_block_till_done()
    issue_id = f"relogin_required_{entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    # The user dismissed the reauth flow that was started when the session went.
    abort_reauth_flows(hass, entry)
    assert not list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))

    client, result = await start_fix(hass_client, issue_id)
    assert result["type"] == "form"
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {"name": LINKED_PHONE}

    response = await client.post(f"{FIX_URL}/{result['flow_id']}", json={})
    assert response.status == HTTPStatus.OK
    result = await response.json()
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert len(list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))) == 1
    # Finishing the repair flow closes the issue, but the session is not back yet: the next
    # probe opens it again (until the phone has linked).
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await entry.runtime_data.coordinator.async_refresh()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    emulator.link(instance_id)
    await entry.runtime_data.coordinator.async_refresh()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("data", [{"entry_id": "no_such_entry"}, None])
async def test_fix_flow_without_entry(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    data: dict[str, str] | None,
) -> None:
    """An issue whose entry is gone has nothing to fix."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        "relogin_required_gone",
        data=data,
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="relogin_required",
        translation_placeholders={"name": "x"},
    )
    _, result = await start_fix(hass_client, "relogin_required_gone")
    assert result["type"] == "abort"
    assert result["reason"] == "entry_not_found"
