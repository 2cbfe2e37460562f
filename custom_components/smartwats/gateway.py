"""How the integration reaches the gateway: one client per config entry or flow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_ACCESS_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import DEFAULT_BASE_URL, SmartwatsClient
from .const import CONF_BASE_URL, CONF_DEFAULT_COUNTRY_CODE, CONF_INSTANCE_ID


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
        default_country_code=(options or {}).get(CONF_DEFAULT_COUNTRY_CODE) or None,
    )
