"""Tests of the choice of the URL the gateway reaches Home Assistant at."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers.network import NoURLAvailableError
import pytest

from custom_components.smartwats.urls import (
    async_reachable_base_url,
    host_is_local,
    url_is_public,
)

GATEWAY = "https://app.smartwats.com/api/"
EMULATOR = "http://127.0.0.1:8900/api/"


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("homeassistant.local", True),
        ("ha.home.arpa", True),
        ("homeassistant", True),
        ("127.0.0.1", True),
        ("192.168.1.20", True),
        ("10.0.0.5", True),
        ("[::1]", True),
        ("fd00::1", True),
        ("", True),
        (None, True),
        ("8.8.8.8", False),
        ("example.duckdns.org", False),
        ("abc.ui.nabu.casa", False),
    ],
)
def test_host_is_local(host: str | None, local: bool) -> None:
    """Names and addresses of the local network are told apart from public ones."""
    assert host_is_local(host) is local


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://example.duckdns.org:8123", True),
        ("http://example.duckdns.org:8123", False),
        ("https://192.168.1.20:8123", False),
        ("https://homeassistant.local:8123", False),
    ],
)
def test_url_is_public(url: str, public: bool) -> None:
    """Only HTTPS on a public host can be fetched from the internet."""
    assert url_is_public(url) is public


async def _set_urls(hass: HomeAssistant, external: str | None, internal: str | None) -> None:
    await async_process_ha_core_config(
        hass,
        {
            key: value
            for key, value in (("external_url", external), ("internal_url", internal))
            if value
        },
    )
    hass.config.external_url = external
    hass.config.internal_url = internal


async def test_public_gateway_needs_public_https(hass: HomeAssistant) -> None:
    """The internet gateway gets the external URL only when it is HTTPS on a public host."""
    await _set_urls(hass, None, "http://192.168.1.20:8123")
    assert async_reachable_base_url(hass, GATEWAY, allow_cloud=False) is None
    await _set_urls(hass, "http://example.duckdns.org:8123", None)
    assert async_reachable_base_url(hass, GATEWAY, allow_cloud=False) is None
    await _set_urls(hass, "https://192.168.1.20:8123", None)
    assert async_reachable_base_url(hass, GATEWAY, allow_cloud=False) is None
    await _set_urls(hass, "https://example.duckdns.org:8123", "http://192.168.1.20:8123")
    assert (
        async_reachable_base_url(hass, GATEWAY, allow_cloud=False)
        == "https://example.duckdns.org:8123"
    )


async def test_cloud_url_comes_first_when_allowed(hass: HomeAssistant) -> None:
    """With Home Assistant Cloud remote access, media URLs use it; webhooks do not."""
    await _set_urls(hass, "https://example.duckdns.org:8123", None)
    with patch(
        "homeassistant.helpers.network._get_cloud_url", return_value="https://abc.ui.nabu.casa"
    ):
        assert async_reachable_base_url(hass, GATEWAY, allow_cloud=True) == (
            "https://abc.ui.nabu.casa"
        )
        assert async_reachable_base_url(hass, GATEWAY, allow_cloud=False) == (
            "https://example.duckdns.org:8123"
        )
    assert async_reachable_base_url(hass, GATEWAY, allow_cloud=True) == (
        "https://example.duckdns.org:8123"
    )


async def test_local_gateway_reaches_the_internal_url(hass: HomeAssistant) -> None:
    """A gateway on the local network (the emulator) may use the internal URL."""
    await _set_urls(hass, None, "http://127.0.0.1:8123")
    assert async_reachable_base_url(hass, EMULATOR, allow_cloud=False) == "http://127.0.0.1:8123"
    await _set_urls(hass, "https://example.duckdns.org:8123", "http://127.0.0.1:8123")
    assert async_reachable_base_url(hass, EMULATOR, allow_cloud=True) == "http://127.0.0.1:8123"


async def test_local_gateway_without_any_url(hass: HomeAssistant) -> None:
    """No URL at all: None, whatever the gateway."""
    await _set_urls(hass, None, None)
    with patch("custom_components.smartwats.urls.get_url", side_effect=NoURLAvailableError):
        assert async_reachable_base_url(hass, EMULATOR, allow_cloud=False) is None
