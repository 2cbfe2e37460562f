"""The automation blueprints of blueprints/automation/smartwats/.

Each is loaded with Home Assistant's automation blueprint schema, the actions it calls must exist in
services.yaml with the fields it gives them, and each runs as an automation against the emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import BLUEPRINT_SCHEMA, Blueprint, BlueprintInputs
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.const import CONF_SEND_INTERVAL, EVENT_MESSAGE_RECEIVED
from smartwats_emulator import Emulator
from smartwats_emulator.state import SentMessage
from smartwats_emulator.wamessages import build_inbound
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, RECIPIENT_MUM, WEBHOOK_ID

REPO = Path(__file__).resolve().parent.parent
BLUEPRINTS = REPO / "blueprints" / "automation" / "smartwats"
SERVICES = REPO / "custom_components" / "smartwats" / "services.yaml"
EXPECTED = {"ask.yaml", "camera_snapshot.yaml", "reply_buttons.yaml"}


def _load(name: str) -> Blueprint:
    data = yaml_util.load_yaml_dict(BLUEPRINTS / name)
    return Blueprint(
        data,
        path=f"smartwats/{name}",
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )


def _actions(node: object) -> Iterator[dict[str, Any]]:
    """Every action step (a mapping with `action`) anywhere in a blueprint."""
    if isinstance(node, dict):
        if isinstance(node.get("action"), str):
            yield node
        for value in node.values():
            yield from _actions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _actions(item)


def test_the_blueprints_are_there() -> None:
    """The blueprints exist, and nothing else hides in the folder."""
    assert {path.name for path in BLUEPRINTS.iterdir()} == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_blueprint_schema(name: str) -> None:
    """Each blueprint passes Home Assistant's blueprint schemas (generic and automation)."""
    data = yaml_util.load_yaml_dict(BLUEPRINTS / name)
    BLUEPRINT_SCHEMA(data)
    blueprint = _load(name)
    assert blueprint.domain == "automation"
    assert blueprint.metadata["source_url"].endswith(f"/blueprints/automation/smartwats/{name}")
    assert blueprint.inputs


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_blueprint_actions_exist(name: str) -> None:
    """The integration's actions a blueprint calls exist, with the fields it gives them."""
    services = yaml_util.load_yaml_dict(SERVICES)
    called = [
        step for step in _actions(_load(name).data) if step["action"].startswith("smartwats.")
    ]
    assert called, "the blueprint calls no action of the integration"
    for step in called:
        service = step["action"].removeprefix("smartwats.")
        assert service in services, f"{step['action']} is not in services.yaml"
        assert set(step.get("data", {})) <= set(services[service]["fields"])


# -- the blueprints at work ----------------------------------------------------------------------


@pytest.fixture
async def entry(
    hass: HomeAssistant, recipients_entry: MockConfigEntry, internal_url: str
) -> MockConfigEntry:
    """The entry with its recipients (notify.mum, notify.family), sending without pacing."""
    recipients_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        recipients_entry, options={**recipients_entry.options, CONF_SEND_INTERVAL: 0}
    )
    assert await hass.config_entries.async_setup(recipients_entry.entry_id)
    await hass.async_block_till_done()
    return recipients_entry


async def _set_up_automation(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    inputs_config = {"use_blueprint": {"path": f"smartwats/{name}", "input": inputs}}
    automation = BlueprintInputs(_load(name), inputs_config)
    automation.validate()
    config = {"id": name, "alias": name, **automation.async_substitute()}
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    await hass.async_block_till_done()
    assert hass.states.get(f"automation.{name.removesuffix('.yaml')}_yaml") is not None


async def _until(condition: Callable[[], bool]) -> None:
    """Wait until `condition` holds.

    Automation runs wait for an answer (`wait_for_trigger`), so `async_block_till_done` would wait
    for them: the tests poll instead.
    """
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def _answer_listeners(hass: HomeAssistant) -> int:
    """Count the listeners of received messages (each waiting run has two: yes and no)."""
    return hass.bus.async_listeners().get(EVENT_MESSAGE_RECEIVED, 0)


async def _sent(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, count: int
) -> list[SentMessage]:
    """Wait until the emulator has received `count` messages (the send queue runs apart)."""
    await _until(lambda: len(emulator.state.instance(instance_id).sent) >= count)
    return list(emulator.state.instance(instance_id).sent)


async def test_reply_buttons(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """The question goes out as a carousel whose button ids are unique to the run.

    Only the answer with this run's id moves that run on; the answer picks the actions.
    """
    answers = async_capture_events(hass, "test_answer")
    await _set_up_automation(
        hass,
        "reply_buttons.yaml",
        {
            "triggers": [{"trigger": "event", "event_type": "test_ask"}],
            "recipient": ["notify.mum"],
            "question": "Open the garage?",
            "timeout": {"minutes": 5},
            "yes_actions": [{"event": "test_answer", "event_data": {"answer": "yes"}}],
            "no_actions": [{"event": "test_answer", "event_data": {"answer": "no"}}],
            "timeout_actions": [{"event": "test_answer", "event_data": {"answer": "timeout"}}],
        },
    )

    listening = _answer_listeners(hass)
    hass.bus.async_fire("test_ask")
    hass.bus.async_fire("test_ask")
    sent = await _sent(hass, emulator, instance_id, 2)
    await _until(lambda: _answer_listeners(hass) == listening + 4)  # both runs wait
    assert [(message.type, message.to) for message in sent] == [
        ("carousel", f"{RECIPIENT_MUM}@s.whatsapp.net")
    ] * 2
    ids = [
        [button["quickReplyButton"]["id"] for button in m.payload["cards"][0]["buttons"]]
        for m in sent
    ]
    (yes_1, no_1), (yes_2, no_2) = ids
    assert yes_1.startswith("yes_")
    assert no_1.startswith("no_")
    assert yes_1.removeprefix("yes_") == no_1.removeprefix("no_") != yes_2.removeprefix("yes_")
    card = sent[0].payload["cards"][0]
    assert (card["title"], card["body"]) == ("Home Assistant", "Open the garage?")
    assert [b["quickReplyButton"]["displayText"] for b in card["buttons"]] == ["Yes", "No"]

    # An answer to the second question leaves the first one waiting.
    hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, {"button_id": no_2, "type": "button_reply"})
    await _until(lambda: len(answers) == 1)
    hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, {"button_id": "yes_other", "type": "button_reply"})
    hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, {"button_id": yes_1, "type": "button_reply"})
    await _until(lambda: len(answers) == 2)
    await hass.async_block_till_done()
    assert _answer_listeners(hass) == listening  # both runs are over
    assert [event.data["answer"] for event in answers] == ["no", "yes"]


async def test_reply_buttons_timeout(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
) -> None:
    """Without an answer in time, the timeout actions run (and a late answer does nothing)."""
    answers = async_capture_events(hass, "test_answer")
    await _set_up_automation(
        hass,
        "reply_buttons.yaml",
        {
            "triggers": [{"trigger": "event", "event_type": "test_ask"}],
            "recipient": "notify.family",
            "question": "Anyone home?",
            "timeout": {"seconds": 0.5},
            "yes_actions": [{"event": "test_answer", "event_data": {"answer": "yes"}}],
            "timeout_actions": [{"event": "test_answer", "event_data": {"answer": "timeout"}}],
        },
    )
    listening = _answer_listeners(hass)
    hass.bus.async_fire("test_ask")
    (message,) = await _sent(hass, emulator, instance_id, 1)
    await _until(lambda: _answer_listeners(hass) == listening + 2)
    assert message.to.endswith("@g.us")
    yes = message.payload["cards"][0]["buttons"][0]["quickReplyButton"]["id"]

    await _until(lambda: len(answers) == 1)  # after half a second
    await hass.async_block_till_done()
    assert [event.data["answer"] for event in answers] == ["timeout"]
    assert _answer_listeners(hass) == listening
    hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, {"button_id": yes, "type": "button_reply"})
    await hass.async_block_till_done()
    assert [event.data["answer"] for event in answers] == ["timeout"]


ASK_INPUTS: dict[str, Any] = {
    "triggers": [{"trigger": "event", "event_type": "test_ask"}],
    "recipient": "notify.mum",
    "question": "Garage open. Close it?",
    "answer_1": "Close it",
    "answer_2": "Leave it",
    "actions_1": [{"event": "test_answer", "event_data": {"answer": "close"}}],
    "actions_2": [{"event": "test_answer", "event_data": {"answer": "leave"}}],
    "timeout_actions": [{"event": "test_answer", "event_data": {"answer": "timeout"}}],
}


async def test_ask(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
) -> None:
    """The question goes out with its numbered answers; the reply runs its answer's actions."""
    answers = async_capture_events(hass, "test_answer")
    await _set_up_automation(hass, "ask.yaml", ASK_INPUTS)
    hass.bus.async_fire("test_ask")
    (message,) = await _sent(hass, emulator, instance_id, 1)
    assert message.to == f"{RECIPIENT_MUM}@s.whatsapp.net"
    assert message.payload["message"] == (
        "Garage open. Close it?\n1 Close it · 2 Leave it — reply with the number or the words"
    )
    reply = build_inbound(
        "text", {"text": "leave it"}, own_jid=f"{LINKED_PHONE}@s.whatsapp.net", default_group=None
    )
    client = await hass_client_no_auth()
    body = webhook_body(instance_id, "messages.upsert", {"type": "notify", "messages": [reply]})
    response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)
    assert response.status == 200
    await _until(lambda: len(answers) == 1)
    assert answers[0].data["answer"] == "leave"


async def test_ask_with_a_picture_and_timeout(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """With a picture the question is a card with buttons; without an answer, the timeout runs."""
    answers = async_capture_events(hass, "test_answer")
    inputs = ASK_INPUTS | {
        "answer_3": "Ask me later",
        "image_url": "https://example.com/garage.jpg",
        "timeout": {"seconds": 1},
    }
    await _set_up_automation(hass, "ask.yaml", inputs)
    hass.bus.async_fire("test_ask")
    (message,) = await _sent(hass, emulator, instance_id, 1)
    assert message.type == "carousel"
    assert [b["quickReplyButton"] for b in message.payload["cards"][0]["buttons"]] == [
        {"displayText": "Close it", "id": "answer_1"},
        {"displayText": "Leave it", "id": "answer_2"},
        {"displayText": "Ask me later", "id": "answer_3"},
    ]
    await _until(lambda: len(answers) == 1)
    assert answers[0].data["answer"] == "timeout"


async def test_camera_snapshot(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str, camera: str
) -> None:
    """Motion sends the camera's snapshot with a caption to every recipient."""
    motion = "binary_sensor.hall_motion"
    hass.states.async_set(motion, "off", {"friendly_name": "Hall motion"})
    await _set_up_automation(
        hass,
        "camera_snapshot.yaml",
        {
            "motion_sensor": [motion],
            "camera": camera,
            "recipients": ["notify.mum", "notify.family"],
            "cooldown": {"minutes": 2},
        },
    )

    hass.states.async_set(motion, "on", {"friendly_name": "Hall motion"})
    # The run then waits for the quiet time: async_block_till_done would wait for it.
    sent = await _sent(hass, emulator, instance_id, 2)
    assert sorted(message.to.split("@")[1] for message in sent) == ["g.us", "s.whatsapp.net"]
    for message in sent:
        assert message.type == "media"
        assert message.payload["media_kind"] == "image"
        assert message.payload["filename"].startswith("front_door")
        assert message.payload["caption"].startswith("Hall motion: motion at ")
