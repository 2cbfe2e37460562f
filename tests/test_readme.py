"""The documentation's examples are the ones these tests run: README.md and docs/*.md.

Every fenced ``yaml`` block of the documentation is one of these, or the test fails:

- an action call (``action:`` at its top): run as a script against the gateway emulator (templates
  rendered, ``response_variable`` honoured), then what the gateway received, the
  `smartwats_message_sent` events and the response are checked;
- a response (first line ``# Response``): the shape of the response of the action call just before
  it, compared with the real one;
- event data (first line ``# Event data``): the fields of `smartwats_message_received`;
- an automation (``triggers:``): validated as Home Assistant validates automations, and the data
  of each SmartWats action in it checked against the action's fields and schema; the automations
  of docs/automations.md, the README's and docs/events.md's are also run against the emulator,
  whose webhooks reach Home Assistant over a real socket;
- configuration (``homeassistant:``, ``logger:``): validated with the integration's schema.

Besides, every action of services.yaml and each of its fields is documented with an example that
runs, and every event the integration fires is documented with every field it carries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
import re
import textwrap
from typing import Any, Final
from unittest.mock import patch

from homeassistant.components import logger, media_source
from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.components.media_source import PlayMedia
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant, SupportsResponse
from homeassistant.core_config import CORE_CONFIG_SCHEMA, async_process_ha_core_config
from homeassistant.helpers import config_validation as cv, entity_registry as er, script
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml, parse_yaml
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats import const
from custom_components.smartwats.api.inbound import GatewayEvent, InboundMessage, MessageStatus
from custom_components.smartwats.const import (
    CONF_SEND_INTERVAL,
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_SENT,
    EVENT_MESSAGE_STATUS,
    EVENT_WEBHOOK_EVENT,
)
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.params import SEND_ENDPOINTS, RecordedRequest

from .conftest import RECIPIENT_MUM

REPO: Final = Path(__file__).parent.parent
README: Final = REPO / "README.md"
ACTIONS_PAGE: Final = REPO / "docs" / "actions.md"
EVENTS_PAGE: Final = REPO / "docs" / "events.md"
DOCS: Final = (README, *sorted((REPO / "docs").glob("*.md")))
SERVICES: Final[dict[str, Any]] = load_yaml(  # type: ignore[assignment]
    REPO / "custom_components" / DOMAIN / "services.yaml"
)

# What the examples name, and what it is in the tests.
DOC_GROUP_ID: Final = "120363012345678901@g.us"  # the "Family" group (recipient notify.family)
DOC_CONFIG_DIR: Final = "/config/"  # an allowlisted folder
DOC_LOCAL_MEDIA: Final = "media-source://media_source/local/"
DOC_TTS: Final = "media-source://tts/"
SHARED_RESPONSE: Final = "# Response of every send action"
NEIGHBOUR: Final = "966557654321"  # "+966 55 765 4321" in the examples

# The gateway endpoints each action calls.
ENDPOINTS: Final = {
    "send_text": {"send", "send_group"},
    "send_media": {"send", "send_group"},
    "send_audio": {"send_audio"},
    "send_location": {"send_location"},
    "send_contact": {"send_contact"},
    "send_album": {"send_album"},
    "send_carousel": {"send_carousel"},
    "ask": {"send", "send_group", "send_carousel"},
    "get_groups": {"get_groups"},
    "check_phone": {"check_phone"},
    "check_phones": {"check_phones_batch"},
    "logout": {"logout"},
    # The outbox is Home Assistant's own: these ask the gateway nothing.
    "get_outbox": set(),
    "clear_outbox": set(),
}
# Fields whose values reach the gateway changed (normalised, served from a signed URL, resolved).
CHANGED_ON_THE_WAY: Final = frozenset(
    {
        "target",
        "entity_id",
        "config_entry_id",
        "media_path",
        "audio_path",
        "path",
        "media_content_id",
        "camera_entity_id",
        "location_entity_id",
        "contact_phone",
        "type",
    }
)
COMMON_EVENT_FIELDS: Final = ("config_entry_id", "instance_id")
# The fields of the events the webhook fires, from the code that fires them.
EVENT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    EVENT_MESSAGE_RECEIVED: (
        *InboundMessage(
            message_id="m",
            chat_id="c",
            sender=None,
            sender_jid=None,
            sender_name=None,
            is_group=False,
            group_id=None,
            type="text",
        ).event_data(),
        # Added by the webhook: whether the message went to Assist.
        "assist",
    ),
    EVENT_MESSAGE_STATUS: tuple(
        MessageStatus(message_id="m", chat_id="c", status="read").event_data()
    ),
    EVENT_WEBHOOK_EVENT: tuple(GatewayEvent(event="e", data=None).event_data()),
    # Fired by the send queue (sender.py).
    EVENT_MESSAGE_FAILED: ("target", "type", "outbox_id", "reason", "error"),
}


# -- the blocks of the documentation --------------------------------------------------------------

_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    """A fenced ``yaml`` block of a documentation page."""

    path: Path
    line: int
    text: str

    @property
    def name(self) -> str:
        """Where the block is, as ``docs/actions.md:42``."""
        return f"{self.path.relative_to(REPO)}:{self.line}"

    def load(self, replacements: Mapping[str, str] | None = None) -> Any:
        """Parse the block, after replacing what the examples name by what the test has."""
        text = self.text
        for old, new in (replacements or {}).items():
            text = text.replace(old, new)
        return parse_yaml(text)

    @property
    def kind(self) -> str:
        """What the block is: action, response, event_data, automation, configuration."""
        first = self.text.lstrip().splitlines()[0]
        if first.startswith("# Response"):
            return "response"
        if first.startswith("# Event data"):
            return "event_data"
        data = self.load()
        if isinstance(data, dict) and isinstance(data.get("action"), str):
            return "action"
        if isinstance(data, dict) and "triggers" in data:
            return "automation"
        if isinstance(data, dict) and data and set(data) <= {"homeassistant", "logger"}:
            return "configuration"
        return "unknown"


def _blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    start: int | None = None
    language = ""
    for number, line in enumerate(lines, start=1):
        match = _FENCE.match(line)
        if match is None:
            continue
        if start is None:
            start, language = number, match.group(2)
        else:
            if language == "yaml":
                text = textwrap.dedent("\n".join(lines[start : number - 1]))
                yield Block(path, start + 1, text + "\n")
            start = None


BLOCKS: Final = tuple(block for path in DOCS for block in _blocks(path))


def blocks_of(kind: str) -> list[Block]:
    """Return the blocks of one kind."""
    return [block for block in BLOCKS if block.kind == kind]


def response_of(block: Block) -> Block | None:
    """Return the response block right after an action block of the same page, if any."""
    index = BLOCKS.index(block)
    following = BLOCKS[index + 1] if index + 1 < len(BLOCKS) else None
    if following is not None and following.path == block.path and following.kind == "response":
        return following
    return None


def section(path: Path, title: str) -> str:
    """Return the text under the first heading of a page that contains ``title``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    in_fence = False
    level = 0
    body: list[str] | None = None
    for line in lines:
        if line.strip().startswith("```"):
            in_fence = not in_fence
        heading = not in_fence and line.startswith("#")
        depth = len(line) - len(line.lstrip("#"))
        if body is not None:
            if heading and depth <= level:
                break
            body.append(line)
        elif heading and title in line:
            level, body = depth, []
    if body is None:
        pytest.fail(f"{path.relative_to(REPO)} has no heading with {title}")
    return "\n".join(body)


def strings(value: object) -> Iterator[str]:
    """Yield every string inside a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def plain_strings(value: object) -> Iterator[str]:
    """Yield the strings of documented data that reach the gateway as they are."""
    if isinstance(value, str):
        if "{{" not in value:
            yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in CHANGED_ON_THE_WAY:
                yield from plain_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from plain_strings(item)


def has_template(value: object) -> bool:
    """Whether a value holds a template anywhere."""
    return any("{{" in text or "{%" in text for text in strings(value))


def shape(value: object) -> object:
    """Return the structure of a response: its keys, with lists by their first item."""
    if isinstance(value, Mapping):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "value"


def smartwats_calls(value: object) -> Iterator[dict[str, Any]]:
    """Yield every call of a SmartWats action inside an automation's config."""
    if isinstance(value, Mapping):
        action = value.get("action")
        if isinstance(action, str) and action.startswith(f"{DOMAIN}."):
            yield dict(value)
        for item in value.values():
            yield from smartwats_calls(item)
    elif isinstance(value, list):
        for item in value:
            yield from smartwats_calls(item)


def check_call(hass: HomeAssistant, call: Mapping[str, Any]) -> None:
    """Check an action call's data: known fields, required ones given, the action's schema."""
    name = call["action"].removeprefix(f"{DOMAIN}.")
    assert name in SERVICES, f"{call['action']} is no action of the integration"
    fields: dict[str, Any] = SERVICES[name].get("fields") or {}
    data: dict[str, Any] = dict(call.get("data") or {})
    assert set(data) <= set(fields), f"{name}: unknown fields {set(data) - set(fields)}"
    required = {field for field, spec in fields.items() if spec.get("required")}
    assert required <= set(data), f"{name}: missing {required - set(data)}"
    if not has_template(data):
        schema = hass.services.async_services()[DOMAIN][name].schema
        assert schema is not None
        schema(data)


def sends(emulator: Emulator) -> list[RecordedRequest]:
    """The send requests the gateway received, oldest first."""
    return [request for request in emulator.requests if request.endpoint in SEND_ENDPOINTS]


async def until(check: Callable[[], object], what: str) -> None:
    """Wait (a few seconds at most) until ``check`` is true."""
    try:
        async with asyncio.timeout(10):
            while True:
                if check():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def camera_spec() -> tuple[str, str]:
    """The examples' camera: camera.doorbell."""
    return ("Doorbell", "image/jpeg")


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up the entry with its recipients, without a pause between messages."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_SEND_INTERVAL: 0})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


# -- every block is something the tests know ------------------------------------------------------


def test_every_block_is_known() -> None:
    """Each yaml block parses and is of a kind the tests check; responses follow a call."""
    assert BLOCKS, "no yaml blocks found"
    for block in BLOCKS:
        assert block.kind != "unknown", f"{block.name}: a yaml block the tests do not check"
    for block in blocks_of("response"):
        previous = BLOCKS[BLOCKS.index(block) - 1]
        if block.text.startswith(SHARED_RESPONSE):
            # Stands alone: it is the shape of the response of each send action.
            for other in blocks_of("response"):
                action = BLOCKS[BLOCKS.index(other) - 1]
                if action.kind == "action" and str(action.load().get("action", "")).startswith(
                    f"{DOMAIN}.send_"
                ):
                    assert shape(other.load()) == shape(block.load()), other.name
        else:
            assert previous.path == block.path, f"{block.name}: a response without an action"
            assert previous.kind == "action", f"{block.name}: follows no action"
    for block in blocks_of("action"):
        if response_of(block) is not None:
            assert "response_variable" in block.load(), f"{block.name}: response not asked for"


@pytest.mark.parametrize("block", blocks_of("configuration"), ids=lambda block: block.name)
def test_configuration_example(block: Block, tmp_path: Path) -> None:
    """Configuration snippets are valid for the integrations they configure."""
    config = block.load({DOC_CONFIG_DIR: f"{tmp_path}/config/"})
    for text in strings(config):
        if text.startswith(str(tmp_path)):
            Path(text).mkdir(parents=True)
    if "homeassistant" in config:
        CORE_CONFIG_SCHEMA(config["homeassistant"])
    if "logger" in config:
        logger.CONFIG_SCHEMA({"logger": config["logger"]})


# -- actions --------------------------------------------------------------------------------------


@dataclass(slots=True)
class ActionEnv:
    """Home Assistant with the entry, recipients, a camera, a zone, files and media."""

    entry: ConfigEntry[Any]
    emulator: Emulator
    instance_id: str
    group_id: str
    tmp_path: Path

    @property
    def replacements(self) -> dict[str, str]:
        """What the examples name, and what it is here."""
        return {
            DOC_GROUP_ID: self.group_id,
            DOC_CONFIG_DIR: f"{self.tmp_path}/config/",
        }

    def create_files(self, data: object) -> None:
        """Create the local files and media-folder files an example names."""
        for text in strings(data):
            if text.startswith(f"{self.tmp_path}/config/"):
                path = Path(text)
            elif text.startswith(DOC_LOCAL_MEDIA):
                path = self.tmp_path / "media" / text.removeprefix(DOC_LOCAL_MEDIA)
            else:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"documentation example " + path.name.encode())


@pytest.fixture
async def action_env(
    hass: HomeAssistant,
    *,
    recipients_entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    group_id: str,
    internal_url: str,
    tmp_path: Path,
    camera: str,
) -> ActionEnv:
    """Home Assistant as the action examples expect it."""
    (tmp_path / "config").mkdir()
    (tmp_path / "media").mkdir()
    hass.config.allowlist_external_dirs = {str(tmp_path / "config")}
    hass.config.media_dirs = {"local": str(tmp_path / "media")}
    assert await async_setup_component(hass, "zone", {})
    assert await async_setup_component(hass, "media_source", {})
    await setup_entry(hass, recipients_entry)
    return ActionEnv(recipients_entry, emulator, instance_id, group_id, tmp_path)


async def run_action(hass: HomeAssistant, action: dict[str, Any]) -> Any:
    """Run an action call as a script does; return its response (None without one)."""
    sequence: list[dict[str, Any]] = [action]
    if variable := action.get("response_variable"):
        sequence.append({"stop": "done", "response_variable": variable})
    config = await script.async_validate_actions_config(hass, cv.SCRIPT_SCHEMA(sequence))
    resolve = media_source.async_resolve_media

    async def resolve_tts(hass: HomeAssistant, media_content_id: str, *args: Any) -> PlayMedia:
        # Text-to-speech stands in for the engine named: a proxy path of Home Assistant.
        if media_content_id.startswith(DOC_TTS):
            return PlayMedia("/api/tts_proxy/documentation.mp3", "audio/mpeg")
        return await resolve(hass, media_content_id, *args)

    with patch.object(media_source, "async_resolve_media", resolve_tts):
        result = await script.Script(hass, config, "documentation example", DOMAIN).async_run(
            context=Context()
        )
    return None if result is None else result.service_response


@pytest.mark.parametrize("block", blocks_of("action"), ids=lambda block: block.name)
async def test_action_example(hass: HomeAssistant, action_env: ActionEnv, block: Block) -> None:
    """The example runs; the gateway gets what it says; the response is shaped as documented."""
    action = block.load(action_env.replacements)
    action_env.create_files(action)
    emulator = action_env.emulator
    if action["action"] == f"{DOMAIN}.get_outbox":
        # Something waiting to list: a message sent while the gateway cannot send.
        emulator.state.set_fault(action_env.instance_id, Fault("outage", count=1))
        await hass.services.async_call(
            DOMAIN, "send_text", {"target": "966501234567", "message": "later"}, blocking=True
        )
    if action["action"] == f"{DOMAIN}.ask":
        # Nobody answers here: the example's question times out after a second
        # (tests/test_ask.py has the answers).
        action["data"]["timeout"] = 1
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    response = await run_action(hass, action)
    await hass.async_block_till_done()

    if action["action"] == "notify.send_message":
        [request] = sends(emulator)
        data = action["data"]
        assert request.json["message"] == f"*{data['title']}*\n{data['message']}"
        return

    name = action["action"].removeprefix(f"{DOMAIN}.")
    assert name in SERVICES, f"{block.name}: {action['action']} is not an action of this project"
    data = action.get("data") or {}
    check_call(hass, action)
    requests = [request for request in emulator.requests if request.endpoint in ENDPOINTS[name]]
    assert requests or not ENDPOINTS[name], f"the gateway got no {ENDPOINTS[name]} request"
    if name.startswith("send_"):
        recipients = cv.ensure_list(data.get("target")) + cv.ensure_list(data.get("entity_id"))
        assert len(requests) == len(recipients) == len(events)
        assert len(emulator.state.instance(action_env.instance_id).sent) == len(recipients)
        received = [text for request in requests for text in strings(request.json)]
        for text in plain_strings(data):
            assert any(text in value for value in received), f"{text!r} did not reach the gateway"
        documented = documented_fields(EVENTS_PAGE, f"`{EVENT_MESSAGE_SENT}`")
        for event in events:
            assert set(event.data) <= documented, f"undocumented: {set(event.data) - documented}"
        if response is not None:
            assert response["messages"] == [
                {
                    "target": event.data["target"],
                    "message_id": event.data["message_id"],
                    "status": "sent",
                }
                for event in events
            ]
    if (response_block := response_of(block)) is not None:
        assert shape(response) == shape(response_block.load()), response
    elif "response_variable" in action:
        assert response is not None


# -- automations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("block", blocks_of("automation"), ids=lambda block: block.name)
async def test_automation_example_is_valid(hass: HomeAssistant, block: Block) -> None:
    """The automation is valid, and so is the data of each SmartWats action it calls."""
    assert await async_setup_component(hass, DOMAIN, {})
    config = block.load()
    assert config.get("id"), f"{block.name}: give the example an id (the tests find it by it)"
    await async_validate_config_item(hass, config["id"], config)
    calls = list(smartwats_calls(config))
    for call in calls:
        check_call(hass, call)


@dataclass(slots=True)
class LiveEnv:
    """Home Assistant reachable by the emulator's webhooks, with the entry and its recipients."""

    hass: HomeAssistant
    entry: ConfigEntry[Any]
    emulator: Emulator
    instance_id: str

    def automation(self, automation_id: str) -> str:
        """Return the entity id of a documented automation (all are loaded)."""
        registry = er.async_get(self.hass)
        entity_id = registry.async_get_entity_id("automation", "automation", automation_id)
        assert entity_id is not None
        return entity_id

    async def trigger(self, entity_id: str) -> None:
        """Run an automation's actions (as its trigger would), without waiting for them."""
        await self.hass.services.async_call("automation", "trigger", {"entity_id": entity_id})

    def running(self, entity_id: str) -> int:
        """How many runs of the automation are going on."""
        state = self.hass.states.get(entity_id)
        assert state is not None
        return int(state.attributes.get("current", 0))

    async def press(self, button_id: str, text: str) -> None:
        """Press a carousel's reply button on Mum's phone."""
        await self.emulator.inject_inbound(
            self.instance_id,
            "template_reply",
            selected_id=button_id,
            display_text=text,
            from_number=f"+{RECIPIENT_MUM}",
        )


@pytest.fixture
async def live(
    hass: HomeAssistant,
    *,
    hass_client_no_auth: ClientSessionGenerator,
    recipients_entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    camera: str,
) -> LiveEnv:
    """Home Assistant's HTTP server on a loopback port, its internal URL, the entry set up.

    Every documented automation is loaded. Everything that registers a view is set up before the
    server starts (it freezes them).
    """
    assert await async_setup_component(hass, DOMAIN, {})
    for domain in ("notify", "image"):  # the platforms that register views
        assert await async_setup_component(hass, domain, {})
    configs = [block.load() for block in blocks_of("automation")]
    assert await async_setup_component(hass, "automation", {"automation": configs})
    server = (await hass_client_no_auth()).server
    await async_process_ha_core_config(
        hass, {"internal_url": f"http://{server.host}:{server.port}"}
    )
    await setup_entry(hass, recipients_entry)
    return LiveEnv(hass, recipients_entry, emulator, instance_id)


def carousels(emulator: Emulator) -> list[RecordedRequest]:
    """The carousels the gateway received."""
    return [request for request in emulator.requests if request.endpoint == "send_carousel"]


async def test_question_with_reply_buttons(hass: HomeAssistant, live: LiveEnv) -> None:
    """docs/automations.md: each run's buttons are its own; the pressed one decides."""
    closed = async_mock_service(hass, "cover", "close_cover")
    entity_id = live.automation("smartwats_garage_question")

    async def ask() -> list[str]:
        count = len(carousels(live.emulator))
        await live.trigger(entity_id)
        await until(lambda: len(carousels(live.emulator)) > count, "the question")
        [card] = carousels(live.emulator)[-1].json["cards"]
        return [button["quickReplyButton"]["id"] for button in card["buttons"]]

    first_close, first_leave = await ask()
    assert first_close.endswith("_close")
    assert first_leave == first_close.removesuffix("_close") + "_leave"
    await live.press(first_leave, "Leave it open")
    await until(lambda: live.running(entity_id) == 0, "the first run to end")
    assert closed == []

    second_close, _ = await ask()
    assert second_close != first_close
    await live.press(first_close, "Close it")  # the old question's button: not this run's
    await asyncio.sleep(0.1)
    assert live.running(entity_id) == 1
    assert closed == []
    await live.press(second_close, "Close it")
    await until(lambda: live.running(entity_id) == 0, "the second run to end")
    assert [call.data for call in closed] == [{"entity_id": ["cover.garage_door"]}]
    assert sends(live.emulator)[-1].json == {
        "number": RECIPIENT_MUM,
        "type": "text",
        "message": "Closing the garage door.",
    }


async def test_doorbell_snapshot(hass: HomeAssistant, live: LiveEnv, group_id: str) -> None:
    """docs/automations.md: a snapshot goes to the family group, served by Home Assistant."""
    entity_id = live.automation("smartwats_doorbell_snapshot")
    await live.trigger(entity_id)
    await until(lambda: sends(live.emulator), "the snapshot")
    [request] = sends(live.emulator)
    assert request.endpoint == "send_group"
    assert request.json["group_id"] == group_id
    assert request.json["message"].startswith("Someone is at the door (")  # the caption
    assert request.json["media_url"].startswith(f"{hass.config.internal_url}/api/smartwats/media/")
    assert request.json["filename"].startswith("doorbell_")
    # The pause after it, then the automation ends.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=3))
    await until(lambda: live.running(entity_id) == 0, "the pause to end")


async def leak_alert(live: LiveEnv, entity_id: str) -> str:
    """Run the leak automation until its alert is sent; return the alert's message id."""
    await live.trigger(entity_id)
    await until(lambda: live.emulator.state.instance(live.instance_id).sent, "the alert")
    [alert] = live.emulator.state.instance(live.instance_id).sent
    assert alert.to == f"{RECIPIENT_MUM}@s.whatsapp.net"
    return alert.message_id


async def test_alert_read_in_time(hass: HomeAssistant, live: LiveEnv) -> None:
    """docs/automations.md: the read receipt of the alert's message id ends the wait."""
    entity_id = live.automation("smartwats_leak_escalation")
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    message_id = await leak_alert(live, entity_id)
    await live.emulator.send_receipts(live.instance_id, message_id, "read")
    await until(lambda: live.running(entity_id) == 0, "the run to end")
    assert len(live.emulator.state.instance(live.instance_id).sent) == 1
    assert [event.data["status"] for event in statuses] == ["sent", "delivered", "read"]
    documented = documented_fields(EVENTS_PAGE, f"`{EVENT_MESSAGE_STATUS}`")
    assert set(statuses[-1].data) <= documented


async def test_alert_escalates_when_not_read(hass: HomeAssistant, live: LiveEnv) -> None:
    """docs/automations.md: delivered but not read within 5 minutes: the neighbour is told."""
    entity_id = live.automation("smartwats_leak_escalation")
    message_id = await leak_alert(live, entity_id)
    await live.emulator.send_receipts(live.instance_id, message_id, "delivered")
    await asyncio.sleep(0.1)
    assert live.running(entity_id) == 1
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=6))
    await until(
        lambda: len(live.emulator.state.instance(live.instance_id).sent) == 2, "the escalation"
    )
    escalation = sends(live.emulator)[-1]
    assert escalation.json["number"] == NEIGHBOUR
    assert escalation.json["message"].startswith("💧 Water leak in the kitchen, and Mum")


async def test_status_reply(hass: HomeAssistant, live: LiveEnv) -> None:
    """README: a "status" message is answered in its chat."""
    hass.states.async_set("alarm_control_panel.home", "armed_away")
    live.automation("smartwats_status_reply")
    await live.emulator.inject_inbound(
        live.instance_id, "text", text=" Status", from_number=f"+{RECIPIENT_MUM}"
    )
    await until(lambda: sends(live.emulator), "the answer")
    assert [request.json for request in sends(live.emulator)] == [
        {"number": RECIPIENT_MUM, "type": "text", "message": "The alarm is armed_away."}
    ]


async def test_open_front_door(hass: HomeAssistant, live: LiveEnv) -> None:
    """docs/events.md: a button press from Mum triggers; its event has the documented fields."""
    unlocked = async_mock_service(hass, "lock", "unlock")
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    live.automation("smartwats_open_front_door")
    await live.press("open_front_door", "Open the door")
    await until(lambda: unlocked, "the door to open")
    [event] = received
    [example] = blocks_of("event_data")
    assert set(event.data) == set(example.load())
    assert event.data["button_id"] == "open_front_door"
    assert event.data["type"] == "button_reply"


# -- everything is documented ---------------------------------------------------------------------


@cache
def documented_fields(path: Path, title: str) -> frozenset[str]:
    """Return the backticked names in the section of a page whose heading holds ``title``."""
    return frozenset(re.findall(r"`([a-z_]+)`", section(path, title)))


async def test_every_action_is_documented(hass: HomeAssistant) -> None:
    """Each action: a section with every field, a running example, and its response."""
    assert await async_setup_component(hass, DOMAIN, {})
    examples = blocks_of("action")
    readme = README.read_text(encoding="utf-8")
    for name, spec in SERVICES.items():
        fields = documented_fields(ACTIONS_PAGE, f"`{DOMAIN}.{name}`")
        shared = documented_fields(ACTIONS_PAGE, "Fields every send action has")
        for field in spec.get("fields") or {}:
            assert field in fields or (field in shared and name.startswith("send_")), (
                f"smartwats.{name}: field {field} is not documented"
            )
        own = [block for block in examples if block.load()["action"] == f"{DOMAIN}.{name}"]
        assert own, f"smartwats.{name} has no example"
        if hass.services.supports_response(DOMAIN, name) is not SupportsResponse.NONE:
            assert any(response_of(block) for block in own), f"smartwats.{name}: no response"
        assert f"`{name}`" in readme or f"smartwats.{name}" in readme
    documented = {
        name
        for path in DOCS
        for name in re.findall(
            rf"(?<![.\w/]){DOMAIN}\.([a-z_]+)\b", path.read_text(encoding="utf-8")
        )
    }
    assert documented <= set(SERVICES), f"not actions: {documented - set(SERVICES)}"


def test_every_event_is_documented() -> None:
    """Each event the integration fires: a section in docs/events.md with all of its fields."""
    names = {
        value
        for key, value in vars(const).items()
        if key.startswith("EVENT_") and isinstance(value, str) and value.startswith(f"{DOMAIN}_")
    }
    assert names == {*EVENT_FIELDS, EVENT_MESSAGE_SENT}
    readme = README.read_text(encoding="utf-8")
    for name in names:
        fields = documented_fields(EVENTS_PAGE, f"`{name}`")
        # The fields of smartwats_message_sent are checked against the real events it fires.
        expected = {*COMMON_EVENT_FIELDS, *EVENT_FIELDS.get(name, ())}
        assert expected <= fields, f"{name}: undocumented {expected - fields}"
        assert f"`{name}`" in readme
    [example] = blocks_of("event_data")
    assert set(example.load()) == {*COMMON_EVENT_FIELDS, *EVENT_FIELDS[EVENT_MESSAGE_RECEIVED]}


def _anchor(heading: str) -> str:
    """Return GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            anchors.add(_anchor(line))
    return anchors


def test_links_resolve() -> None:
    """Every relative link of the documentation names a file that exists, and a heading of it."""
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            assert linked.exists(), f"{path.name}: {target} does not exist"
            if anchor:
                assert anchor in _anchors(linked), f"{path.name}: no heading for {target}"
