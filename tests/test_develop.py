"""scripts/develop brings the demo up: Home Assistant onboarded, the entry, recipients, scripts.

The script itself runs (as a developer starts it) on free loopback ports, in a temporary
configuration folder, and is driven only through public interfaces: Home Assistant's auth and
REST APIs, the emulator's control API. Then SIGINT (Ctrl-C) must stop everything it started.

How it treats an entry kept from an earlier run (another address, not loaded yet) is tested in
process, against a fake of Home Assistant's config entry and flow REST APIs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import time
from types import SimpleNamespace
from typing import Any, cast
import urllib.error
import urllib.parse
import urllib.request

import aiohttp
from aiohttp import web
from homeassistant.components.homeassistant.exposed_entities import DEFAULT_EXPOSED_DOMAINS
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowHandler
from homeassistant.helpers import config_validation as cv, script as script_helper
from homeassistant.helpers.template import Template
from homeassistant.util.yaml import load_yaml_dict
import probatio
import pytest

from custom_components.smartwats import config_flow, services
from custom_components.smartwats.const import (
    CONF_AGENT_ID,
    CONF_ASSIST,
    CONF_TARGET,
    DEFAULT_AGENT_ID,
    DOMAIN,
)
from devtools import develop
from smartwats_emulator import Emulator

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

    # The carousel's "Dashboard" button points at this run's Home Assistant port.
    _http("POST", demo.ha_url + "/api/services/script/smartwats_send_carousel", {}, token=token)

    def carousel() -> dict[str, Any] | None:
        sent = _http("GET", sent_url)["sent"]
        return next((m for m in sent if m["type"] == "carousel"), None)

    payload = json.dumps(_wait("the carousel at the emulator", carousel)["payload"])
    assert f'"{demo.ha_url}/{develop.DASHBOARD}"' in payload

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

    def state(entity_id: str) -> str:
        return str(_http("GET", f"{demo.ha_url}/api/states/{entity_id}", token=token)["state"])

    def text_to_me(containing: str) -> str | None:
        sent = (
            json.dumps(m["payload"])
            for m in _http("GET", sent_url)["sent"]
            if m["to"] == ME and m["type"] == "text"
        )
        return next((text for text in sent if containing in text), None)

    def inbound_from_me(text: str) -> None:
        _http(
            "POST",
            f"{demo.emulator_url}/_emulator/instances/{develop.INSTANCE_ID}/inbound",
            {"kind": "text", "text": text, "from_number": ME.split("@", 1)[0]},
        )

    # Assist in Me's chat: what the phone page writes by default turns the porch light on, and
    # Home Assistant's answer comes back to the chat.
    assert state("light.porch_light") == "off"
    inbound_from_me("turn on the porch light")
    _wait("the porch light on", lambda: state("light.porch_light") == "on" or None)
    _wait("Assist's answer at the emulator", lambda: text_to_me("Turned on the light"))

    # The dashboard's "Ask" button: the question to Me, "Close it" on the phone page closes it.
    _http(
        "POST",
        demo.ha_url + "/api/services/script/turn_on",
        {"entity_id": "script.smartwats_ask"},
        token=token,
    )
    question = _wait("the question", lambda: text_to_me("The garage is open. Close it?"))
    assert "Close it" in question.split("?", 1)[1]  # the answers follow the question
    assert state("input_boolean.garage_open") == "on"
    inbound_from_me("Close it")
    _wait("the garage closed", lambda: state("input_boolean.garage_open") == "off" or None)
    _wait("the script done", lambda: state("script.smartwats_ask") == "off" or None)
    assert "Error executing script" not in demo.text()

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


def _url_actions(node: object) -> list[str]:
    """Return the URLs of every `url` tap action in a dashboard, in order."""
    if isinstance(node, list):
        return [url for item in node for url in _url_actions(item)]
    if not isinstance(node, dict):
        return []
    action = node.get("tap_action")
    own = [action["url_path"]] if isinstance(action, dict) and action["action"] == "url" else []
    return own + [
        url for key, value in node.items() if key != "tap_action" for url in _url_actions(value)
    ]


def test_demo_configuration_reads_the_addresses_of_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's dashboard and scripts name no port: Home Assistant's environment gives them."""
    settings = develop.Settings(config_dir=develop.SEED_DIR, ha_port=18123, emulator_port=18900)
    assert settings.demo_environment() == {
        "SMARTWATS_DEV_HA_URL": "http://127.0.0.1:18123",
        "SMARTWATS_DEV_DASHBOARD_URL": "http://127.0.0.1:18123/smartwats-demo",
        "SMARTWATS_DEV_EMULATOR_URL": "http://127.0.0.1:18900/",
    }
    demo = develop.SEED_DIR / "demo"
    for path in demo.glob("*.yaml"):
        text = path.read_text("utf-8")
        for port in (develop.DEFAULT_HA_PORT, develop.DEFAULT_EMULATOR_PORT):
            assert str(port) not in text, f"{path.name} names port {port}"

    def carousel_urls() -> list[str]:
        carousel = load_yaml_dict(demo / "scripts.yaml")["smartwats_send_carousel"]
        cards = carousel["sequence"][0]["data"]["cards"]
        return [b["url"] for card in cards for b in card["buttons"] if b["type"] == "url"]

    # Without scripts/develop the configuration still loads: the dashboard's path alone.
    for name in settings.demo_environment():
        monkeypatch.delenv(name, raising=False)
    assert carousel_urls() == ["/smartwats-demo"]

    for name, value in settings.demo_environment().items():
        monkeypatch.setenv(name, value)
    assert _url_actions(load_yaml_dict(demo / "dashboard.yaml")) == [settings.emulator_url]
    assert carousel_urls() == [settings.dashboard_url]


def test_me_recipient_talks_to_assist() -> None:
    """The "Me" recipient (the phone page writes as its number) has Assist on, the default agent."""
    me, family = develop.RECIPIENTS
    assert me["name"] == "Me"
    assert develop.ASSIST_AGENT == DEFAULT_AGENT_ID == "conversation.home_assistant"
    # As the recipient form stores it (the form's fields are the subentry's data keys).
    data = config_flow._recipient_data(str(me["name"]), "966501234567", me)
    assert data == {
        CONF_NAME: "Me",
        CONF_TARGET: "966501234567",
        CONF_ASSIST: True,
        CONF_AGENT_ID: DEFAULT_AGENT_ID,
    }
    assert set(me) <= {CONF_NAME, CONF_TARGET, CONF_ASSIST, CONF_AGENT_ID}
    assert not family.get(CONF_ASSIST)  # a group chat stays a notification channel
    page = (REPO / "smartwats_emulator" / "static" / "index.html").read_text("utf-8")
    number = ME.split("@", maxsplit=1)[0]
    assert f'<input id="from" placeholder="from number or group JID" value="{number}">' in page


def test_configuration_loads_assist_and_a_porch_light_it_may_switch(tmp_path: Path) -> None:
    """Assist (conversation) is loaded; the porch light is a light, exposed to it by default."""
    develop.prepare_config(develop.Settings(config_dir=tmp_path))  # as scripts/develop seeds it
    config = load_yaml_dict(tmp_path / "configuration.yaml")
    assert "conversation" in config
    lights = [light for item in config["template"] for light in item.get("light", [])]
    assert [light["name"] for light in lights] == ["Porch light"]
    assert "light" in DEFAULT_EXPOSED_DOMAINS
    # No other entity of an exposed domain shares its name (Assist would not know which one).
    assert "porch_light" not in config.get("input_boolean", {})
    assert "input_button" not in config  # the older reply-buttons demo is gone


def _buttons(node: object) -> list[dict[str, Any]]:
    """Return every card of a dashboard with a tap action that performs an action."""
    if isinstance(node, list):
        return [card for item in node for card in _buttons(item)]
    if not isinstance(node, dict):
        return []
    action = node.get("tap_action")
    own = [node] if isinstance(action, dict) and action["action"] == "perform-action" else []
    return own + [card for value in node.values() for card in _buttons(value)]


async def test_dashboard_ask_button_runs_a_script_that_asks(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One "Ask" button starts the script smartwats_ask, which calls smartwats.ask validly."""
    for name, value in develop.Settings(config_dir=develop.SEED_DIR).demo_environment().items():
        monkeypatch.setenv(name, value)
    demo = develop.SEED_DIR / "demo"
    asking = [
        card
        for card in _buttons(load_yaml_dict(demo / "dashboard.yaml"))
        if "ask" in str(card.get("name", "")).lower()
    ]
    assert len(asking) == 1, asking
    assert asking[0]["name"] == "Ask"
    # Started, not awaited (the script waits for the answer): script.turn_on of the script.
    assert asking[0]["tap_action"] == {
        "action": "perform-action",
        "perform_action": "script.turn_on",
        "target": {"entity_id": "script.smartwats_ask"},
    }

    script = load_yaml_dict(demo / "scripts.yaml")["smartwats_ask"]
    # Validated as Home Assistant validates a script's actions.
    sequence = await script_helper.async_validate_actions_config(
        hass, cv.SCRIPT_SCHEMA(script["sequence"])
    )
    asks = [step for step in sequence if step.get("action") == f"{DOMAIN}.{services.SERVICE_ASK}"]
    assert len(asks) == 1
    ask = asks[0]
    # Only fields of the action (services.yaml), then its schema and its answers' checks.
    fields = load_yaml_dict(REPO / "custom_components" / DOMAIN / "services.yaml")["ask"]["fields"]
    assert set(ask["data"]) <= set(fields)
    data = services.ASK_SCHEMA(ask["data"])
    assert data["entity_id"] == ["notify.me"]
    assert data["question"] == "The garage is open. Close it?"
    assert data["timeout"] == 300
    assert data["style"] == "text"
    answers = services._ask_answers(data["answers"])
    assert [(a.id, a.title) for a in answers] == [("close", "Close it"), ("leave", "Leave it")]
    # It acts on the answer it waited for.
    assert ask["response_variable"] == "reply"
    after = json.dumps(sequence[sequence.index(ask) + 1 :], default=str)
    assert "reply.answer_id == 'close'" in after
    assert "reply.timed_out" in after
    # The notification says what was answered (or that nothing was).
    notify = next(
        s for s in script["sequence"] if s.get("action") == "persistent_notification.create"
    )
    message = Template(notify["data"]["message"], hass)
    answered = {"answer_id": "close", "answer": "Close it", "sender": "966501234567"}
    assert message.async_render({"reply": answered | {"timed_out": False}}) == (
        '+966501234567 answered "Close it" on WhatsApp: the garage is closed.'
    )
    silence = {"answer_id": None, "answer": None, "sender": None, "timed_out": True}
    assert message.async_render({"reply": silence}) == (
        "No answer on WhatsApp in 5 minutes: the garage stays open."
    )


# -- an entry of an earlier run, against a fake of Home Assistant's REST API -----------------------

GATEWAY = "http://127.0.0.1:8900/api/"
ENTRY_ID = "01JSMARTWATSDEMOENTRY00000"
FLOW_ID = "0123456789abcdef0123456789abcdef"
FLOWS = "/api/config/config_entries/flow"
RETRY_REASON = "Cannot reach the gateway: HTTP 500"
# An entry of another instance, which develop leaves alone (listed first).
ANOTHER_ENTRY = {
    "entry_id": "01JSMARTWATSOTHERENTRY0000",
    "domain": "smartwats",
    "title": "966500000002",
    "state": "setup_retry",
    "reason": RETRY_REASON,
    "disabled_by": None,
}


@dataclass
class FakeHomeAssistant:
    """Home Assistant's config entry and flow REST APIs, holding one SmartWats entry.

    `states` are the entry's (state, reason) at each look, the last one repeated: an entry
    Home Assistant keeps retrying stays in setup_retry. The reconfigure flow shows the form the
    integration shows (its real schema, serialised as Home Assistant does) and checks what is
    submitted against that schema, as Home Assistant does (an unknown field is a 400); submitted
    while the gateway is unwell, it answers the form again with an error, as the integration does.
    """

    base_url: str
    states: list[tuple[str, str | None]]
    disabled_by: str | None = None
    gateway_unwell: bool = False
    # What starting the reconfigure flow answers instead of the form (the integration changed).
    start_answer: dict[str, Any] | None = None
    # The reconfigure's outcome when the gateway answers (the integration's abort reason).
    reconfigure_outcome: str = "reconfigure_successful"
    # Looks after which the entry is gone (deleted by the developer meanwhile).
    deleted_after: int | None = None
    requests: list[tuple[str, str, Any]] = field(default_factory=list)

    def submitted(self) -> list[Any]:
        """Return the bodies of the reconfigure forms submitted."""
        return [
            body
            for method, path, body in self.requests
            if path == f"{FLOWS}/{FLOW_ID}" and method == "POST"
        ]

    def _entry(self) -> dict[str, Any]:
        state, reason = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {
            "entry_id": ENTRY_ID,
            "domain": "smartwats",
            "title": develop.INSTANCE_ID,
            "state": state,
            "reason": reason,
            "disabled_by": self.disabled_by,
        }

    def schema(self, errors: dict[str, str] | None = None) -> probatio.Schema:
        """Return the reconfigure form's schema, with the entry's data as suggested values."""
        shown = config_flow._connection_input(
            {
                "access_token": develop.ACCESS_TOKEN,
                "instance_id": develop.INSTANCE_ID,
                "base_url": self.base_url,
            }
        )
        return FlowHandler().add_suggested_values_to_schema(
            config_flow._connection_schema(
                instance_field=False, open_address=config_flow._open_address(shown, errors or {})
            ),
            shown,
        )

    def form(self, errors: dict[str, str] | None = None) -> dict[str, Any]:
        """Return the reconfigure form, as Home Assistant's REST API answers it."""
        schema = self.schema(errors)
        return {
            "type": "form",
            "flow_id": FLOW_ID,
            "handler": "smartwats",
            "step_id": "reconfigure",
            "data_schema": probatio.to_field_list(schema, custom_serializer=cv.custom_serializer),
            "errors": errors or {},
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Record the request and answer as Home Assistant would."""
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, body))
        match request.method, request.path:
            case "GET", "/api/config/config_entries/entry":
                assert request.query["domain"] == "smartwats"
                gone = self.deleted_after == 0
                if self.deleted_after:
                    self.deleted_after -= 1
                return web.json_response([ANOTHER_ENTRY] + ([] if gone else [self._entry()]))
            case "POST", "/api/config/config_entries/flow":
                assert body == {"handler": "smartwats", "entry_id": ENTRY_ID}
                return web.json_response(self.start_answer or self.form())
            case "POST", path if path == f"{FLOWS}/{FLOW_ID}":
                return self._submit(body)
            case "DELETE", path if path == f"{FLOWS}/{FLOW_ID}":
                return web.json_response({"message": "Flow aborted"})
        return web.Response(status=404)

    def _submit(self, body: Any) -> web.Response:
        """Answer the reconfigure form's submission: checked against its schema, then handled."""
        try:
            self.schema()(body)
        except probatio.Invalid as err:
            # As Home Assistant's flow view answers data its form does not accept.
            return web.json_response({"errors": {"base": [str(err)]}}, status=400)
        if self.gateway_unwell:
            return web.json_response(self.form({"base": "cannot_connect"}))
        if self.reconfigure_outcome == "reconfigure_successful":
            self.base_url = body["advanced"]["base_url"]
            self.states = [
                ("not_loaded", None),
                ("setup_in_progress", None),
                ("loaded", None),
            ]
        return web.json_response(
            {"type": "abort", "flow_id": FLOW_ID, "reason": self.reconfigure_outcome}
        )


@pytest.fixture
def fake_hass() -> FakeHomeAssistant:
    """Home Assistant with the demo entry at this run's gateway address, loaded."""
    return FakeHomeAssistant(base_url=GATEWAY, states=[("loaded", None)])


@pytest.fixture
async def api(
    socket_enabled: None, fake_hass: FakeHomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[develop.HomeAssistantApi]:
    """scripts/develop's client of the fake Home Assistant, polling without pause."""
    monkeypatch.setattr(develop, "ENTRY_POLL_INTERVAL", 0.0)
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", fake_hass.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as session:
            yield develop.HomeAssistantApi(session, f"http://{host}:{port}")
    finally:
        await runner.cleanup()


# set_up_smartwats only reads the emulator's address (the banner its URLs too).
EMULATOR = cast("Emulator", SimpleNamespace(api_url=GATEWAY, url="http://127.0.0.1:8900/"))


async def test_entry_retrying_at_this_address_is_waited_for(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not loaded yet (the emulator failed at start) is no other address: wait, no reconfigure."""
    fake_hass.gateway_unwell = True  # a reconfigure would fail, as it did
    fake_hass.states = [
        ("setup_retry", RETRY_REASON),  # at the first look, which finds the entry
        ("setup_retry", RETRY_REASON),
        ("setup_retry", RETRY_REASON),
        ("setup_in_progress", None),
        ("loaded", None),
    ]
    assert await develop.set_up_smartwats(api, EMULATOR) is True
    assert fake_hass.submitted() == []
    assert ("DELETE", f"{FLOWS}/{FLOW_ID}", None) in fake_hass.requests  # the look is cancelled
    output = capsys.readouterr().out
    waiting = "Waiting for the SmartWats entry to load: Home Assistant reports"
    assert f"{waiting} setup_retry ({RETRY_REASON})" in output
    assert f"{waiting} setup_in_progress\n" in output
    assert output.count(waiting) == 2  # at each change
    assert "the SmartWats entry is loaded" in output
    assert "another gateway address" not in output


@pytest.mark.parametrize("state", ["setup_retry", "loaded"])
async def test_entry_at_another_address_is_reconfigured(
    api: develop.HomeAssistantApi,
    fake_hass: FakeHomeAssistant,
    capsys: pytest.CaptureFixture[str],
    state: str,
) -> None:
    """Only an entry set up against another gateway address gets this run's address."""
    fake_hass.base_url = "http://127.0.0.1:8901/api/"
    fake_hass.states = [(state, RETRY_REASON if state == "setup_retry" else None)]
    assert await develop.set_up_smartwats(api, EMULATOR) is True
    # The reconfigure form has no instance id (an entry's instance never changes).
    assert fake_hass.submitted() == [
        {"access_token": develop.ACCESS_TOKEN, "advanced": {"base_url": GATEWAY}}
    ]
    assert fake_hass.base_url == GATEWAY
    output = capsys.readouterr().out
    assert "pointed at another gateway address (http://127.0.0.1:8901/api/)" in output
    assert "the SmartWats entry is loaded" in output


async def test_reconfigure_that_fails_stops_develop(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant
) -> None:
    """At another address with the gateway failing, the reconfigure fails as before: it stops."""
    fake_hass.base_url = "http://127.0.0.1:8901/api/"
    fake_hass.states = [("setup_retry", RETRY_REASON)]
    fake_hass.gateway_unwell = True
    with pytest.raises(develop.DevelopError, match="stopped at reconfigure"):
        await develop.set_up_smartwats(api, EMULATOR)


async def test_reconfigure_that_aborts_stops_develop(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant
) -> None:
    """A reconfigure that ends otherwise than with the update is a set-up failure."""
    fake_hass.base_url = "http://127.0.0.1:8901/api/"
    fake_hass.reconfigure_outcome = "unique_id_mismatch"
    with pytest.raises(develop.DevelopError, match="unique_id_mismatch"):
        await develop.set_up_smartwats(api, EMULATOR)


async def test_entry_loaded_at_this_address_is_left_alone(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant, capsys: pytest.CaptureFixture[str]
) -> None:
    """The usual start: nothing to change, nothing to wait for, nothing said."""
    assert await develop.set_up_smartwats(api, EMULATOR) is True
    assert fake_hass.submitted() == []
    assert capsys.readouterr().out == ""


async def test_entry_that_never_loads_leaves_home_assistant_running(
    api: develop.HomeAssistantApi,
    fake_hass: FakeHomeAssistant,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the bounded wait, develop says so and goes on (Home Assistant keeps retrying)."""
    monkeypatch.setattr(develop, "ENTRY_LOAD_TIMEOUT", 0.05)
    fake_hass.states = [("setup_retry", None)]
    assert await develop.set_up_smartwats(api, EMULATOR) is False
    assert fake_hass.submitted() == []
    output = capsys.readouterr().out
    assert "Waiting for the SmartWats entry to load: Home Assistant reports setup_retry\n" in output
    assert "still not loaded after 0.05 s (setup_retry)" in output


async def test_entry_that_failed_for_good_is_not_waited_for(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant, capsys: pytest.CaptureFixture[str]
) -> None:
    """Home Assistant does not retry a set-up error: develop says so at once and goes on."""
    fake_hass.states = [("setup_error", "Invalid access token")]
    assert await develop.set_up_smartwats(api, EMULATOR) is False
    assert fake_hass.submitted() == []
    output = capsys.readouterr().out
    assert "setup_error (Invalid access token)" in output
    assert "Waiting" not in output


async def test_disabled_entry_is_left_alone(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SmartWats entry the developer disabled is neither reconfigured nor waited for."""
    fake_hass.base_url = "http://127.0.0.1:8901/api/"
    fake_hass.states = [("not_loaded", None)]
    fake_hass.disabled_by = "user"
    assert await develop.set_up_smartwats(api, EMULATOR) is False
    assert [request[:2] for request in fake_hass.requests] == [  # no flow
        ("GET", "/api/config/config_entries/entry")
    ]
    assert "disabled" in capsys.readouterr().out


async def test_reconfigure_form_without_the_address_is_an_error(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant
) -> None:
    """A reconfigure form without the address (the integration changed) fails clearly."""
    form = fake_hass.form()
    fields = [field for field in form["data_schema"] if field["name"] != "advanced"]
    fake_hass.start_answer = form | {"data_schema": fields}
    with pytest.raises(develop.DevelopError, match="shows no gateway address"):
        await develop.set_up_smartwats(api, EMULATOR)
    assert ("DELETE", f"{FLOWS}/{FLOW_ID}", None) in fake_hass.requests


async def test_reconfigure_without_a_form_is_an_error(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant
) -> None:
    """A reconfigure flow that does not show its form (aborted at once) fails clearly."""
    fake_hass.start_answer = {"type": "abort", "flow_id": FLOW_ID, "reason": "not_supported"}
    with pytest.raises(develop.DevelopError, match="not_supported"):
        await develop.set_up_smartwats(api, EMULATOR)
    assert fake_hass.submitted() == []


async def test_entry_deleted_while_waiting_stops_develop(
    api: develop.HomeAssistantApi, fake_hass: FakeHomeAssistant
) -> None:
    """An entry that disappears while develop waits for it is a set-up failure."""
    fake_hass.states = [("setup_retry", RETRY_REASON)]
    fake_hass.deleted_after = 2
    with pytest.raises(develop.DevelopError, match="disappeared"):
        await develop.set_up_smartwats(api, EMULATOR)


def test_ready_banner_tells_when_the_entry_is_not_loaded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whatever was said while waiting, the banner repeats that the entry is not loaded."""
    settings = develop.Settings(config_dir=develop.SEED_DIR)
    develop._print_ready(settings, EMULATOR)
    assert "not loaded" not in capsys.readouterr().out
    develop._print_ready(settings, EMULATOR, entry_loaded=False)
    output = capsys.readouterr().out
    assert "the SmartWats entry is not loaded: see above" in output
    assert output.rstrip().endswith("Ctrl-C stops both.")  # what tests and developers wait for
