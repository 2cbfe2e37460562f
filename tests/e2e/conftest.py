"""Fixtures of the end-to-end tests: one emulator and one Home Assistant for all of them.

The servers are package-scoped: started for the first end-to-end test, stopped after the last one
(not at the end of the whole suite). Every test makes its own account, instance and config entry,
so tests do not depend on each other. Stopping terminates each server's process group, then kills
what is left of it, then kills any process still naming the run's temporary folder (a browser's
helpers). A run killed outright cannot clean up: its servers then get SIGTERM from the kernel
(parent-death signal), and Playwright's driver takes Chromium down when its pipe closes. When an
end-to-end test failed, the logs of Home Assistant and of the emulator are kept in artifacts/e2e/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
import shutil
import tempfile
from typing import Any

import aiohttp
import pytest

from .harness import (
    ARTIFACTS,
    EmulatorClient,
    EmulatorServer,
    HomeAssistantClient,
    HomeAssistantServer,
    kill_processes_mentioning,
    sockets_enabled,
)

DOMAIN = "smartwats"
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember that an end-to-end test failed, to keep the servers' logs as artifacts."""
    report = yield
    if report.failed:
        item.config.stash[_FAILED] = True
    return report


def _keep_logs(config: pytest.Config, logs: dict[str, Path], *, failed: bool = False) -> None:
    """Copy logs to artifacts/e2e/ when an end-to-end test (or the start of a server) failed."""
    if not (failed or config.stash.get(_FAILED, False)):
        return
    target = ARTIFACTS / "e2e"
    target.mkdir(parents=True, exist_ok=True)
    for name, source in logs.items():
        if source.exists():
            shutil.copyfile(source, target / name)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite's autouse fixture: these tests have no in-process `hass`."""


@pytest.fixture(autouse=True)
def e2e_sockets(socket_enabled: None) -> None:
    """Let every end-to-end test open sockets (pytest-socket still limits them to 127.0.0.1)."""


@pytest.fixture(scope="package")
def e2e_workdir() -> Iterator[Path]:
    """A temporary folder of this run: Home Assistant's configuration, logs, browser profiles."""
    shutil.rmtree(ARTIFACTS / "e2e", ignore_errors=True)  # the logs of an earlier failed run
    workdir = Path(tempfile.mkdtemp(prefix="smartwats-e2e-"))
    try:
        yield workdir
    finally:
        kill_processes_mentioning(str(workdir))
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="package")
def emulator_server(request: pytest.FixtureRequest, e2e_workdir: Path) -> Iterator[EmulatorServer]:
    """The gateway emulator, running as `python -m smartwats_emulator` on a free port."""
    server = EmulatorServer(e2e_workdir)
    logs = {"emulator.log": server.process.log_path}
    try:
        with sockets_enabled():
            server.start()
    except BaseException:
        server.stop()
        _keep_logs(request.config, logs, failed=True)
        raise
    yield server
    server.stop()
    _keep_logs(request.config, logs)


@pytest.fixture(scope="package")
def hass_server(
    request: pytest.FixtureRequest, e2e_workdir: Path, emulator_server: EmulatorServer
) -> Iterator[HomeAssistantServer]:
    """A real Home Assistant with the integration, onboarded (user `dev`, password `dev`)."""
    server = HomeAssistantServer(e2e_workdir / "config")
    logs = {"home-assistant.log": server.log_path, "hass.out": server.output_path}
    try:
        with sockets_enabled():
            server.start()
    except BaseException:
        server.stop()
        _keep_logs(request.config, logs, failed=True)
        raise
    yield server
    server.stop()
    _keep_logs(request.config, logs)


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for one test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def ha(
    http_session: aiohttp.ClientSession, hass_server: HomeAssistantServer
) -> HomeAssistantClient:
    """Home Assistant's REST and WebSocket APIs, logged in as `dev`."""
    return HomeAssistantClient(http_session, hass_server)


@pytest.fixture
def emu(http_session: aiohttp.ClientSession, emulator_server: EmulatorServer) -> EmulatorClient:
    """The emulator's control API."""
    return EmulatorClient(http_session, emulator_server)
