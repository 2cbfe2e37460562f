"""Tests of the integration's set-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState, ConfigSubentryData
from homeassistant.const import CONF_NAME, CONF_WEBHOOK_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.loader import async_get_custom_components
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartwats.const import (
    CONF_INSTANCE_ID,
    CONF_TARGET,
    DOMAIN,
    PROFILE_URL,
    SUBENTRY_RECIPIENT,
)
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.faults import FaultKind

from .conftest import LINKED_PHONE, WEBHOOK_ID


async def test_integration_is_found_as_custom_integration(hass: HomeAssistant) -> None:
    """Home Assistant finds the integration in custom_components/ with its manifest."""
    integration = (await async_get_custom_components(hass))[DOMAIN]
    assert integration.name == "SmartWats (WhatsApp)"
    assert integration.version is not None
    assert integration.dependencies == ["http", "webhook"]


async def test_setup_without_yaml(hass: HomeAssistant) -> None:
    """The integration loads without YAML configuration."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert DOMAIN in hass.config.components


async def test_yaml_configuration_is_reported(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    """Configuration lives in config entries only: YAML under the domain raises a repair issue."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"access_token": "x"}})
    assert issue_registry.async_get_issue("homeassistant", f"config_entry_only_{DOMAIN}")


async def test_setup_entry(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    instance_id: str,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A linked instance sets up: one service device, its entities, the link state known."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator.data.linked
    assert entry.runtime_data.client.instance_id == instance_id

    device = device_registry.async_get_device_by_identifier((DOMAIN, instance_id), entry.entry_id)
    assert device is not None
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.manufacturer == "SmartWats"
    assert device.model == "WhatsApp gateway instance"
    assert device.name == LINKED_PHONE
    assert device.configuration_url == PROFILE_URL

    entities = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert {(e.domain, e.unique_id, e.device_id) for e in entities} == {
        ("binary_sensor", f"{instance_id}_linked", device.id),
        ("event", f"{instance_id}_message", device.id),
        ("image", f"{instance_id}_qr_code", device.id),
        ("sensor", f"{instance_id}_messages_sent", device.id),
        ("sensor", f"{instance_id}_messages_failed", device.id),
        ("sensor", f"{instance_id}_messages_received", device.id),
        ("sensor", f"{instance_id}_last_message", device.id),
        ("sensor", f"{instance_id}_outbox", device.id),
    }


async def test_setup_revoked_token(
    hass: HomeAssistant, emulator: Emulator, access_token: str, mock_config_entry: MockConfigEntry
) -> None:
    """A token the gateway no longer knows fails setup and starts re-authentication."""
    emulator.state.revoke_token(access_token)
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason == (
        "The SmartWats gateway rejected the access token. Enter a new one"
    )
    flows = mock_config_entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    assert len(list(flows)) == 1


async def test_setup_invalidated_instance(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, mock_config_entry: MockConfigEntry
) -> None:
    """An instance the gateway invalidated fails setup for good (no retry, no reauth)."""
    emulator.state.invalidate_instance(instance_id)
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert not list(mock_config_entry.async_get_active_flows(hass, {SOURCE_REAUTH}))


@pytest.mark.usefixtures("no_retry_delay")
@pytest.mark.parametrize("kind", ["http_500", "html", "outage", "reset"])
async def test_setup_temporary_failure(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    kind: FaultKind,
) -> None:
    """A gateway that fails for now makes setup retry later."""
    emulator.state.set_fault(instance_id, Fault(kind))
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason is not None
    assert mock_config_entry.reason.startswith("Cannot reach the SmartWats gateway: ")


async def test_unload_entry(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Unloading stops polling and removes the entities' states."""
    entry = init_integration
    coordinator = entry.runtime_data.coordinator
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.NOT_LOADED
    assert coordinator._unsub_refresh is None  # no refresh left scheduled
    for state in hass.states.async_all():
        assert state.state == STATE_UNAVAILABLE


async def test_remove_entry_turns_webhook_off(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, init_integration: MockConfigEntry
) -> None:
    """Removing the entry turns the gateway's webhook off."""
    await async_process_ha_core_config(hass, {"external_url": "https://ha.example.com"})
    emulator.state.set_webhook(instance_id, "https://ha.example.com/api/webhook/x", enabled=True)

    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()

    instance = emulator.state.instance(instance_id)
    assert not instance.webhook_enabled
    assert instance.webhook_url == f"https://ha.example.com/api/webhook/{WEBHOOK_ID}"
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_remove_entry_without_url(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, init_integration: MockConfigEntry
) -> None:
    """Without a Home Assistant URL the webhook is still turned off (with a placeholder URL)."""
    emulator.state.set_webhook(instance_id, "https://ha.example.com/api/webhook/x", enabled=True)
    with patch(
        "custom_components.smartwats.webhook_url.async_generate_url",
        side_effect=NoURLAvailableError,
    ):
        assert await hass.config_entries.async_remove(init_integration.entry_id)
        await hass.async_block_till_done()

    instance = emulator.state.instance(instance_id)
    assert not instance.webhook_enabled
    assert WEBHOOK_ID not in instance.webhook_url


@pytest.mark.usefixtures("no_retry_delay")
@pytest.mark.parametrize(
    "break_gateway",
    [
        pytest.param(
            lambda emu, iid, _: emu.state.set_fault(iid, Fault("http_500")), id="http_500"
        ),
        pytest.param(lambda emu, iid, _: emu.state.unlink(iid), id="logged_out"),
        pytest.param(lambda emu, _, token: emu.state.revoke_token(token), id="revoked"),
    ],
)
async def test_remove_entry_gateway_fails(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    access_token: str,
    init_integration: MockConfigEntry,
    break_gateway: Callable[[Emulator, str, str], None],
) -> None:
    """Removal succeeds whatever the gateway answers."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    break_gateway(emulator, instance_id, access_token)

    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_remove_entry_without_webhook_id(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, mock_config_entry: MockConfigEntry
) -> None:
    """An entry without a webhook id (never expected) is removed all the same."""
    data = dict(mock_config_entry.data)
    del data[CONF_WEBHOOK_ID]
    entry = MockConfigEntry(domain=DOMAIN, title="x", unique_id=instance_id, data=data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not emulator.state.instance(instance_id).webhook_enabled


# -- migration of old entries ------------------------------------------------------------------


def _old_entry(
    mock_config_entry: MockConfigEntry,
    instance_id: str,
    minor_version: int = 1,
    subentries_data: list[ConfigSubentryData] | None = None,
    **data: Any,
) -> MockConfigEntry:
    """An entry of version 1.``minor_version`` of the instance, spelled ``instance_id``."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=LINKED_PHONE,
        unique_id=instance_id,
        version=1,
        minor_version=minor_version,
        data={**mock_config_entry.data, CONF_INSTANCE_ID: instance_id, **data},
        options=dict(mock_config_entry.options),
        subentries_data=subentries_data,
    )


def _recipient(target: str, name: str = "Mum") -> ConfigSubentryData:
    return ConfigSubentryData(
        data={CONF_NAME: name, CONF_TARGET: target},
        subentry_type=SUBENTRY_RECIPIENT,
        title=name,
        unique_id=target,
    )


async def test_migrate_lower_case_instance_id(
    hass: HomeAssistant,
    *,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A 1.1 entry's lower-case instance id is normalised; its entities and devices follow it."""
    lower = instance_id.lower()
    entry = _old_entry(mock_config_entry, lower, subentries_data=[_recipient("966501234567")])
    entry.add_to_hass(hass)
    [mum] = entry.subentries
    linked = entity_registry.async_get_or_create(
        "binary_sensor", DOMAIN, f"{lower}_linked", config_entry=entry
    )
    unrelated = entity_registry.async_get_or_create(
        "sensor", DOMAIN, f"x{lower}_stray", config_entry=entry
    )
    device = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, lower)}
    )
    chat = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, f"{lower}_966501234567"), ("other", lower)},
    )
    foreign = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("other", "thing")}
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 3)
    assert entry.unique_id == instance_id
    assert entry.data == {**mock_config_entry.data, CONF_INSTANCE_ID: instance_id}
    # Same entity, same device: nothing orphaned, nothing made twice.
    migrated = entity_registry.async_get(linked.entity_id)
    assert migrated is not None
    assert migrated.unique_id == f"{instance_id}_linked"
    assert hass.states.get(linked.entity_id) is not None
    assert hass.states.get(linked.entity_id).state == "on"  # type: ignore[union-attr]
    stray = entity_registry.async_get(unrelated.entity_id)
    assert stray is not None
    assert stray.unique_id == f"x{lower}_stray"
    assert device_registry.async_get_device_by_identifier(
        (DOMAIN, instance_id), entry.entry_id
    ) == device_registry.async_get(device.id)
    # The recipient's device is keyed on its subentry now (1.3), other identifiers kept.
    assert device_registry.async_get(chat.id).identifiers == {  # type: ignore[union-attr]
        (DOMAIN, f"{instance_id}_{mum}"),
        ("other", lower),
    }
    assert device_registry.async_get(foreign.id).identifiers == {("other", "thing")}  # type: ignore[union-attr]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_migration_makes_no_duplicate(
    hass: HomeAssistant,
    *,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When another entry has the normalised id already, the old one keeps its id and warns."""
    mock_config_entry.add_to_hass(hass)
    lower = instance_id.lower()
    entry = _old_entry(mock_config_entry, f" {lower}", webhook_id="f" * 64)
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == 3
    assert entry.unique_id == f" {lower}"
    assert entry.data[CONF_INSTANCE_ID] == f" {lower}"
    assert mock_config_entry.unique_id == instance_id
    assert f"already has instance {instance_id}" in caplog.text
    assert "Unique id of config entry" not in caplog.text  # Home Assistant's own complaint


@pytest.mark.usefixtures("mock_setup_entry")
async def test_migrate_entry_already_normalised(
    hass: HomeAssistant, instance_id: str, mock_config_entry: MockConfigEntry
) -> None:
    """An old entry whose id was typed upper-case only gets the new minor version."""
    entry = _old_entry(mock_config_entry, instance_id)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == 3
    assert entry.unique_id == instance_id
    assert dict(entry.data) == dict(mock_config_entry.data)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_entry_of_a_newer_minor_version(
    hass: HomeAssistant, instance_id: str, mock_config_entry: MockConfigEntry
) -> None:
    """An entry written by a newer minor version (after a downgrade) loads as it is."""
    entry = _old_entry(mock_config_entry, instance_id.lower(), minor_version=4)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == 4
    assert entry.unique_id == instance_id.lower()


@pytest.mark.usefixtures("mock_setup_entry")
async def test_migrate_recipient_devices_to_their_subentries(
    hass: HomeAssistant,
    *,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """1.2 -> 1.3: a recipient's device follows its subentry; an emptied old one goes."""
    entry = _old_entry(
        mock_config_entry,
        instance_id,
        minor_version=2,
        subentries_data=[_recipient("966501234567")],
    )
    entry.add_to_hass(hass)
    [mum] = entry.subentries
    current = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{instance_id}_966501234567")}
    )
    # Left behind when Mum's number changed from 966500000009: nothing on it any more.
    emptied = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{instance_id}_966500000009")}
    )
    # A device of a number no recipient has, with an entity still on it: kept.
    used = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{instance_id}_966500000008")}
    )
    entity_registry.async_get_or_create(
        "notify", DOMAIN, "x", config_entry=entry, device_id=used.id
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.minor_version == 3
    assert device_registry.async_get(current.id).identifiers == {  # type: ignore[union-attr]
        (DOMAIN, f"{instance_id}_{mum}")
    }
    assert device_registry.async_get(emptied.id) is None
    assert device_registry.async_get(used.id) is not None


async def test_new_number_keeps_the_recipients_device(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Reconfiguring a recipient with another number keeps its one device (no empty one left)."""
    entry = _old_entry(
        mock_config_entry,
        instance_id,
        minor_version=3,
        subentries_data=[_recipient("966501234567")],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    [subentry] = entry.subentries.values()
    devices_before = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    hass.config_entries.async_update_subentry(
        entry, subentry, data={CONF_NAME: "Mum", CONF_TARGET: "966557654321"}
    )
    await hass.async_block_till_done()
    devices_after = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert {device.id for device in devices_after} == {device.id for device in devices_before}
    assert len(devices_after) == 2  # the instance and Mum
