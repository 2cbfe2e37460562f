"""Tests of the send queue: order, pacing, events, counters and stopping on unload."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
import json
from typing import Any
from unittest.mock import create_autospec, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.smartwats.api import (
    AlbumItem,
    CarouselCard,
    QuickReplyButton,
    SendResult,
    SmartwatsClient,
    SmartwatsConnectionError,
    SmartwatsOutcomeUnknownError,
    UrlButton,
)
from custom_components.smartwats.const import CONF_SEND_INTERVAL, DOMAIN, EVENT_MESSAGE_SENT
from custom_components.smartwats.media import MediaItem, PreparedMedia, media_from_url
from custom_components.smartwats.messages import (
    AlbumMessage,
    AlbumPart,
    AudioMessage,
    CarouselMessage,
    ContactMessage,
    LocationMessage,
    MediaMessage,
    OutgoingMessage,
    TextMessage,
    message_as_dict,
    message_from_dict,
)
from custom_components.smartwats.sender import SendOutcome, async_send_message
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.params import SEND_ENDPOINTS, RecordedRequest

from .conftest import LINKED_PHONE, RECIPIENT_MUM

INTERVAL = 5.0


@pytest.fixture
async def entry(
    hass: HomeAssistant, recipients_entry: MockConfigEntry, internal_url: str
) -> MockConfigEntry:
    """The entry, set up without platforms, with a 5 s pause between messages."""
    recipients_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        recipients_entry, options={**recipients_entry.options, CONF_SEND_INTERVAL: INTERVAL}
    )
    with patch("custom_components.smartwats.PLATFORMS", []):
        assert await hass.config_entries.async_setup(recipients_entry.entry_id)
        await hass.async_block_till_done()
    return recipients_entry


def sends(emulator: Emulator) -> list[RecordedRequest]:
    """The send requests the gateway received, oldest first."""
    return [request for request in emulator.requests if request.endpoint in SEND_ENDPOINTS]


async def until(predicate: Callable[[], bool]) -> None:
    """Let the loop run (I/O included) until ``predicate`` holds.

    The loop's clock is frozen with the test's clock, so only zero-length sleeps are used.
    """
    for _ in range(50_000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("timed out")


async def settle() -> None:
    """Give pending work a fair chance to run (to show that nothing more happens)."""
    for _ in range(500):
        await asyncio.sleep(0)


def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move the clock (the loop's too) on and fire the timers due by then."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)


def send_text(hass: HomeAssistant, targets: list[str], message: str) -> asyncio.Task[Any]:
    """Start a send_text call in the background."""
    return asyncio.create_task(
        hass.services.async_call(
            DOMAIN,
            "send_text",
            # Now or fail: these tests are about the queue itself, not the outbox.
            {"target": targets, "message": message, "valid_for": 0},
            blocking=True,
        )
    )


async def test_messages_are_paced_in_order(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A bulk send waits `send_interval` between messages; a later call waits its turn."""
    targets = [RECIPIENT_MUM, "966501111111", "966502222222"]
    stats = entry.runtime_data.stats
    times: list[float] = []
    hass.bus.async_listen(
        EVENT_MESSAGE_SENT, callback(lambda _event: times.append(hass.loop.time()))
    )

    def answered(count: int) -> Callable[[], bool]:
        # Answered and counted: the queue has started its pause.
        return lambda: stats.sent == count

    bulk = send_text(hass, targets, "bulk")
    await until(answered(1))
    later = send_text(hass, [RECIPIENT_MUM], "later")
    await settle()
    assert len(sends(emulator)) == 1
    advance(hass, freezer, INTERVAL - 1)
    await settle()
    assert len(sends(emulator)) == 1
    advance(hass, freezer, 1)
    await until(answered(2))
    advance(hass, freezer, INTERVAL)
    await until(answered(3))
    await bulk
    assert not later.done()
    advance(hass, freezer, INTERVAL)
    await later
    requests = sends(emulator)
    assert [(r.json["number"], r.json["message"]) for r in requests] == [
        *[(target, "bulk") for target in targets],
        (RECIPIENT_MUM, "later"),
    ]
    assert [round(b - a) for a, b in pairwise(times)] == [5, 5, 5]


async def test_no_wait_after_a_pause(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """The pause only separates messages: the first one after a quiet time goes at once."""
    sender = entry.runtime_data.sender
    sender._next_at = hass.loop.time() - 1  # the last message was long ago
    await hass.services.async_call(
        DOMAIN, "send_text", {"target": RECIPIENT_MUM, "message": "now"}, blocking=True
    )
    assert len(sends(emulator)) == 1


async def test_unload_stops_waiting_messages(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """Unloading the entry fails the messages still waiting, at once; nothing lingers."""
    first = send_text(hass, [RECIPIENT_MUM, "966501111111"], "a")
    await until(lambda: len(sends(emulator)) == 1)
    second = send_text(hass, [RECIPIENT_MUM], "b")
    await settle()
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await first
    assert err.value.translation_key == "send_failures"
    assert "966501111111: " in str(err.value)
    with pytest.raises(HomeAssistantError) as err:
        await second
    assert err.value.translation_key == "sender_stopped"
    assert len(sends(emulator)) == 1


def stopped_text(target: str) -> str:
    """How the error of a send names a target that was not sent because the entry unloaded."""
    return f"{target}: The SmartWats entry {LINKED_PHONE} was unloaded before the message was sent"


async def test_unload_mid_send_keeps_what_was_sent(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An unload in the pause of a bulk send: what was sent stays sent, each unsent one is named.

    The caller asked for a response, which an error replaces: the sent message's id is in the
    `smartwats_message_sent` event of the call's context, and only the unsent targets are named.
    """
    targets = [RECIPIENT_MUM, "966501111111", "966502222222"]
    stats = entry.runtime_data.stats
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    context = Context()
    task = asyncio.create_task(
        hass.services.async_call(
            DOMAIN,
            "send_text",
            {"target": targets, "message": "bulk", "valid_for": 0},
            blocking=True,
            context=context,
            return_response=True,
        )
    )
    await until(lambda: stats.sent == 1)
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "send_failures"
    assert str(err.value) == "2 of 3 messages failed: " + "; ".join(
        stopped_text(target) for target in targets[1:]
    )
    advance(hass, freezer, 3 * INTERVAL)
    await settle()
    [message] = emulator.state.instance(instance_id).sent
    assert [r.json["number"] for r in sends(emulator)] == [RECIPIENT_MUM]
    assert [(e.data["target"], e.data["message_id"], e.context) for e in events] == [
        (RECIPIENT_MUM, message.message_id, context)
    ]
    assert (stats.sent, stats.failed) == (1, 2)


async def test_unload_while_a_message_is_in_flight(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The gateway answers a message after the entry unloaded: it still counts as sent."""
    targets = [RECIPIENT_MUM, "966501111111", "966502222222"]
    stats = entry.runtime_data.stats
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    # The fault must hold up the send, not a request left over from setting up.
    await hass.async_block_till_done()
    await settle()
    emulator.state.set_fault(instance_id, Fault("latency", count=1, delay=1.0))
    task = send_text(hass, targets, "slow")
    await until(lambda: len(sends(emulator)) == 1)
    await settle()
    assert not task.done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    advance(hass, freezer, 1)
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "send_failures"
    assert str(err.value) == "2 of 3 messages failed: " + "; ".join(
        stopped_text(target) for target in targets[1:]
    )
    [message] = emulator.state.instance(instance_id).sent
    assert [(e.data["target"], e.data["message_id"]) for e in events] == [
        (RECIPIENT_MUM, message.message_id)
    ]
    assert len(sends(emulator)) == 1
    assert (stats.sent, stats.failed) == (1, 2)


CHECK_ENDPOINTS = frozenset({"check_phone", "check_phones_batch"})


def paced_requests(emulator: Emulator) -> list[str]:
    """The endpoints of the sends and number checks the gateway received, oldest first."""
    return [
        request.endpoint
        for request in emulator.requests
        if request.endpoint in SEND_ENDPOINTS | CHECK_ENDPOINTS
    ]


def check(hass: HomeAssistant, service: str, data: dict[str, Any]) -> asyncio.Task[Any]:
    """Start a number check in the background."""
    return asyncio.create_task(
        hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=True)
    )


async def test_checks_wait_their_turn(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Number checks queue with the messages: in order, `send_interval` apart (ban trigger)."""
    stats = entry.runtime_data.stats
    bulk = send_text(hass, [RECIPIENT_MUM, "966501111111"], "bulk")
    await until(lambda: stats.sent == 1)
    one = check(hass, "check_phone", {"phone": RECIPIENT_MUM})
    many = check(hass, "check_phones", {"phones": [RECIPIENT_MUM, "966501111111"]})
    later = send_text(hass, [RECIPIENT_MUM], "later")
    await settle()
    assert paced_requests(emulator) == ["send"]
    advance(hass, freezer, INTERVAL)
    await bulk
    await settle()
    assert paced_requests(emulator) == ["send", "send"]
    advance(hass, freezer, INTERVAL)
    assert (await one)["exists"] is True
    await settle()
    assert paced_requests(emulator) == ["send", "send", "check_phone"]
    advance(hass, freezer, INTERVAL)
    assert len((await many)["results"]) == 2
    await settle()
    assert not later.done()
    advance(hass, freezer, INTERVAL)
    await later
    assert paced_requests(emulator) == ["send", "send", "check_phone", "check_phones_batch", "send"]


async def test_check_fails_when_the_queue_stops(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """A check waiting its turn fails at once when the entry unloads; the gateway is not asked."""
    bulk = send_text(hass, [RECIPIENT_MUM], "a")
    await until(lambda: len(sends(emulator)) == 1)
    await bulk
    task = check(hass, "check_phone", {"phone": RECIPIENT_MUM})
    await settle()
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "sender_stopped"
    assert paced_requests(emulator) == ["send"]


async def test_events_counters_and_context(
    hass: HomeAssistant, entry: MockConfigEntry, instance_id: str
) -> None:
    """Each success fires an event in the caller's context and counts; failures count too."""
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    sender = entry.runtime_data.sender
    sender._next_at = 0
    context = Context()
    result = SendResult(message_id="ABC", raw={})
    answers = [result, SmartwatsOutcomeUnknownError("No answer within 15 s")]
    message = MediaMessage(media=media_from_url("https://example.com/a.jpg"))
    with (
        patch.object(type(sender), "interval", 0.0),
        patch.object(sender.client, "send_media", side_effect=answers) as bad,
    ):
        outcome = await sender.async_send(["1", "2"], message, context=context)
    assert [(m.target, m.message_id) for m in outcome.sent] == [("1", "ABC")]
    [(target, error)] = outcome.failures
    assert target == "2"
    assert error.translation_key == "outcome_unknown"
    assert "may or may not have been sent" in str(error)
    assert isinstance(error.__cause__, SmartwatsOutcomeUnknownError)
    assert bad.await_count == 2  # the second target's message was never resent
    [event] = events
    assert event.context is context
    assert event.data == {
        "config_entry_id": entry.entry_id,
        "instance_id": instance_id,
        "message_id": "ABC",
        "target": "1",
        "type": "media",
        "outbox_id": None,
        "queued_for": 0.0,
    }
    assert (entry.runtime_data.stats.sent, entry.runtime_data.stats.failed) == (1, 1)


def test_outcome() -> None:
    """Outcomes merge; a single failure is raised as it is; several are named together."""
    outcome = SendOutcome(total=1)
    outcome.raise_for_failures()
    error = HomeAssistantError("boom")
    outcome.failures.append(("1", error))
    with pytest.raises(HomeAssistantError) as err:
        outcome.raise_for_failures()
    assert err.value is error
    other = SendOutcome(total=2)
    other.failures.append(("2", SmartwatsConnectionError("x")))  # type: ignore[arg-type]
    outcome.merge(other)
    assert outcome.total == 3
    with pytest.raises(HomeAssistantError) as err:
        outcome.raise_for_failures()
    assert err.value.translation_key == "send_failures"


async def test_one_send_function_for_every_kind(hass: HomeAssistant) -> None:
    """Each kind of message becomes its one client call; served media gets a URL at send time."""
    client = create_autospec(SmartwatsClient, instance=True)
    card = CarouselCard(
        title="T", body="B", image_url="https://x/i.jpg", buttons=[QuickReplyButton("Ok", "ok")]
    )
    url = media_from_url("https://example.com/a.jpg")
    cases: list[tuple[OutgoingMessage, str, tuple[object, ...], dict[str, object]]] = [
        (TextMessage(text="hi"), "send_text", ("1", "hi"), {}),
        (
            MediaMessage(media=url, caption="c", filename="f"),
            "send_media",
            ("1", "https://example.com/a.jpg"),
            {"caption": "c", "filename": "f"},
        ),
        (AudioMessage(media=url, ptt=False), "send_audio", ("1", url.url), {"ptt": False}),
        (
            LocationMessage(latitude=1.0, longitude=2.0, name="n"),
            "send_location",
            ("1", 1.0, 2.0),
            {"name": "n", "address": None},
        ),
        (ContactMessage(name="Mum", phone="9665"), "send_contact", ("1", "Mum", "9665"), {}),
        (
            AlbumMessage(parts=(AlbumPart(kind="image", media=url),) * 2, caption="c"),
            "send_album",
            ("1", [AlbumItem("image", url.url)] * 2),
            {"caption": "c"},
        ),
        (
            CarouselMessage(cards=(card,), text="t"),
            "send_carousel",
            ("1", (card,)),
            {"text": "t", "title": None, "footer": None},
        ),
    ]
    for message, method, args, kwargs in cases:
        await async_send_message(hass, client, "1", message, None)
        getattr(client, method).assert_awaited_once_with(*args, **kwargs)


def test_messages_survive_a_round_trip_through_json() -> None:
    """Every kind of message is serialisable: what is stored is what is read back."""
    card = CarouselCard(
        title="T", body="B", image_url="https://x/i.jpg", buttons=[UrlButton("Go", "https://x")]
    )
    served = PreparedMedia(
        filename="door.jpg",
        served=MediaItem(filename="door.jpg", content_type="image/jpeg", content=b"\xff\xd8"),
    )
    messages: list[OutgoingMessage] = [
        TextMessage(text="hi"),
        MediaMessage(media=served, caption="c", filename="door.jpg"),
        AudioMessage(media=PreparedMedia(filename="a.mp3", served="/api/tts_proxy/a.mp3")),
        LocationMessage(latitude=1.5, longitude=2.5, name="n", address="a"),
        ContactMessage(name="Mum", phone="966501234567"),
        AlbumMessage(parts=(AlbumPart(kind="video", media=served),) * 2, caption=None),
        CarouselMessage(cards=(card,), title="t"),
    ]
    for message in messages:
        assert message_from_dict(json.loads(json.dumps(message_as_dict(message)))) == message
    with pytest.raises(ValueError, match="Unknown message type"):
        message_from_dict({"type": "poll"})


async def test_unload_mid_send_queues_the_rest(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
) -> None:
    """With the outbox (the default), what an unload stops waits and goes out after the reload."""
    targets = [RECIPIENT_MUM, "966501111111", "966502222222"]
    task = asyncio.create_task(
        hass.services.async_call(
            DOMAIN,
            "send_text",
            {"target": targets, "message": "bulk"},
            blocking=True,
            return_response=True,
        )
    )
    await until(lambda: entry.runtime_data.stats.sent == 1)
    assert await hass.config_entries.async_unload(entry.entry_id)
    response = await task
    assert response is not None
    assert [item["status"] for item in response["messages"]] == ["sent", "queued", "queued"]
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await until(lambda: len(sends(emulator)) == 3)
    assert sorted(r.json["number"] for r in sends(emulator)) == sorted(targets)
