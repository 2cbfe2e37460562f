"""Which URL the gateway can reach Home Assistant at (for webhooks and media it fetches).

The SmartWats gateway runs on the internet: it needs an HTTPS URL on a public host, either Home
Assistant's external URL or its Home Assistant Cloud URL. A gateway on a loopback or private
address (the bundled emulator, a gateway on the local network) reaches the internal URL as well.
"""

from __future__ import annotations

import ipaddress

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError, get_url
from yarl import URL

_LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".home.arpa")


def host_is_local(host: str | None) -> bool:
    """Tell whether a host name or address can only be reached from the local network."""
    if not host:
        return True
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host  # a bare name resolves on the local network only
    return not address.is_global


def url_is_public(url: str) -> bool:
    """Tell whether a gateway on the internet can fetch ``url`` (HTTPS on a public host)."""
    parsed = URL(url)
    return parsed.scheme == "https" and not host_is_local(parsed.host)


@callback
def async_reachable_base_url(
    hass: HomeAssistant, gateway_base_url: str, *, allow_cloud: bool
) -> str | None:
    """Return Home Assistant's base URL as the gateway can reach it, or None when there is none.

    With ``allow_cloud`` the Home Assistant Cloud remote URL comes first. Webhooks pass False:
    they use a cloudhook instead, which works without remote access.
    """
    if host_is_local(URL(gateway_base_url).host):
        try:
            return get_url(hass, allow_cloud=allow_cloud, prefer_external=False)
        except NoURLAvailableError:
            return None
    if allow_cloud:
        try:
            return get_url(hass, require_cloud=True)
        except NoURLAvailableError:
            pass
    try:
        url = get_url(hass, allow_internal=False, allow_cloud=False, require_ssl=True)
    except NoURLAvailableError:
        return None
    return url if url_is_public(url) else None
