"""scripts/develop brings the demo up: Home Assistant onboarded, the entry, recipients, scripts.

The script itself runs (as a developer starts it) on free loopback ports, in a temporary
configuration folder, and is driven only through public interfaces: Home Assistant's auth and
REST APIs, the emulator's control API. Then SIGINT (Ctrl-C) must stop everything it started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

import pytest

from devtools import develop

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ME = "966501234567@s.whatsapp.net"
FAMILY = develop.GROUP_IDS[0]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite's autouse fixture: these tests have no in-process `hass`."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _http(
    method: str,
    url: str,
    body: object = None,
    *,
    token: str = "",
    form: dict[str, str] | None = None,
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data, headers, method=method)  # noqa: S310 - loopback
    with _OPENER.open(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw.strip() else None


def _wait[T](what: str, probe: Callable[[], T | None], seconds: float = 20) -> T:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError, urllib.error.HTTPError):
            if (result := probe()) is not None:
                return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _log_in(ha_url: str) -> str:
    """Log in as dev/dev through the auth API, as the login page does; return an access token."""
    client_id = ha_url + "/"
    flow = _http(
        "POST",
        ha_url + "/auth/login_flow",
        {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
    )
    result = _http(
        "POST",
        f"{ha_url}/auth/login_flow/{flow['flow_id']}",
        {"client_id": client_id, "username": "dev", "password": "dev"},
    )
    assert result["type"] == "create_entry", result
    tokens = _http(
        "POST",
        ha_url + "/auth/token",
        form={"grant_type": "authorization_code", "code": result["result"], "client_id": client_id},
    )
    return str(tokens["access_token"])


def _processes_mentioning(marker: str) -> list[str]:
    """Return the command lines of the processes naming `marker` (the test's config folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if marker in cmdline and "zombie" not in (entry / "status").read_text():
                found.append(f"{entry.name}: {cmdline}")
    return found


def _kill_processes_mentioning(marker: str) -> None:
    for line in _processes_mentioning(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)


class Demo:
    """scripts/develop running in the background, its output in a file."""

    def __init__(self, config_dir: Path, *args: str) -> None:
        """Start scripts/develop (ports and folder through the environment, as documented)."""
        self.config_dir = config_dir
        self.ha_port = _free_port()
        self.emulator_port = _free_port()
        self.output = config_dir.parent / f"develop-{self.ha_port}.out"
        env = dict(
            os.environ,
            SMARTWATS_DEV_HA_PORT=str(self.ha_port),
            SMARTWATS_DEV_EMULATOR_PORT=str(self.emulator_port),
            SMARTWATS_DEV_CONFIG=str(config_dir),
        )
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own script
                [str(REPO / "scripts" / "develop"), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=env,
            )

    @property
    def ha_url(self) -> str:
        """Return Home Assistant's URL."""
        return f"http://{HOST}:{self.ha_port}"

    @property
    def emulator_url(self) -> str:
        """Return the emulator's URL."""
        return f"http://{HOST}:{self.emulator_port}"

    def text(self) -> str:
        """Return what scripts/develop and Home Assistant printed so far."""
        return self.output.read_text("utf-8", errors="replace")

    def wait_until_ready(self, seconds: float = 90) -> None:
        """Wait for the "ready" banner; fail with the output when the script ends or hangs."""
        deadline = time.monotonic() + seconds
        while "Ctrl-C stops both." not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"scripts/develop did not get ready:\n{self.text()[-6000:]}")
            time.sleep(0.2)

    def interrupt(self, seconds: float = 60) -> int:
        """Press Ctrl-C (SIGINT) and wait for the script to end; return its status."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            pytest.fail(f"scripts/develop did not stop on SIGINT:\n{self.text()[-4000:]}")

    def kill(self) -> None:
        """Make sure nothing is left (after a failure)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        _kill_processes_mentioning(str(self.config_dir))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A configuration folder of its own for this run."""
    return tmp_path / "config"


@pytest.fixture
def demo(socket_enabled: None, config_dir: Path) -> Iterator[Demo]:
    """scripts/develop, started; killed (with everything naming its folder) if a test failed."""
    running = Demo(config_dir)
    try:
        yield running
    finally:
        running.kill()


def test_demo_comes_up_and_stops_on_ctrl_c(demo: Demo) -> None:
    """Onboarded; entry and recipients loaded; a script sends; a reply arrives; SIGINT ends all."""
    demo.wait_until_ready()
    token = _log_in(demo.ha_url)

    entries = _http(
        "GET", demo.ha_url + "/api/config/config_entries/entry?domain=smartwats", token=token
    )
    assert [(e["title"], e["state"], e["num_subentries"]) for e in entries] == [
        (develop.INSTANCE_ID, "loaded", 2)
    ]
    for entity_id in develop.NOTIFY_ENTITIES:
        assert _http("GET", f"{demo.ha_url}/api/states/{entity_id}", token=token)
    linked = _http(
        "GET", demo.ha_url + "/api/states/binary_sensor.68dbb04feccba_linked", token=token
    )
    assert linked["state"] == "on"

    # The dashboard's "Text" button: the script sends to both recipients through the emulator.
    _http("POST", demo.ha_url + "/api/services/script/smartwats_send_text", {}, token=token)
    sent_url = f"{demo.emulator_url}/_emulator/instances/{develop.INSTANCE_ID}/sent"

    def texts() -> list[tuple[str, str]] | None:
        sent = [(m["to"], m["type"]) for m in _http("GET", sent_url)["sent"]]
        return sent if len(sent) >= 2 else None

    assert sorted(_wait("the texts at the emulator", texts)) == sorted(
        [(ME, "text"), (FAMILY, "text")]
    )

    # A reply on the phone page reaches Home Assistant's event entity of that recipient.
    _http(
        "POST",
        f"{demo.emulator_url}/_emulator/instances/{develop.INSTANCE_ID}/inbound",
        {"kind": "text", "text": "Thanks!", "from_number": ME.split("@", 1)[0]},
    )

    def reply() -> dict[str, Any] | None:
        state = _http("GET", demo.ha_url + "/api/states/event.me_message", token=token)
        return state if state["attributes"].get("text") == "Thanks!" else None

    assert _wait("the reply in Home Assistant", reply)["attributes"]["event_type"] == "text"

    assert demo.interrupt() == 0
    output = demo.text()
    assert "[develop]\x1b[0m stopped" in output
    assert _processes_mentioning(str(demo.config_dir)) == []
    for port in (demo.ha_port, demo.emulator_port):
        with socket.socket() as sock:
            assert sock.connect_ex((HOST, port)) != 0, f"port {port} still listens"


def test_fresh_starts_onboarded_without_entry(socket_enabled: None, config_dir: Path) -> None:
    """--fresh wipes the state: still onboarded, no entry, an unlinked instance to link."""
    config_dir.mkdir()
    (config_dir / develop.MARKER).touch()
    (config_dir / "home-assistant_v2.db").write_text("an earlier run's state", "utf-8")
    fresh = Demo(config_dir, "--fresh")
    try:
        fresh.wait_until_ready()
        assert "add SmartWats:" in fresh.text()
        token = _log_in(fresh.ha_url)
        entries = _http("GET", fresh.ha_url + "/api/config/config_entries/entry", token=token)
        assert "smartwats" not in {entry["domain"] for entry in entries}
        steps = _http("GET", fresh.ha_url + "/api/onboarding")
        assert all(step["done"] for step in steps), steps
        instance = _http("GET", f"{fresh.emulator_url}/_emulator/instances/{develop.INSTANCE_ID}")
        assert (instance["access_token"], instance["state"]) == (develop.ACCESS_TOKEN, "created")
        assert fresh.interrupt() == 0
    finally:
        fresh.kill()


def test_prepare_config_refuses_a_foreign_folder(tmp_path: Path) -> None:
    """A non-empty folder scripts/develop did not make is never used (nor wiped by --fresh)."""
    (tmp_path / "precious.txt").write_text("keep me", "utf-8")
    with pytest.raises(develop.DevelopError, match="refusing"):
        develop.prepare_config(develop.Settings(config_dir=tmp_path, fresh=True))
    assert (tmp_path / "precious.txt").read_text("utf-8") == "keep me"


def test_prepare_config_fresh_wipes_runtime_state(tmp_path: Path) -> None:
    """--fresh deletes the runtime state and lays the configuration out again."""
    settings = develop.Settings(config_dir=tmp_path, ha_port=18123)
    develop.prepare_config(settings)
    (tmp_path / "home-assistant_v2.db").write_text("state", "utf-8")
    (tmp_path / ".storage" / "core.config_entries").write_text("{}", "utf-8")
    develop.prepare_config(develop.Settings(config_dir=tmp_path, ha_port=18124, fresh=True))
    assert not (tmp_path / "home-assistant_v2.db").exists()
    assert not (tmp_path / ".storage" / "core.config_entries").exists()
    assert (tmp_path / "configuration.yaml").read_text("utf-8") == (
        develop.SEED_DIR / "configuration.yaml"
    ).read_text("utf-8")
    assert (tmp_path / "custom_components" / "smartwats").resolve() == (
        REPO / "custom_components" / "smartwats"
    )
    http = json.loads((tmp_path / ".storage" / "http").read_text("utf-8"))["data"]
    assert http["stable"]["server_host"] == [HOST]
    assert http["stable"]["server_port"] == 18124
    assert http["pending"] is None
    onboarding = json.loads((tmp_path / ".storage" / "onboarding").read_text("utf-8"))
    assert onboarding["data"]["done"] == ["core_config"]


def test_settings_from_environment_and_flags() -> None:
    """Ports and the folder come from flags, else SMARTWATS_DEV_*; defaults otherwise."""
    assert develop.parse_args([], env={}) == develop.Settings(config_dir=develop.SEED_DIR)
    env = {
        "SMARTWATS_DEV_HA_PORT": "9123",
        "SMARTWATS_DEV_EMULATOR_PORT": "9900",
        "SMARTWATS_DEV_CONFIG": "/tmp/somewhere",  # noqa: S108
    }
    settings = develop.parse_args(["--fresh", "--ha-port", "9124", "--", "--debug"], env=env)
    assert settings == develop.Settings(
        config_dir=Path("/tmp/somewhere"),  # noqa: S108
        ha_port=9124,
        emulator_port=9900,
        fresh=True,
        hass_args=("--debug",),
    )
    with pytest.raises(SystemExit):
        develop.parse_args(["--ha-port", "9000", "--emulator-port", "9000"], env={})
