"""Event entities of received messages: one per instance and one per recipient.

Each fires for every message reported as `smartwats_message_received` (the recipient's only for
messages in that recipient's chat: from that number, or in that group), with the message `type`
as the event type and the bus event's fields as attributes.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_INSTANCE_ID, CONF_TARGET, SUBENTRY_RECIPIENT
from .coordinator import SmartwatsConfigEntry
from .entity import instance_device_info, recipient_device_info
from .inbound import MESSAGE_TYPES, InboundMessage
from .webhook import signal_message_received
from .webhook_url import signal_webhook_state

# Events are pushed by the webhook; nothing is polled or sent.
PARALLEL_UPDATES = 0

_PHONE_SUFFIX = "@s.whatsapp.net"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartwatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the instance's message event entity and one per recipient."""
    instance_id: str = entry.data[CONF_INSTANCE_ID]
    async_add_entities(
        [SmartwatsMessageEvent(entry, f"{instance_id}_message", instance_device_info(entry))]
    )
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_RECIPIENT:
            continue
        async_add_entities(
            [SmartwatsRecipientMessageEvent(hass, entry, subentry)],
            config_subentry_id=subentry_id,
        )


def message_in_chat(target: str, message: InboundMessage) -> bool:
    """Tell whether a message is in the chat of a recipient (a number, a LID or a group JID)."""
    if message.is_group:
        return target == message.group_id
    if target == message.chat_id:
        return True
    number = message.chat_number
    if not number or not target.startswith(number):
        return False
    return target in (number, f"{number}{_PHONE_SUFFIX}")


class SmartwatsMessageEvent(EventEntity):
    """Fires for each message received by the instance."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "message"

    def __init__(
        self, entry: SmartwatsConfigEntry, unique_id: str, device_info: DeviceInfo
    ) -> None:
        """Describe the entity; it lives on the given device."""
        self._entry = entry
        self._attr_event_types = list(MESSAGE_TYPES)
        self._attr_unique_id = unique_id
        self._attr_device_info = device_info

    @property
    def available(self) -> bool:
        """Messages arrive only while the gateway has a URL to post them to."""
        webhook = self._entry.runtime_data.webhook
        return webhook is not None and webhook.url is not None

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

    def accepts(self, message: InboundMessage) -> bool:
        """Tell whether the entity fires for this message."""
        return True

    @callback
    def _async_message(self, message: InboundMessage, data: dict[str, object]) -> None:
        if not self.accepts(message):
            return
        self._trigger_event(message.type, dict(data))
        self.async_write_ha_state()


class SmartwatsRecipientMessageEvent(SmartwatsMessageEvent):
    """Fires for each message in a recipient's chat (from that number, or in that group)."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartwatsConfigEntry, subentry: ConfigSubentry
    ) -> None:
        """Describe the entity of one `recipient` subentry, on the recipient's device."""
        super().__init__(
            entry,
            f"{entry.data[CONF_INSTANCE_ID]}_{subentry.subentry_id}_message",
            recipient_device_info(hass, entry, subentry),
        )
        self._target: str = subentry.data[CONF_TARGET]

    def accepts(self, message: InboundMessage) -> bool:
        """Only messages in the recipient's chat."""
        return message_in_chat(self._target, message)
