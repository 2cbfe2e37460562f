"""Message counters of one instance, shared by the sending and receiving code and the sensors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homeassistant.core import CALLBACK_TYPE, callback


@dataclass
class MessageStats:
    """Counts of messages sent, failed and received, and the last message received.

    The counters start from the values the sensors restore after a restart; the senders and the
    webhook call `async_count_*`, which tell the sensors at once.
    """

    sent: int = 0
    failed: int = 0
    received: int = 0
    last_message: dict[str, Any] | None = None
    _listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @callback
    def async_add_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``update`` after every change; return the function that stops it."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_count_sent(self) -> None:
        """Count a message the gateway accepted."""
        self.sent += 1
        self._notify()

    @callback
    def async_count_failed(self) -> None:
        """Count a message that could not be sent."""
        self.failed += 1
        self._notify()

    @callback
    def async_count_received(self, message: dict[str, Any]) -> None:
        """Count an inbound message and keep it as the last one (the bus event's fields)."""
        self.received += 1
        self.last_message = message
        self._notify()

    def _notify(self) -> None:
        for update in list(self._listeners):
            update()
