"""Tests of Assist over WhatsApp: texts of a recipient's chat go to a conversation agent.

Messages are posted through the real webhook as the gateway emulator posts them; the agent's
answers are what the emulator received.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
import time
from typing import Any, Literal

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.components.webhook import async_handle_webhook
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.const import CONF_NAME, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from homeassistant.util.aiohttp import MockRequest
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartwats.const import (
    CONF_AGENT_ID,
    CONF_ASSIST,
    CONF_ASSIST_PREFIX,
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_SEND_INTERVAL,
    CONF_TARGET,
    CONF_USER_ID,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    SUBENTRY_RECIPIENT,
)
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.wamessages import build_inbound
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, WEBHOOK_ID

# The webhook the gateway is given is on this machine (the emulator posts the echoes of sends).
pytestmark = pytest.mark.usefixtures("internal_url")

URL = f"/api/webhook/{WEBHOOK_ID}"
OWN_JID = f"{LINKED_PHONE}@s.whatsapp.net"
MUM = "966501234567"
DAD = "966507654321"  # a recipient without Assist
STRANGER = "966551112222"  # not a recipient
MEMBER = "966559998888"  # writes in the group
SORRY = "Sorry, that did not work."
TOO_MANY = "Too many messages, wait a minute."


class RecordingAgent(conversation.AbstractConversationAgent):
    """A conversation agent that echoes what it is asked, and remembers it."""

    def __init__(self) -> None:
        """Start with nothing asked."""
        self.inputs: list[conversation.ConversationInput] = []

    @property
    def supported_languages(self) -> Literal["*"]:
        """Every language."""
        return "*"

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        """Answer with the text asked; a new conversation gets an id, a continued one keeps it."""
        self.inputs.append(user_input)
        response = intent.IntentResponse(language=user_input.language)
        if user_input.text != "Quiet":
            response.async_set_speech(f"You said: {user_input.text}")
        return conversation.ConversationResult(
            response=response,
            conversation_id=user_input.conversation_id or f"chat-{len(self.inputs)}",
        )


@pytest.fixture
async def assist_setup(hass: HomeAssistant) -> None:
    """Home Assistant's conversation agent, and a light it can turn on."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass,
        "template",
        {"template": [{"light": [{"name": "Porch light", "turn_on": [], "turn_off": []}]}]},
    )
    assert await async_setup_component(hass, "conversation", {})
    await hass.async_block_till_done()


@pytest.fixture
def agent(hass: HomeAssistant, assist_setup: None) -> tuple[str, RecordingAgent]:
    """A recording agent, and its id."""
    agent = RecordingAgent()
    agent_entry = MockConfigEntry(domain="test")
    conversation.async_set_agent(hass, agent_entry, agent)
    return agent_entry.entry_id, agent


def recipient(subentry_id: str, title: str, target: str, **data: Any) -> ConfigSubentryDataWithId:
    """A recipient subentry."""
    return ConfigSubentryDataWithId(
        subentry_id=subentry_id,
        data={CONF_NAME: title, CONF_TARGET: target, **data},
        subentry_type=SUBENTRY_RECIPIENT,
        title=title,
        unique_id=target,
    )


async def setup_entry(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator | None,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    *,
    mum: dict[str, Any],
    family: dict[str, Any] | None = None,
    include_own: bool = False,
) -> TestClient | None:
    """Set up the entry with recipients Mum, Dad (no Assist) and the group Family.

    Return an HTTP client of Home Assistant to post to the webhook with (if asked for one).
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        version=1,
        minor_version=3,
        data=dict(mock_config_entry.data),
        options={
            **mock_config_entry.options,
            CONF_SEND_INTERVAL: 0,
            CONF_INCLUDE_OWN_MESSAGES: include_own,
        },
        subentries_data=[
            recipient("MUM", "Mum", MUM, **mum),
            recipient("DAD", "Dad", DAD),
            recipient("FAMILY", "Family", group_id, **(family or {})),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return None if hass_client_no_auth is None else await hass_client_no_auth()


async def receive(
    hass: HomeAssistant,
    client: TestClient | None,
    instance_id: str,
    text: str,
    *,
    from_number: str = MUM,
    group: str | None = None,
    age: float = 0,
    from_me: bool = False,
) -> None:
    """Post a text message as the gateway does, and wait for what it starts.

    Without an HTTP client, the post is handed to the webhook's handler as Home Assistant's
    HTTP view does (the test client's router takes no new views, which some tests need).
    """
    fields: dict[str, object] = {
        "text": text,
        "from_number": from_number,
        "timestamp": int(time.time() - age),
    }
    if group:
        fields["group"] = group
    message = build_inbound("text", fields, own_jid=OWN_JID, default_group=group)
    message["key"]["fromMe"] = from_me
    body = webhook_body(instance_id, "messages.upsert", {"type": "notify", "messages": [message]})
    if client is None:
        request = MockRequest(
            json.dumps(body).encode(),
            mock_source="test",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        status = (await async_handle_webhook(hass, WEBHOOK_ID, request)).status
    else:
        status = (await client.post(URL, json=body)).status
    assert status == 200
    await hass.async_block_till_done(wait_background_tasks=True)


def answers(emulator: Emulator, instance_id: str) -> list[tuple[str, str]]:
    """The texts the instance sent, with their chats (a number's by the number)."""
    return [
        (sent.to.removesuffix("@s.whatsapp.net"), sent.payload["message"])
        for sent in emulator.state.instance(instance_id).sent
    ]


async def test_turn_on_the_light(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    assist_setup: None,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Home Assistant's agent turns the light on, and its answer goes back to the chat."""
    client = await setup_entry(
        hass, hass_client_no_auth, mock_config_entry, group_id, mum={CONF_ASSIST: True}
    )
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    assert hass.states.get("light.porch_light").state != STATE_ON

    await receive(hass, client, instance_id, "Turn on the porch light")

    assert hass.states.get("light.porch_light").state == STATE_ON
    [(chat, answer)] = answers(emulator, instance_id)
    assert chat == MUM
    assert answer.startswith("Turned on")
    assert events[0].data["assist"] is True


async def test_agent_error_gets_a_sorry(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    assist_setup: None,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An agent that fails or does not understand gets a short apology and a log line."""
    client = await setup_entry(
        hass,
        hass_client_no_auth,
        mock_config_entry,
        group_id,
        mum={CONF_ASSIST: True},
        family={CONF_ASSIST: True, CONF_AGENT_ID: "conversation.missing"},
    )
    await receive(hass, client, instance_id, "Flibber the gazonk")
    await receive(
        hass, client, instance_id, "@HA turn on the light", from_number=MEMBER, group=group_id
    )

    assert answers(emulator, instance_id) == [(MUM, SORRY), (group_id, SORRY)]
    assert "Assist (conversation.home_assistant) could not handle a message of Mum" in caplog.text
    assert "Assist (conversation.missing) failed on a message of Family" in caplog.text


async def test_sorry_in_the_language_of_home_assistant(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    agent: tuple[str, RecordingAgent],
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The apology is in Home Assistant's language."""
    await hass.config.async_update(language="ar")
    client = await setup_entry(
        hass,
        hass_client_no_auth,
        mock_config_entry,
        group_id,
        mum={CONF_ASSIST: True, CONF_AGENT_ID: "missing"},
    )
    await receive(hass, client, instance_id, "Hello")
    assert answers(emulator, instance_id) == [(MUM, "عذرًا، لم ينجح ذلك.")]


async def test_conversation_continues_as_the_user(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    agent: tuple[str, RecordingAgent],
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """One conversation per chat, continued; it runs as the recipient's user."""
    agent_id, recorder = agent
    sara = await hass.auth.async_create_user("Sara")
    client = await setup_entry(
        hass,
        hass_client_no_auth,
        mock_config_entry,
        group_id,
        mum={CONF_ASSIST: True, CONF_AGENT_ID: agent_id, CONF_USER_ID: sara.id},
        family={CONF_ASSIST: True, CONF_AGENT_ID: agent_id, CONF_ASSIST_PREFIX: "!Bot"},
    )
    await receive(hass, client, instance_id, "First")
    await receive(hass, client, instance_id, "Second")
    await receive(hass, client, instance_id, "!bot: third", from_number=MEMBER, group=group_id)

    asked = [(i.text, i.conversation_id, i.context.user_id) for i in recorder.inputs]
    assert asked == [
        ("First", None, sara.id),
        ("Second", "chat-1", sara.id),
        ("third", None, None),
    ]
    assert answers(emulator, instance_id) == [
        (MUM, "You said: First"),
        (MUM, "You said: Second"),
        (group_id, "You said: third"),
    ]


async def test_messages_not_for_assist(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    agent: tuple[str, RecordingAgent],
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Other chats, own messages, old messages and group texts without the prefix: no Assist."""
    agent_id, recorder = agent
    client = await setup_entry(
        hass,
        hass_client_no_auth,
        mock_config_entry,
        group_id,
        mum={CONF_ASSIST: True, CONF_AGENT_ID: agent_id},
        family={CONF_ASSIST: True, CONF_AGENT_ID: agent_id},
        include_own=True,
    )
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await receive(hass, client, instance_id, "Hi", from_number=STRANGER)
    await receive(hass, client, instance_id, "Hi", from_number=DAD)
    await receive(hass, client, instance_id, "Hi", from_me=True)
    await receive(hass, client, instance_id, "Hi", age=180)
    await receive(hass, client, instance_id, "Hi all", from_number=MEMBER, group=group_id)
    await receive(hass, client, instance_id, "@hall", from_number=MEMBER, group=group_id)
    await receive(hass, client, instance_id, " @ha ", from_number=MEMBER, group=group_id)

    assert recorder.inputs == []
    assert answers(emulator, instance_id) == []
    assert [event.data["assist"] for event in events] == [False] * 7

    # A message a bit under the limit of age is answered.
    await receive(
        hass, client, instance_id, "@ha hello", from_number=MEMBER, group=group_id, age=90
    )
    assert answers(emulator, instance_id) == [(group_id, "You said: hello")]


async def test_rate_limit(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    agent: tuple[str, RecordingAgent],
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Ten turns a minute per chat; the eleventh gets one notice, then silence until it passes."""
    agent_id, recorder = agent
    client = await setup_entry(
        hass,
        hass_client_no_auth,
        mock_config_entry,
        group_id,
        mum={CONF_ASSIST: True, CONF_AGENT_ID: agent_id},
        family={CONF_ASSIST: True, CONF_AGENT_ID: agent_id},
    )
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    for number in range(12):
        await receive(hass, client, instance_id, f"Message {number}")
        freezer.tick(timedelta(seconds=1))
    # Another chat has its own limit.
    await receive(hass, client, instance_id, "@ha hi", from_number=MEMBER, group=group_id)

    expected = [(MUM, f"You said: Message {number}") for number in range(10)]
    expected += [(MUM, TOO_MANY), (group_id, "You said: hi")]
    assert answers(emulator, instance_id) == expected
    assert [event.data["assist"] for event in events] == [True] * 10 + [False, False, True]

    # A minute after the first turn, one more is allowed; then the notice again.
    freezer.tick(timedelta(seconds=60 - 12))
    await receive(hass, client, instance_id, "Again")
    await receive(hass, client, instance_id, "And again")
    assert answers(emulator, instance_id)[len(expected) :] == [
        (MUM, "You said: Again"),
        (MUM, TOO_MANY),
    ]
    assert len(recorder.inputs) == 12


async def test_answers_that_are_not_sent(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    agent: tuple[str, RecordingAgent],
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An agent's empty answer sends nothing; an answer the gateway refuses is logged."""
    agent_id, recorder = agent
    client = await setup_entry(
        hass,
        hass_client_no_auth,
        mock_config_entry,
        group_id,
        mum={CONF_ASSIST: True, CONF_AGENT_ID: agent_id},
    )
    await receive(hass, client, instance_id, "Quiet")
    emulator.state.set_fault(instance_id, Fault("quota", count=1))
    await receive(hass, client, instance_id, "Hello")

    assert [i.text for i in recorder.inputs] == ["Quiet", "Hello"]
    assert answers(emulator, instance_id) == []
    assert "Could not send Assist's answer to Mum" in caplog.text


async def test_conversation_set_up_when_needed(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
) -> None:
    """Without the conversation integration loaded, the first turn loads it."""
    # Home Assistant's core integration, loaded in every real installation.
    assert await async_setup_component(hass, "homeassistant", {})
    await setup_entry(hass, None, mock_config_entry, group_id, mum={CONF_ASSIST: True})
    assert "conversation" not in hass.config.components
    await receive(hass, None, instance_id, "What time is it?")
    assert "conversation" in hass.config.components
    [(chat, answer)] = answers(emulator, instance_id)
    assert chat == MUM
    assert answer not in {"", SORRY}


async def test_a_reply_to_a_waiting_question_is_not_for_assist(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    group_id: str,
    agent: tuple[str, RecordingAgent],
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """While an ask waits on the chat, its answer goes to the ask only; other texts to Assist."""
    agent_id, recorder = agent
    client = await setup_entry(
        hass,
        hass_client_no_auth,
        mock_config_entry,
        group_id,
        mum={CONF_ASSIST: True, CONF_AGENT_ID: agent_id},
    )
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    # Not tracked by Home Assistant: waiting for it to be idle must not wait for the answer.
    asking = hass.loop.create_task(
        hass.services.async_call(
            DOMAIN,
            "ask",
            {
                "target": MUM,
                "question": "Garage open. Close it?",
                "answers": [{"id": "close", "title": "Close it"}, {"id": "leave", "title": "No"}],
            },
            blocking=True,
            return_response=True,
        )
    )
    sent = emulator.state.instance(instance_id).sent
    for _ in range(500):
        if sent:
            break
        await asyncio.sleep(0.01)

    await receive(hass, client, instance_id, "What time is it?")  # not an answer: Assist's
    await receive(hass, client, instance_id, "Close it")

    response = await asyncio.wait_for(asking, 10)
    assert (response["answer_id"], response["timed_out"]) == ("close", False)
    assert [turn.text for turn in recorder.inputs] == ["What time is it?"]
    assert [event.data["assist"] for event in events] == [True, False]
    assert answers(emulator, instance_id)[1:] == [(MUM, "You said: What time is it?")]
