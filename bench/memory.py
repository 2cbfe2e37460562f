"""Memory: resident memory growth after many inbound messages, the integration's and the floor's.

After a warm-up (every cache at its steady size), the same number of posts of the inbound mix go to
the integration's webhook, then to the floor's; the resident set size of the process is read before
and after each, after a full garbage collection. The bodies are built and posted in chunks, so that
they are not themselves what grows. The posts do not go through the emulator (whose logs of
requests, deliveries and messages grow without bound): the benchmark posts what the emulator's
builders make, as the gateway would.
"""

from __future__ import annotations

import gc
import os
import sys

from homeassistant.const import CONF_WEBHOOK_ID

from custom_components.smartwats.webhook import RECENT_MESSAGE_IDS, WEBHOOK_INBOXES

from .bodies import smartwats_bodies
from .home import Home
from .inbound import async_post_all

CHUNK = 1000
TARGET_MB = 5.0
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Return the resident set size of this process."""
    with open("/proc/self/statm", encoding="ascii") as statm:  # noqa: PTH123
        return int(statm.read().split()[1]) * _PAGE


async def _async_post(home: Home, url: str, count: int) -> None:
    for start in range(0, count, CHUNK):
        bodies = smartwats_bodies(home.gateway, min(CHUNK, count - start))
        await async_post_all(home.session, url, bodies)


async def _async_growth(home: Home, url: str, count: int) -> tuple[int, int]:
    """Return the growth of the resident set and of Python's allocated blocks."""
    gc.collect()
    rss, blocks = rss_bytes(), sys_blocks()
    await _async_post(home, url, count)
    await home.hass.async_block_till_done()
    gc.collect()
    return rss_bytes() - rss, sys_blocks() - blocks


def sys_blocks() -> int:
    """Return how many memory blocks Python has allocated."""
    return sys.getallocatedblocks()


async def async_bench_memory(home: Home, count: int) -> dict[str, object]:
    """Return the growth after ``count`` posts to the integration and to the floor."""
    warm = max(count // 10, 2 * RECENT_MESSAGE_IDS)
    await _async_post(home, home.smartwats_url, warm)
    await _async_post(home, home.floor_url, warm)
    ours_rss, ours_blocks = await _async_growth(home, home.smartwats_url, count)
    floor_rss, floor_blocks = await _async_growth(home, home.floor_url, count)
    inbox = home.hass.data[WEBHOOK_INBOXES][home.entry.data[CONF_WEBHOOK_ID]]
    mb = 1024 * 1024
    return {
        "posts": count,
        "warm_up_posts": warm,
        "smartwats_rss_growth_mb": ours_rss / mb,
        "smartwats_allocated_blocks_growth": ours_blocks,
        "floor_rss_growth_mb": floor_rss / mb,
        "floor_allocated_blocks_growth": floor_blocks,
        "recent_ids_remembered": len(inbox.recent_ids),
        "recent_ids_bound": RECENT_MESSAGE_IDS,
        "targets": {
            "smartwats_rss_growth_mb": {
                "target": f"< {TARGET_MB}",
                "met": ours_rss / mb < TARGET_MB,
            }
        },
    }
