"""The peer: core `telegram_bot` with its webhook platform, Telegram's Bot API answered locally.

A small aiohttp server on 127.0.0.1 stands in for api.telegram.org (the entry's `api_endpoint`
option points at it): it answers `getMe`, `getWebhookInfo`, `setWebhook` and `deleteWebhook` as
the real API does. Nothing of the bot or of Home Assistant is patched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigEntry, ConfigSubentryData
from homeassistant.const import CONF_API_KEY, CONF_PLATFORM, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .home import Counter, free_port

BOT_ID = 7000000001
BOT_TOKEN = f"{BOT_ID}:AAbenchmarkbenchmarkbenchmarkbench0"
CHAT_ID = 966501234567
TELEGRAM_EVENT = "telegram_text"
TELEGRAM_COUNTER: HassKey[Counter] = HassKey("bench_telegram_counter")
TELEGRAM_SECRET: HassKey[str] = HassKey("bench_telegram_secret")
WEBHOOK_PATH = f"/api/telegram_webhooks_{BOT_ID}"

_RESULTS: dict[str, object] = {
    "getMe": {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Bench",
        "username": "bench_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    },
    "getWebhookInfo": {"url": "", "has_custom_certificate": False, "pending_update_count": 0},
}


async def _answer(request: web.Request) -> web.Response:
    """Answer a Bot API method like api.telegram.org (``True`` for the ones not listed)."""
    method = request.match_info["method"]
    await request.read()
    return web.json_response({"ok": True, "result": _RESULTS.get(method, True)})


async def async_start_telegram(hass: HomeAssistant) -> Callable[[], Awaitable[None]]:
    """Start the local Bot API and set up a `telegram_bot` webhooks entry; return the stopper."""
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", _answer)
    api_runner = web.AppRunner(app, access_log=None)
    await api_runner.setup()
    port = free_port()
    await web.TCPSite(api_runner, "127.0.0.1", port).start()
    entry: ConfigEntry[Any] = ConfigEntry(
        domain="telegram_bot",
        title="Bench bot",
        unique_id=BOT_TOKEN,
        version=1,
        minor_version=3,
        source="user",
        discovery_keys={},  # type: ignore[arg-type]
        data={
            CONF_PLATFORM: "webhooks",
            CONF_API_KEY: BOT_TOKEN,
            "api_endpoint": f"http://127.0.0.1:{port}",
            # Where Telegram would post (not used: the benchmark posts to the view itself).
            CONF_URL: "https://bench.invalid",
            "trusted_networks": ["127.0.0.0/8"],
        },
        options={"parse_mode": "markdown"},
        subentries_data=[
            ConfigSubentryData(
                data={"chat_id": CHAT_ID},
                subentry_type="allowed_chat_ids",
                title="Ahmed",
                unique_id=str(CHAT_ID),
            )
        ],
    )
    await hass.config_entries.async_add(entry)
    await hass.async_block_till_done()
    if entry.runtime_data is None or entry.runtime_data.app is None:
        raise RuntimeError(f"telegram_bot did not set up: {entry.state}")
    hass.data[TELEGRAM_SECRET] = entry.runtime_data.app.secret_token
    counter = Counter()
    hass.data[TELEGRAM_COUNTER] = counter
    hass.bus.async_listen(TELEGRAM_EVENT, counter.increment)

    async def stop() -> None:
        await api_runner.cleanup()

    return stop
