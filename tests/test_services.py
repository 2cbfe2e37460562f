"""Tests of the SmartWats actions against the gateway emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.smartwats.const import (
    CONF_INSTANCE_ID,
    CONF_SEND_INTERVAL,
    DOMAIN,
    EVENT_MESSAGE_SENT,
)
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.params import SEND_ENDPOINTS, RecordedRequest

from .conftest import LINKED_PHONE, RECIPIENT_MUM, reauth_issue

MUM_ENTITY = "notify.mum"
FAMILY_ENTITY = "notify.family"


@pytest.fixture
def entry(notify_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry with its recipients, notify entities and no pause between sends."""
    return notify_entry


def sends(emulator: Emulator) -> list[RecordedRequest]:
    """The send requests the gateway received, oldest first."""
    return [request for request in emulator.requests if request.endpoint in SEND_ENDPOINTS]


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = False
) -> Any:
    """Call an action of the integration and wait for it."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=response
    )


async def call_fails(
    hass: HomeAssistant,
    service: str,
    data: dict[str, Any],
    key: str,
    *,
    error: type[HomeAssistantError] = HomeAssistantError,
    match: str | None = None,
    response: bool = False,
) -> HomeAssistantError:
    """Call an action that must fail with `error`; check its translation key and return it."""
    with pytest.raises(error, match=match) as err:
        await call(hass, service, data, response=response)
    assert err.value.translation_key == key
    return err.value


async def test_send_text_to_every_kind_of_target(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    group_id: str,
) -> None:
    """Numbers in any format, JIDs, groups and notify entities; each target once, in order."""
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    response = await call(
        hass,
        "send_text",
        {
            "target": ["+966 50 123 4567", "0551234567", "966559876543@s.whatsapp.net", group_id],
            "entity_id": [MUM_ENTITY],
            "message": "Hello ☀️",
        },
        response=True,
    )
    requests = sends(emulator)
    assert [(r.endpoint, r.json) for r in requests] == [
        ("send", {"number": RECIPIENT_MUM, "type": "text", "message": "Hello ☀️"}),
        ("send", {"number": "966551234567", "type": "text", "message": "Hello ☀️"}),
        ("send", {"number": "966559876543", "type": "text", "message": "Hello ☀️"}),
        ("send_group", {"group_id": group_id, "type": "text", "message": "Hello ☀️"}),
    ]
    assert all(r.content_type == "application/json" for r in requests)
    sent = list(emulator.state.instance(instance_id).sent)
    assert [message.to for message in sent] == [
        f"{RECIPIENT_MUM}@s.whatsapp.net",
        "966551234567@s.whatsapp.net",
        "966559876543@s.whatsapp.net",
        group_id,
    ]
    assert response == {
        "messages": [
            {"target": target, "message_id": message.message_id, "status": "sent"}
            for target, message in zip(
                [RECIPIENT_MUM, "966551234567", "966559876543", group_id], sent, strict=True
            )
        ]
    }
    assert [event.data for event in events] == [
        {
            "config_entry_id": entry.entry_id,
            "instance_id": instance_id,
            "message_id": message.message_id,
            "target": target,
            "type": "text",
            "outbox_id": None,
            "queued_for": 0.0,
        }
        for target, message in zip(
            [RECIPIENT_MUM, "966551234567", "966559876543", group_id], sent, strict=True
        )
    ]
    assert entry.runtime_data.stats.sent == 4


async def test_send_text_to_entities_only(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, group_id: str
) -> None:
    """Notify entities alone are enough: their entry is used; without a response, None."""
    assert await call(hass, "send_text", {"entity_id": [FAMILY_ENTITY], "message": "Hi"}) is None
    assert [(r.endpoint, r.json["group_id"]) for r in sends(emulator)] == [("send_group", group_id)]


@pytest.mark.parametrize(
    ("data", "key", "placeholder"),
    [
        ({"message": "Hi"}, "no_target", None),
        ({"target": "12", "message": "Hi"}, "invalid_target", "12"),
        ({"target": "abc@example.com", "message": "Hi"}, "invalid_target", "abc@example.com"),
        ({"target": RECIPIENT_MUM, "message": "  "}, "empty_message", None),
        ({"entity_id": "notify.nobody", "message": "Hi"}, "invalid_notify_entity", "notify.nobody"),
        (
            {"config_entry_id": "nope", "target": RECIPIENT_MUM, "message": "Hi"},
            "service_config_entry_not_found",
            "nope",
        ),
    ],
)
async def test_send_text_validation(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    data: dict[str, Any],
    key: str,
    placeholder: str | None,
) -> None:
    """Bad input is a translated validation error naming the bad value; nothing is sent."""
    error = await call_fails(hass, "send_text", data, key, error=ServiceValidationError)
    if placeholder is not None:
        placeholders = (error.translation_placeholders or {}).values()
        assert placeholder in str(error) or placeholder in placeholders
    assert sends(emulator) == []


async def test_entity_of_another_integration(
    hass: HomeAssistant, entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """A notify entity of another integration is no recipient."""
    entity_registry.async_get_or_create("notify", "other", "x", suggested_object_id="other")
    with pytest.raises(ServiceValidationError, match=r"notify\.other"):
        await call(hass, "send_text", {"entity_id": "notify.other", "message": "Hi"})


async def test_entry_resolution(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    access_token: str,
) -> None:
    """The entry may be left out while one is loaded; with two it must be named."""
    await call(
        hass,
        "send_text",
        {"config_entry_id": entry.entry_id, "target": "966501111111", "message": "a"},
    )
    other_id = emulator.state.add_instance(access_token, linked=True, phone="966500000002")
    other = MockConfigEntry(
        domain=DOMAIN,
        title="other",
        unique_id=other_id,
        data={**entry.data, CONF_INSTANCE_ID: other_id, CONF_WEBHOOK_ID: "f" * 64},
        options=dict(entry.options),
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    # Ambiguous: the error names the entries there are.
    await call_fails(
        hass,
        "send_text",
        {"target": RECIPIENT_MUM, "message": "Hi"},
        "entry_ambiguous",
        error=ServiceValidationError,
    )
    # Entities still name their own entry.
    await call(hass, "send_text", {"entity_id": MUM_ENTITY, "message": "b"})
    await hass.config_entries.async_unload(other.entry_id)
    await call_fails(
        hass,
        "send_text",
        {"config_entry_id": other.entry_id, "target": RECIPIENT_MUM, "message": "Hi"},
        "service_config_entry_not_loaded",
        error=ServiceValidationError,
    )
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(other.entry_id)
    await call_fails(
        hass,
        "send_text",
        {"target": RECIPIENT_MUM, "message": "Hi"},
        "service_config_entry_not_loaded",
        error=ServiceValidationError,
    )
    await call_fails(
        hass,
        "send_text",
        {"entity_id": MUM_ENTITY, "message": "Hi"},
        "service_config_entry_not_loaded",
        error=ServiceValidationError,
    )
    assert [r.json["message"] for r in sends(emulator)] == ["a", "b"]


async def test_partial_failure_names_each_failed_target(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """Every target is attempted; the error names each failed one and why."""
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    error = await call_fails(
        hass,
        "send_text",
        {"target": ["999100000001", RECIPIENT_MUM, "999100000002"], "message": "Hi"},
        "send_failures",
    )
    rejected = (
        "The SmartWats gateway rejected the message: Error. If it went to a number, that number "
        "may have no WhatsApp account: check it with the smartwats.check_phone action"
    )
    assert str(error) == (
        f"2 of 3 messages failed: 999100000001: {rejected}; 999100000002: {rejected}"
    )
    assert len(sends(emulator)) == 3
    assert [event.data["target"] for event in events] == [RECIPIENT_MUM]
    assert (entry.runtime_data.stats.sent, entry.runtime_data.stats.failed) == (1, 2)


async def until(predicate: Callable[[], bool]) -> None:
    """Let the loop run (I/O included) until ``predicate`` holds."""
    for _ in range(50_000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("timed out")


async def test_one_entry_stopping_keeps_the_other_entrys_results(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    group_id: str,
) -> None:
    """One call over two instances: one unloads mid-send; the other's messages stay sent.

    The error names exactly the messages that were not sent; the ids of the sent ones are in
    the events of the call's context.
    """
    other_id = emulator.state.add_instance(access_token, linked=True, phone="966500000002")
    other = MockConfigEntry(
        domain=DOMAIN,
        title="other",
        unique_id=other_id,
        data={**entry.data, CONF_INSTANCE_ID: other_id, CONF_WEBHOOK_ID: "f" * 64},
        # A long pause after each message: the entry unloads during the first one.
        options={**entry.options, CONF_SEND_INTERVAL: 60},
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    context = Context()
    task = asyncio.create_task(
        hass.services.async_call(
            DOMAIN,
            "send_text",
            {
                "config_entry_id": other.entry_id,
                "target": ["966501111111", "966502222222", "966503333333"],
                "entity_id": [MUM_ENTITY, FAMILY_ENTITY],
                "message": "Hi",
                "valid_for": 0,
            },
            blocking=True,
            context=context,
            return_response=True,
        )
    )
    await until(lambda: len(events) == 3)
    assert await hass.config_entries.async_unload(other.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "send_failures"
    assert str(err.value) == "2 of 5 messages failed: " + "; ".join(
        f"{target}: The SmartWats entry other was unloaded before the message was sent"
        for target in ("966502222222", "966503333333")
    )
    sent = {message.message_id: message.to for message in emulator.state.instance(instance_id).sent}
    sent |= {message.message_id: message.to for message in emulator.state.instance(other_id).sent}
    assert len(sent) == len(sends(emulator)) == 3
    assert sorted((e.data["target"], e.context) for e in events) == sorted(
        [(RECIPIENT_MUM, context), (group_id, context), ("966501111111", context)]
    )
    assert {e.data["message_id"] for e in events} == set(sent)
    assert entry.runtime_data.stats.sent == 2


async def test_single_failure_raises_its_own_error(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """One target: its own translated error."""
    await call_fails(hass, "send_text", {"target": "999100000001", "message": "Hi"}, "rejected")


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        ("quota", "quota_exceeded"),
        ("outage", "temporary_failure"),
        ("timeout_after_send", "outcome_unknown"),
        ("http_500", "outcome_unknown"),
    ],
)
@pytest.mark.usefixtures("no_retry_delay")
async def test_gateway_failures(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    fault: str,
    key: str,
) -> None:
    """Gateway failures map to translated errors; a maybe-sent message is never sent again."""
    client = entry.runtime_data.client
    with patch.object(client, "_request_timeout", 0.5):
        emulator.state.set_fault(instance_id, Fault(fault, count=1, delay=2.0))
        data = {"target": RECIPIENT_MUM, "message": "Hi", "valid_for": 0}
        await call_fails(hass, "send_text", data, key)
    assert len(sends(emulator)) == 1
    assert entry.runtime_data.stats.failed == 1


async def test_logged_out_raises_the_relink_repair(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A send answered "relogin required" records the logout: the repair appears."""
    emulator.state.unlink(instance_id)
    data = {"target": RECIPIENT_MUM, "message": "Hi", "valid_for": 0}
    await call_fails(hass, "send_text", data, "not_linked")
    await hass.async_block_till_done()
    assert reauth_issue(hass, entry)
    assert not entry.runtime_data.coordinator.data.linked


async def test_bad_token_starts_reauth(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, access_token: str
) -> None:
    """A token the gateway no longer knows starts re-authentication."""
    emulator.state.revoke_token(access_token)
    await call_fails(hass, "send_text", {"target": RECIPIENT_MUM, "message": "Hi"}, "invalid_auth")
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert any(flow["context"]["source"] == "reauth" for flow in flows)


async def test_invalidated_instance(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """An instance the gateway invalidated is reported as such."""
    emulator.state.invalidate_instance(instance_id)
    await call_fails(
        hass, "send_text", {"target": RECIPIENT_MUM, "message": "Hi"}, "invalid_instance"
    )


async def test_send_location(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """Coordinates, or an entity's position with its name as the default name."""
    hass.states.async_set(
        "zone.office", "0", {"latitude": 24.7, "longitude": 46.6, "friendly_name": "Office"}
    )
    await call(
        hass,
        "send_location",
        {"target": RECIPIENT_MUM, "latitude": 21.5, "longitude": "39.2", "address": "Jeddah"},
    )
    await call(
        hass, "send_location", {"target": RECIPIENT_MUM, "location_entity_id": "zone.office"}
    )
    await call(
        hass,
        "send_location",
        {"target": RECIPIENT_MUM, "location_entity_id": "zone.office", "name": "Work"},
    )
    assert [(r.endpoint, r.json) for r in sends(emulator)] == [
        (
            "send_location",
            {"number": RECIPIENT_MUM, "latitude": 21.5, "longitude": 39.2, "address": "Jeddah"},
        ),
        (
            "send_location",
            {"number": RECIPIENT_MUM, "latitude": 24.7, "longitude": 46.6, "name": "Office"},
        ),
        (
            "send_location",
            {"number": RECIPIENT_MUM, "latitude": 24.7, "longitude": 46.6, "name": "Work"},
        ),
    ]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"latitude": 1.0}, "location_required"),
        ({}, "location_required"),
        ({"latitude": 1.0, "longitude": 2.0, "location_entity_id": "zone.home"}, "location_both"),
        ({"location_entity_id": "zone.nowhere"}, "location_entity_not_found"),
        ({"location_entity_id": "light.lamp"}, "location_entity_no_coordinates"),
    ],
)
async def test_send_location_validation(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    data: dict[str, Any],
    key: str,
) -> None:
    """A location needs coordinates or an entity that has them, not both."""
    hass.states.async_set("light.lamp", "on")
    await call_fails(
        hass, "send_location", {"target": RECIPIENT_MUM, **data}, key, error=ServiceValidationError
    )
    assert sends(emulator) == []


async def test_send_contact(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """The contact's number is normalised like targets are."""
    await call(
        hass,
        "send_contact",
        {"target": RECIPIENT_MUM, "contact_name": "Plumber", "contact_phone": "055 765 4321"},
    )
    assert [(r.endpoint, r.json) for r in sends(emulator)] == [
        (
            "send_contact",
            {"number": RECIPIENT_MUM, "contact_name": "Plumber", "contact_phone": "966557654321"},
        )
    ]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"contact_name": "Plumber", "contact_phone": "12"}, "invalid_contact_phone"),
        ({"contact_name": " ", "contact_phone": "966557654321"}, "empty_contact_name"),
    ],
)
async def test_send_contact_validation(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    data: dict[str, Any],
    key: str,
) -> None:
    """A bad contact number or an empty name is rejected before sending."""
    await call_fails(
        hass, "send_contact", {"target": RECIPIENT_MUM, **data}, key, error=ServiceValidationError
    )
    assert sends(emulator) == []


async def test_send_carousel(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """Friendly and gateway-native buttons; images as strings or objects; the number as a JID."""
    cards = [
        {
            "title": "Front door",
            "body": "Someone is at the door",
            "image": "https://example.com/door.jpg",
            "footer": "Now",
            "buttons": [
                {"type": "reply", "text": "Open", "id": "open"},
                {"type": "url", "text": "Camera", "url": "https://example.com/cam"},
                {"type": "copy", "text": "Code", "code": 1234},
            ],
        },
        {
            "title": "Call",
            "body": "Call the plumber",
            "image": {"url": "https://example.com/plumber.jpg"},
            "buttons": {"callButton": {"displayText": "Call", "phoneNumber": "+966557654321"}},
        },
        {
            "title": "Native",
            "body": "Pasted from the docs",
            "image": {"url": "https://example.com/x.jpg"},
            "buttons": [
                {"quickReplyButton": {"displayText": "Yes", "id": "yes"}},
                {"urlButton": {"displayText": "Web", "url": "https://example.com"}},
                {"copyButton": {"displayText": "Copy", "copyCode": "C0DE"}},
            ],
        },
    ]
    await call(
        hass,
        "send_carousel",
        {
            "target": RECIPIENT_MUM,
            "text": "Choose",
            "title": "Home",
            "footer": "HA",
            "cards": cards,
        },
    )
    [request] = sends(emulator)
    assert request.endpoint == "send_carousel"
    assert request.json == {
        "number": f"{RECIPIENT_MUM}@s.whatsapp.net",
        "text": "Choose",
        "title": "Home",
        "footer": "HA",
        "cards": [
            {
                "title": "Front door",
                "body": "Someone is at the door",
                "image": {"url": "https://example.com/door.jpg"},
                "buttons": [
                    {"quickReplyButton": {"displayText": "Open", "id": "open"}},
                    {"urlButton": {"displayText": "Camera", "url": "https://example.com/cam"}},
                    {"copyButton": {"displayText": "Code", "copyCode": "1234"}},
                ],
                "footer": "Now",
            },
            {
                "title": "Call",
                "body": "Call the plumber",
                "image": {"url": "https://example.com/plumber.jpg"},
                "buttons": [
                    {"callButton": {"displayText": "Call", "phoneNumber": "+966557654321"}}
                ],
            },
            {
                "title": "Native",
                "body": "Pasted from the docs",
                "image": {"url": "https://example.com/x.jpg"},
                "buttons": [
                    {"quickReplyButton": {"displayText": "Yes", "id": "yes"}},
                    {"urlButton": {"displayText": "Web", "url": "https://example.com"}},
                    {"copyButton": {"displayText": "Copy", "copyCode": "C0DE"}},
                ],
            },
        ],
    }


CARD = {"title": "T", "body": "B", "image": "https://example.com/i.jpg"}
REPLY = {"type": "reply", "text": "Yes", "id": "yes"}


@pytest.mark.parametrize(
    ("cards", "key", "text"),
    [
        ([], "carousel_size", "not 0"),
        ([{**CARD, "buttons": [REPLY]}] * 11, "carousel_size", "not 11"),
        ([{**CARD, "buttons": []}], "invalid_card", "Card 1"),
        ([{**CARD, "buttons": [REPLY] * 4}], "invalid_card", "Card 1"),
        ([{**CARD, "title": "", "buttons": [REPLY]}], "invalid_card", "Card title"),
        ([{**CARD, "image": None, "buttons": [REPLY]}], "invalid_card", "image"),
        ([{**CARD, "image": "ftp://x/y.jpg", "buttons": [REPLY]}], "invalid_url", "ftp://x/y.jpg"),
        ([{**CARD, "buttons": ["Yes"]}], "invalid_button", "Card 1, button 1"),
        ([{**CARD, "buttons": [{"type": "poll", "text": "x"}]}], "invalid_button", "'poll'"),
        ([{**CARD, "buttons": [{"type": "url", "text": "x"}]}], "invalid_button", "url"),
        ([{**CARD, "buttons": [{"urlButton": "x"}]}], "invalid_button", "urlButton"),
    ],
)
async def test_send_carousel_validation(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    cards: list[dict[str, Any]],
    key: str,
    text: str,
) -> None:
    """Card counts, card fields and buttons are checked before sending."""
    error = await call_fails(
        hass,
        "send_carousel",
        {"target": RECIPIENT_MUM, "cards": cards},
        key,
        error=ServiceValidationError,
    )
    assert text in str(error)
    assert sends(emulator) == []


async def test_get_groups(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """The groups with ids, names, sizes and members (a members object becomes a list)."""
    response = await call(hass, "get_groups", {}, response=True)
    groups = emulator.state.instance(instance_id).groups
    assert [group["id"] for group in response["groups"]] == [group.id for group in groups]
    family = response["groups"][0]
    assert family["name"] == "Family"
    assert family["size"] == 3
    assert family["participants"][0] == {
        "id": f"{LINKED_PHONE}@s.whatsapp.net",
        "admin": "superadmin",
    }
    assert len(response["groups"][1]["participants"]) == 3


async def test_get_groups_without_participants(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Builds that report no members give none."""
    from custom_components.smartwats.api import Group  # noqa: PLC0415

    with patch.object(
        entry.runtime_data.client, "get_groups", return_value=[Group("1@g.us", "G", None)]
    ):
        response = await call(hass, "get_groups", {}, response=True)
    assert response == {"groups": [{"id": "1@g.us", "name": "G", "size": None}]}


async def test_check_phone(hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator) -> None:
    """One number, normalised first."""
    assert await call(hass, "check_phone", {"phone": "+966 50 123 4567"}, response=True) == {
        "phone": RECIPIENT_MUM,
        "exists": True,
        "jid": f"{RECIPIENT_MUM}@s.whatsapp.net",
    }
    assert await call(hass, "check_phone", {"phone": "999 123 4567"}, response=True) == {
        "phone": "9991234567",
        "exists": False,
        "jid": None,
    }
    assert [r.query["phone"] for r in emulator.requests if r.endpoint == "check_phone"] == [
        RECIPIENT_MUM,
        "9991234567",
    ]


async def test_check_phones(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """Several numbers in one batch request, answered in order."""
    response = await call(
        hass, "check_phones", {"phones": ["0501234567", "9991234567"]}, response=True
    )
    assert response == {
        "results": [
            {"phone": RECIPIENT_MUM, "exists": True, "jid": f"{RECIPIENT_MUM}@s.whatsapp.net"},
            {"phone": "9991234567", "exists": False, "jid": None},
        ]
    }
    [request] = [r for r in emulator.requests if r.endpoint == "check_phones_batch"]
    assert request.json == {"phones": [RECIPIENT_MUM, "9991234567"]}


async def test_check_phones_limit(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """At most 50 numbers per call: more is bad input, and the gateway is not asked."""
    numbers = [f"9665{index:08d}" for index in range(51)]
    response = await call(hass, "check_phones", {"phones": numbers[:50]}, response=True)
    assert len(response["results"]) == 50
    error = await call_fails(
        hass,
        "check_phones",
        {"phones": numbers},
        "too_many_phones",
        error=ServiceValidationError,
        response=True,
    )
    assert str(error) == "Check at most 50 numbers per call, not 51"
    assert [r.endpoint for r in emulator.requests].count("check_phones_batch") == 1


@pytest.mark.parametrize(
    ("service", "data"),
    [("check_phone", {"phone": "12"}), ("check_phones", {"phones": [RECIPIENT_MUM, "12"]})],
)
async def test_check_phone_validation(
    hass: HomeAssistant, entry: MockConfigEntry, service: str, data: dict[str, Any]
) -> None:
    """A bad number is named."""
    await call_fails(
        hass,
        service,
        data,
        "invalid_phone",
        error=ServiceValidationError,
        match="Invalid phone number 12",
        response=True,
    )


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("get_groups", {}),
        ("check_phone", {"phone": RECIPIENT_MUM}),
        ("check_phones", {"phones": [RECIPIENT_MUM]}),
    ],
)
async def test_read_actions_map_gateway_errors(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    issue_registry: ir.IssueRegistry,
    service: str,
    data: dict[str, Any],
) -> None:
    """A logged-out session is reported and raises the repair."""
    emulator.state.unlink(instance_id)
    await call_fails(hass, service, data, "not_linked", response=True)
    await hass.async_block_till_done()
    assert reauth_issue(hass, entry)


async def test_logout(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Logging out unlinks the session; the relink flow then applies."""
    await call(hass, "logout", {"config_entry_id": entry.entry_id})
    assert [r.endpoint for r in emulator.requests].count("logout") == 1
    assert emulator.state.instance(instance_id).state != "linked"
    assert not entry.runtime_data.coordinator.data.linked
    await hass.async_block_till_done()
    assert reauth_issue(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    # Logged out already: fine.
    await call(hass, "logout", {})


async def test_logout_needs_an_admin(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    hass_read_only_user: MockUser,
    hass_admin_user: MockUser,
) -> None:
    """Only an administrator may unlink the session (another user could not link it again)."""
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, "logout", {}, blocking=True, context=Context(user_id=hass_read_only_user.id)
        )
    assert "logout" not in [r.endpoint for r in emulator.requests]
    assert emulator.state.instance(instance_id).state == "linked"
    assert entry.runtime_data.coordinator.data.linked
    await hass.services.async_call(
        DOMAIN, "logout", {}, blocking=True, context=Context(user_id=hass_admin_user.id)
    )
    assert emulator.state.instance(instance_id).state != "linked"


@pytest.mark.usefixtures("no_retry_delay")
async def test_logout_failure(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """A gateway failure is reported."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    await call_fails(hass, "logout", {}, "temporary_failure")
    emulator.state.set_fault(instance_id, None)


async def test_actions_are_registered_without_entries(hass: HomeAssistant) -> None:
    """Actions exist as soon as the integration is set up, entries or not."""
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    assert await async_setup_component(hass, DOMAIN, {})
    assert set(hass.services.async_services_for_domain(DOMAIN)) == {
        "send_text",
        "send_media",
        "send_audio",
        "send_location",
        "send_contact",
        "send_album",
        "send_carousel",
        "get_groups",
        "check_phone",
        "check_phones",
        "logout",
        "get_outbox",
        "clear_outbox",
        "ask",
    }
    await call_fails(
        hass,
        "get_groups",
        {},
        "service_found_no_config_entry_for_domain",
        error=ServiceValidationError,
        response=True,
    )


async def test_entry_inferred_from_the_entities_named(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    access_token: str,
) -> None:
    """With two entries, a target next to a recipient of one of them is sent from that one.

    Only a call that names no entity of one entry, and no entry, is ambiguous: the error then
    names the entries there are.
    """
    other_id = emulator.state.add_instance(access_token, linked=True, phone="966500000002")
    other = MockConfigEntry(
        domain=DOMAIN,
        title="Shop",
        unique_id=other_id,
        minor_version=3,
        data={**entry.data, CONF_INSTANCE_ID: other_id, CONF_WEBHOOK_ID: "e" * 64},
        options=dict(entry.options),
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    await call(
        hass,
        "send_text",
        {"entity_id": MUM_ENTITY, "target": "966501111111", "message": "from Mum's entry"},
    )
    assert len(sends(emulator)) == 2
    assert {r.instance_id for r in sends(emulator)} == {entry.data[CONF_INSTANCE_ID]}
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "send_text", {"target": "966501111111", "message": "which one?"})
    assert err.value.translation_key == "entry_ambiguous"
    assert "Shop" in err.value.translation_placeholders["entries"]
    assert entry.title in err.value.translation_placeholders["entries"]
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "get_groups", {}, response=True)
    assert err.value.translation_key == "entry_ambiguous"
