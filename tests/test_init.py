"""Tests of the integration's set-up."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.loader import async_get_custom_components
from homeassistant.setup import async_setup_component

from custom_components.smartwats.const import DOMAIN


async def test_integration_is_found_as_custom_integration(hass: HomeAssistant) -> None:
    """Home Assistant finds the integration in custom_components/ with its manifest."""
    integration = (await async_get_custom_components(hass))[DOMAIN]
    assert integration.name == "SmartWats (WhatsApp)"
    assert integration.version is not None
    assert integration.dependencies == ["http", "webhook"]


async def test_setup_without_yaml(hass: HomeAssistant) -> None:
    """The integration loads without YAML configuration."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert DOMAIN in hass.config.components


async def test_yaml_configuration_is_reported(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    """Configuration lives in config entries only: YAML under the domain raises a repair issue."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"access_token": "x"}})
    assert issue_registry.async_get_issue("homeassistant", f"config_entry_only_{DOMAIN}")
