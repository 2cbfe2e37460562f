"""Fixtures shared by the tests of the SmartWats integration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from functools import partial
import importlib.util
import os
import sys
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.components.demo.camera import DemoCamera
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_WEBHOOK_ID, Platform
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.setup import async_setup_component
from homeassistant.util import slugify
import pytest
import pytest_asyncio
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    get_scheduled_timer_handles,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.smartwats import PLATFORMS, config_flow
from custom_components.smartwats.api import SmartwatsClient
from custom_components.smartwats.const import (
    CONF_ALLOWED_EVENTS,
    CONF_BASE_URL,
    CONF_DEFAULT_COUNTRY_CODE,
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_INSTANCE_ID,
    CONF_SEND_INTERVAL,
    DEFAULT_ALLOWED_EVENTS,
    DEFAULT_SEND_INTERVAL,
    DOMAIN,
)
from smartwats_emulator import Emulator

LINKED_PHONE = "966500000001"
WEBHOOK_ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

# What differs between the Home Assistant releases the suite runs on (`scripts/test --ha-matrix`:
# the pinned one and the oldest supported one), for the tests (compat.py has the integration's).
collect_ignore: list[str] = []
if os.environ.get("SMARTWATS_REQUIREMENTS", "requirements_dev.txt") != "requirements_dev.txt":
    # scripts/develop and scripts/bench run the pinned release only (requirements_dev.txt), with
    # its newer APIs (probatio, http.config, runner.create_event_loop): so do their tests.
    collect_ignore += ["test_develop.py", "test_develop_requirements.py", "test_bench.py"]
if importlib.util.find_spec("homeassistant.components.http.config") is None:
    # The end-to-end harness confirms the HTTP settings with `http/config` (2026.8 on); the
    # matrix runs the end-to-end tests on the pinned and the newest release.
    collect_ignore.append("e2e")


def _device_by_identifier(
    self: dr.DeviceRegistry, identifier: tuple[str, str], config_entry_id: str
) -> dr.DeviceEntry | None:
    """Find a device as `DeviceRegistry.async_get_device_by_identifier` (2026.8) does."""
    caller = sys._getframe(1).f_globals.get("__name__", "")
    assert not caller.startswith("custom_components."), "not before 2026.8: see compat.py"
    device = self.async_get_device(identifiers={identifier})
    return device if device is not None and config_entry_id in device.config_entries else None


if not hasattr(dr.DeviceRegistry, "async_get_device_by_identifier"):
    # The tests look devices up as Home Assistant does from 2026.8 on; before, they get the lookup
    # from here (and the integration, which must not use it, an assertion error).
    dr.DeviceRegistry.async_get_device_by_identifier = _device_by_identifier


@pytest_asyncio.fixture(autouse=True)
def coordinator_refresh_timers(verify_cleanup: None) -> Generator[None]:
    """Let the coordinators' refresh timers outlive a test on every release alike.

    From 2026.10 on they are jobs cancelled when Home Assistant stops, which the test plugin's
    check of lingering timers lets be; before, plain timers, which it would report: those are
    cancelled here first.
    """
    loop = asyncio.get_event_loop()  # the test's, as the check takes it
    yield
    refresh = DataUpdateCoordinator._DataUpdateCoordinator__wrap_handle_refresh_interval
    for handle in get_scheduled_timer_handles(loop):
        callback = getattr(handle, "_callback", None)
        if not handle._args and getattr(callback, "__func__", None) is refresh:
            handle.cancel()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("homeassistant.helpers.entity.Entity.entity_registry_enabled_default", True)
        yield


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncGenerator[Emulator]:
    """A SmartWats gateway emulator on a free 127.0.0.1 port, stopped after the test.

    Sockets are enabled for the test (pytest-socket still lets them reach 127.0.0.1 only), and
    private webhook URLs are allowed so that tests can receive webhooks on 127.0.0.1. Stopping
    ends stalled answers and pending webhook deliveries, so no task or timer outlives the test.
    """
    emu = Emulator(allow_private_webhooks=True, qr_rotate_seconds=20)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
def access_token(emulator: Emulator) -> str:
    """An access token the emulator knows."""
    return emulator.state.add_account()


@pytest.fixture
def instance_id(emulator: Emulator, access_token: str) -> str:
    """An instance of that account, linked to LINKED_PHONE."""
    return emulator.state.add_instance(access_token, linked=True, phone=LINKED_PHONE)


@pytest.fixture
def mock_config_entry(emulator: Emulator, access_token: str, instance_id: str) -> MockConfigEntry:
    """A config entry of the linked instance, pointing at the emulator (not added to hass)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=LINKED_PHONE,
        unique_id=instance_id,
        version=1,
        minor_version=3,
        data={
            CONF_ACCESS_TOKEN: access_token,
            CONF_INSTANCE_ID: instance_id,
            CONF_BASE_URL: emulator.api_url,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
        },
        options={
            CONF_ALLOWED_EVENTS: list(DEFAULT_ALLOWED_EVENTS),
            CONF_DEFAULT_COUNTRY_CODE: "966",
            CONF_SEND_INTERVAL: DEFAULT_SEND_INTERVAL,
            CONF_INCLUDE_OWN_MESSAGES: False,
        },
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The config entry, added and set up against the emulator."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Set up (and unload) entries without reaching the gateway (for flow tests)."""
    with (
        patch("custom_components.smartwats.async_setup_entry", return_value=True) as setup,
        patch("custom_components.smartwats.async_unload_entry", return_value=True),
    ):
        yield setup


@pytest.fixture
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ask the link state every 10 ms while a pair code is shown (flow tests)."""
    monkeypatch.setattr(config_flow, "PAIR_CODE_POLL_INTERVAL", 0.01)


@pytest.fixture
def no_retry_delay() -> Generator[None]:
    """Clients of the integration retry temporary failures at once (not after 1, 2, 4 s)."""
    with patch(
        "custom_components.smartwats.models.SmartwatsClient",
        partial(SmartwatsClient, retry_backoff=0.0),
    ):
        yield


@pytest.fixture
def platforms() -> list[Platform]:
    """The platforms set up by `init_integration_platforms` (override to narrow them)."""
    return list(PLATFORMS)


@pytest.fixture
async def init_integration_platforms(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, platforms: list[Platform]
) -> MockConfigEntry:
    """The config entry, set up with only the platforms of the `platforms` fixture."""
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.smartwats.PLATFORMS", platforms):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    return mock_config_entry


SNAPSHOT_INSTANCE_ID = "68DBB04FECCBA"


@pytest.fixture
def fixed_instance_id(emulator: Emulator, access_token: str) -> str:
    """The linked instance with a fixed id (for snapshots; override `instance_id` with it)."""
    return emulator.state.add_instance(
        access_token, linked=True, phone=LINKED_PHONE, instance_id=SNAPSHOT_INSTANCE_ID
    )


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots serialised as Home Assistant's own tests do (ids and times masked)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


# Sending (actions, notify entities, media): an entry with recipients, and Home Assistant's URL.

RECIPIENT_MUM = "966501234567"


@pytest.fixture
def group_id(emulator: Emulator, instance_id: str) -> str:
    """The id of a group the emulator's linked phone is in ("Family")."""
    return emulator.state.instance(instance_id).groups[0].id


@pytest.fixture
def recipients_entry(mock_config_entry: MockConfigEntry, group_id: str) -> MockConfigEntry:
    """The config entry with two recipient subentries: a number ("Mum") and a group ("Family").

    The subentries have fixed ids, so that snapshots do not change.
    """
    from homeassistant.config_entries import ConfigSubentryDataWithId  # noqa: PLC0415

    from custom_components.smartwats.const import CONF_TARGET, SUBENTRY_RECIPIENT  # noqa: PLC0415

    return MockConfigEntry(
        domain=DOMAIN,
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        version=1,
        minor_version=3,
        data=dict(mock_config_entry.data),
        options=dict(mock_config_entry.options),
        subentries_data=[
            ConfigSubentryDataWithId(
                subentry_id="01JSMARTWATSRECIPIENTMUM00",
                data={CONF_TARGET: RECIPIENT_MUM},
                subentry_type=SUBENTRY_RECIPIENT,
                title="Mum",
                unique_id=RECIPIENT_MUM,
            ),
            ConfigSubentryDataWithId(
                subentry_id="01JSMARTWATSRECIPIENTFAMILY",
                data={CONF_TARGET: group_id},
                subentry_type=SUBENTRY_RECIPIENT,
                title="Family",
                unique_id=group_id,
            ),
        ],
    )


@pytest.fixture
def internal_url(hass: HomeAssistant) -> str:
    """Home Assistant's internal URL: the emulator (on 127.0.0.1) fetches media there."""
    hass.config.internal_url = "http://127.0.0.1:8123"
    return hass.config.internal_url


@pytest.fixture
async def notify_entry(
    hass: HomeAssistant, recipients_entry: MockConfigEntry, internal_url: str
) -> MockConfigEntry:
    """The entry with its recipients (Mum, Family), notify entities and no pause between sends."""
    recipients_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        recipients_entry, options={**recipients_entry.options, CONF_SEND_INTERVAL: 0}
    )
    with patch("custom_components.smartwats.PLATFORMS", [Platform.NOTIFY]):
        assert await hass.config_entries.async_setup(recipients_entry.entry_id)
        await hass.async_block_till_done()
    return recipients_entry


@pytest.fixture
def camera_spec() -> tuple[str, str]:
    """The name and content type of the `camera` fixture's camera (override to match examples)."""
    return ("Front door", "image/jpg")


@pytest.fixture
async def camera(hass: HomeAssistant, camera_spec: tuple[str, str]) -> str:
    """A camera entity (the demo's fake camera, on a test platform): its entity id."""
    name, content_type = camera_spec

    async def setup_platform(
        hass: HomeAssistant, config: Any, add_entities: AddEntitiesCallback, info: Any = None
    ) -> None:
        add_entities([DemoCamera(name, content_type)])

    mock_integration(hass, MockModule("test"))
    mock_platform(hass, "test.camera", MockPlatform(async_setup_platform=setup_platform))
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    await hass.async_block_till_done()
    return f"camera.{slugify(name)}"


def reauth_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The one repair of a session that is not linked any more: Home Assistant's reauth issue.

    Its flow is the entry's re-authentication flow, which leads to the relink steps.
    """
    return ir.async_get(hass).async_get_issue(
        HOMEASSISTANT_DOMAIN, f"config_entry_reauth_{DOMAIN}_{entry.entry_id}"
    )
