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
    # Listeners of every change (key None) and of one counter's changes ("sent", ...).
    _listeners: dict[str | None, list[Callable[[], None]]] = field(default_factory=dict, repr=False)

    @callback
    def async_add_listener(
        self, update: Callable[[], None], counter: str | None = None
    ) -> CALLBACK_TYPE:
        """Call ``update`` after every change, or of ``counter`` only; return how to stop it.

        ``counter`` is ``"sent"``, ``"failed"`` or ``"received"`` (a received message also
        changes `last_message`).
        """
        listeners = self._listeners.setdefault(counter, [])
        listeners.append(update)
        return lambda: listeners.remove(update)

    @callback
    def async_count_sent(self) -> None:
        """Count a message the gateway accepted."""
        self.sent += 1
        self._notify("sent")

    @callback
    def async_count_failed(self) -> None:
        """Count a message that could not be sent."""
        self.failed += 1
        self._notify("failed")

    @callback
    def async_count_received(self, message: dict[str, Any]) -> None:
        """Count an inbound message and keep it as the last one (the bus event's fields)."""
        self.received += 1
        self.last_message = message
        self._notify("received")

    def _notify(self, counter: str) -> None:
        listeners = self._listeners
        for key in (counter, None):
            if updates := listeners.get(key):
                for update in list(updates):
                    update()
