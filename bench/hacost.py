"""Home Assistant's own costs, measured in the same run: a state write and an action call.

They tell apart what the integration costs and what Home Assistant charges anything that updates
an entity or offers an action: writing an entity's state (`async_write_ha_state`, which the
integration does for its event entities and counters) and calling an action that does nothing,
with the same schema as `smartwats.send_text`.
"""

from __future__ import annotations

from collections.abc import Mapping
import time
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.helpers.entity_platform import async_get_platforms

from custom_components.smartwats.const import DOMAIN
from custom_components.smartwats.services import SEND_TEXT_SCHEMA

NOOP_DOMAIN = "bench"
NOOP_SERVICE = "noop_send_text"


def state_write_us(hass: HomeAssistant, entity_id: str, count: int) -> float:
    """Return the microseconds one `async_write_ha_state` of an integration's entity takes.

    The state changes at every write, as it does for each message (Home Assistant writes an
    unchanged state much faster): an event entity is triggered, a counter is incremented (and put
    back afterwards).
    """
    entity: Any = next(
        platform.entities[entity_id]
        for platform in async_get_platforms(hass, DOMAIN)
        if entity_id in platform.entities
    )
    stats = getattr(entity, "_stats", None)  # the counters a SmartWats sensor shows
    key = entity.entity_description.key if entity_id.startswith("sensor.") else None
    counter = {"messages_sent": "sent", "messages_received": "received"}.get(key or "")
    before = getattr(stats, counter) if counter else 0
    started = time.perf_counter()
    for index in range(count):
        if counter:
            setattr(stats, counter, before + index + 1)
        else:
            entity._trigger_event("text", {"index": index})  # noqa: SLF001 - EventEntity's API
        entity.async_write_ha_state()
    elapsed = time.perf_counter() - started
    if counter:
        setattr(stats, counter, before)
    return elapsed / count * 1e6


async def _async_noop(call: ServiceCall) -> None:
    """Do nothing (Home Assistant's cost of an action call alone)."""


def register_noop_action(hass: HomeAssistant) -> None:
    """Register an action that does nothing, with the schema of `smartwats.send_text`."""
    hass.services.async_register(
        NOOP_DOMAIN,
        NOOP_SERVICE,
        _async_noop,
        schema=SEND_TEXT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


async def async_noop_action_us(
    hass: HomeAssistant, data: Mapping[str, object], count: int
) -> float:
    """Return the microseconds one blocking call of the no-op action takes."""
    services = hass.services
    started = time.perf_counter()
    for _ in range(count):
        await services.async_call(NOOP_DOMAIN, NOOP_SERVICE, dict(data), blocking=True)
    return (time.perf_counter() - started) / count * 1e6
