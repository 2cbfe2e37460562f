"""Binary sensor of the SmartWats integration: whether the instance is linked to a phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import SmartwatsLinkEntity
from .models import SmartwatsConfigEntry

if TYPE_CHECKING:
    from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
else:  # no binary_sensor.const before 2026.10 (compat.py)
    from homeassistant.components.binary_sensor import BinarySensorDeviceClass

# Read-only: the coordinator does all the talking to the gateway.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartwatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the instance's "linked" binary sensor."""
    async_add_entities([SmartwatsLinkedBinarySensor(entry)])


class SmartwatsLinkedBinarySensor(SmartwatsLinkEntity, BinarySensorEntity):
    """On while the WhatsApp session is linked to the phone."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "linked"

    def __init__(self, entry: SmartwatsConfigEntry) -> None:
        """Create the sensor of the entry's instance."""
        super().__init__(entry, "linked")

    @property
    def is_on(self) -> bool:
        """Return whether the instance is linked."""
        return self.coordinator.data.linked
