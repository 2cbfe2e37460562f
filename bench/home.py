"""A Home Assistant of the benchmarks, in this process: real HTTP server, emulator, entries.

Home Assistant is built the way its bootstrap builds it (`async_load_base_functionality`, the `http`
and `webhook` components, config entries from the real `ConfigEntries` manager), in a temporary
configuration directory, on Home Assistant's own event loop (`homeassistant.runner`). Its HTTP
server listens on a free 127.0.0.1 port; the gateway emulator and the stand-in for Telegram's API
listen on other free ports of the same process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
import logging
from pathlib import Path
import socket
import tempfile
from typing import Any

import aiohttp
from homeassistant import auth, bootstrap, loader, runner
from homeassistant.components.webhook import async_register as async_register_webhook
from homeassistant.config_entries import ConfigEntries, ConfigEntry, ConfigSubentryData
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.setup import async_setup_component
from homeassistant.util.hass_dict import HassKey

from smartwats_emulator import Emulator

from .bodies import SENDERS, Gateway

LINKED_PHONE = "966500000001"
SMARTWATS_WEBHOOK_ID = "b" * 64
FLOOR_WEBHOOK_ID = "f" * 64
FLOOR_EVENT = "bench_floor_message"
# Posts in flight at once (the gateway's engine posts each event as it happens, in parallel).
CONCURRENCY = 8


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run[T](main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on an event loop configured as Home Assistant's runner configures it."""
    with runner_loop() as loop:
        result: T = loop.run_until_complete(main())
        return result


class runner_loop:  # noqa: N801 - used as a context manager, like a function
    """Home Assistant's event loop (its executor, its fast `loop.time`), closed on exit."""

    def __enter__(self) -> Any:  # noqa: ANN401 - asyncio's loop type is private
        """Create the loop."""
        self.loop = runner.create_event_loop()
        return self.loop

    def __exit__(self, *exc: object) -> None:
        """Close the loop and its executor."""
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


@dataclass
class Counter:
    """Counts bus events of some types (the benchmark waits until all have been fired)."""

    count: int = 0

    @callback
    def increment(self, _event: Event[Any]) -> None:
        """Count one event."""
        self.count += 1


@dataclass
class Home:
    """The running Home Assistant, the emulator and what the benchmarks post with."""

    hass: HomeAssistant
    emulator: Emulator
    directory: tempfile.TemporaryDirectory[str]
    base_url: str
    session: aiohttp.ClientSession
    entry: ConfigEntry[Any]
    access_token: str
    instance_id: str
    gateway: Gateway
    stops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def smartwats_url(self) -> str:
        """Return the URL of the entry's webhook."""
        return f"{self.base_url}/api/webhook/{SMARTWATS_WEBHOOK_ID}"

    @property
    def floor_url(self) -> str:
        """Return the URL of the floor's webhook."""
        return f"{self.base_url}/api/webhook/{FLOOR_WEBHOOK_ID}"

    async def stop(self) -> None:
        """Stop everything (Home Assistant first: its entries may still call the emulator)."""
        await self.session.close()
        await self.hass.async_stop()
        for stop in reversed(self.stops):
            await stop()
        await self.emulator.stop()
        self.directory.cleanup()


async def async_new_hass(config_dir: str, internal_url: str) -> HomeAssistant:
    """Create a Home Assistant with its registries loaded, as bootstrap does (nothing set up)."""
    logging.basicConfig(level=logging.WARNING)
    hass = HomeAssistant(config_dir)
    loader.async_setup(hass)
    hass.config.skip_pip = True
    hass.config_entries = ConfigEntries(hass, {})
    await loader.async_get_custom_components(hass)
    if not await bootstrap.async_load_base_functionality(hass):
        raise RuntimeError("Home Assistant's registries did not load")
    hass.auth = await auth.auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
    await async_process_ha_core_config(
        hass,
        {
            "name": "Benchmark",
            "time_zone": "UTC",
            "latitude": 24.7136,
            "longitude": 46.6753,
            "internal_url": internal_url,
        },
    )
    return hass


def smartwats_entry(emulator: Emulator, access_token: str, instance_id: str) -> ConfigEntry[Any]:
    """Return the config entry of the linked instance, with one recipient, pacing off.

    The integration is imported here, not with this module: the start-up benchmark counts it.
    """
    from custom_components.smartwats.const import (  # noqa: PLC0415
        CONF_ALLOWED_EVENTS,
        CONF_BASE_URL,
        CONF_DEFAULT_COUNTRY_CODE,
        CONF_INCLUDE_OWN_MESSAGES,
        CONF_INSTANCE_ID,
        CONF_SEND_INTERVAL,
        CONF_TARGET,
        DEFAULT_ALLOWED_EVENTS,
        DOMAIN,
        SUBENTRY_RECIPIENT,
    )

    return ConfigEntry(
        domain=DOMAIN,
        title=LINKED_PHONE,
        unique_id=instance_id,
        version=1,
        minor_version=1,
        source="user",
        discovery_keys={},  # type: ignore[arg-type]
        data={
            CONF_ACCESS_TOKEN: access_token,
            CONF_INSTANCE_ID: instance_id,
            CONF_BASE_URL: emulator.api_url,
            CONF_WEBHOOK_ID: SMARTWATS_WEBHOOK_ID,
        },
        options={
            CONF_ALLOWED_EVENTS: list(DEFAULT_ALLOWED_EVENTS),
            CONF_DEFAULT_COUNTRY_CODE: "966",
            CONF_SEND_INTERVAL: 0,
            CONF_INCLUDE_OWN_MESSAGES: False,
        },
        subentries_data=[
            ConfigSubentryData(
                data={CONF_TARGET: SENDERS[0]},
                subentry_type=SUBENTRY_RECIPIENT,
                title="Mum",
                unique_id=SENDERS[0],
            )
        ],
    )


async def async_floor_handler(hass: HomeAssistant, webhook_id: str, request: Any) -> None:  # noqa: ANN401
    """Read the JSON and fire one event: the floor, what any webhook handler does at least."""
    hass.bus.async_fire(FLOOR_EVENT, await request.json())


FLOOR_COUNTER: HassKey[Counter] = HassKey("bench_floor_counter")


async def async_start_home(
    *,
    with_peer: Callable[[HomeAssistant], Awaitable[Callable[[], Awaitable[None]]]] | None = None,
) -> Home:
    """Start Home Assistant, the emulator and the entry; ``with_peer`` sets up a peer first.

    Views must all be registered before the HTTP server starts (it freezes its router), so the
    peer (which registers one) is set up before Home Assistant starts.
    """
    directory = tempfile.TemporaryDirectory(prefix="smartwats-bench-")
    emulator = Emulator(allow_private_webhooks=True, echo_delay=0.05)
    await emulator.start("127.0.0.1", 0)
    access_token = emulator.state.add_account()
    instance_id = emulator.state.add_instance(access_token, linked=True, phone=LINKED_PHONE)
    instance = emulator.state.instance(instance_id)
    gateway = Gateway(
        instance_id=instance_id,
        own_jid=instance.jid,
        group=instance.groups[0].id if instance.groups else None,
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    hass = await async_new_hass(str(Path(directory.name)), base_url)
    http = {"server_host": ["127.0.0.1"], "server_port": port}
    if not await async_setup_component(hass, "http", {"http": http}):
        raise RuntimeError("http did not set up")
    if not await async_setup_component(hass, "webhook", {}):
        raise RuntimeError("webhook did not set up")
    counter = Counter()
    hass.data[FLOOR_COUNTER] = counter
    hass.bus.async_listen(FLOOR_EVENT, counter.increment)
    async_register_webhook(
        hass, "bench", "floor", FLOOR_WEBHOOK_ID, async_floor_handler, allowed_methods=["POST"]
    )
    stops: list[Callable[[], Awaitable[None]]] = []
    if with_peer is not None:
        stops.append(await with_peer(hass))
    entry = smartwats_entry(emulator, access_token, instance_id)
    await hass.config_entries.async_add(entry)
    await hass.async_block_till_done()
    await hass.async_start()
    await hass.async_block_till_done()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    session = aiohttp.ClientSession(connector=connector)
    return Home(
        hass=hass,
        emulator=emulator,
        directory=directory,
        base_url=base_url,
        session=session,
        entry=entry,
        access_token=access_token,
        instance_id=instance_id,
        gateway=gateway,
        stops=stops,
    )
