"""The compatibility layer (compat.py) works the same on every supported Home Assistant release.

Each branch runs on whichever release the tests run (`scripts/test --ha-matrix`): the release's
own registry for the real thing, stand-ins for the API of the releases it is not.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartwats import compat
from custom_components.smartwats.const import DOMAIN

INSTANCE = (DOMAIN, "68DBB04FECCBA")
DEVICE_INFO = DeviceInfo(
    entry_type=DeviceEntryType.SERVICE,
    identifiers={INSTANCE},
    manufacturer="SmartWats",
    model="WhatsApp gateway instance",
    name="966500000001",
)
FIELDS: dict[str, Any] = {
    "entry_type": DeviceEntryType.SERVICE,
    "identifiers": {(DOMAIN, "68DBB04FECCBA_966501234567")},
    "manufacturer": "SmartWats",
    "model": "WhatsApp chat",
    "name": "Mum",
}


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    """A config entry of the integration, added to Home Assistant."""
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    return entry


async def test_devices_registered_and_linked(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """On this release: the device is registered once, and another one links to it."""
    device = compat.async_get_or_create_device(hass, entry.entry_id, DEVICE_INFO)

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert [(d.id, d.identifiers) for d in devices] == [(device.id, {INSTANCE})]
    assert (device.name, device.manufacturer, device.model, device.entry_type) == (
        "966500000001",
        "SmartWats",
        "WhatsApp gateway instance",
        DeviceEntryType.SERVICE,
    )
    assert compat.async_get_or_create_device(hass, entry.entry_id, DEVICE_INFO).id == device.id

    info = compat.linked_device_info(hass, INSTANCE, config_entry_id=entry.entry_id, **FIELDS)
    recipient = compat.async_get_or_create_device(hass, entry.entry_id, info)
    assert recipient.via_device_id == device.id
    assert recipient.name == "Mum"


async def test_linked_by_device_id(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """From 2026.8 on, the link is the other device's id."""

    def device_id(hass_: HomeAssistant, identifier: Any, *, config_entry_id: str) -> str:
        assert (hass_, identifier, config_entry_id) == (hass, INSTANCE, entry.entry_id)
        return "instance-device-id"

    with patch.object(compat.dr, "async_get_device_id_by_identifier", device_id, create=True):
        info = compat.linked_device_info(hass, INSTANCE, config_entry_id=entry.entry_id, **FIELDS)
    assert info == DeviceInfo(**FIELDS, via_device_id="instance-device-id")


async def test_linked_by_identifier_before(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Before 2026.8 (no device id lookup), the link is the other device's identifier."""
    with patch.object(compat, "dr", object()):
        info = compat.linked_device_info(hass, INSTANCE, config_entry_id=entry.entry_id, **FIELDS)
    assert info == {**FIELDS, "via_device": INSTANCE}


class _RegistryWithFromInfo:
    """A device registry of Home Assistant 2026.11 and later, as far as registering goes."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def async_get_or_create_from_info(self, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        return "device"

    def async_get_or_create(self, **kwargs: Any) -> str:
        raise AssertionError("a DeviceInfo dataclass is registered whole")


class _RegistryWithKeywords:
    """A device registry of Home Assistant 2026.10 and earlier, as far as registering goes."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def async_get_or_create(self, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        return "device"


async def test_device_info_registered_whole(hass: HomeAssistant) -> None:
    """From 2026.11 on, the DeviceInfo goes to `async_get_or_create_from_info` as it is."""
    registry = _RegistryWithFromInfo()
    with patch.object(compat.dr, "async_get", return_value=registry):
        assert compat.async_get_or_create_device(hass, "entry", DEVICE_INFO) == "device"
    assert registry.calls == [{"config_entry_id": "entry", "device_info": DEVICE_INFO}]
    assert registry.calls[0]["device_info"] is DEVICE_INFO


async def test_device_info_as_keywords_before(hass: HomeAssistant) -> None:
    """Before 2026.11, its fields go to `async_get_or_create` as keyword arguments."""
    registry = _RegistryWithKeywords()
    with patch.object(compat.dr, "async_get", return_value=registry):
        assert compat.async_get_or_create_device(hass, "entry", DEVICE_INFO) == "device"
    assert registry.calls == [
        {
            "config_entry_id": "entry",
            "entry_type": DeviceEntryType.SERVICE,
            "identifiers": {INSTANCE},
            "manufacturer": "SmartWats",
            "model": "WhatsApp gateway instance",
            "name": "966500000001",
        }
    ]
