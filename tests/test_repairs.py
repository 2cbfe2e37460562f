"""One problem, one repair: a logged-out session has only Home Assistant's reauth repair.

Its flow is the relink: the relink menu, the QR step, the pair-code step.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartwats.const import DOMAIN
from custom_components.smartwats.repairs import relogin_issue_id
from smartwats_emulator import Emulator

from .conftest import LINKED_PHONE, reauth_issue


async def test_one_repair_that_relinks(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Logged out: one repair; its flow shows the relink menu and the QR; linked: it is gone."""
    entry = init_integration
    await hass.services.async_call(DOMAIN, "logout", {}, blocking=True)
    await hass.async_block_till_done()
    issue = reauth_issue(hass, entry)
    assert issue is not None
    assert issue.translation_placeholders == {"name": LINKED_PHONE}
    assert not [key for key in issue_registry.issues if key[0] == DOMAIN]

    flow_id = issue.data["flow_id"]
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["flow_id"] == flow_id
    assert flow["step_id"] == "relink"
    result = await hass.config_entries.flow.async_configure(flow_id, {"next_step_id": "qr"})
    assert result["step_id"] == "qr"
    assert emulator.qr_data_uri(instance_id) in result["description_placeholders"]["qr_code"]

    emulator.state.link(instance_id)
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert reauth_issue(hass, entry) is None
    assert entry.runtime_data.coordinator.data.linked


async def test_issue_of_earlier_releases_is_deleted(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The "relogin required" issue earlier releases raised goes when the entry sets up."""
    mock_config_entry.add_to_hass(hass)
    ir.async_create_issue(
        hass,
        DOMAIN,
        relogin_issue_id(mock_config_entry),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="relogin_required",
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, relogin_issue_id(mock_config_entry)) is None
