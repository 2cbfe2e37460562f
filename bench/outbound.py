"""Outbound: `smartwats.send_text` actions (pacing off) versus plain aiohttp POSTs, per message.

Both send the same request (``POST /api/send`` with the same query and JSON body) to the same
emulator, one message at a time, as the send queue does. The emulator's webhook is turned off for
this benchmark, so that the echo it posts of every sent message does not load Home Assistant.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import aiohttp
from homeassistant.core import Event, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from custom_components.smartwats.const import DOMAIN, EVENT_MESSAGE_SENT

from .bodies import SENDERS
from .hacost import async_noop_action_us, register_noop_action, state_write_us
from .home import Home
from .stats import summarize

TEXT = "The garage door has been open for 10 minutes"
TARGET_RATIO = 1.25
SENDS = ("plain_aiohttp", "send_text")
# Home Assistant's own costs within a send_text action: the call of an action, a counter's write.
# Also a plain POST with Home Assistant's shared session, which the integration must use.
HA_COSTS = ("noop_action", "state_write", "plain_ha_session")


class OutboundBench:
    """Sends rounds of messages both ways through a running Home."""

    def __init__(self, home: Home) -> None:
        """Turn the emulator's webhook off; follow the integration's sent events."""
        self.home = home
        home.emulator.state.set_webhook(home.instance_id, home.smartwats_url, enabled=False)
        self.sent_events = 0
        home.hass.bus.async_listen(EVENT_MESSAGE_SENT, self._count)
        register_noop_action(home.hass)
        registry = er.async_get(home.hass)
        sensor = registry.async_get_entity_id("sensor", DOMAIN, f"{home.instance_id}_messages_sent")
        if sensor is None:
            raise RuntimeError("no messages_sent sensor")
        self.sent_sensor = sensor
        self.data = {"target": SENDERS[0], "message": TEXT}

    @callback
    def _count(self, _event: Event) -> None:
        """Count a message sent."""
        self.sent_events += 1

    async def async_plain(self, count: int, session: aiohttp.ClientSession | None = None) -> None:
        """Send ``count`` messages with plain aiohttp POSTs (by default with a bare session)."""
        home = self.home
        session = session or home.session
        url = home.emulator.api_url + "send"
        params = {"access_token": home.access_token, "instance_id": home.instance_id}
        body = {"number": SENDERS[0], "type": "text", "message": TEXT}
        headers = {"Accept": "application/json"}
        for _ in range(count):
            async with session.post(url, params=params, json=body, headers=headers) as answer:
                result: Any = await answer.json(content_type=None)
                if result.get("status") != "success":
                    raise RuntimeError(f"the emulator refused a plain send: {result}")

    async def async_actions(self, count: int) -> None:
        """Send ``count`` messages with one `smartwats.send_text` action each."""
        services = self.home.hass.services
        data = self.data
        before = self.sent_events
        for _ in range(count):
            await services.async_call(DOMAIN, "send_text", data, blocking=True)
        if self.sent_events - before != count:
            raise RuntimeError(f"{self.sent_events - before} of {count} messages were sent")

    async def async_run(self, how: str, count: int) -> float:
        """Send ``count`` messages one way; return microseconds per message."""
        gc.collect()
        started = time.perf_counter()
        if how == "send_text":
            await self.async_actions(count)
        elif how == "noop_action":
            return await async_noop_action_us(self.home.hass, self.data, count)
        elif how == "plain_ha_session":
            await self.async_plain(count, async_get_clientsession(self.home.hass))
        elif how == "state_write":
            return state_write_us(self.home.hass, self.sent_sensor, count)
        else:
            await self.async_plain(count)
        elapsed = time.perf_counter() - started
        # The emulator's logs of requests and sent messages are not what is measured.
        self.home.emulator.requests.clear()
        self.home.emulator.state.instance(self.home.instance_id).sent.clear()
        return elapsed / count * 1e6


async def async_bench_outbound(home: Home, count: int, rounds: int) -> dict[str, object]:
    """Return microseconds per message both ways and their ratio, per round, summarised."""
    bench = OutboundBench(home)
    for how in SENDS + HA_COSTS:
        await bench.async_run(how, min(count, 100))
    samples: dict[str, list[float]] = {how: [] for how in SENDS + HA_COSTS}
    for index in range(rounds):
        for how in SENDS if index % 2 == 0 else reversed(SENDS):
            samples[how].append(await bench.async_run(how, count))
        for how in HA_COSTS:
            samples[how].append(await bench.async_run(how, count))
    ratio = summarize(
        [a / p for a, p in zip(samples["send_text"], samples["plain_aiohttp"], strict=True)], "x"
    )
    figures = {how: summarize(values, "µs/message") for how, values in samples.items()}
    figures["ratio"] = ratio
    figures["extra_us_over_plain"] = summarize(
        [a - p for a, p in zip(samples["send_text"], samples["plain_aiohttp"], strict=True)],
        "µs/message",
    )
    figures["own_us_per_message"] = summarize(
        [
            a - h - n - w
            for a, h, n, w in zip(
                samples["send_text"],
                samples["plain_ha_session"],
                samples["noop_action"],
                samples["state_write"],
                strict=True,
            )
        ],
        "µs/message",
    )
    return {
        "messages_per_round": count,
        "figures": {name: figure.as_dict() for name, figure in figures.items()},
        "targets": {"ratio": {"target": f"<= {TARGET_RATIO}", "met": ratio.median <= TARGET_RATIO}},
    }
