"""scripts/develop: the gateway emulator and a real Home Assistant, ready to try; Ctrl-C stops both.

The emulator runs in this process; Home Assistant runs as a child process (`hass --skip-pip`) in a
process group of its own, with a parent-death signal, so that it stops with this process whatever
way this one ends. Ctrl-C (SIGINT), SIGTERM and SIGHUP stop Home Assistant gracefully (SIGINT, then
SIGKILL after a grace period), then the emulator. A restart asked from Home Assistant (exit status
100) starts it again.

Everything is set up through public interfaces only, so that nothing depends on Home Assistant's
storage formats: onboarding (user dev, password dev) through the onboarding REST API, the SmartWats
entry through the config flow, its options through the options flow, the recipients through the
subentry flow. The one exception is `.storage/http`, written before each start: Home Assistant
keeps its HTTP server settings there (the YAML `http:` section is migrated once and then ignored),
and this is how it listens on 127.0.0.1 and the chosen port from the very first start.

An entry kept from an earlier run is checked through its reconfigure form, which shows the gateway
address it is set up with: only when that address is not this run's emulator (another
--emulator-port) is the form submitted with this one. An entry at the right address that is not
loaded yet (Home Assistant retrying its set-up because the emulator failed, say) is waited for, up
to ENTRY_LOAD_TIMEOUT, saying what Home Assistant reports. If it still does not load, or failed in
a way Home Assistant does not retry, develop says so and keeps Home Assistant and the emulator
running: a gateway that is unwell is something to look at, not a reason to stop.

Settings come from the command line, else from the environment: SMARTWATS_DEV_HA_PORT (8123),
SMARTWATS_DEV_EMULATOR_PORT (8900), SMARTWATS_DEV_CONFIG (config/ of the repository). Home
Assistant gets the resulting addresses in its environment (`Settings.demo_environment`), where the
configuration and the demo's dashboard and scripts read them (`!env_var`): no port is written there.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import sys
from typing import Any, Final

import aiohttp

from smartwats_emulator import Emulator

REPO: Final = Path(__file__).resolve().parent.parent
# The committed configuration: configuration.yaml and demo/ (the rest of config/ is runtime state).
SEED_DIR: Final = REPO / "config"
SEED_FILES: Final = ("configuration.yaml", "demo")
# Written into a configuration folder prepared by this tool; --fresh and a SMARTWATS_DEV_CONFIG
# folder are only ever wiped when they carry it (or are the repository's config/).
MARKER: Final = ".smartwats-develop"
DEMO_PICTURE: Final = "smartwats-demo.png"

HOST: Final = "127.0.0.1"
DEFAULT_HA_PORT: Final = 8123
DEFAULT_EMULATOR_PORT: Final = 8900
USERNAME: Final = "dev"
PASSWORD: Final = "dev"  # noqa: S105 - the documented demo login
DASHBOARD: Final = "smartwats-demo"
RESTART_EXIT_CODE: Final = 100  # Home Assistant asks to be started again

# The emulator's account and instance (the README's example ids); the same in --fresh, unlinked.
ACCESS_TOKEN: Final = "68d9d5b40d8e2"  # noqa: S105 - the emulator's demo account
INSTANCE_ID: Final = "68DBB04FECCBA"
PHONE: Final = "966500000001"
# The demo entry's name, given on the config flow's last step: it names the instance's device and
# so its entities (binary_sensor.68dbb04feccba_linked, ..., as config/demo/dashboard.yaml expects),
# and is how an entry kept from an earlier run is recognised.
ENTRY_NAME: Final = INSTANCE_ID
# The emulator makes up group ids at each start; fixed ones keep the "Family group" recipient valid
# across runs (in the emulator's order: Family, Home automation, Neighbours).
GROUP_IDS: Final = (
    "120363401234567801@g.us",
    "120363401234567802@g.us",
    "120363401234567803@g.us",
)
COUNTRY_CODE: Final = "966"
# The options form offers the gateway's events under their translation keys ("." becomes "_").
ALLOWED_EVENTS: Final = ("messages_upsert", "received_message", "messages_update")
# Home Assistant's own conversation agent, which answers in the "Me" chat (Assist on): the phone
# page writes as that number by default, so "turn on the porch light" there reaches Assist.
ASSIST_AGENT: Final = "conversation.home_assistant"
RECIPIENTS: Final[tuple[dict[str, str | bool], ...]] = (
    {"name": "Me", "target": "+966 50 123 4567", "assist": True, "agent_id": ASSIST_AGENT},
    {"name": "Family group", "group": GROUP_IDS[0]},
)
NOTIFY_ENTITIES: Final = ("notify.me", "notify.family_group")

# Started in front of Home Assistant: ask the kernel for SIGTERM when this process dies, give up
# if it already has, then become Home Assistant (the request survives exec). This process's pid
# comes as argv[1], the program as argv[2:].
_LAUNCHER: Final = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""
START_TIMEOUT: Final = 180.0  # a first start on a slow machine
STOP_GRACE: Final = 45.0
# Home Assistant retries a failed set-up after 5, 10, 20, 40, 80 s...: five minutes see several.
ENTRY_LOAD_TIMEOUT: Final = 300.0
ENTRY_POLL_INTERVAL: Final = 2.0
# Config entry states Home Assistant leaves by itself (it retries, or is setting up or unloading);
# from the others (setup_error, migration_error, failed_unload) it does not.
ENTRY_PENDING_STATES: Final = frozenset(
    {"setup_retry", "setup_in_progress", "not_loaded", "unload_in_progress"}
)


class DevelopError(Exception):
    """scripts/develop cannot go on; the message says why."""


def say(message: str) -> None:
    """Print a line of scripts/develop (bold tag) on standard output."""
    sys.stdout.write(f"\033[1m[develop]\033[0m {message}\n")
    sys.stdout.flush()


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    """Where everything runs."""

    config_dir: Path
    ha_port: int = DEFAULT_HA_PORT
    emulator_port: int = DEFAULT_EMULATOR_PORT
    fresh: bool = False
    hass_args: tuple[str, ...] = ()

    @property
    def ha_url(self) -> str:
        """Return Home Assistant's base URL (no trailing slash)."""
        return f"http://{HOST}:{self.ha_port}"

    @property
    def emulator_url(self) -> str:
        """Return the emulator's base URL (its phone page)."""
        return f"http://{HOST}:{self.emulator_port}/"

    @property
    def dashboard_url(self) -> str:
        """Return the demo dashboard's URL."""
        return f"{self.ha_url}/{DASHBOARD}"

    def demo_environment(self) -> dict[str, str]:
        """Return the variables config/ reads with `!env_var`: this run's addresses."""
        return {
            "SMARTWATS_DEV_HA_URL": self.ha_url,
            "SMARTWATS_DEV_DASHBOARD_URL": self.dashboard_url,
            "SMARTWATS_DEV_EMULATOR_URL": self.emulator_url,
        }


def _port(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:  # noqa: PLR2004 - the range of TCP ports
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return port


def parse_args(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the command line (and the SMARTWATS_DEV_* variables for what it does not give)."""
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="Run the SmartWats gateway emulator and Home Assistant with the integration, "
        "set up for a demo (user dev, password dev). Ctrl-C stops both.",
        epilog="Arguments after -- go to hass (for example: scripts/develop -- --debug). "
        "A SmartWats entry kept from an earlier run is moved to this run's emulator only when it "
        f"points at another address; one that is not loaded yet is waited for (up to "
        f"{ENTRY_LOAD_TIMEOUT / 60:g} min), and if it does not load, Home Assistant keeps running.",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start from an empty configuration (onboarded, no SmartWats entry) to walk through "
        "the config flow; the emulator has an unlinked instance to link",
    )
    parser.add_argument(
        "--ha-port",
        type=_port,
        default=_port(env.get("SMARTWATS_DEV_HA_PORT", str(DEFAULT_HA_PORT))),
        help="Home Assistant's port (SMARTWATS_DEV_HA_PORT, default %(default)s)",
    )
    parser.add_argument(
        "--emulator-port",
        type=_port,
        default=_port(env.get("SMARTWATS_DEV_EMULATOR_PORT", str(DEFAULT_EMULATOR_PORT))),
        help="the gateway emulator's port (SMARTWATS_DEV_EMULATOR_PORT, default %(default)s)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(env.get("SMARTWATS_DEV_CONFIG") or SEED_DIR),
        help="Home Assistant's configuration folder (SMARTWATS_DEV_CONFIG, default config/)",
    )
    parser.add_argument("hass_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ha_port == args.emulator_port:
        parser.error("Home Assistant and the emulator need two different ports")
    return Settings(
        config_dir=args.config.resolve(),
        ha_port=args.ha_port,
        emulator_port=args.emulator_port,
        fresh=args.fresh,
        hass_args=tuple(args.hass_args),
    )


# -- the configuration folder ------------------------------------------------------------------


def _is_seed_dir(config_dir: Path) -> bool:
    return config_dir.resolve() == SEED_DIR.resolve()


def _wipe(config_dir: Path) -> None:
    """Delete the runtime state (everything but the committed files in the repository's config/)."""
    keep = set(SEED_FILES) if _is_seed_dir(config_dir) else set()
    for child in config_dir.iterdir():
        if child.name in keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.readlink() == target:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(target, target_is_directory=True)


def http_store(port: int) -> dict[str, Any]:
    """Return Home Assistant's `.storage/http`: listen on 127.0.0.1 and `port`, nothing pending."""
    from homeassistant.components.http import config as http_config  # noqa: PLC0415 - heavy

    stable = http_config.HTTP_STORAGE_SCHEMA({"server_host": [HOST], "server_port": port})
    return {
        "version": http_config.STORAGE_VERSION,
        "minor_version": http_config.STORAGE_MINOR_VERSION,
        "key": http_config.STORAGE_KEY,
        "data": {
            "stable": {
                **stable,
                "created_at": datetime.now(UTC).isoformat(),
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    }


def onboarding_store() -> dict[str, Any]:
    """Return Home Assistant's `.storage/onboarding` with only the location step marked done.

    Finishing that step through the API would set up the integrations Home Assistant suggests at
    onboarding (weather, radio, text-to-speech), whose packages are not installed (--skip-pip);
    the configuration gives the location anyway. The other steps are done through the API.
    """
    from homeassistant.components import onboarding  # noqa: PLC0415 - heavy
    from homeassistant.components.onboarding.const import STEP_CORE_CONFIG  # noqa: PLC0415

    return {
        "version": onboarding.STORAGE_VERSION,
        "minor_version": 1,
        "key": onboarding.STORAGE_KEY,
        "data": {"done": [STEP_CORE_CONFIG]},
    }


def _write_store(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2), "utf-8")
    path.chmod(0o600)


def prepare_config(settings: Settings) -> None:
    """Make the configuration folder ready for Home Assistant (wiping it first with --fresh).

    Fails rather than touching a non-empty folder this tool did not make.
    """
    config_dir = settings.config_dir
    seed_dir = _is_seed_dir(config_dir)
    if (
        config_dir.exists()
        and not seed_dir
        and any(config_dir.iterdir())
        and not (config_dir / MARKER).exists()
    ):
        raise DevelopError(
            f"{config_dir} is not empty and was not made by scripts/develop: refusing to use it"
        )
    config_dir.mkdir(parents=True, exist_ok=True)
    if settings.fresh:
        _wipe(config_dir)
    (config_dir / MARKER).write_text("made by scripts/develop (devtools/develop.py)\n", "utf-8")
    if not seed_dir:
        # Another folder gets the committed configuration afresh at each start.
        for name in SEED_FILES:
            source, target = SEED_DIR / name, config_dir / name
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)
    for name in ("automations.yaml", "scripts.yaml"):  # what the UI editors write
        path = config_dir / name
        if not path.exists():
            path.write_text("[]\n" if name == "automations.yaml" else "{}\n", "utf-8")
    _link(config_dir / "custom_components" / "smartwats", REPO / "custom_components" / "smartwats")
    _link(
        config_dir / "blueprints" / "automation" / "smartwats",
        REPO / "blueprints" / "automation" / "smartwats",
    )
    picture = config_dir / "media" / DEMO_PICTURE
    picture.parent.mkdir(exist_ok=True)
    shutil.copyfile(REPO / "custom_components" / "smartwats" / "brand" / "logo.png", picture)
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    _write_store(storage / "http", http_store(settings.ha_port))
    if not (storage / "onboarding").exists() and not (storage / "auth").exists():
        _write_store(storage / "onboarding", onboarding_store())


def check_port_free(port: int, what: str) -> None:
    """Fail with a clear message when something already listens on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as err:
            raise DevelopError(
                f"{what} cannot listen on {HOST}:{port} ({err.strerror}): is another "
                "scripts/develop running? Choose other ports with --ha-port / --emulator-port."
            ) from err


# -- the emulator -------------------------------------------------------------------------------


async def start_emulator(settings: Settings) -> Emulator:
    """Start the emulator with the demo account and instance (linked unless --fresh)."""
    emulator = Emulator(allow_private_webhooks=True)
    await emulator.start(HOST, settings.emulator_port)
    emulator.state.add_account(ACCESS_TOKEN)
    emulator.state.add_instance(
        ACCESS_TOKEN, linked=not settings.fresh, phone=PHONE, instance_id=INSTANCE_ID
    )
    for group, group_id in zip(
        emulator.state.instance(INSTANCE_ID).groups, GROUP_IDS, strict=False
    ):
        group.id = group_id
    return emulator


# -- Home Assistant's process ---------------------------------------------------------------------


@dataclass(slots=True)
class HassProcess:
    """`hass --skip-pip` in a process group of its own."""

    settings: Settings
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start Home Assistant."""
        env = dict(os.environ, **self.settings.demo_environment())
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _LAUNCHER,
            str(os.getpid()),
            sys.executable,
            "-m",
            "homeassistant",
            "--config",
            str(self.settings.config_dir),
            "--skip-pip",
            *self.settings.hass_args,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        """Tell whether the process runs."""
        return self.process is not None and self.process.returncode is None

    async def wait(self) -> int:
        """Wait until the process exits; return its status."""
        if self.process is None:
            raise DevelopError("Home Assistant is not started")
        return await self.process.wait()

    def signal(self, signum: int) -> None:
        """Send a signal to the process group."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop gracefully (SIGINT, as Ctrl-C), then kill whatever is left of the group."""
        if self.process is None:
            return
        if self.process.returncode is None:
            self.signal(signal.SIGINT)
            try:
                async with asyncio.timeout(grace):
                    await self.process.wait()
            except TimeoutError:
                say(f"Home Assistant did not stop within {grace:g} s: killing it")
        self.signal(signal.SIGKILL)
        await self.process.wait()


# -- Home Assistant's APIs ------------------------------------------------------------------------


class ApiError(DevelopError):
    """Home Assistant answered an API request with an error."""

    def __init__(self, message: str, status: int) -> None:
        """Keep the HTTP status."""
        super().__init__(message)
        self.status = status


_ONBOARDING: Final = "/api/onboarding"


@dataclass(slots=True)
class HomeAssistantApi:
    """Home Assistant's REST and WebSocket APIs, as the frontend uses them."""

    session: aiohttp.ClientSession
    url: str
    token: str = ""
    refresh_token: str = ""
    client_id: str = field(init=False)

    def __post_init__(self) -> None:
        """Use Home Assistant's own URL as the OAuth client id, as its frontend does."""
        self.client_id = self.url + "/"

    async def request(
        self, method: str, path: str, body: object = None, *, form: dict[str, str] | None = None
    ) -> Any:  # noqa: ANN401 - decoded JSON
        """Make a request; return the decoded JSON answer (None when empty)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method,
            self.url + path,
            json=body if form is None else None,
            data=form,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=60),
        ) as response:
            text = await response.text()
            if response.status >= 400:  # noqa: PLR2004 - HTTP's error statuses
                raise ApiError(
                    f"{method} {path} answered {response.status}: {text.strip()}", response.status
                )
        return json.loads(text) if text.strip() else None

    async def wait_until_up(self, hass: HassProcess) -> None:
        """Wait until the HTTP server answers.

        It serves once the frontend, auth and onboarding are set up, before start-up is complete.
        """

        async def answers() -> bool | None:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.get(
                    self.url + "/auth/providers", timeout=aiohttp.ClientTimeout(total=2)
                ):
                    return True
            return None

        await poll(f"Home Assistant to answer at {self.url}", answers, START_TIMEOUT, hass)

    async def _tokens(self, code: str) -> None:
        tokens = await self.request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        )
        self.token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]

    async def onboard_or_log_in(self) -> bool:
        """Onboard (creating the user) or log in as that user; return True when onboarded now."""
        try:
            steps = {step["step"]: step["done"] for step in await self.request("GET", _ONBOARDING)}
        except ApiError as err:
            if err.status != HTTPStatus.NOT_FOUND:
                raise
            steps = {}  # onboarding is complete: its views are gone
        onboarded_now = not steps.get("user", True)
        if onboarded_now:
            created = await self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": USERNAME,
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                },
            )
            await self._tokens(created["auth_code"])
        else:
            await self.log_in()
        for step in ("core_config", "analytics"):
            if not steps.get(step, True):
                await self.request("POST", f"/api/onboarding/{step}", {})
        if not steps.get("integration", True):
            await self.request(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": self.client_id + "?auth_callback=1"},
            )
        return onboarded_now

    async def log_in(self) -> None:
        """Log in with the username and password, as the login page does."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id + "?auth_callback=1",
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": USERNAME, "password": PASSWORD},
        )
        if result.get("type") != "create_entry":
            raise DevelopError(
                f"cannot log in as {USERNAME} (password {PASSWORD}): {result.get('errors')}; "
                "start with --fresh to begin again"
            )
        await self._tokens(result["result"])

    async def wait_until_running(self, hass: HassProcess) -> None:
        """Wait until Home Assistant has finished starting."""

        async def running() -> bool | None:
            config = await self.request("GET", "/api/config")
            return True if config.get("state") == "RUNNING" else None

        await poll("Home Assistant to finish starting", running, START_TIMEOUT, hass)

    async def entries(self) -> list[dict[str, Any]]:
        """Return the SmartWats config entries."""
        entries: list[dict[str, Any]] = await self.request(
            "GET", "/api/config/config_entries/entry?domain=smartwats"
        )
        return entries

    async def entry(self, entry_id: str) -> dict[str, Any] | None:
        """Return a config entry as the REST API shows it (None when it does not exist)."""
        for entry in await self.entries():
            if entry["entry_id"] == entry_id:
                return entry
        return None

    async def entry_state(self, entry_id: str) -> str | None:
        """Return a config entry's state (None when it does not exist)."""
        entry = await self.entry(entry_id)
        return None if entry is None else str(entry["state"])

    async def wait_for_entry(self, entry_id: str) -> bool:
        """Wait (up to ENTRY_LOAD_TIMEOUT) until an entry is loaded; return whether it is.

        Says what Home Assistant reports meanwhile (when it changes), and gives up at once on a
        state Home Assistant does not leave by itself. Never fails: the entry not loading is news
        for the developer, who may well be testing a failing gateway.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ENTRY_LOAD_TIMEOUT
        reported: str | None = None
        while True:
            entry = await self.entry(entry_id)
            if entry is None:
                raise DevelopError("the SmartWats entry disappeared while setting up")
            state = str(entry["state"])
            if state == "loaded":
                if reported is not None:
                    say("the SmartWats entry is loaded")
                return True
            # What Home Assistant shows on the entry's card, e.g. "setup_retry (Cannot connect)".
            now = f"{state} ({entry['reason']})" if entry.get("reason") else state
            if state not in ENTRY_PENDING_STATES:
                say(
                    f"\033[33mthe SmartWats entry failed to set up: Home Assistant reports {now} "
                    "and will not retry by itself; see its log and Settings > Devices & services "
                    "(Home Assistant keeps running)\033[0m"
                )
                return False
            if now != reported:
                say(f"Waiting for the SmartWats entry to load: Home Assistant reports {now}")
                reported = now
            if loop.time() >= deadline:
                say(
                    f"\033[33mthe SmartWats entry is still not loaded after "
                    f"{ENTRY_LOAD_TIMEOUT:g} s ({now}); Home Assistant keeps running and "
                    "retrying by itself: see its log\033[0m"
                )
                return False
            await asyncio.sleep(ENTRY_POLL_INTERVAL)

    async def wait_until_loaded(self, entry_id: str) -> None:
        """Wait until a config entry is loaded (after a set-up or a reload)."""

        async def loaded() -> bool | None:
            return True if await self.entry_state(entry_id) == "loaded" else None

        await poll("the SmartWats entry to be loaded (see the log)", loaded, 30)

    async def flow(self, path: str, start: dict[str, Any], *steps: dict[str, Any]) -> Any:  # noqa: ANN401
        """Run a data entry flow (config, options or subentry) through its REST API."""
        return await self.continue_flow(path, await self.request("POST", path, start), *steps)

    async def continue_flow(self, path: str, result: Any, *steps: dict[str, Any]) -> Any:  # noqa: ANN401
        """Submit the steps of a started flow (`result`: its last answer)."""
        for data in steps:
            if result.get("type") != "form":
                break
            result = await self.request("POST", f"{path}/{result['flow_id']}", data)
        if result.get("type") not in ("create_entry", "abort"):
            raise DevelopError(f"{path} stopped at {result.get('step_id')}: {result}")
        return result

    async def wait_for_states(self, entity_ids: Sequence[str]) -> None:
        """Wait until the entities have a state."""
        for entity_id in entity_ids:

            async def exists(entity_id: str = entity_id) -> bool | None:
                with contextlib.suppress(ApiError):
                    await self.request("GET", f"/api/states/{entity_id}")
                    return True
                return None

            await poll(f"{entity_id} to appear", exists, 30)


async def poll[T](
    what: str,
    probe: Callable[[], Awaitable[T | None]],
    seconds: float,
    hass: HassProcess | None = None,
) -> T:
    """Call `probe` until it returns something else than None; fail after `seconds`.

    Fails at once when Home Assistant (`hass`, when given) exits meanwhile.
    """
    try:
        async with asyncio.timeout(seconds):
            while True:
                if hass is not None and not hass.running:
                    raise DevelopError("Home Assistant exited while starting (its log is above)")
                if (result := await probe()) is not None:
                    return result
                await asyncio.sleep(0.25)
    except TimeoutError as err:
        raise DevelopError(f"gave up waiting for {what} after {seconds:g} s") from err


_FLOWS: Final = "/api/config/config_entries/flow"


def _suggested(fields: list[dict[str, Any]], *names: str) -> object:
    """Return the suggested value of a (nested) field of a serialised flow form, or None."""
    for item in fields:
        if item.get("name") == names[0]:
            if len(names) > 1:
                return _suggested(item.get("schema") or [], *names[1:])
            return (item.get("description") or {}).get("suggested_value")
    return None


def _same_address(stored: str, wanted: str) -> bool:
    return stored.strip().rstrip("/") == wanted.strip().rstrip("/")


async def _check_entry(
    api: HomeAssistantApi, entry: dict[str, Any], connection: dict[str, Any]
) -> bool:
    """Give a kept entry this run's gateway address if it has another; wait for it to load.

    Not loaded does not mean another address: the emulator may have failed while Home Assistant
    set the entry up, which Home Assistant retries. The address is read from the reconfigure
    form (Home Assistant shows no entry's data otherwise); that flow is submitted only to change
    it, and cancelled otherwise. `connection` is that form's data: the access token and the
    address (the form has no instance id: an entry's instance never changes).
    """
    entry_id: str = entry["entry_id"]
    if entry.get("disabled_by"):
        say(f"the SmartWats entry is disabled (by {entry['disabled_by']}): leaving it so")
        return False
    wanted: str = connection["advanced"]["base_url"]
    form = await api.request("POST", _FLOWS, {"handler": "smartwats", "entry_id": entry_id})
    if form.get("type") != "form":
        raise DevelopError(f"the SmartWats entry's reconfigure flow shows no form: {form}")
    stored = _suggested(form.get("data_schema") or [], "advanced", "base_url")
    if isinstance(stored, str) and not _same_address(stored, wanted):
        say(f"the SmartWats entry pointed at another gateway address ({stored}): updating it")
        result = await api.continue_flow(_FLOWS, form, connection)
        if result.get("reason") != "reconfigure_successful":
            raise DevelopError(f"the reconfigure flow did not update the entry: {result}")
    else:
        await api.request("DELETE", f"{_FLOWS}/{form['flow_id']}")  # only a look: cancel it
        if not isinstance(stored, str):
            raise DevelopError(f"the reconfigure form shows no gateway address: {form}")
    return await api.wait_for_entry(entry_id)


async def set_up_smartwats(api: HomeAssistantApi, emulator: Emulator) -> bool:
    """Add the demo entry with its recipients (unless there is one); fix its gateway address.

    Return whether the entry is loaded (a kept one may not load: see `_check_entry`). A kept
    entry's recipients are left as they are: one made before "Me" had Assist on gets it by
    reconfiguring that recipient (Settings > Devices & services > SmartWats), or afresh once the
    runtime state of config/ is deleted.
    """
    connection = {"access_token": ACCESS_TOKEN, "advanced": {"base_url": emulator.api_url}}
    entries = await api.entries()
    if entries:
        loaded = True
        for entry in entries:
            if entry["title"] == ENTRY_NAME:
                loaded = await _check_entry(api, entry, connection) and loaded
        return loaded
    say("adding the SmartWats entry (config flow), its options and two recipients")
    # The instance is linked: after the connection form comes the last step, which names it.
    created = await api.flow(
        "/api/config/config_entries/flow",
        {"handler": "smartwats", "show_advanced_options": False},
        connection | {"instance_id": INSTANCE_ID},
        {"name": ENTRY_NAME},
    )
    if created["type"] != "create_entry":
        raise DevelopError(f"the config flow did not create the entry: {created}")
    entry_id: str = created["result"]["entry_id"]
    await api.wait_until_loaded(entry_id)
    await api.flow(
        "/api/config/config_entries/options/flow",
        {"handler": entry_id},
        {
            "allowed_events": list(ALLOWED_EVENTS),
            "default_country_code": COUNTRY_CODE,
            "send_interval": 1.0,
            "include_own_messages": False,
        },
    )
    await api.wait_until_loaded(entry_id)
    for recipient in RECIPIENTS:
        await api.flow(
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "recipient"]},
            recipient,
        )
    await api.wait_until_loaded(entry_id)
    await api.wait_for_states(NOTIFY_ENTITIES)
    return True


async def set_up(
    settings: Settings, hass: HassProcess, emulator: Emulator, session: aiohttp.ClientSession
) -> HomeAssistantApi:
    """Wait for Home Assistant, onboard it, add the demo entry; print where everything is."""
    api = HomeAssistantApi(session, settings.ha_url)
    await api.wait_until_up(hass)
    if await api.onboard_or_log_in():
        say(f"onboarded Home Assistant: user {USERNAME}, password {PASSWORD}")
    await api.wait_until_running(hass)
    loaded = settings.fresh or await set_up_smartwats(api, emulator)
    _print_ready(settings, emulator, entry_loaded=loaded)
    return api


def _print_emulator(emulator: Emulator) -> None:
    instance = emulator.state.instance(INSTANCE_ID)
    say(f"gateway emulator:  {emulator.api_url} (control API: {emulator.url}_emulator/)")
    say(f"  the phone page:  {emulator.url}")
    say(f"  access token:    {ACCESS_TOKEN}")
    say(f"  instance id:     {INSTANCE_ID} ({instance.state.value}, phone +{instance.phone})")


def _print_ready(settings: Settings, emulator: Emulator, *, entry_loaded: bool = True) -> None:
    lines = [
        "ready:",
        f"  Home Assistant:  {settings.ha_url}/  (user {USERNAME}, password {PASSWORD})",
    ]
    if settings.fresh:
        add_url = f"{settings.ha_url}/config/integrations/dashboard/add?domain=smartwats"
        lines += [
            f"  add SmartWats:   {add_url}",
            f"    access token {ACCESS_TOKEN}, instance id {INSTANCE_ID} (or empty), and under",
            f"    Advanced settings the API address {emulator.api_url}",
            f"  then press 'Scan QR / enter code' on the phone page: {emulator.url}",
        ]
    else:
        lines += [
            f"  the dashboard:   {settings.dashboard_url}",
            f"  the phone page:  {emulator.url}  (what Home Assistant sent; reply from here)",
        ]
        if not entry_loaded:
            lines.append("  \033[33mthe SmartWats entry is not loaded: see above\033[0m")
    lines.append("Ctrl-C stops both.")
    for line in lines:
        say(line)


# -- running --------------------------------------------------------------------------------------


async def run(settings: Settings) -> int:
    """Prepare, start both, set up; run until a signal or Home Assistant's exit; stop both."""
    check_port_free(settings.ha_port, "Home Assistant")
    check_port_free(settings.emulator_port, "The gateway emulator")
    if settings.fresh:
        say(f"--fresh: deleting the runtime state of {settings.config_dir}")
    prepare_config(settings)
    emulator = await start_emulator(settings)
    _print_emulator(emulator)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    hass = HassProcess(settings)
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            say("stopping Home Assistant and the emulator (Ctrl-C again kills them)")
            stop.set()
        else:
            hass.signal(signal.SIGKILL)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal)
    status = 0
    say(f"starting Home Assistant on {settings.ha_url} (configuration in {settings.config_dir})")
    try:
        async with aiohttp.ClientSession() as session:
            await hass.start()
            setup = asyncio.create_task(set_up(settings, hass, emulator, session))
            status = await _supervise(hass, stop, setup)
    finally:
        await hass.stop()
        await emulator.stop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    say("stopped")
    return status


async def _supervise(
    hass: HassProcess, stop: asyncio.Event, setup: asyncio.Task[HomeAssistantApi]
) -> int:
    """Wait for a stop signal, Home Assistant's exit (restarting it if asked) or a failed set-up."""
    stopping = asyncio.create_task(stop.wait())
    exited = asyncio.create_task(hass.wait())
    try:
        while True:
            waiting: set[asyncio.Future[Any]] = {stopping, exited}
            if not setup.done():
                waiting.add(setup)
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if setup in done and not setup.cancelled() and setup.exception() is not None:
                say(f"\033[31mset-up failed: {setup.exception()}\033[0m")
                return 1
            if stopping in done:
                return 0
            if exited in done:
                code = exited.result()
                if code != RESTART_EXIT_CODE:
                    say(f"Home Assistant exited with status {code}")
                    return code or 1
                say("Home Assistant asked for a restart: starting it again")
                await hass.start()
                exited = asyncio.create_task(hass.wait())
    finally:
        stopping.cancel()
        exited.cancel()
        if not setup.done():
            setup.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await setup


def main(argv: Sequence[str] | None = None) -> int:
    """Run scripts/develop; return the exit status."""
    settings = parse_args(argv)
    try:
        return asyncio.run(run(settings))
    except DevelopError as err:
        sys.stderr.write(f"\033[1;31m[develop]\033[0m {err}\n")
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        return 130


if __name__ == "__main__":
    sys.exit(main())
