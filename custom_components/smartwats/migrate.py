"""Migrations of config entries from older versions (``async_migrate_entry``)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .api.responses import normalize_instance_id
from .const import CONF_INSTANCE_ID, CONF_TARGET, DOMAIN, LOGGER, SUBENTRY_RECIPIENT
from .entity import recipient_device_key


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry of an older version up to date (a newer minor version loads as it is)."""
    if entry.minor_version < 2:  # noqa: PLR2004 - 1.1 → 1.2
        _async_normalize_instance_id(hass, entry)
        hass.config_entries.async_update_entry(entry, minor_version=2)
    if entry.minor_version < 3:  # noqa: PLR2004 - 1.2 → 1.3
        _async_key_recipient_devices_on_subentries(hass, entry)
        hass.config_entries.async_update_entry(entry, minor_version=3)
    return True


@callback
def _async_normalize_instance_id(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Store the instance id, and the unique id made of it, trimmed and upper-case.

    The flow used to keep the id as typed, so one instance could be set up twice (``68dbb…`` and
    ``68DBB…``). Such a second entry keeps its id, so that no two entries share a unique id.
    """
    old: str = entry.data[CONF_INSTANCE_ID]
    new = normalize_instance_id(old)
    other = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, new)
    if other is not None and other.entry_id != entry.entry_id:
        LOGGER.warning(
            "Config entry %s keeps instance ID %r: config entry %s already has instance %s, "
            "the same SmartWats instance. Delete one of the two entries",
            entry.title,
            old,
            other.title,
            new,
        )
        return
    if new != old:
        _async_rename_registry_ids(hass, entry, old, new)
    hass.config_entries.async_update_entry(
        entry, unique_id=new, data={**entry.data, CONF_INSTANCE_ID: new}
    )


@callback
def _async_rename_registry_ids(hass: HomeAssistant, entry: ConfigEntry, old: str, new: str) -> None:
    """Move the entry's entities and devices to the new instance id (they are named after it)."""

    def renamed(value: str) -> str:
        if value == old or value.startswith(f"{old}_"):
            return new + value.removeprefix(old)
        return value

    entity_registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        if (unique_id := renamed(entity.unique_id)) != entity.unique_id:
            entity_registry.async_update_entity(entity.entity_id, new_unique_id=unique_id)
    device_registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id):
        identifiers = {
            (domain, renamed(value) if domain == DOMAIN else value)
            for domain, value in device.identifiers
        }
        if identifiers != device.identifiers:
            device_registry.async_update_device(device.id, new_identifiers=identifiers)


@callback
def _async_key_recipient_devices_on_subentries(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Key each recipient's device on its subentry, not its number; drop orphaned ones.

    A device keyed on the number moved the recipient's entities to a new device whenever the
    number changed, leaving the old one empty behind.
    """
    instance_id: str = entry.data[CONF_INSTANCE_ID]
    by_target = {
        subentry.data[CONF_TARGET]: subentry.subentry_id
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_RECIPIENT
    }
    device_registry = dr.async_get(hass)
    entity_registry = er.async_get(hass)
    for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id):
        keys = [value for domain, value in device.identifiers if domain == DOMAIN]
        old = next((key for key in keys if key.startswith(f"{instance_id}_")), None)
        if old is None:
            continue  # the instance's own device
        target = old.removeprefix(f"{instance_id}_")
        if (subentry_id := by_target.get(target)) is not None:
            key = (DOMAIN, recipient_device_key(instance_id, subentry_id))
            others = {(domain, value) for domain, value in device.identifiers if domain != DOMAIN}
            device_registry.async_update_device(device.id, new_identifiers=others | {key})
        elif not er.async_entries_for_device(entity_registry, device.id):
            device_registry.async_remove_device(device.id)
