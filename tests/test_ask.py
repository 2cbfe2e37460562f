"""Tests of the ask action: questions go to the emulator, replies come through the webhook."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import voluptuous as vol

from custom_components.smartwats.ask import AskAnswer, AskWaiters
from custom_components.smartwats.const import (
    CONF_INCLUDE_OWN_MESSAGES,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
)
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.wamessages import build_inbound
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, RECIPIENT_MUM, WEBHOOK_ID

URL = f"/api/webhook/{WEBHOOK_ID}"
OWN_JID = f"{LINKED_PHONE}@s.whatsapp.net"
ANSWERS = [{"id": "close", "title": "Close it"}, {"id": "leave", "title": "Leave it"}]
QUESTION = "Garage open. Close it?"
IMAGE = "https://example.com/garage.jpg"
CLOSE = {
    "answer_id": "close",
    "answer": "Close it",
    "sender": RECIPIENT_MUM,
    "timed_out": False,
}
LEAVE = CLOSE | {"answer_id": "leave", "answer": "Leave it"}


@pytest.fixture
def entry(notify_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry with its recipients, notify entities and no pause between sends."""
    return notify_entry


@pytest.fixture
async def client(hass_client_no_auth: ClientSessionGenerator, entry: MockConfigEntry) -> TestClient:
    """An HTTP client of Home Assistant (the gateway's webhook posts come through it)."""
    return await hass_client_no_auth()


def reply(kind: str = "text", **fields: object) -> dict[str, Any]:
    """A message the linked phone receives now (from Mum unless `from_number` says otherwise)."""
    fields.setdefault("timestamp", int(time.time()))
    return build_inbound(kind, fields, own_jid=OWN_JID, default_group=None)


async def post(client: TestClient, instance_id: str, *messages: dict[str, Any]) -> None:
    """Post messages as the gateway does (messages.upsert) through the real webhook."""
    body = webhook_body(instance_id, "messages.upsert", {"type": "notify", "messages": [*messages]})
    response = await client.post(URL, json=body)
    assert response.status == 200


def ask(hass: HomeAssistant, **data: Any) -> asyncio.Task[Any]:
    """Start the ask action (to Mum, with the two answers, unless told otherwise)."""
    data = {"target": RECIPIENT_MUM, "question": QUESTION, "answers": ANSWERS} | data
    data = {name: value for name, value in data.items() if value is not None}
    # In the background: waiting for Home Assistant to be idle must not wait for the answer.
    return hass.async_create_background_task(
        hass.services.async_call(DOMAIN, "ask", data, blocking=True, return_response=True), "ask"
    )


async def asked(emulator: Emulator, instance_id: str, count: int = 1) -> None:
    """Wait until the gateway has received `count` questions."""
    sent = emulator.state.instance(instance_id).sent
    for _ in range(500):
        if len(sent) >= count:
            return
        await asyncio.sleep(0.01)
    pytest.fail("the question was never sent")


async def answer_of(task: asyncio.Task[Any]) -> dict[str, Any]:
    """The response of an ask, checked to name the question the gateway sent."""
    response: dict[str, Any] = await asyncio.wait_for(task, 10)
    assert response["question_message_id"]
    return response


@pytest.mark.parametrize("text", ["2", "leave it.", " Leave It ", "LEAVE IT"])
async def test_text_reply_by_number_or_words(
    hass: HomeAssistant, client: TestClient, emulator: Emulator, instance_id: str, text: str
) -> None:
    """The question goes out with numbered answers; a number or the words choose one."""
    task = ask(hass)
    await asked(emulator, instance_id)
    (sent,) = emulator.state.instance(instance_id).sent
    assert sent.to == f"{RECIPIENT_MUM}@s.whatsapp.net"
    assert sent.payload["message"] == (
        "Garage open. Close it?\n1 Close it · 2 Leave it — reply with the number or the words"
    )
    message = reply(text=text)
    await post(client, instance_id, message)
    response = await answer_of(task)
    assert response == LEAVE | {
        "text": text,
        "message_id": message["key"]["id"],
        "question_message_id": sent.message_id,
    }


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("template_reply", {"selected_id": "close", "display_text": "Close it"}),
        ("native_flow_reply", {"button_id": "close", "display_text": "Close it"}),
        ("button_reply", {"button_id": "close", "display_text": "Close it"}),
    ],
)
async def test_button_reply(
    hass: HomeAssistant,
    client: TestClient,
    emulator: Emulator,
    instance_id: str,
    *,
    kind: str,
    fields: dict[str, Any],
) -> None:
    """The buttons style sends one card with a quick-reply button per answer; a press answers."""
    task = ask(hass, style="buttons", image_url=IMAGE)
    await asked(emulator, instance_id)
    (sent,) = emulator.state.instance(instance_id).sent
    assert sent.type == "carousel"
    (card,) = sent.payload["cards"]
    assert card["title"] == QUESTION
    assert card["image"] == {"url": IMAGE}
    assert card["buttons"] == [
        {"quickReplyButton": {"displayText": "Close it", "id": "close"}},
        {"quickReplyButton": {"displayText": "Leave it", "id": "leave"}},
    ]
    # A press of another question's button is no answer, even with a matching label.
    await post(client, instance_id, reply(kind, **(fields | _button_id(kind, "other"))))
    message = reply(kind, **fields)
    await post(client, instance_id, message)
    response = await answer_of(task)
    assert response == CLOSE | {
        "text": "Close it",
        "message_id": message["key"]["id"],
        "question_message_id": sent.message_id,
    }


def _button_id(kind: str, value: str) -> dict[str, str]:
    return {"selected_id": value} if kind == "template_reply" else {"button_id": value}


async def test_reply_before_the_send_returns(
    hass: HomeAssistant,
    client: TestClient,
    emulator: Emulator,
    instance_id: str,
) -> None:
    """A reply processed while the gateway has not yet answered the send still answers."""
    replied = asyncio.Event()

    @callback
    def received(event: Event) -> None:
        replied.set()

    hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, received)
    api = emulator._api  # the gateway's handlers: to reply from within a send
    send = api.handlers["send"]
    message = reply(text="1")
    order: list[str] = []

    async def send_then_reply(params: Any) -> Any:
        answered = await send(params)
        await post(client, instance_id, message)
        await asyncio.wait_for(replied.wait(), 10)  # the reply has been offered to the ask
        order.append("replied")
        return answered

    with patch.dict(api.handlers, {"send": send_then_reply}):
        response = await answer_of(ask(hass))
    assert order == ["replied"]
    assert response["answer_id"] == "close"
    assert response["message_id"] == message["key"]["id"]


async def test_timeout(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """No answer in time is no error: the response says it timed out."""
    response = await answer_of(ask(hass, timeout=1))
    assert response == {
        "answer_id": None,
        "answer": None,
        "text": None,
        "sender": None,
        "message_id": None,
        "question_message_id": response["question_message_id"],
        "timed_out": True,
    }
    assert len(entry.runtime_data.asks) == 0


async def test_group_reply_by_any_participant(
    hass: HomeAssistant, client: TestClient, emulator: Emulator, instance_id: str, group_id: str
) -> None:
    """Asked in a group (through its notify entity), any participant answers."""
    task = ask(hass, target=None, entity_id="notify.family")
    await asked(emulator, instance_id)
    (sent,) = emulator.state.instance(instance_id).sent
    assert sent.to == group_id
    # The same words in Mum's own chat answer nothing here.
    await post(client, instance_id, reply(text="Close it"))
    message = reply(text="close it", group=group_id, from_number="966509876543")
    await post(client, instance_id, message)
    response = await answer_of(task)
    assert response["answer_id"] == "close"
    assert response["sender"] == "966509876543"


async def test_other_messages_are_ignored_and_still_reported(
    hass: HomeAssistant,
    client: TestClient,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
) -> None:
    """Other chats, other words, old and own messages, a second answer: all fire their events."""
    # Own messages are reported too: the one sent from the linked phone is still no answer.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_INCLUDE_OWN_MESSAGES: True}
    )
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    task = ask(hass)
    await asked(emulator, instance_id)
    own = reply(text="1")
    own["key"]["fromMe"] = True
    ignored = [
        own,
        reply(text="1", from_number="966507777777"),  # another chat
        reply(text="maybe"),  # no answer's number or words
        reply(text="3"),  # no such answer
        reply("location"),  # no text at all
        reply(text="1", timestamp=int(time.time()) - 3600),  # older than the question
    ]
    await post(client, instance_id, *ignored)
    await hass.async_block_till_done()
    assert not task.done()
    first, second = reply(text="2"), reply(text="1")
    await post(client, instance_id, first, second)
    response = await answer_of(task)
    assert response["answer_id"] == "leave"
    assert response["message_id"] == first["key"]["id"]
    await hass.async_block_till_done()
    assert [event.data["message_id"] for event in events] == [
        message["key"]["id"] for message in [*ignored, first, second]
    ]
    assert events[0].data["from_me"] is True
    assert len(entry.runtime_data.asks) == 0


async def test_one_reply_answers_one_question(
    hass: HomeAssistant, client: TestClient, emulator: Emulator, instance_id: str
) -> None:
    """Two questions to the same chat: the oldest takes the first answer, the next the second."""
    first_task = ask(hass)
    await asked(emulator, instance_id)
    second_task = ask(hass, question="Lights on. Turn them off?")
    await asked(emulator, instance_id, 2)
    await post(client, instance_id, reply(text="1"), reply(text="2"))
    assert (await answer_of(first_task))["answer_id"] == "close"
    assert (await answer_of(second_task))["answer_id"] == "leave"


async def test_send_failure_is_raised_and_nothing_queued(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """An ask never waits in the outbox: a gateway failure is the action's error."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    with pytest.raises(HomeAssistantError) as err:
        await answer_of(ask(hass))
    assert err.value.translation_key == "temporary_failure"
    assert not list(entry.runtime_data.sender.outbox)
    assert len(entry.runtime_data.asks) == 0


async def test_unload_ends_waiting_questions(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """A question still waiting when its entry unloads ends with a translated error."""
    task = ask(hass)
    await asked(emulator, instance_id)
    await asyncio.sleep(0)
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await asyncio.wait_for(task, 10)
    assert err.value.translation_key == "ask_ended"


async def test_too_many_waiting_questions(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """Beyond the bound of waiting questions, an ask is refused before it is sent."""
    with patch("custom_components.smartwats.ask.MAX_PENDING_ASKS", 1):
        task = ask(hass)
        await asked(emulator, instance_id)
        with pytest.raises(ServiceValidationError) as err:
            await answer_of(ask(hass))
        assert err.value.translation_key == "too_many_asks"
    assert len(emulator.state.instance(instance_id).sent) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(entry.runtime_data.asks) == 0


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"answers": []}, "ask_answers_count"),
        (
            {"answers": [{"id": f"a{n}", "title": f"Answer {n}"} for n in range(11)]},
            "ask_answers_count",
        ),
        (
            {"answers": [{"id": "yes", "title": "Yes"}, {"id": "yes", "title": "Sure"}]},
            "ask_duplicate_answer",
        ),
        ({"answers": [{"id": "yes", "title": " "}]}, "ask_invalid_answer"),
        ({"answers": [{"title": "Yes"}]}, "ask_invalid_answer"),
        ({"style": "buttons"}, "ask_image_required"),
        (
            {
                "style": "buttons",
                "image_url": IMAGE,
                "answers": [{"id": f"a{n}", "title": f"Answer {n}"} for n in range(4)],
            },
            "ask_too_many_buttons",
        ),
        ({"style": "buttons", "image_url": "garage.jpg"}, "invalid_url"),
        ({"target": [RECIPIENT_MUM, "966507777777"]}, "ask_one_chat"),
        ({"entity_id": ["notify.mum", "notify.family"], "target": None}, "ask_one_chat"),
        ({"entity_id": "notify.family"}, "ask_one_chat"),
        ({"target": None}, "no_target"),
        ({"question": " "}, "empty_message"),
    ],
)
async def test_validation_errors(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    *,
    data: dict[str, Any],
    key: str,
) -> None:
    """Bad input fails with a translated error before anything is sent."""
    data = {"target": RECIPIENT_MUM, "question": QUESTION, "answers": ANSWERS} | data
    data = {name: value for name, value in data.items() if value is not None}
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "ask", data, blocking=True, return_response=True)
    assert err.value.translation_key == key
    assert not emulator.state.instance(instance_id).sent
    assert len(entry.runtime_data.asks) == 0


@pytest.mark.usefixtures("entry")
@pytest.mark.parametrize("seconds", [0, 86401])
async def test_timeout_out_of_range(hass: HomeAssistant, seconds: int) -> None:
    """The timeout is 1 second to 1 day."""
    with pytest.raises(vol.Invalid):
        await answer_of(ask(hass, timeout=seconds))


async def test_waiters_refuse_questions_once_stopped(hass: HomeAssistant) -> None:
    """An entry that unloads takes no new question."""
    waiters = AskWaiters(hass)
    waiters.async_stop()
    with pytest.raises(HomeAssistantError) as err:
        waiters.async_listen(RECIPIENT_MUM, (AskAnswer("yes", "Yes"),))
    assert err.value.translation_key == "ask_ended"
