"""Base entity of the SmartWats integration: one device per gateway instance."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_INSTANCE_ID, DOMAIN, PROFILE_URL
from .coordinator import SmartwatsConfigEntry, SmartwatsLinkCoordinator


class SmartwatsEntity(CoordinatorEntity[SmartwatsLinkCoordinator]):
    """An entity of a SmartWats instance (a WhatsApp account linked through the gateway)."""

    _attr_has_entity_name = True

    def __init__(self, entry: SmartwatsConfigEntry, key: str) -> None:
        """Attach the entity to the instance's device; ``key`` names it within the device."""
        super().__init__(entry.runtime_data.coordinator)
        instance_id: str = entry.data[CONF_INSTANCE_ID]
        self._attr_unique_id = f"{instance_id}_{key}"
        self._attr_device_info = DeviceInfo(
            entry_type=DeviceEntryType.SERVICE,
            identifiers={(DOMAIN, instance_id)},
            manufacturer="SmartWats",
            model="WhatsApp gateway instance",
            name=entry.title,
            configuration_url=PROFILE_URL,
        )
