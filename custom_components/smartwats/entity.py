"""Base entities and devices of the SmartWats integration.

Each instance is a device; each recipient (a `recipient` subentry) is a device of its own, linked
to the instance's device. Two entity shapes follow: `SmartwatsInstanceEntity` (the instance's
device: counters, its message events, and the link-state entities of `SmartwatsLinkEntity`) and
`SmartwatsRecipientEntity` (a recipient's device: its notify and message event entities).
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .compat import linked_device_info
from .const import CONF_INSTANCE_ID, CONF_TARGET, DOMAIN, PROFILE_URL
from .coordinator import SmartwatsLinkCoordinator
from .models import SmartwatsConfigEntry


def instance_device_info(entry: SmartwatsConfigEntry) -> DeviceInfo:
    """Describe the device of the entry's instance (a WhatsApp account linked to the gateway)."""
    return DeviceInfo(
        entry_type=DeviceEntryType.SERVICE,
        identifiers={(DOMAIN, entry.data[CONF_INSTANCE_ID])},
        manufacturer="SmartWats",
        model="WhatsApp gateway instance",
        name=entry.title,
        configuration_url=PROFILE_URL,
    )


def recipient_device_key(instance_id: str, subentry_id: str) -> str:
    """Return the identifier of a recipient's device: its subentry's, whatever its number."""
    return f"{instance_id}_{subentry_id}"


def recipient_device_info(
    hass: HomeAssistant, entry: SmartwatsConfigEntry, subentry: ConfigSubentry
) -> DeviceInfo:
    """Describe the device of a recipient (a number or a group), linked to the instance's device.

    The instance's device is registered when the entry is set up, before any platform.
    """
    instance_id: str = entry.data[CONF_INSTANCE_ID]
    return linked_device_info(
        hass,
        (DOMAIN, instance_id),
        config_entry_id=entry.entry_id,
        entry_type=DeviceEntryType.SERVICE,
        identifiers={(DOMAIN, recipient_device_key(instance_id, subentry.subentry_id))},
        manufacturer="SmartWats",
        model="WhatsApp chat",
        name=subentry.title,
    )


class SmartwatsInstanceEntity(Entity):
    """An entity of a SmartWats instance, on the instance's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: SmartwatsConfigEntry, key: str) -> None:
        """Attach the entity to the instance's device; ``key`` names it within the device."""
        self._attr_unique_id = f"{entry.data[CONF_INSTANCE_ID]}_{key}"
        self._attr_device_info = instance_device_info(entry)


class SmartwatsLinkEntity(CoordinatorEntity[SmartwatsLinkCoordinator], SmartwatsInstanceEntity):
    """An instance entity that shows the link state (unavailable while it is unknown)."""

    def __init__(self, entry: SmartwatsConfigEntry, key: str) -> None:
        """Follow the entry's link coordinator."""
        CoordinatorEntity.__init__(self, entry.runtime_data.coordinator)
        SmartwatsInstanceEntity.__init__(self, entry, key)

    @property
    def available(self) -> bool:
        """Unavailable while the gateway cannot be reached (the link state is unknown then)."""
        return super().available and self.coordinator.reachable


class SmartwatsRecipientEntity(Entity):
    """An entity of a recipient (a `recipient` subentry), on the recipient's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, hass: HomeAssistant, entry: SmartwatsConfigEntry, subentry: ConfigSubentry, key: str
    ) -> None:
        """Attach the entity to the recipient's device; ``key`` names it within the device."""
        self._attr_unique_id = f"{entry.data[CONF_INSTANCE_ID]}_{subentry.subentry_id}_{key}"
        self._attr_device_info = recipient_device_info(hass, entry, subentry)
        self.target: str = subentry.data[CONF_TARGET]
