"""The end-to-end harness: a real `hass` process and the gateway emulator, on loopback ports.

Both run as child processes, each in a process group of its own (so that stopping one ends
everything it started) and with a parent-death signal (so that they end with the test run even
when it is killed without a chance to clean up). They are driven only through their public
interfaces, as the frontend and a phone would: Home Assistant's REST API (`/api/…`), its WebSocket
API (`/api/websocket`) and the emulator's HTTP API (`/api/…` for the gateway, `/_emulator/…` to
play the phone).

The start-up helpers (used by package-scoped fixtures) are synchronous, on `urllib`; the clients
the tests use are asynchronous, on `aiohttp`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Final
import urllib.error
import urllib.parse
import urllib.request

import aiohttp
import pytest_socket

REPO: Final = Path(__file__).resolve().parents[2]
ARTIFACTS: Final = REPO / "artifacts"
HOST: Final = "127.0.0.1"
DEV_USER: Final = "dev"
DEV_PASSWORD: Final = "dev"  # noqa: S105 - the documented demo login
# A QR code that does not change during a test run: what a screenshot shows stays current.
QR_ROTATE_SECONDS: Final = 600

# Started in front of every child process: ask the kernel for SIGTERM when the test run (its
# parent) dies, give up if it already has, then become the real program (the request survives
# exec). The test run's pid comes as argv[1], the program as argv[2:].
_LAUNCHER: Final = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""

# urllib without proxies: every address of these tests is on the loopback interface.
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HarnessError(RuntimeError):
    """The harness could not start or reach a process."""


@contextlib.contextmanager
def sockets_enabled() -> Iterator[None]:
    """Allow sockets while a fixture starts the servers (pytest-socket blocks them).

    Outside a test, Home Assistant's test plugin keeps sockets disabled; each end-to-end test
    enables them again with the `socket_enabled` fixture.
    """
    pytest_socket.enable_socket()
    try:
        yield
    finally:
        pytest_socket.disable_socket(allow_unix_socket=True)


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    """Return the last lines of a log file (empty when there is none)."""
    try:
        text = path.read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def http_json(
    method: str,
    url: str,
    body: object = None,
    *,
    token: str | None = None,
    form: dict[str, str] | None = None,
    timeout: float = 15,
) -> Any:
    """Make a request and return the decoded JSON answer (None when empty); raise on HTTP errors."""
    headers = {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")
        raise HarnessError(f"{method} {url} answered {err.code}: {detail}") from err
    return json.loads(raw) if raw.strip() else None


def kill_processes_mentioning(marker: str) -> list[int]:
    """SIGKILL every process whose command line contains `marker` (a unique temporary path).

    The last safety net of the teardown: whatever a browser or server of this run left behind
    names the run's temporary folder (user data dir, config dir) and nothing else does.
    """
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
    return killed


class ManagedProcess:
    """A child process in a process group of its own, logging to a file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, cwd: Path) -> None:
        """Describe the process; nothing runs until `start`."""
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process."""
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *self.argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """Return the process id (also its process group id)."""
        if self._proc is None:
            raise HarnessError(f"{self.name} is not started")
        return self._proc.pid

    def returncode(self) -> int | None:
        """Return the exit status, or None while it runs."""
        return None if self._proc is None else self._proc.poll()

    def check_running(self) -> None:
        """Raise (with the end of its log) when the process has exited."""
        code = self.returncode()
        if code is not None:
            raise HarnessError(
                f"{self.name} exited with status {code}; end of {self.log_path}:\n"
                + tail(self.log_path)
            )

    def stop(self, grace: float = 15.0) -> None:
        """Ask the process group to stop (SIGTERM), then kill what is left of it (SIGKILL)."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(grace)
        # Whatever the leader left in its group (or the leader itself, if it hung) is killed.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()


def wait_until[T](
    what: str,
    probe: Callable[[], T | None],
    *,
    timeout: float,
    process: ManagedProcess | None = None,
    interval: float = 0.2,
) -> T:
    """Call `probe` until it returns something other than None; fail after `timeout` seconds.

    Connection errors count as "not yet". When `process` exits meanwhile, fail at once.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        if process is not None:
            process.check_running()
        try:
            result = probe()
        except (OSError, HarnessError, ValueError) as err:
            last_error = err
        else:
            if result is not None:
                return result
        if time.monotonic() > deadline:
            logs = f"; end of {process.log_path}:\n{tail(process.log_path)}" if process else ""
            raise HarnessError(f"timed out waiting for {what} (last error: {last_error}){logs}")
        time.sleep(interval)


class EmulatorServer:
    """`python -m smartwats_emulator` on a free loopback port (the emulator picks it)."""

    def __init__(self, workdir: Path) -> None:
        """Describe the emulator; it logs to `workdir`/emulator.log."""
        self.process = ManagedProcess(
            "the gateway emulator",
            [
                sys.executable,
                "-m",
                "smartwats_emulator",
                "--host",
                HOST,
                "--port",
                "0",
                "--allow-private-webhooks",
                "--qr-rotate",
                str(QR_ROTATE_SECONDS),
            ],
            workdir / "emulator.log",
            cwd=REPO,
        )
        self.url = ""

    @property
    def api_url(self) -> str:
        """Return the gateway API's base URL, as the integration's `base_url`."""
        return self.url + "api/"

    def start(self, timeout: float = 30) -> None:
        """Start it and wait until its control API answers."""
        self.process.start()

        def printed_url() -> str | None:
            found = re.search(r"^phone page:\s+(\S+)$", tail(self.process.log_path), re.MULTILINE)
            return found.group(1) if found else None

        self.url = wait_until(
            "the emulator's address", printed_url, timeout=timeout, process=self.process
        )
        wait_until(
            "the emulator's control API",
            lambda: http_json("GET", self.url + "_emulator/instances"),
            timeout=timeout,
            process=self.process,
        )

    def stop(self) -> None:
        """Stop it."""
        self.process.stop(grace=5)


CONFIGURATION_YAML: Final = """\
# Written by tests/e2e/harness.py for one end-to-end test run.
homeassistant:
  name: SmartWats end-to-end
  unit_system: metric
  time_zone: UTC
  country: SA
  currency: SAR
  language: en
  latitude: 24.7136
  longitude: 46.6753
  elevation: 600
  internal_url: {url}

http:
  server_host: {host}
  server_port: {port}

frontend:
config:
conversation:

# A light for Assist to turn on (tests/e2e/test_browser.py).
template:
  - light:
      - name: Porch light
        turn_on: []
        turn_off: []

logger:
  default: warning
  logs:
    homeassistant.setup: info
    custom_components.smartwats: debug
"""


class HomeAssistantServer:
    """A real `hass` process with a fresh configuration folder, onboarded, with a user's token."""

    def __init__(self, config_dir: Path) -> None:
        """Describe Home Assistant; its configuration and logs live in `config_dir`."""
        self.config_dir = config_dir
        self.port = 0
        self.token = ""
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Return Home Assistant's base URL (no trailing slash), as its internal URL."""
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Return Home Assistant's own log file."""
        return self.config_dir / "home-assistant.log"

    @property
    def output_path(self) -> Path:
        """Return the file with the process's standard output and error."""
        return self.config_dir / "hass.out"

    def _write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(
            CONFIGURATION_YAML.format(url=self.url, host=HOST, port=self.port), "utf-8"
        )
        custom = self.config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        link = custom / "smartwats"
        if not link.is_symlink():
            link.symlink_to(REPO / "custom_components" / "smartwats", target_is_directory=True)

    def _launch(self) -> None:
        """Start the `hass` process on the configuration folder (it is not waited for)."""
        self.process = ManagedProcess(
            "Home Assistant",
            [
                sys.executable,
                "-m",
                "homeassistant",
                "--config",
                str(self.config_dir),
                "--skip-pip",
                "--log-no-color",
            ],
            self.output_path,
            cwd=self.config_dir,
        )
        self.process.start()

    def start(self, timeout: float = 90, attempts: int = 3) -> None:
        """Start Home Assistant on a free port, onboard it and wait until it runs.

        A port taken between choosing and binding it makes Home Assistant exit: another port is
        tried then.
        """
        for attempt in range(1, attempts + 1):
            # Each attempt starts afresh: Home Assistant keeps the HTTP settings it has seen.
            shutil.rmtree(self.config_dir, ignore_errors=True)
            self.port = free_port()
            self._write_config()
            self._launch()
            try:
                wait_until(
                    "Home Assistant's HTTP server",
                    lambda: http_json("GET", self.url + "/api/onboarding", timeout=5),
                    timeout=timeout,
                    process=self.process,
                )
            except HarnessError:
                port_taken = "Errno 98" in tail(self.output_path, 400) + tail(self.log_path, 400)
                self.process.stop()
                if port_taken and attempt < attempts:
                    continue
                raise
            break
        self._onboard()
        wait_until(
            "Home Assistant to finish starting",
            self._running,
            timeout=timeout,
            process=self.process,
        )
        self._confirm_http_config()

    def restart(self, timeout: float = 90) -> None:
        """Stop Home Assistant and start it again on what it kept (configuration, storage)."""
        self.stop()
        self._launch()
        wait_until(
            "Home Assistant to run again", self._running, timeout=timeout, process=self.process
        )

    def _onboard(self) -> None:
        """Onboard through the onboarding REST API, as the frontend does: user, then each step."""
        client_id = self.url + "/"
        created = http_json(
            "POST",
            self.url + "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": DEV_USER,
                "username": DEV_USER,
                "password": DEV_PASSWORD,
                "language": "en",
            },
        )
        tokens = http_json(
            "POST",
            self.url + "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": created["auth_code"],
                "client_id": client_id,
            },
        )
        self.token = tokens["access_token"]
        http_json("POST", self.url + "/api/onboarding/core_config", {}, token=self.token)
        http_json("POST", self.url + "/api/onboarding/analytics", {}, token=self.token)
        http_json(
            "POST",
            self.url + "/api/onboarding/integration",
            {"client_id": client_id, "redirect_uri": client_id + "?auth_callback=1"},
            token=self.token,
        )
        steps = http_json("GET", self.url + "/api/onboarding")
        if not all(step["done"] for step in steps):
            raise HarnessError(f"onboarding is not complete: {steps}")

    def _confirm_http_config(self) -> None:
        """Confirm the HTTP settings of configuration.yaml, as the frontend's dialog does.

        Home Assistant moves `http:` settings from YAML into its storage as a trial, which it
        reverts (with a restart on the default port) unless the user confirms it within five
        minutes; the frontend shows "Confirm new HTTP server configuration" meanwhile.
        """
        (config,) = ws_commands_blocking(self.url, self.token, [{"type": "http/config"}])
        if config.get("pending") is not None:
            ws_commands_blocking(self.url, self.token, [{"type": "http/config/promote"}])

    def _running(self) -> bool | None:
        config = http_json("GET", self.url + "/api/config", token=self.token, timeout=5)
        return True if config.get("state") == "RUNNING" else None

    def stop(self) -> None:
        """Stop Home Assistant (it shuts down on SIGTERM)."""
        if self.process is not None:
            self.process.stop(grace=20)


async def ws_commands(
    session: aiohttp.ClientSession, url: str, token: str, commands: list[dict[str, Any]]
) -> list[Any]:
    """Send commands over one WebSocket API connection; return their results."""
    async with session.ws_connect(url + "/api/websocket") as ws:
        stream = EventStream(ws)
        await stream.authenticate(token)
        return [await stream.command(command) for command in commands]


def ws_commands_blocking(
    url: str, token: str, commands: list[dict[str, Any]], timeout: float = 30
) -> list[Any]:
    """`ws_commands` for synchronous code (an event loop of its own, in a thread of its own)."""

    async def run() -> list[Any]:
        async with aiohttp.ClientSession() as session:
            return await ws_commands(session, url, token, commands)

    with ThreadPoolExecutor(1, thread_name_prefix="e2e-websocket") as pool:
        return pool.submit(asyncio.run, run()).result(timeout)


# -- asynchronous clients for the tests -----------------------------------------------------------


class RestClient:
    """JSON over HTTP with aiohttp; raises with the answer's text on any error status."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str = "") -> None:
        """Talk to `base_url` (no trailing slash), with a bearer token when given."""
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def request(self, method: str, path: str, body: object = None) -> Any:
        """Make a request to `path` and return the decoded JSON answer (None when empty)."""
        async with self.session.request(
            method,
            self.base_url + path,
            json=body,
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise HarnessError(f"{method} {path} answered {response.status}: {text}")
            return json.loads(text) if text.strip() else None

    async def get(self, path: str) -> Any:
        """GET `path`."""
        return await self.request("GET", path)

    async def post(self, path: str, body: object = None) -> Any:
        """POST `body` as JSON to `path`."""
        return await self.request("POST", path, {} if body is None else body)

    async def delete(self, path: str) -> Any:
        """DELETE `path`."""
        return await self.request("DELETE", path)


class EmulatorClient(RestClient):
    """The emulator's control API: play the phone and look at what the gateway received."""

    def __init__(self, session: aiohttp.ClientSession, server: EmulatorServer) -> None:
        """Talk to the emulator `server`."""
        super().__init__(session, server.url)
        self.api_url = server.api_url

    async def create_instance(self, *, linked: bool, phone: str | None = None) -> tuple[str, str]:
        """Create an account and an instance of it; return (access token, instance id)."""
        body: dict[str, Any] = {"linked": linked}
        if phone:
            body["phone"] = phone
        created = await self.post("/_emulator/instances", body)
        return created["access_token"], created["instance"]["instance_id"]

    async def instance(self, instance_id: str) -> dict[str, Any]:
        """Return an instance's state (link state, QR payload, webhook, …)."""
        result: dict[str, Any] = await self.get(f"/_emulator/instances/{instance_id}")
        return result

    async def qr(self, instance_id: str) -> dict[str, Any]:
        """Return the QR code the gateway shows now: {"payload", "base64"}."""
        result: dict[str, Any] = await self.get(f"/_emulator/instances/{instance_id}/qr")
        return result

    async def link(self, instance_id: str, phone: str | None = None) -> None:
        """Link the instance, as a phone scanning its QR code does."""
        await self.post(f"/_emulator/instances/{instance_id}/link", {"phone": phone})

    async def sent(self, instance_id: str) -> list[dict[str, Any]]:
        """Return the messages the instance sent, oldest first."""
        result = await self.get(f"/_emulator/instances/{instance_id}/sent")
        return list(result["sent"])

    async def inject(self, instance_id: str, kind: str, **fields: object) -> dict[str, Any]:
        """Make the linked phone receive a message; return its WAMessage."""
        result = await self.post(
            f"/_emulator/instances/{instance_id}/inbound", {"kind": kind, **fields}
        )
        return dict(result["message"])

    async def receipts(self, instance_id: str, message_id: str, up_to: str) -> list[Any]:
        """Post the receipts of a sent message up to `up_to`; return the webhook deliveries."""
        result = await self.post(
            f"/_emulator/instances/{instance_id}/receipts",
            {"message_id": message_id, "up_to": up_to},
        )
        return list(result["deliveries"])


class HomeAssistantClient(RestClient):
    """Home Assistant's REST and WebSocket APIs, as the `dev` user."""

    def __init__(self, session: aiohttp.ClientSession, server: HomeAssistantServer) -> None:
        """Talk to the Home Assistant `server` with its user's token."""
        super().__init__(session, server.url, server.token)
        self.token = server.token

    async def ws_command(self, command: dict[str, Any]) -> Any:
        """Send one command over the WebSocket API and return its result."""
        (result,) = await ws_commands(self.session, self.base_url, self.token, [command])
        return result

    async def entity_ids(self, entry_id: str) -> list[str]:
        """Return the ids of a config entry's entities, from the entity registry."""
        entities = await self.ws_command({"type": "config/entity_registry/list"})
        return sorted(e["entity_id"] for e in entities if e["config_entry_id"] == entry_id)

    async def start_flow(self, domain: str) -> dict[str, Any]:
        """Start a config flow, as the "Add integration" dialog does."""
        result: dict[str, Any] = await self.post(
            "/api/config/config_entries/flow",
            {"handler": domain, "show_advanced_options": False},
        )
        return result

    async def flow_step(self, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Submit a step of a config flow (a form's data, or {"next_step_id"} for a menu)."""
        result: dict[str, Any] = await self.post(f"/api/config/config_entries/flow/{flow_id}", data)
        return result

    async def flow(self, flow_id: str) -> dict[str, Any]:
        """Return a config flow's current step, as the frontend loads it again after an event."""
        result: dict[str, Any] = await self.get(f"/api/config/config_entries/flow/{flow_id}")
        return result

    async def entries(self, domain: str) -> list[dict[str, Any]]:
        """Return the config entries of a domain."""
        result = await self.get(f"/api/config/config_entries/entry?domain={domain}")
        return list(result)

    async def entry(self, entry_id: str) -> dict[str, Any] | None:
        """Return a config entry, or None when there is no such entry."""
        for domain_entry in await self.get("/api/config/config_entries/entry"):
            if domain_entry["entry_id"] == entry_id:
                return dict(domain_entry)
        return None

    async def wait_entry_state(
        self, entry_id: str, state: str, within: float = 30
    ) -> dict[str, Any]:
        """Wait until the config entry reaches `state` (such as "loaded"); return it."""
        entry = None
        async with asyncio.timeout(within):
            while True:
                entry = await self.entry(entry_id)
                if entry is not None and entry["state"] == state:
                    return entry
                await asyncio.sleep(0.2)

    @contextlib.asynccontextmanager
    async def events(self, *event_types: str) -> AsyncIterator[EventStream]:
        """Subscribe to bus events over the WebSocket API, as the frontend does."""
        async with self.session.ws_connect(self.base_url + "/api/websocket") as ws:
            stream = EventStream(ws)
            await stream.authenticate(self.token)
            for event_type in event_types:
                await stream.command({"type": "subscribe_events", "event_type": event_type})
            yield stream


@dataclass
class Event:
    """A bus event as the WebSocket API delivers it."""

    event_type: str
    data: dict[str, Any]


class EventStream:
    """A WebSocket connection to Home Assistant that collects the events it subscribed to."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Use the open WebSocket `ws`."""
        self.ws = ws
        self.events: list[Event] = []
        self._next_id = 1

    async def authenticate(self, token: str) -> None:
        """Answer the server's auth request."""
        hello = await self.ws.receive_json()
        if hello.get("type") != "auth_required":
            raise HarnessError(f"unexpected WebSocket greeting: {hello}")
        await self.ws.send_json({"type": "auth", "access_token": token})
        answer = await self.ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise HarnessError(f"WebSocket authentication failed: {answer}")

    async def command(self, message: dict[str, Any]) -> Any:
        """Send a command and return its result (events arriving meanwhile are kept)."""
        message_id = self._next_id
        self._next_id += 1
        await self.ws.send_json({"id": message_id, **message})
        while True:
            answer = await self._receive()
            if answer.get("type") == "result" and answer.get("id") == message_id:
                if not answer.get("success"):
                    raise HarnessError(f"WebSocket command {message} failed: {answer}")
                return answer.get("result")

    async def _receive(self) -> dict[str, Any]:
        message: dict[str, Any] = await self.ws.receive_json()
        if message.get("type") == "event":
            event = message["event"]
            self.events.append(Event(event["event_type"], dict(event["data"])))
        return message

    async def wait_for(
        self, predicate: Callable[[Event], bool], what: str, within: float = 15
    ) -> Event:
        """Return the first event (already received or coming) that matches `predicate`."""
        seen = 0
        try:
            async with asyncio.timeout(within):
                while True:
                    for event in self.events[seen:]:
                        if predicate(event):
                            return event
                    seen = len(self.events)
                    await self._receive()
        except TimeoutError:
            raise HarnessError(
                f"no event {what} within {within} s; received: {self.events}"
            ) from None


async def wait_for_webhook(emu: EmulatorClient, instance_id: str, ha_url: str) -> str:
    """Wait until the integration has given the gateway its webhook; return the URL."""
    webhook: dict[str, Any] = {}
    for _ in range(150):
        webhook = (await emu.instance(instance_id))["webhook"]
        if webhook["url"] and webhook["enabled"]:
            assert str(webhook["url"]).startswith(ha_url + "/api/webhook/"), webhook
            return str(webhook["url"])
        await asyncio.sleep(0.1)
    raise HarnessError(f"the integration gave the gateway no webhook: {webhook}")
