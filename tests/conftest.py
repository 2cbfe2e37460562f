"""Fixtures shared by the tests of the SmartWats integration."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import pytest

from smartwats_emulator import Emulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("homeassistant.helpers.entity.Entity.entity_registry_enabled_default", True)
        yield


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncGenerator[Emulator]:
    """A SmartWats gateway emulator on a free 127.0.0.1 port, stopped after the test.

    Sockets are enabled for the test (pytest-socket still lets them reach 127.0.0.1 only), and
    private webhook URLs are allowed so that tests can receive webhooks on 127.0.0.1. Stopping
    ends stalled answers and pending webhook deliveries, so no task or timer outlives the test.
    """
    emu = Emulator(allow_private_webhooks=True, qr_rotate_seconds=20)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()
