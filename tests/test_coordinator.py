"""Tests of the link-state coordinator: polling pace, logged-out sessions, failures."""

from __future__ import annotations

from datetime import timedelta
import logging
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.api import LinkStatus
from custom_components.smartwats.const import (
    DOMAIN,
    LINKED_POLL_INTERVAL,
    QR_WATCH_POLL_INTERVAL,
    QR_WATCH_WINDOW,
    UNLINKED_POLL_INTERVAL,
)
from custom_components.smartwats.coordinator import SmartwatsLinkCoordinator
from smartwats_emulator import Emulator, Fault

from .conftest import LINKED_PHONE, WEBHOOK_ID

LINKED_ENTITY = f"binary_sensor.{LINKED_PHONE}_linked"
LOGGED_OUT_LOG = "is not linked any more"
LINKED_AGAIN_LOG = "is linked again"


def coordinator_of(entry: MockConfigEntry) -> SmartwatsLinkCoordinator:
    """The entry's coordinator."""
    return entry.runtime_data.coordinator


def get_qrcode_calls(emulator: Emulator) -> int:
    """How many times the gateway was asked for a QR code (the link-state probe)."""
    return sum(1 for request in emulator.requests if request.endpoint == "get_qrcode")


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Let time pass and run what falls due."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def relogin_issue(issue_registry: ir.IssueRegistry, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The one repair of a logged-out session: Home Assistant's re-authentication issue."""
    return issue_registry.async_get_issue(
        HOMEASSISTANT_DOMAIN, f"config_entry_reauth_{DOMAIN}_{entry.entry_id}"
    )


def reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> int:
    """How many re-authentication flows of the entry are in progress."""
    return len(list(entry.async_get_active_flows(hass, {SOURCE_REAUTH})))


def log_count(caplog: pytest.LogCaptureFixture, text: str) -> int:
    """How many records of the integration's logger contain ``text``."""
    return sum(
        1
        for record in caplog.records
        if record.name == "custom_components.smartwats" and text in record.getMessage()
    )


async def test_polls_every_5_minutes_while_linked(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    init_integration: MockConfigEntry,
) -> None:
    """A linked instance is probed every 5 minutes, not more often."""
    coordinator = coordinator_of(init_integration)
    assert coordinator.update_interval == LINKED_POLL_INTERVAL
    calls = get_qrcode_calls(emulator)

    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    assert get_qrcode_calls(emulator) == calls
    await tick(hass, freezer, LINKED_POLL_INTERVAL - UNLINKED_POLL_INTERVAL)
    assert get_qrcode_calls(emulator) == calls + 1
    assert coordinator.data.linked


async def test_session_logged_out_from_phone(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The phone logs out: seen by the next probe, kept until linked again, logged once each way."""
    caplog.set_level(logging.INFO)
    entry = init_integration
    coordinator = coordinator_of(entry)
    emulator.state.unlink(instance_id)

    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    assert coordinator.data.status is LinkStatus.LOGGED_OUT
    assert coordinator.data.qr_code == emulator.qr_data_uri(instance_id)
    assert coordinator.update_interval == UNLINKED_POLL_INTERVAL
    assert hass.states.get(LINKED_ENTITY).state == STATE_OFF
    issue = relogin_issue(issue_registry, entry)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"name": LINKED_PHONE}
    # One problem, one repair: no issue of the integration's own besides.
    assert not [i for (domain, _), i in issue_registry.issues.items() if domain == DOMAIN]
    assert reauth_flows(hass, entry) == 1

    # The gateway shows a QR while the phone is away: still logged out, probed every 30 s.
    calls = get_qrcode_calls(emulator)
    for _ in range(3):
        await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
        assert coordinator.data.status is LinkStatus.LOGGED_OUT
        assert coordinator.data.qr_code is not None
    assert get_qrcode_calls(emulator) >= calls + 3
    assert relogin_issue(issue_registry, entry) is not None
    assert log_count(caplog, LOGGED_OUT_LOG) == 1

    emulator.state.link(instance_id)
    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    assert coordinator.data.linked
    assert coordinator.data.qr_code is None
    assert coordinator.update_interval == LINKED_POLL_INTERVAL
    assert hass.states.get(LINKED_ENTITY).state == STATE_ON
    assert relogin_issue(issue_registry, entry) is None

    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    assert log_count(caplog, LOGGED_OUT_LOG) == 1
    assert log_count(caplog, LINKED_AGAIN_LOG) == 1


async def test_set_logged_out_and_linked(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Whatever reveals the state sets it at once; the probes keep "logged out" until linked."""
    caplog.set_level(logging.INFO)
    entry = init_integration
    coordinator = coordinator_of(entry)
    emulator.state.unlink(instance_id)

    coordinator.async_set_logged_out()  # a send was answered "relogin required"
    await hass.async_block_till_done()
    assert coordinator.data.status is LinkStatus.LOGGED_OUT
    assert coordinator.data.qr_code is None
    assert coordinator.update_interval == UNLINKED_POLL_INTERVAL
    assert hass.states.get(LINKED_ENTITY).state == STATE_OFF
    assert relogin_issue(issue_registry, entry) is not None
    assert reauth_flows(hass, entry) == 1

    coordinator.async_set_logged_out()  # again: nothing new
    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    assert coordinator.data.status is LinkStatus.LOGGED_OUT
    assert coordinator.data.qr_code == emulator.qr_data_uri(instance_id)
    assert log_count(caplog, LOGGED_OUT_LOG) == 1

    emulator.state.link(instance_id)
    coordinator.async_set_linked()  # an inbound message arrived
    await hass.async_block_till_done()
    assert coordinator.data.linked
    assert coordinator.update_interval == LINKED_POLL_INTERVAL
    assert hass.states.get(LINKED_ENTITY).state == STATE_ON
    assert relogin_issue(issue_registry, entry) is None

    coordinator.async_set_linked()  # again: nothing new
    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    assert coordinator.data.linked
    assert log_count(caplog, LINKED_AGAIN_LOG) == 1


async def test_setup_while_logged_out(
    hass: HomeAssistant,
    *,
    caplog: pytest.LogCaptureFixture,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An entry whose instance is not linked any more sets up logged out (once-only log)."""
    caplog.set_level(logging.INFO)
    emulator.state.unlink(instance_id)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    coordinator = coordinator_of(mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert coordinator.data.status is LinkStatus.LOGGED_OUT
    assert coordinator.data.qr_code == emulator.qr_data_uri(instance_id)
    assert coordinator.update_interval == UNLINKED_POLL_INTERVAL
    assert relogin_issue(issue_registry, mock_config_entry) is not None
    assert log_count(caplog, LOGGED_OUT_LOG) == 1

    # A reload (options changed, say) while still logged out says nothing new.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert log_count(caplog, LOGGED_OUT_LOG) == 1
    assert relogin_issue(issue_registry, mock_config_entry) is not None

    # Linked again (the relink flow reloads the entry): the issue goes, the return is logged.
    emulator.state.link(instance_id)
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert coordinator_of(mock_config_entry).data.linked
    assert relogin_issue(issue_registry, mock_config_entry) is None
    assert log_count(caplog, LINKED_AGAIN_LOG) == 1


async def test_qr_watched_polls_faster(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
) -> None:
    """While the QR is being looked at, it is probed every 10 s; a minute later, every 30 s."""
    coordinator = coordinator_of(init_integration)
    await coordinator.async_qr_viewed()  # linked: there is no QR to watch
    assert coordinator.update_interval == LINKED_POLL_INTERVAL

    emulator.state.unlink(instance_id)
    coordinator.async_set_logged_out()
    await hass.async_block_till_done()
    calls = get_qrcode_calls(emulator)

    await coordinator.async_qr_viewed()  # no QR yet: fetched at once, faster pace from now
    await hass.async_block_till_done()
    assert get_qrcode_calls(emulator) == calls + 1
    assert coordinator.data.qr_code is not None
    assert coordinator.update_interval == QR_WATCH_POLL_INTERVAL

    await coordinator.async_qr_viewed()  # fresh and already fast: no probe
    assert get_qrcode_calls(emulator) == calls + 1

    await tick(hass, freezer, QR_WATCH_POLL_INTERVAL)
    assert get_qrcode_calls(emulator) == calls + 2
    assert coordinator.update_interval == QR_WATCH_POLL_INTERVAL

    # Nobody looks any more: back to the slow pace once the window has passed.
    elapsed = QR_WATCH_POLL_INTERVAL
    while elapsed < QR_WATCH_WINDOW:
        await tick(hass, freezer, QR_WATCH_POLL_INTERVAL)
        elapsed += QR_WATCH_POLL_INTERVAL
    assert coordinator.update_interval == UNLINKED_POLL_INTERVAL


@pytest.mark.usefixtures("no_retry_delay")
async def test_gateway_failure_and_recovery(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
) -> None:
    """A failing gateway makes the entities unavailable (logged once) until it answers again."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    assert hass.states.get(LINKED_ENTITY).state == STATE_UNAVAILABLE
    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    errors = [
        r
        for r in caplog.records
        if r.name == "custom_components.smartwats" and r.levelno >= logging.WARNING
    ]
    assert len(errors) == 1
    assert "Cannot reach the SmartWats gateway" in errors[0].getMessage()

    emulator.state.set_fault(instance_id, None)
    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    assert hass.states.get(LINKED_ENTITY).state == STATE_ON
    assert "recovered" in caplog.text


async def test_token_revoked_while_running(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    access_token: str,
    init_integration: MockConfigEntry,
) -> None:
    """A token revoked while the entry runs starts re-authentication."""
    emulator.state.revoke_token(access_token)
    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    assert hass.states.get(LINKED_ENTITY).state == STATE_UNAVAILABLE
    assert reauth_flows(hass, init_integration) == 1


async def test_instance_invalidated_while_running(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
) -> None:
    """An instance invalidated while the entry runs makes its entities unavailable."""
    emulator.state.invalidate_instance(instance_id)
    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    assert hass.states.get(LINKED_ENTITY).state == STATE_UNAVAILABLE
    assert reauth_flows(hass, init_integration) == 0


@pytest.mark.usefixtures("no_retry_delay")
async def test_stale_session_stays_logged_out_without_reloads(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Sends say "relogin required" while the QR call says linked: no flapping, no reloads.

    The entry stays logged out (logged once, one relink flow) until real evidence of a live
    session: here the next probe, whose "linked" is then confirmed by listing the groups.
    """
    caplog.set_level(logging.INFO)
    entry = init_integration
    coordinator = coordinator_of(entry)
    emulator.state.set_fault(instance_id, Fault("stale_session"))
    with patch("custom_components.smartwats.async_setup_entry") as setup:
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                DOMAIN,
                "send_text",
                # Now or fail: the outbox would queue it (tests/test_outbox.py).
                {"target": "966501234567", "message": "Door open", "valid_for": 0},
                blocking=True,
            )
        assert err.value.translation_key == "not_linked"
        await hass.async_block_till_done()
        for _ in range(60):  # half an hour of probes every 30 s
            await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
            assert coordinator.data.status is LinkStatus.LOGGED_OUT
        setup.assert_not_called()
    assert hass.states.get(LINKED_ENTITY).state == STATE_OFF
    assert relogin_issue(issue_registry, entry) is not None
    assert reauth_flows(hass, entry) == 1
    assert log_count(caplog, LOGGED_OUT_LOG) == 1

    # The gateway's session works again (say, the phone relinked through another client).
    emulator.state.set_fault(instance_id, None)
    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    assert coordinator.data.linked
    assert relogin_issue(issue_registry, entry) is None
    # The relink flow started when the session went has nothing left to do.
    assert reauth_flows(hass, entry) == 0
    assert log_count(caplog, LINKED_AGAIN_LOG) == 1
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("evidence", ["send", "get_groups", "inbound"])
async def test_evidence_of_a_live_session_ends_logged_out_at_once(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    *,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
    evidence: str,
) -> None:
    """A send or a group listing that works, or an inbound message, shows the session is back."""
    coordinator = coordinator_of(init_integration)
    coordinator.async_set_logged_out()
    assert not coordinator.data.linked
    if evidence == "send":
        await hass.services.async_call(
            DOMAIN, "send_text", {"target": "966501234567", "message": "hi"}, blocking=True
        )
    elif evidence == "get_groups":
        await hass.services.async_call(
            DOMAIN, "get_groups", {}, blocking=True, return_response=True
        )
    else:
        client = await hass_client_no_auth()
        message = {
            "key": {"remoteJid": "966501234567@s.whatsapp.net", "id": "IN1"},
            "message": {"conversation": "hello"},
        }
        body = {
            "instance_id": instance_id,
            "data": {"event": "messages.upsert", "data": {"messages": [message]}},
        }
        assert (await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)).status == 200
    await hass.async_block_till_done()
    assert coordinator.data.linked
    assert hass.states.get(LINKED_ENTITY).state == STATE_ON


@pytest.mark.usefixtures("no_retry_delay")
async def test_a_probe_that_fails_is_retried_sooner(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
) -> None:
    """A gateway hiccup at the 5-minute probe is looked at again after 30 s, not 5 minutes."""
    coordinator = coordinator_of(init_integration)
    emulator.state.set_fault(instance_id, Fault("outage", count=4))
    await tick(hass, freezer, LINKED_POLL_INTERVAL)
    assert not coordinator.reachable
    assert coordinator.update_interval == UNLINKED_POLL_INTERVAL
    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    assert coordinator.reachable
    assert coordinator.data.linked
    assert coordinator.update_interval == LINKED_POLL_INTERVAL
