"""Message counters of one instance, shared by the sending and receiving code and the sensors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import math
from typing import Any

from homeassistant.core import CALLBACK_TYPE, callback


@dataclass
class MessageStats:
    """Counts of messages sent, failed and received, and the last message received.

    The senders and the webhook call `async_count_*`, which tell the sensors at once. The sensors
    add the values from before the restart with `async_restore` when they are added, which may be
    after the first messages were counted: the counters exist before the platforms are set up.
    """

    sent: int = 0
    failed: int = 0
    received: int = 0
    last_message: dict[str, Any] | None = None
    # Listeners of every change (key None) and of one counter's changes ("sent", ...).
    _listeners: dict[str | None, list[Callable[[], None]]] = field(default_factory=dict, repr=False)
    # The counters whose value from before has been restored (or found missing) in this load.
    _restored: set[str] = field(default_factory=set, repr=False)

    @callback
    def async_restore(self, counter: str, value: object) -> None:
        """Add a counter's restored value (a sensor's last state) to what was counted since.

        Only the first call per counter counts: a sensor added again in the same load (renamed,
        for instance) finds its own current count in the restore cache, which must not be added a
        second time. A value that is not a count (None, "unknown"...) is ignored, but still uses
        up that first call.
        """
        if counter in self._restored:
            return
        self._restored.add(counter)
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        ):
            setattr(self, counter, getattr(self, counter) + int(value))

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
