"""What a loaded SmartWats config entry holds, and how the integration reaches the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_ACCESS_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import DEFAULT_BASE_URL, SmartwatsClient
from .ask import AskWaiters
from .assist import SmartwatsAssist
from .const import CONF_BASE_URL, CONF_DEFAULT_COUNTRY_CODE, CONF_INSTANCE_ID
from .coordinator import SmartwatsLinkCoordinator
from .sender import SmartwatsSender
from .stats import MessageStats
from .webhook_url import WebhookRegistration


@dataclass(frozen=True, slots=True, kw_only=True)
class SmartwatsRuntimeData:
    """The parts of a loaded entry (``entry.runtime_data``), each built before it is assigned."""

    client: SmartwatsClient
    # Whether the instance is linked (probed), and its QR code while it is not.
    coordinator: SmartwatsLinkCoordinator
    # The paced send queue of the instance, and what waits in it.
    sender: SmartwatsSender
    # Counters of messages sent, failed and received.
    stats: MessageStats
    # Where the gateway posts, kept current.
    webhook: WebhookRegistration
    # The questions (the ask action) that wait for an answer.
    asks: AskWaiters
    # The recipients' chats that talk to Assist.
    assist: SmartwatsAssist


type SmartwatsConfigEntry = ConfigEntry[SmartwatsRuntimeData]


def default_country_code(options: Mapping[str, Any]) -> str | None:
    """Return the country code national numbers take (entry options), if one is set."""
    return options.get(CONF_DEFAULT_COUNTRY_CODE) or None


def async_create_client(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
) -> SmartwatsClient:
    """Create a client from config entry data (or flow input) and options."""
    return SmartwatsClient(
        async_get_clientsession(hass),
        data[CONF_ACCESS_TOKEN],
        data.get(CONF_INSTANCE_ID) or None,
        base_url=data.get(CONF_BASE_URL) or DEFAULT_BASE_URL,
        default_country_code=default_country_code(options or {}),
        # A send that cannot connect fails at once: the outbox retries it (sender.py).
        send_retry_attempts=0,
    )
