"""Notify entities: one per recipient (a `recipient` subentry), on the recipient's device."""

from __future__ import annotations

from typing import TYPE_CHECKING, override

from homeassistant.components.notify import NotifyEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_RECIPIENT
from .entity import SmartwatsRecipientEntity
from .messages import TextMessage
from .models import SmartwatsConfigEntry

if TYPE_CHECKING:
    from homeassistant.components.notify.const import NotifyEntityFeature
else:  # not in notify.const before 2026.10 (compat.py)
    from homeassistant.components.notify import NotifyEntityFeature

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


class SmartwatsNotifyEntity(SmartwatsRecipientEntity, NotifyEntity):
    """Sends text messages to one recipient (a number or a group).

    Available whenever the entry is loaded: a message is sent or fails, never skipped (Home
    Assistant silently skips a notify call to an unavailable entity, and a gateway hiccup says
    nothing about the next send).
    """

    _attr_name = None
    _attr_translation_key = "recipient"
    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(
        self, hass: HomeAssistant, entry: SmartwatsConfigEntry, subentry: ConfigSubentry
    ) -> None:
        """Attach the entity to the recipient's device."""
        super().__init__(hass, entry, subentry, "notify")
        self._sender = entry.runtime_data.sender

    @override
    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send the message as text through the instance's send queue."""
        outcome = await self._sender.async_send(
            [self.target], TextMessage(text=format_message(message, title)), context=self._context
        )
        outcome.raise_for_failures()
