"""Outage recovery: messages queued while the gateway was down, delivered once it is back.

`count` messages are sent while the emulator answers every send with an outage (the first one
finds it, the circuit breaker sends the rest straight to the outbox); then the gateway comes back
and the integration learns it from its next link probe. The figure is the time from that probe to
the last message delivered, with the pause between messages at 0, and the messages per second.
"""

from __future__ import annotations

import asyncio
import time

from homeassistant.core import Event, callback

from custom_components.smartwats.const import DOMAIN, EVENT_MESSAGE_SENT
from smartwats_emulator import Fault

from .bodies import SENDERS
from .home import Home

TEXT = "The water leak sensor in the basement is wet"


async def async_bench_recovery(home: Home, count: int) -> dict[str, object]:
    """Return how long delivering ``count`` queued messages takes once the gateway is back."""
    hass, emulator = home.hass, home.emulator
    runtime = home.entry.runtime_data
    emulator.state.set_webhook(home.instance_id, home.smartwats_url, enabled=False)
    emulator.state.set_fault(home.instance_id, Fault("outage"))
    for number in range(count):
        data = {"target": SENDERS[0], "message": f"{TEXT} ({number})"}
        await hass.services.async_call(DOMAIN, "send_text", data, blocking=True)
    queued = len(runtime.sender.outbox)
    if queued != count:
        raise RuntimeError(f"{queued} of {count} messages were queued")
    emulator.state.set_fault(home.instance_id, None)
    sent = emulator.state.instance(home.instance_id).sent
    before = len(sent)
    done = asyncio.Event()
    delivered_events = 0

    @callback
    def count_sent(_event: Event) -> None:
        nonlocal delivered_events
        delivered_events += 1
        if delivered_events == count:
            done.set()

    unsubscribe = hass.bus.async_listen(EVENT_MESSAGE_SENT, count_sent)
    started = time.perf_counter()
    # The probe that finds the gateway back closes the circuit and starts the delivery.
    await runtime.coordinator.async_refresh()
    await done.wait()
    elapsed = time.perf_counter() - started
    unsubscribe()
    delivered = len(sent) - before
    if delivered != count:
        raise RuntimeError(f"{delivered} of {count} queued messages were delivered")
    emulator.requests.clear()
    sent.clear()
    return {
        "messages": count,
        "seconds": elapsed,
        "messages_per_second": count / elapsed if elapsed else float("inf"),
    }
