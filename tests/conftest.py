"""Fixtures shared by the tests of the SmartWats integration."""

from __future__ import annotations

from collections.abc import Generator

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("homeassistant.helpers.entity.Entity.entity_registry_enabled_default", True)
        yield
