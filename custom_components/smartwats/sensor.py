"""Message counters and the last message received, as sensors of the instance's device."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .entity import SmartwatsInstanceEntity
from .models import SmartwatsConfigEntry
from .sender import signal_outbox_changed
from .stats import MessageStats

# Counters change only when messages pass; only the outbox's age is refreshed (from memory).
PARALLEL_UPDATES = 0
SCAN_INTERVAL = timedelta(minutes=1)

# A sensor state holds at most 255 characters; the whole text stays in the attributes.
_MAX_STATE_LENGTH = 255


@dataclass(frozen=True, kw_only=True)
class SmartwatsSensorEntityDescription(SensorEntityDescription):
    """A sensor computed from the instance's message counters."""

    value_fn: Callable[[MessageStats], int | str | None]
    restore_fn: Callable[[MessageStats, object], None] | None = None
    # The counter the value follows (its changes only); None: every change of the counters.
    counter: str | None = None


def _restore_count(name: str) -> Callable[[MessageStats, object], None]:
    def restore(stats: MessageStats, value: object) -> None:
        # Added, not set: messages may have been counted before the sensor was added.
        stats.async_restore(name, value)

    return restore


def _last_text(stats: MessageStats) -> str | None:
    if stats.last_message is None:
        return None
    text = stats.last_message.get("text") or stats.last_message.get("type") or ""
    return str(text)[:_MAX_STATE_LENGTH]


SENSORS: tuple[SmartwatsSensorEntityDescription, ...] = (
    SmartwatsSensorEntityDescription(
        key="messages_sent",
        translation_key="messages_sent",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda stats: stats.sent,
        restore_fn=_restore_count("sent"),
        counter="sent",
    ),
    SmartwatsSensorEntityDescription(
        key="messages_failed",
        translation_key="messages_failed",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda stats: stats.failed,
        restore_fn=_restore_count("failed"),
        counter="failed",
    ),
    SmartwatsSensorEntityDescription(
        key="messages_received",
        translation_key="messages_received",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda stats: stats.received,
        restore_fn=_restore_count("received"),
        counter="received",
    ),
    SmartwatsSensorEntityDescription(
        key="last_message",
        translation_key="last_message",
        entity_registry_enabled_default=False,
        value_fn=_last_text,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartwatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the message sensors of an instance."""
    async_add_entities(SmartwatsSensor(entry, description) for description in SENSORS)
    async_add_entities([SmartwatsOutboxSensor(entry)])


class SmartwatsSensor(SmartwatsInstanceEntity, RestoreSensor):
    """A message counter, or the last message received, of one instance."""

    entity_description: SmartwatsSensorEntityDescription

    def __init__(
        self, entry: SmartwatsConfigEntry, description: SmartwatsSensorEntityDescription
    ) -> None:
        """Describe the sensor."""
        super().__init__(entry, description.key)
        self.entity_description = description
        self._stats = entry.runtime_data.stats

    @property
    def native_value(self) -> int | str | None:
        """Return the counter or the last message's text."""
        return self.entity_description.value_fn(self._stats)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The last message's fields (sender, chat, type...), as in the bus event."""
        if self.entity_description.key != "last_message" or self._stats.last_message is None:
            return None
        return dict(self._stats.last_message)

    async def async_added_to_hass(self) -> None:
        """Continue counting from the value before the restart; follow the counters."""
        await super().async_added_to_hass()
        if restore := self.entity_description.restore_fn:
            last = await self.async_get_last_sensor_data()
            # Called even without a value: it marks the counter restored for this load.
            restore(self._stats, None if last is None else last.native_value)
        self.async_on_remove(
            self._stats.async_add_listener(
                self._async_stats_changed, self.entity_description.counter
            )
        )

    @callback
    def _async_stats_changed(self) -> None:
        """Write the state: a counter's when it changed, the last message's at every change."""
        self.async_write_ha_state()


class SmartwatsOutboxSensor(SmartwatsInstanceEntity, SensorEntity):
    """How many messages wait in the instance's outbox, with the oldest's age as attribute."""

    _attr_translation_key = "outbox"
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_state_class = SensorStateClass.MEASUREMENT
    # Written whenever the outbox changes, and every minute for the oldest message's age (a
    # read of memory, nothing is asked of the gateway).
    _attr_should_poll = True

    def __init__(self, entry: SmartwatsConfigEntry) -> None:
        """Describe the sensor of the entry's outbox."""
        super().__init__(entry, "outbox")
        self._sender = entry.runtime_data.sender

    @property
    def native_value(self) -> int:
        """Return how many messages wait."""
        return len(self._sender.outbox)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The oldest message's age (seconds) and when the gateway is tried again (or None)."""
        oldest = self._sender.outbox.oldest()
        next_attempt = self._sender.next_attempt
        return {
            "oldest_age": None
            if oldest is None
            else round(dt_util.utcnow().timestamp() - oldest.queued_at),
            "next_attempt": None
            if next_attempt is None
            else dt_util.utc_from_timestamp(next_attempt).isoformat(),
        }

    async def async_added_to_hass(self) -> None:
        """Follow the outbox."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_outbox_changed(self._sender.entry.entry_id),
                self.async_write_ha_state,
            )
        )
