"""Inbound: webhook posts through Home Assistant's real HTTP server, per second.

Three receivers on the same server, same run, same client: the SmartWats webhook (parser, events,
event entities, counters), the floor (a bare `webhook.async_register` handler that reads the JSON
and fires one event, given the same bodies), and the peer (`telegram_bot`'s webhook view, given the
same number of text updates). Each handler does all of its work before it answers, so a round ends
when the last answer has arrived; the events each receiver fired are then checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import gc
import itertools
import time

import aiohttp
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, callback
from homeassistant.helpers import entity_registry as er

from custom_components.smartwats.const import (
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
)

from .bodies import DUPLICATE, INBOUND_MIX, RECEIPT, smartwats_bodies, telegram_updates
from .hacost import state_write_us
from .home import CONCURRENCY, FLOOR_COUNTER, Counter, Home
from .stats import Figure, summarize
from .telegram import CHAT_ID, TELEGRAM_COUNTER, TELEGRAM_SECRET, WEBHOOK_PATH

JSON = {"Content-Type": "application/json"}
RECEIVERS = ("floor", "smartwats", "telegram_bot")
TARGET_FLOOR_RATIO = 0.8
TARGET_TELEGRAM_RATIO = 2.0


async def async_post_all(
    session: aiohttp.ClientSession,
    url: str,
    bodies: Iterable[bytes],
    headers: Mapping[str, str] = JSON,
) -> float:
    """Post every body, ``CONCURRENCY`` at a time; return the seconds taken.

    Raises if any answer is not a success (a benchmark of failing requests measures nothing).
    """
    pending = iter(bodies)
    failures: list[int] = []

    async def worker() -> None:
        for body in pending:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:  # noqa: PLR2004 - HTTP OK
                    failures.append(response.status)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} posts to {url} failed: HTTP {sorted(set(failures))}")
    return elapsed


@dataclass
class SmartwatsEvents:
    """Counts the integration's message and status events."""

    messages: int = 0
    statuses: int = 0

    @callback
    def message(self, _event: Event) -> None:
        """Count a message."""
        self.messages += 1

    @callback
    def status(self, _event: Event) -> None:
        """Count a receipt."""
        self.statuses += 1


def expected_events(count: int) -> tuple[int, int]:
    """Return how many messages and receipts ``count`` bodies of the mix report.

    The mix starts with a message, so every duplicate repeats one already reported.
    """
    kinds = [kind for kind, _ in itertools.islice(itertools.cycle(INBOUND_MIX), count)]
    receipts = kinds.count(RECEIPT)
    return len(kinds) - kinds.count(DUPLICATE) - receipts, receipts


class InboundBench:
    """Posts rounds of bodies to the three receivers of a running Home."""

    def __init__(self, home: Home) -> None:
        """Follow the events of every receiver."""
        self.home = home
        self.events = SmartwatsEvents()
        home.hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, self.events.message)
        home.hass.bus.async_listen(EVENT_MESSAGE_STATUS, self.events.status)
        self.state_changes = Counter()
        home.hass.bus.async_listen(EVENT_STATE_CHANGED, self.state_changes.increment)
        # State changes per post of the last run of each receiver.
        self.writes_per_post: dict[str, float] = {}
        self._update_id = 1

    def telegram_headers(self) -> dict[str, str]:
        """Return the headers Telegram posts updates with (the entry's secret)."""
        secret = self.home.hass.data[TELEGRAM_SECRET]
        return {**JSON, "X-Telegram-Bot-Api-Secret-Token": secret}

    async def async_run(self, receiver: str, bodies: Sequence[bytes]) -> float:
        """Post the bodies (or as many Telegram updates) to a receiver; return posts per second."""
        home = self.home
        gc.collect()
        changes = self.state_changes.count
        fired: int | tuple[int, int]
        wanted: int | tuple[int, int]
        if receiver == "floor":
            counter = home.hass.data[FLOOR_COUNTER]
            before = counter.count
            elapsed = await async_post_all(home.session, home.floor_url, bodies)
            fired = counter.count - before
            wanted = len(bodies)
        elif receiver == "smartwats":
            messages, statuses = self.events.messages, self.events.statuses
            elapsed = await async_post_all(home.session, home.smartwats_url, bodies)
            fired = (self.events.messages - messages, self.events.statuses - statuses)
            wanted = expected_events(len(bodies))
        else:
            updates = telegram_updates(CHAT_ID, len(bodies), self._update_id)
            self._update_id += len(bodies)
            counter = home.hass.data[TELEGRAM_COUNTER]
            before = counter.count
            url = home.base_url + WEBHOOK_PATH
            elapsed = await async_post_all(home.session, url, updates, self.telegram_headers())
            fired = counter.count - before
            wanted = len(bodies)
        if fired != wanted:
            raise RuntimeError(f"{receiver}: {fired} events fired, {wanted} expected")
        self.writes_per_post[receiver] = (self.state_changes.count - changes) / len(bodies)
        return len(bodies) / elapsed

    def state_write_us(self, count: int) -> float:
        """Return Home Assistant's cost of one state write of the integration's entities."""
        registry = er.async_get(self.home.hass)
        instance_id = self.home.instance_id
        total = 0.0
        for domain, unique_id in (
            ("event", f"{instance_id}_message"),
            ("sensor", f"{instance_id}_messages_received"),
        ):
            entity_id = registry.async_get_entity_id(domain, DOMAIN, unique_id)
            if entity_id is None:
                raise RuntimeError(f"no {domain} entity {unique_id}")
            total += state_write_us(self.home.hass, entity_id, count)
        return total / 2


async def async_bench_inbound(home: Home, count: int, rounds: int) -> dict[str, object]:
    """Return posts per second of each receiver and the ratios, per round, summarised."""
    bench = InboundBench(home)
    # Warm-up: every code path loaded, caches filled, connections open.
    warm = smartwats_bodies(home.gateway, min(count, 500))
    for receiver in RECEIVERS:
        await bench.async_run(receiver, warm)
    rates: dict[str, list[float]] = {receiver: [] for receiver in RECEIVERS}
    writes: list[float] = []
    write_us: list[float] = []
    for index in range(rounds):
        bodies = smartwats_bodies(home.gateway, count)
        order = RECEIVERS[index % 3 :] + RECEIVERS[: index % 3]
        for receiver in order:
            rates[receiver].append(await bench.async_run(receiver, bodies))
        writes.append(bench.writes_per_post["smartwats"])
        gc.collect()
        write_us.append(bench.state_write_us(min(count, 2000)))
    ours, floor, peer = rates["smartwats"], rates["floor"], rates["telegram_bot"]
    figures: dict[str, Figure] = {
        receiver: summarize(samples, "posts/s") for receiver, samples in rates.items()
    }
    figures["ratio_to_floor"] = summarize([o / f for o, f in zip(ours, floor, strict=True)], "x")
    figures["ratio_to_telegram_bot"] = summarize(
        [o / p for o, p in zip(ours, peer, strict=True)], "x"
    )
    figures["extra_us_over_floor"] = summarize(
        [1e6 / o - 1e6 / f for o, f in zip(ours, floor, strict=True)], "µs/post"
    )
    figures["state_writes_per_post"] = summarize(writes, "writes/post")
    figures["ha_state_write_us"] = summarize(write_us, "µs/write")
    # Home Assistant's own cost of the entity updates, and what is left: the integration's.
    figures["ha_entity_updates_us_per_post"] = summarize(
        [w * u for w, u in zip(writes, write_us, strict=True)], "µs/post"
    )
    figures["own_us_per_post"] = summarize(
        [
            1e6 / o - 1e6 / f - w * u
            for o, f, w, u in zip(ours, floor, writes, write_us, strict=True)
        ],
        "µs/post",
    )
    messages, receipts = expected_events(count)
    return {
        "posts_per_round": count,
        "messages_per_round": messages,
        "receipts_per_round": receipts,
        "duplicates_per_round": count - messages - receipts,
        "concurrency": CONCURRENCY,
        "figures": {name: figure.as_dict() for name, figure in figures.items()},
        "targets": {
            "ratio_to_floor": {
                "target": f">= {TARGET_FLOOR_RATIO}",
                "met": figures["ratio_to_floor"].median >= TARGET_FLOOR_RATIO,
            },
            "ratio_to_telegram_bot": {
                "target": f">= {TARGET_TELEGRAM_RATIO}",
                "met": figures["ratio_to_telegram_bot"].median >= TARGET_TELEGRAM_RATIO,
            },
        },
    }
