"""Tests of the webhook's URL at the gateway: set_webhook, Home Assistant Cloud, the repair."""

from __future__ import annotations

from collections.abc import Generator
import json
import logging
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import cloud
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.const import (
    CONF_ALLOWED_EVENTS,
    CONF_CLOUDHOOK_URL,
    DOMAIN,
    WEBHOOK_RETRY_INTERVAL,
)
from custom_components.smartwats.repairs import webhook_issue_id
from custom_components.smartwats.urls import async_reachable_base_url
from smartwats_emulator import Emulator, Fault

from .conftest import WEBHOOK_ID

DEFAULT_URL = f"http://10.10.10.10:8123/api/webhook/{WEBHOOK_ID}"  # the test instance's API
CLOUDHOOK = "https://hooks.nabu.casa/gAAAAABnot-a-real-cloudhook"
DOMAIN_LOGGER = "custom_components.smartwats"
PUBLIC_GATEWAY = "https://app.smartwats.com/api/"


def set_webhook_forms(emulator: Emulator) -> list[dict[str, str]]:
    """The forms of every set_webhook call the gateway received."""
    return [r.form for r in emulator.requests if r.endpoint == "set_webhook"]


def form(url: str, events: str = "messages.upsert,received_message,messages.update") -> dict:
    """A set_webhook form turning the webhook on."""
    return {"webhook_url": url, "enable": "true", "allowed_events": events}


@pytest.fixture
def public_gateway() -> Generator[None]:
    """The gateway is treated as the real one on the internet (it needs a public HTTPS URL).

    The emulator still answers; only the choice of Home Assistant's URL changes.
    """

    def reachable(hass: HomeAssistant, _gateway: str, *, allow_cloud: bool) -> str | None:
        return async_reachable_base_url(hass, PUBLIC_GATEWAY, allow_cloud=allow_cloud)

    with patch("custom_components.smartwats.webhook_url.async_reachable_base_url", reachable):
        yield


@pytest.fixture
def cloud_mock(hass: HomeAssistant) -> Generator[dict[str, Any]]:
    """A user logged in to Home Assistant Cloud (only the Cloud functions are mocked)."""
    hass.config.components.add("cloud")
    with (
        patch.object(cloud, "async_active_subscription", return_value=True),
        patch.object(cloud, "async_create_cloudhook", AsyncMock(return_value=CLOUDHOOK)) as create,
        patch.object(cloud, "async_delete_cloudhook", AsyncMock()) as delete,
    ):
        yield {"create": create, "delete": delete}


# -- set_webhook -----------------------------------------------------------------------------------


async def test_set_webhook_at_setup(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, init_integration: MockConfigEntry
) -> None:
    """The gateway gets the URL, enable=true and the entry's events."""
    assert set_webhook_forms(emulator) == [form(DEFAULT_URL)]
    instance = emulator.state.instance(instance_id)
    assert instance.webhook_url == DEFAULT_URL
    assert instance.webhook_enabled
    assert instance.allowed_events == "messages.upsert,received_message,messages.update"
    webhook = init_integration.runtime_data.webhook
    assert webhook is not None
    assert webhook.url == DEFAULT_URL


async def test_allowed_events_of_the_entry(
    hass: HomeAssistant, emulator: Emulator, mock_config_entry: MockConfigEntry
) -> None:
    """The events the options name are sent, in their order; a string is accepted too."""
    events = ["messages.upsert", "contacts.upsert", "new_subscriber"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={**mock_config_entry.options, CONF_ALLOWED_EVENTS: events}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == [form(DEFAULT_URL, ",".join(events))]

    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={**mock_config_entry.options, CONF_ALLOWED_EVENTS: "received_message, capturer"},
    )
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator)[-1] == form(DEFAULT_URL, "received_message,capturer")


async def test_not_sent_again_when_nothing_changed(
    hass: HomeAssistant, emulator: Emulator, init_integration: MockConfigEntry
) -> None:
    """A change of Home Assistant's configuration that leaves the URL alone sends nothing."""
    await hass.config.async_update(location_name="Elsewhere")
    await hass.async_block_till_done()
    webhook = init_integration.runtime_data.webhook
    assert webhook is not None
    await webhook.async_sync()
    assert len(set_webhook_forms(emulator)) == 1


async def test_sent_again_when_the_url_changes(
    hass: HomeAssistant, emulator: Emulator, init_integration: MockConfigEntry
) -> None:
    """A new internal URL (the gateway here is local) is given to the gateway."""
    await hass.config.async_update(internal_url="http://192.168.1.20:8123")
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == [
        form(DEFAULT_URL),
        form(f"http://192.168.1.20:8123/api/webhook/{WEBHOOK_ID}"),
    ]


async def test_sent_again_after_a_relink(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, init_integration: MockConfigEntry
) -> None:
    """After the phone logged out and the instance is linked again, the webhook is given again."""
    coordinator = init_integration.runtime_data.coordinator
    emulator.state.unlink(instance_id)
    coordinator.async_set_logged_out()
    await hass.async_block_till_done()
    emulator.state.link(instance_id)
    coordinator.async_set_linked()
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == [form(DEFAULT_URL), form(DEFAULT_URL)]


async def test_not_sent_while_logged_out(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, mock_config_entry: MockConfigEntry
) -> None:
    """An entry set up while logged out gives its webhook once linked."""
    emulator.state.unlink(instance_id)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == []

    emulator.state.link(instance_id)
    mock_config_entry.runtime_data.coordinator.async_set_linked()
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == [form(DEFAULT_URL)]


@pytest.mark.usefixtures("no_retry_delay")
async def test_retried_after_a_failure(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing gateway is asked again a minute later."""
    emulator.state.set_fault(instance_id, Fault("http_500"))
    await hass.config.async_update(internal_url="http://192.168.1.20:8123")
    await hass.async_block_till_done()
    assert "Could not give the webhook of" in caplog.text
    assert WEBHOOK_ID not in caplog.text.replace(f"/api/webhook/{WEBHOOK_ID}", "")
    new_url = f"http://192.168.1.20:8123/api/webhook/{WEBHOOK_ID}"
    assert emulator.state.instance(instance_id).webhook_url == DEFAULT_URL

    # A retry still failing schedules the next one, without another warning.
    caplog.clear()
    freezer.tick(WEBHOOK_RETRY_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert emulator.state.instance(instance_id).webhook_url == DEFAULT_URL
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith(DOMAIN_LOGGER)
    ]

    emulator.state.set_fault(instance_id, None)
    freezer.tick(WEBHOOK_RETRY_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert emulator.state.instance(instance_id).webhook_url == new_url
    assert "The gateway has the webhook of" in caplog.text


@pytest.mark.usefixtures("no_retry_delay")
async def test_pending_retry_is_cancelled_on_unload(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
) -> None:
    """Unloading leaves no retry behind."""
    emulator.state.set_fault(instance_id, Fault("http_500"))
    await hass.config.async_update(internal_url="http://192.168.1.20:8123")
    await hass.async_block_till_done()
    webhook = init_integration.runtime_data.webhook
    assert webhook is not None
    assert webhook._retry is not None
    emulator.state.set_fault(instance_id, None)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert webhook._retry is None


@pytest.mark.usefixtures("no_retry_delay")
async def test_a_sync_replaces_a_pending_retry(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    init_integration: MockConfigEntry,
) -> None:
    """A successful call in between cancels the retry."""
    webhook = init_integration.runtime_data.webhook
    assert webhook is not None
    emulator.state.set_fault(
        instance_id, Fault("http_500", count=4)
    )  # the first call and 3 retries
    await hass.config.async_update(internal_url="http://192.168.1.20:8123")
    await hass.async_block_till_done()
    assert webhook._retry is not None
    await hass.config.async_update(internal_url="http://192.168.1.21:8123")
    await hass.async_block_till_done()
    assert webhook._retry is None
    assert emulator.state.instance(instance_id).webhook_url.startswith("http://192.168.1.21:8123/")


async def test_logged_out_answer(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, init_integration: MockConfigEntry
) -> None:
    """A gateway answering "relogin required" marks the session logged out."""
    emulator.state.unlink(instance_id)
    await hass.config.async_update(internal_url="http://192.168.1.20:8123")
    await hass.async_block_till_done()
    assert not init_integration.runtime_data.coordinator.data.linked


# -- an external URL for a gateway on the internet, and the repair ---------------------------------


@pytest.mark.usefixtures("public_gateway")
async def test_external_https_url(
    hass: HomeAssistant,
    emulator: Emulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A public HTTPS external URL is used."""
    await async_process_ha_core_config(hass, {"external_url": "https://home.example.com"})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == [
        form(f"https://home.example.com/api/webhook/{WEBHOOK_ID}")
    ]
    assert not issue_registry.async_get_issue(DOMAIN, webhook_issue_id(mock_config_entry))


@pytest.mark.usefixtures("public_gateway")
@pytest.mark.parametrize(
    "external_url", [None, "http://home.example.com", "https://192.168.1.20:8123"]
)
async def test_no_usable_url_raises_the_repair(
    hass: HomeAssistant,
    emulator: Emulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    external_url: str | None,
) -> None:
    """Without a public HTTPS URL nothing is sent and a repair explains what to do."""
    if external_url:
        await async_process_ha_core_config(hass, {"external_url": external_url})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == []
    issue = issue_registry.async_get_issue(DOMAIN, webhook_issue_id(mock_config_entry))
    assert issue is not None
    assert not issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "webhook_unavailable"
    assert issue.translation_placeholders == {"name": mock_config_entry.title}

    # Fixed by setting an external URL: the repair goes, the gateway gets the URL.
    await hass.config.async_update(external_url="https://home.example.com")
    await hass.async_block_till_done()
    assert not issue_registry.async_get_issue(DOMAIN, webhook_issue_id(mock_config_entry))
    assert set_webhook_forms(emulator) == [
        form(f"https://home.example.com/api/webhook/{WEBHOOK_ID}")
    ]


@pytest.mark.usefixtures("public_gateway")
async def test_repair_removed_with_the_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """Removing the entry removes its repair."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, webhook_issue_id(mock_config_entry))
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert not issue_registry.async_get_issue(DOMAIN, webhook_issue_id(mock_config_entry))


# -- Home Assistant Cloud --------------------------------------------------------------------------


@pytest.mark.usefixtures("public_gateway")
async def test_cloudhook_created_once_and_stored(
    hass: HomeAssistant,
    emulator: Emulator,
    mock_config_entry: MockConfigEntry,
    cloud_mock: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    """With Home Assistant Cloud the cloudhook is created, kept in the entry and reused."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    cloud_mock["create"].assert_awaited_once_with(hass, WEBHOOK_ID)
    assert mock_config_entry.data[CONF_CLOUDHOOK_URL] == CLOUDHOOK
    assert set_webhook_forms(emulator) == [form(CLOUDHOOK)]
    assert not issue_registry.async_get_issue(DOMAIN, webhook_issue_id(mock_config_entry))

    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    cloud_mock["create"].assert_awaited_once()
    assert set_webhook_forms(emulator) == [form(CLOUDHOOK), form(CLOUDHOOK)]


@pytest.mark.usefixtures("public_gateway")
async def test_cloudhook_once_cloud_connects(
    hass: HomeAssistant,
    emulator: Emulator,
    mock_config_entry: MockConfigEntry,
    cloud_mock: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    """Cloud not connected yet at start-up: the repair shows until it connects."""
    cloud_mock["create"].side_effect = cloud.CloudNotConnected
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == []
    assert issue_registry.async_get_issue(DOMAIN, webhook_issue_id(mock_config_entry))

    cloud_mock["create"].side_effect = None
    async_dispatcher_send(
        hass, cloud.SIGNAL_CLOUD_CONNECTION_STATE, cloud.CloudConnectionState.CLOUD_CONNECTED
    )
    await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == [form(CLOUDHOOK)]
    assert not issue_registry.async_get_issue(DOMAIN, webhook_issue_id(mock_config_entry))


async def test_cloud_error_falls_back(
    hass: HomeAssistant,
    emulator: Emulator,
    mock_config_entry: MockConfigEntry,
    cloud_mock: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected Cloud error does not fail the setup: Home Assistant's own URL is used."""
    cloud_mock["create"].side_effect = RuntimeError("cloud hiccup")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert "Could not create a Home Assistant Cloud webhook" in caplog.text
    assert set_webhook_forms(emulator) == [form(DEFAULT_URL)]
    assert CONF_CLOUDHOOK_URL not in mock_config_entry.data


@pytest.mark.usefixtures("public_gateway")
async def test_stored_cloudhook_unused_without_subscription(
    hass: HomeAssistant,
    emulator: Emulator,
    mock_config_entry: MockConfigEntry,
    cloud_mock: dict[str, Any],
) -> None:
    """Logged out of Cloud: the external URL is used instead of the stored cloudhook."""
    await async_process_ha_core_config(hass, {"external_url": "https://home.example.com"})
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_CLOUDHOOK_URL: CLOUDHOOK}
    )
    with patch.object(cloud, "async_active_subscription", return_value=False):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert set_webhook_forms(emulator) == [
        form(f"https://home.example.com/api/webhook/{WEBHOOK_ID}")
    ]
    cloud_mock["create"].assert_not_awaited()


async def test_cloudhook_deleted_with_the_entry(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    cloud_mock: dict[str, Any],
) -> None:
    """Removing the entry deletes its cloudhook and turns the gateway's webhook off."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.data[CONF_CLOUDHOOK_URL] == CLOUDHOOK
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    cloud_mock["delete"].assert_awaited_once_with(hass, WEBHOOK_ID)
    assert not emulator.state.instance(instance_id).webhook_enabled


async def test_cloudhook_deletion_failure_is_tolerated(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    cloud_mock: dict[str, Any],
) -> None:
    """Cloud unavailable at removal: the entry is removed all the same."""
    cloud_mock["delete"].side_effect = cloud.CloudNotAvailable
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert not hass.config_entries.async_entries(DOMAIN)
    assert not emulator.state.instance(instance_id).webhook_enabled


async def test_no_cloudhook_no_deletion(
    hass: HomeAssistant, init_integration: MockConfigEntry, cloud_mock: dict[str, Any]
) -> None:
    """An entry that never had a cloudhook deletes none."""
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    cloud_mock["delete"].assert_not_awaited()


async def test_cloudhook_is_redacted_from_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    cloud_mock: dict[str, Any],
) -> None:
    """The cloudhook URL is a secret like the webhook id."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.data[CONF_CLOUDHOOK_URL] == CLOUDHOOK
    result = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    assert result["entry"]["data"][CONF_CLOUDHOOK_URL] == "**REDACTED**"
    assert CLOUDHOOK not in json.dumps(result)
