"""scripts/develop must never make Home Assistant install packages when it starts.

Home Assistant installs an integration's requirements when it sets the integration up.
scripts/develop runs it with --skip-pip, so every requirement of every integration that starts with
the development configuration must already be installed by the toolchain (requirements_dev.txt).
The configuration is the one scripts/develop lays out (config/configuration.yaml with its includes).

The integrations that start are those of the configuration and of Home Assistant's defaults, with
their `dependencies`. Their `after_dependencies` need not start, but the integrations that name them
import them (for example analytics imports hassio, which imports aiohasupervisor), so their
requirements must be installed too. scripts/toolchain walks the same way to install what the other
tested releases (`scripts/test --ha-matrix`) need at start-up.
"""

from __future__ import annotations

from pathlib import Path

from homeassistant import bootstrap
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
from homeassistant.util.package import is_installed
from homeassistant.util.yaml import load_yaml_dict

from custom_components.smartwats.const import DOMAIN
from devtools import develop


async def _domains_started_by_develop(hass: HomeAssistant, config_dir: Path) -> set[str]:
    await hass.async_add_executor_job(
        develop.prepare_config, develop.Settings(config_dir=config_dir)
    )
    config = await hass.async_add_executor_job(load_yaml_dict, config_dir / "configuration.yaml")
    pending = bootstrap._get_domains(hass, config) | {DOMAIN}
    resolved: set[str] = set()
    while pending:
        domain = pending.pop()
        integration = await async_get_integration(hass, domain)
        resolved.add(domain)
        pending |= set(integration.dependencies) - resolved
    return resolved


async def _after_dependencies(hass: HomeAssistant, domains: set[str]) -> set[str]:
    """The `after_dependencies` of the integrations `domains` that are not among them."""
    after: set[str] = set()
    for domain in domains:
        integration = await async_get_integration(hass, domain)
        after.update(integration.after_dependencies)
    return after - domains


async def test_everything_develop_starts_is_installed(hass: HomeAssistant, tmp_path: Path) -> None:
    """Each requirement of the integrations started by scripts/develop is already installed."""
    domains = await _domains_started_by_develop(hass, tmp_path)
    assert {
        "frontend",
        "http",
        "webhook",
        "logbook",
        "assist_pipeline",
        "automation",
        "script",
        "media_source",
        "lovelace",
        DOMAIN,
    } <= domains

    # analytics, set up by default, names hassio as an after-dependency, and imports it.
    after = await _after_dependencies(hass, domains)
    assert "hassio" in after

    missing = []
    for domain in sorted(domains | after):
        integration = await async_get_integration(hass, domain)
        missing.extend(
            f"{domain}: {requirement}"
            for requirement in integration.requirements
            if not is_installed(requirement)
        )
    assert missing == [], "pin these in requirements_dev.txt"
