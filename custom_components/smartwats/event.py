"""Event entities of received messages: one per instance and one per recipient.

Each fires for every message reported as `smartwats_message_received` (the recipient's only for
messages in that recipient's chat, as the webhook's policy decided: from that number, or in that
group), with the message `type` as the event type and the bus event's fields as attributes.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.inbound import MESSAGE_TYPES, InboundMessage
from .const import SUBENTRY_RECIPIENT
from .entity import SmartwatsInstanceEntity, SmartwatsRecipientEntity
from .models import SmartwatsConfigEntry
from .webhook import signal_message_received
from .webhook_url import signal_webhook_state

# Events are pushed by the webhook; nothing is polled or sent.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartwatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the instance's message event entity and one per recipient."""
    async_add_entities([SmartwatsMessageEvent(entry)])
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_RECIPIENT:
            continue
        async_add_entities(
            [SmartwatsRecipientMessageEvent(hass, entry, subentry)],
            config_subentry_id=subentry_id,
        )


class _MessageEvent(EventEntity, Entity):
    """Fires for the messages of the entry that `_accepts` takes."""

    _attr_translation_key = "message"
    _entry: SmartwatsConfigEntry

    @property
    def available(self) -> bool:
        """Messages arrive only while the gateway has a URL to post them to."""
        return self._entry.runtime_data.webhook.url is not None

    async def async_added_to_hass(self) -> None:
        """Follow the received messages and the webhook's state."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_message_received(self._entry), self._async_message
            )
        )
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_webhook_state(self._entry), self.async_write_ha_state
            )
        )

    def _accepts(self, recipients: frozenset[str]) -> bool:
        raise NotImplementedError

    @callback
    def _async_message(
        self, message: InboundMessage, data: dict[str, object], recipients: frozenset[str]
    ) -> None:
        if self._accepts(recipients):
            self._trigger_event(message.type, dict(data))
            self.async_write_ha_state()


class SmartwatsMessageEvent(_MessageEvent, SmartwatsInstanceEntity):
    """Fires for each message received by the instance."""

    def __init__(self, entry: SmartwatsConfigEntry) -> None:
        """Describe the instance's entity."""
        SmartwatsInstanceEntity.__init__(self, entry, "message")
        self._entry = entry
        self._attr_event_types = list(MESSAGE_TYPES)

    def _accepts(self, recipients: frozenset[str]) -> bool:
        return True


class SmartwatsRecipientMessageEvent(_MessageEvent, SmartwatsRecipientEntity):
    """Fires for each message in a recipient's chat (from that number, or in that group)."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartwatsConfigEntry, subentry: ConfigSubentry
    ) -> None:
        """Describe the entity of one `recipient` subentry, on the recipient's device."""
        SmartwatsRecipientEntity.__init__(self, hass, entry, subentry, "message")
        self._entry = entry
        self._attr_event_types = list(MESSAGE_TYPES)
        self._subentry_id = subentry.subentry_id

    def _accepts(self, recipients: frozenset[str]) -> bool:
        return self._subentry_id in recipients
