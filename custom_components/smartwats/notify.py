"""Notify entities: one per recipient (a `recipient` subentry), on the recipient's device."""

from __future__ import annotations

from typing import override

from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import NotifyEntityFeature
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_TARGET, SUBENTRY_RECIPIENT
from .coordinator import SmartwatsConfigEntry
from .entity import SmartwatsEntity, recipient_device_info
from .sender import OutgoingMessage, text_sender

# Messages are paced by the instance's send queue, not by the entity platform.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartwatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a notify entity for each recipient."""
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type == SUBENTRY_RECIPIENT:
            async_add_entities(
                [SmartwatsNotifyEntity(hass, entry, subentry)], config_subentry_id=subentry_id
            )


def format_message(message: str, title: str | None) -> str:
    """Return the text to send: the title, if any, as a bold first line (WhatsApp's *bold*)."""
    if title and title.strip():
        return f"*{title.strip()}*\n{message}"
    return message


class SmartwatsNotifyEntity(SmartwatsEntity, NotifyEntity):
    """Sends text messages to one recipient (a number or a group)."""

    _attr_name = None
    _attr_translation_key = "recipient"
    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(
        self, hass: HomeAssistant, entry: SmartwatsConfigEntry, subentry: ConfigSubentry
    ) -> None:
        """Attach the entity to the recipient's device."""
        super().__init__(entry, f"{subentry.subentry_id}_notify")
        self._attr_device_info = recipient_device_info(hass, entry, subentry)
        self._entry = entry
        self.target: str = subentry.data[CONF_TARGET]

    @property
    @override
    def available(self) -> bool:
        """Always, while the entry is loaded: a message is sent or fails, never skipped.

        A failed link probe only shows that the gateway was unreachable at that moment, and Home
        Assistant silently skips a notify call to an unavailable entity.
        """
        return True

    @override
    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send the message as text through the instance's send queue."""
        send = text_sender(format_message(message, title))
        outcome = await self._entry.runtime_data.sender.async_send(
            [OutgoingMessage(target=self.target, type="text", send=send)], context=self._context
        )
        outcome.raise_for_failures()
