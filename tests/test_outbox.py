"""The outbox: what Home Assistant accepted reaches the phone once the gateway can take it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.smartwats.const import (
    CONF_SEND_INTERVAL,
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_SENT,
    UNLINKED_POLL_INTERVAL,
)
from custom_components.smartwats.outbox import _keep_aside, outbox_key
from smartwats_emulator import Emulator, Fault

from .conftest import RECIPIENT_MUM

OTHER = "966557654321"


@pytest.fixture
async def entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, no_retry_delay: None, internal_url: str
) -> MockConfigEntry:
    """The entry, without pauses between messages, set up (its webhook on this machine)."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={**mock_config_entry.options, CONF_SEND_INTERVAL: 0}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


async def send(
    hass: HomeAssistant, text: str, target: str = RECIPIENT_MUM, **data: Any
) -> dict[str, Any]:
    """Send a text and return the action's response."""
    response = await hass.services.async_call(
        DOMAIN,
        "send_text",
        {"target": target, "message": text, **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return response


def delivered(emulator: Emulator, instance_id: str) -> list[str]:
    """The texts the gateway sent, in order."""
    return [sent.payload["message"] for sent in emulator.state.instance(instance_id).sent]


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Let time pass and run what falls due."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_messages_during_an_outage_are_delivered_in_order_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
) -> None:
    """100 messages while the gateway cannot send: none lost, in order, each exactly once."""
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    emulator.state.set_fault(instance_id, Fault("outage"))
    responses = [await send(hass, f"m{number}") for number in range(100)]
    statuses = {item["status"] for response in responses for item in response["messages"]}
    assert statuses == {"queued"}
    assert all(r["messages"][0]["outbox_id"] for r in responses)
    assert len(entry.runtime_data.sender.outbox) == 100
    # The circuit is open: after the first attempt, no request waits for the gateway.
    attempts = [r for r in emulator.requests if r.endpoint == "send"]
    assert len(attempts) == 1

    emulator.state.set_fault(instance_id, None)
    # The next link probe (30 s after the failed one, or at the circuit's retry) finds it back.
    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    await tick(hass, freezer, timedelta(minutes=5))
    assert delivered(emulator, instance_id) == [f"m{number}" for number in range(100)]
    assert len(entry.runtime_data.sender.outbox) == 0
    queued = [event for event in sent_events if event.data["outbox_id"] is not None]
    assert len(queued) == 100
    assert all(event.data["queued_for"] >= 0 for event in queued)


async def test_live_sends_do_not_overtake_queued_ones(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
) -> None:
    """A new message to a target that has queued ones waits behind them."""
    emulator.state.set_fault(instance_id, Fault("outage", count=1))
    assert (await send(hass, "first"))["messages"][0]["status"] == "queued"
    sender = entry.runtime_data.sender
    sender._open_until = 0.0  # the circuit's back-off has passed
    # The gateway is back, but the older message to Mum goes first.
    assert (await send(hass, "second"))["messages"][0]["status"] == "queued"
    assert (await send(hass, "other", OTHER))["messages"][0]["status"] == "sent"
    await tick(hass, freezer, timedelta(seconds=10))
    texts = delivered(emulator, instance_id)
    assert sorted(texts) == ["first", "other", "second"]
    assert texts.index("first") < texts.index("second")


async def test_valid_for_zero_fails_at_once(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """valid_for 0: now or fail, with the translated reason and a failed event."""
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    emulator.state.set_fault(instance_id, Fault("outage"))
    with pytest.raises(HomeAssistantError) as err:
        await send(hass, "now", valid_for=0)
    assert err.value.translation_key == "temporary_failure"
    [event] = failed
    assert event.data["reason"] == "temporary_failure"
    assert event.data["outbox_id"] is None
    assert len(entry.runtime_data.sender.outbox) == 0


async def test_not_linked_queues_until_relinked(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
) -> None:
    """Relogin required: the message waits; the session linked again sends it."""
    emulator.state.unlink(instance_id)
    assert (await send(hass, "while away"))["messages"][0]["status"] == "queued"
    await hass.async_block_till_done()
    assert not entry.runtime_data.coordinator.data.linked
    emulator.state.link(instance_id)
    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    assert delivered(emulator, instance_id) == ["while away"]


async def test_expired_messages_fail(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
) -> None:
    """A message that waited longer than valid_for is reported failed with reason expired."""
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    emulator.state.set_fault(instance_id, Fault("outage"))
    response = await send(hass, "short-lived", valid_for=60)
    outbox_id = response["messages"][0]["outbox_id"]
    await tick(hass, freezer, timedelta(seconds=61))
    [event] = failed
    assert event.data["reason"] == "expired"
    assert event.data["outbox_id"] == outbox_id
    emulator.state.set_fault(instance_id, None)
    await tick(hass, freezer, timedelta(minutes=6))
    assert delivered(emulator, instance_id) == []


async def test_outcome_unknown_is_never_queued_or_resent(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """A send that may have reached the gateway fails as outcome_unknown; it is not queued."""
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    emulator.state.set_fault(instance_id, Fault("timeout_after_send", count=1, delay=5))
    with (
        patch.object(entry.runtime_data.client, "_request_timeout", 0.2),
        pytest.raises(HomeAssistantError) as err,
    ):
        await send(hass, "perhaps")
    assert err.value.translation_key == "outcome_unknown"
    assert [event.data["reason"] for event in failed] == ["outcome_unknown"]
    assert len(entry.runtime_data.sender.outbox) == 0
    assert delivered(emulator, instance_id) == ["perhaps"]


async def test_get_and_clear_the_outbox(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """The outbox is listed, and cleared by id, by target or whole; each cleared one fails."""
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    emulator.state.set_fault(instance_id, Fault("outage"))
    first = (await send(hass, "a"))["messages"][0]["outbox_id"]
    await send(hass, "b")
    await send(hass, "c", OTHER)
    listed = await hass.services.async_call(
        DOMAIN, "get_outbox", {}, blocking=True, return_response=True
    )
    assert listed is not None
    assert [item["target"] for item in listed["messages"]] == [RECIPIENT_MUM] * 2 + [OTHER]
    assert listed["messages"][0]["outbox_id"] == first
    assert listed["messages"][0]["type"] == "text"

    async def clear(**data: Any) -> list[str]:
        removed = await hass.services.async_call(
            DOMAIN, "clear_outbox", data, blocking=True, return_response=True
        )
        assert removed is not None
        return [item["outbox_id"] for item in removed["messages"]]

    assert await clear(outbox_id=first) == [first]
    assert len(await clear(target="+966 55 765 4321")) == 1
    assert len(await clear()) == 1
    assert [event.data["reason"] for event in failed] == ["cleared"] * 3
    assert len(entry.runtime_data.sender.outbox) == 0


async def test_outbox_full(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """Beyond its bound the outbox refuses, with a clear error: nothing dropped silently."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    with patch("custom_components.smartwats.outbox.MAX_MESSAGES", 2):
        await send(hass, "1")
        await send(hass, "2")
        with pytest.raises(HomeAssistantError) as err:
            await send(hass, "3")
    assert err.value.translation_key == "outbox_full"
    assert len(entry.runtime_data.sender.outbox) == 2


async def test_queued_messages_survive_a_reload(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A queued message is on disk before the action returns, and sent after a reload."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    await send(hass, "kept")
    stored = hass_storage[outbox_key(entry.entry_id)]["data"]["items"]
    assert [item["message"]["text"] for item in stored] == ["kept"]
    assert await hass.config_entries.async_unload(entry.entry_id)
    emulator.state.set_fault(instance_id, None)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await tick(hass, freezer, timedelta(seconds=1))
    assert delivered(emulator, instance_id) == ["kept"]


async def test_a_corrupt_outbox_is_kept_aside(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An outbox that cannot be read is logged once and the entry still loads, empty."""
    mock_config_entry.add_to_hass(hass)
    hass_storage[outbox_key(mock_config_entry.entry_id)] = {
        "version": 1,
        "key": outbox_key(mock_config_entry.entry_id),
        "data": {"items": [{"outbox_id": "x"}]},
    }
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert len(mock_config_entry.runtime_data.sender.outbox) == 0
    assert caplog.text.count("could not be read") == 1


async def test_a_snapshot_waits_on_disk_and_goes_with_its_message(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
    internal_url: str,
    camera: str,
) -> None:
    """A camera snapshot of the moment is written beside the outbox and deleted once sent."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    response = await hass.services.async_call(
        DOMAIN,
        "send_media",
        {"target": RECIPIENT_MUM, "camera_entity_id": camera},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["messages"][0]["status"] == "queued"
    outbox = entry.runtime_data.sender.outbox
    files = list(outbox.media_dir.iterdir())
    assert len(files) == 1
    emulator.state.set_fault(instance_id, None)
    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    await tick(hass, freezer, timedelta(minutes=5))
    [sent] = emulator.state.instance(instance_id).sent
    assert sent.payload["media_url"].startswith(f"{internal_url}/api/smartwats/media/")
    assert not files[0].exists()


async def test_a_failed_save_queues_nothing(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """A disk that refuses the outbox fails the action clearly instead of claiming queued."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    outbox = entry.runtime_data.sender.outbox
    with (
        patch.object(outbox._store, "async_save", side_effect=OSError("disk full")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await send(hass, "lost?")
    assert err.value.translation_key == "outbox_save_failed"
    assert len(outbox) == 0


async def test_removing_the_entry_deletes_its_outbox(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The outbox and its media go with the entry."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    await send(hass, "never")
    assert outbox_key(entry.entry_id) in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert outbox_key(entry.entry_id) not in hass_storage


async def test_a_relink_waited_for_raises_a_repair(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Messages waiting over 15 minutes for a relink raise outbox_stalled; it goes when sent."""
    emulator.state.unlink(instance_id)
    await send(hass, "after the relink")
    await tick(hass, freezer, timedelta(minutes=16))
    await tick(hass, freezer, timedelta(seconds=30))
    issue_id = f"outbox_stalled_{entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    listed = await hass.services.async_call(
        DOMAIN, "get_outbox", {}, blocking=True, return_response=True
    )
    assert listed is not None
    assert len(listed["messages"]) == 1
    sensor = hass.states.get(f"sensor.{entry.title}_outbox")
    assert sensor is not None
    assert sensor.state == "1"
    assert sensor.attributes["oldest_age"] >= 16 * 60
    emulator.state.link(instance_id)
    await tick(hass, freezer, UNLINKED_POLL_INTERVAL)
    assert delivered(emulator, instance_id) == ["after the relink"]
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(f"sensor.{entry.title}_outbox").state == "0"


async def test_an_album_waits_with_its_files(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
    internal_url: str,
) -> None:
    """An album of URLs waits as it is (nothing to store); its type is listed."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    items = [
        {"type": "image", "url": "https://example.com/1.jpg"},
        {"type": "video", "url": "https://example.com/2.mp4"},
    ]
    response = await hass.services.async_call(
        DOMAIN,
        "send_album",
        {"target": RECIPIENT_MUM, "items": items},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["messages"][0]["status"] == "queued"
    [item] = entry.runtime_data.sender.outbox
    assert item.message.type == "album"
    assert not entry.runtime_data.sender.outbox.media_dir.exists()


async def test_snapshots_beyond_the_media_bound_are_refused(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
    internal_url: str,
    camera: str,
) -> None:
    """Beyond 50 MB of stored media the outbox refuses: outbox_full, nothing dropped."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    data = {"target": RECIPIENT_MUM, "camera_entity_id": camera}
    await hass.services.async_call(DOMAIN, "send_media", data, blocking=True)
    with (
        patch("custom_components.smartwats.outbox.MAX_MEDIA_BYTES", 1),
        pytest.raises(HomeAssistantError) as err,
    ):
        await hass.services.async_call(DOMAIN, "send_media", data, blocking=True)
    assert err.value.translation_key == "outbox_full"
    assert len(entry.runtime_data.sender.outbox) == 1


def test_a_corrupt_file_is_renamed(tmp_path: Path) -> None:
    """The unreadable outbox file is kept beside, renamed, for whoever wants to look."""
    path = tmp_path / "smartwats.outbox.x"
    path.write_text("{", encoding="utf-8")
    _keep_aside(path)
    assert not path.exists()
    assert (tmp_path / "smartwats.outbox.x.corrupt").read_text(encoding="utf-8") == "{"
    _keep_aside(path)  # nothing there any more: nothing to do


async def test_a_message_in_flight_at_stop_is_never_sent_again(
    hass: HomeAssistant,
    *,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    instance_id: str,
    entry: MockConfigEntry,
) -> None:
    """The entry unloads while a queued message's request is out: it may have been sent.

    After the reload it fails as outcome_unknown instead of going out a second time.
    """
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    emulator.state.set_fault(instance_id, Fault("outage"))
    await send(hass, "once")
    assert delivered(emulator, instance_id) == []
    # The gateway comes back, sends the message and stalls before answering.
    emulator.state.set_fault(instance_id, Fault("timeout_after_send", count=1, delay=30))
    freezer.tick(timedelta(seconds=10))  # the circuit's back-off has passed
    async_fire_time_changed(hass)
    for _ in range(10_000):  # the loop's clock is frozen: turns, not time
        if delivered(emulator, instance_id):
            break
        await asyncio.sleep(0)
    assert delivered(emulator, instance_id) == ["once"]

    assert await hass.config_entries.async_unload(entry.entry_id)  # while the answer is out
    emulator.state.set_fault(instance_id, None)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await tick(hass, freezer, timedelta(seconds=1))

    assert delivered(emulator, instance_id) == ["once"]
    assert [event.data["reason"] for event in failed] == ["outcome_unknown"]
    assert len(entry.runtime_data.sender.outbox) == 0
