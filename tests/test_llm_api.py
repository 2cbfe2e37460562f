"""Tests of the WhatsApp tools for AI agents (the LLM API) against the gateway emulator.

The tools are reached the way a conversation agent reaches them: the API by its id with
`llm.async_get_api`, each tool called with a `ToolInput` through the API instance.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.const import CONF_WEBHOOK_ID, Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
import voluptuous as vol

from custom_components.smartwats.const import (
    CONF_INSTANCE_ID,
    CONF_OUTBOX_VALID_FOR,
    CONF_SEND_INTERVAL,
    CONF_TARGET,
    DOMAIN,
    EVENT_MESSAGE_SENT,
    SUBENTRY_RECIPIENT,
)
from custom_components.smartwats.llm_api import API_PROMPT
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.params import SEND_ENDPOINTS, RecordedRequest

from .conftest import RECIPIENT_MUM

SEND = "send_whatsapp_message"
LIST = "list_whatsapp_recipients"
OTHER_PHONE = "966500000002"


def sends(emulator: Emulator) -> list[RecordedRequest]:
    """The send requests the gateway received, oldest first."""
    return [request for request in emulator.requests if request.endpoint in SEND_ENDPOINTS]


def llm_context(context: Context | None = None) -> llm.LLMContext:
    """The context a conversation agent gives the API."""
    return llm.LLMContext(
        platform="test",
        context=context or Context(),
        language="en",
        assistant="conversation",
        device_id=None,
    )


async def call_tool(
    hass: HomeAssistant, name: str, args: dict[str, Any], context: Context | None = None
) -> Any:
    """Call a tool of the API as an agent does; return its result's data."""
    api = await llm.async_get_api(hass, DOMAIN, llm_context(context))
    result = await api.async_call_tool(llm.ToolInput(tool_name=name, tool_args=args))
    # A `ToolResult` from 2026.10 on, the data itself before.
    return getattr(result, "data", result)


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add the entry with no pause between sends, and set it up."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_SEND_INTERVAL: 0})
    with patch("custom_components.smartwats.PLATFORMS", [Platform.NOTIFY]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    return entry


@pytest.fixture
async def entry(hass: HomeAssistant, recipients_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry with its recipients "Mum" (a number) and "Family" (a group), set up."""
    return await setup_entry(hass, recipients_entry)


def other_entry(
    emulator: Emulator, access_token: str, entry: MockConfigEntry, recipients: dict[str, str]
) -> tuple[MockConfigEntry, str]:
    """A second entry, of another instance, with these recipients (name: number); its id."""
    other_id = emulator.state.add_instance(access_token, linked=True, phone=OTHER_PHONE)
    return (
        MockConfigEntry(
            domain=DOMAIN,
            title=OTHER_PHONE,
            unique_id=other_id,
            version=1,
            minor_version=3,
            data={**entry.data, CONF_INSTANCE_ID: other_id, CONF_WEBHOOK_ID: "e" * 64},
            options=dict(entry.options),
            subentries_data=[
                ConfigSubentryDataWithId(
                    subentry_id=f"01JSMARTWATSOTHER{index:09d}",
                    data={CONF_TARGET: number},
                    subentry_type=SUBENTRY_RECIPIENT,
                    title=name,
                    unique_id=number,
                )
                for index, (name, number) in enumerate(recipients.items())
            ],
        ),
        other_id,
    )


async def test_the_api_and_its_tools(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """An agent finds the API by its id and name, with its prompt and the two tools."""
    assert [(api.id, api.name) for api in llm.async_get_apis(hass) if api.id == DOMAIN] == [
        (DOMAIN, "WhatsApp (SmartWats)")
    ]
    api = await llm.async_get_api(hass, DOMAIN, llm_context())
    assert api.api_prompt == API_PROMPT
    assert [tool.name for tool in api.tools] == [LIST, SEND]
    assert all(tool.description for tool in api.tools)
    assert [tool.integration for tool in api.tools] == [DOMAIN, DOMAIN]
    send = api.tools[1]
    assert send.parameters({"recipient": "Mum", "message": "Hi"}) == {
        "recipient": "Mum",
        "message": "Hi",
    }


async def test_send_to_a_recipient_by_name(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    instance_id: str,
    group_id: str,
) -> None:
    """The name is matched ignoring case and spaces; the text goes to that recipient's chat.

    The message goes through the entry's queue, in the conversation's context: the usual event
    fires, in that context.
    """
    events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    context = Context()
    result = await call_tool(
        hass, SEND, {"recipient": "  mUM ", "message": "I'm running late"}, context
    )
    assert result == {"success": True, "recipient": "Mum", "status": "sent"}
    result = await call_tool(hass, SEND, {"recipient": "family", "message": "Dinner at 8"})
    assert result == {"success": True, "recipient": "Family", "status": "sent"}
    assert [(r.endpoint, r.json) for r in sends(emulator)] == [
        ("send", {"number": RECIPIENT_MUM, "type": "text", "message": "I'm running late"}),
        ("send_group", {"group_id": group_id, "type": "text", "message": "Dinner at 8"}),
    ]
    sent = emulator.state.instance(instance_id).sent
    assert [message.to for message in sent] == [f"{RECIPIENT_MUM}@s.whatsapp.net", group_id]
    assert [(event.data["target"], event.data["type"]) for event in events] == [
        (RECIPIENT_MUM, "text"),
        (group_id, "text"),
    ]
    assert events[0].context is context
    assert events[0].data["message_id"] == sent[0].message_id
    assert entry.runtime_data.stats.sent == 2


async def test_only_configured_recipients_can_be_messaged(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """An unknown name, or a number, is refused with the valid names; nothing is sent."""
    for name in ("Bob", RECIPIENT_MUM, "+966 50 123 4567", ""):
        with pytest.raises(ServiceValidationError) as err:
            await call_tool(hass, SEND, {"recipient": name, "message": "Hi"})
        assert err.value.translation_key == "llm_unknown_recipient"
        assert str(err.value) == (
            f"There is no WhatsApp recipient named {name}. The recipients: Mum, Family"
        )
    assert sends(emulator) == []


async def test_bad_arguments_are_refused(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """A missing or empty text, or a recipient that is not text, sends nothing."""
    with pytest.raises(ServiceValidationError) as err:
        await call_tool(hass, SEND, {"recipient": "Mum", "message": "  "})
    assert err.value.translation_key == "empty_message"
    with pytest.raises(vol.Invalid):
        await call_tool(hass, SEND, {"recipient": "Mum"})
    with pytest.raises(vol.Invalid):
        await call_tool(hass, SEND, {"recipient": ["Mum"], "message": "Hi"})
    assert sends(emulator) == []


async def test_list_the_recipients(
    hass: HomeAssistant, entry: MockConfigEntry, group_id: str
) -> None:
    """Each recipient's name and kind; never its number or group id."""
    result = await call_tool(hass, LIST, {})
    assert result == {
        "recipients": [{"name": "Mum", "kind": "contact"}, {"name": "Family", "kind": "group"}]
    }
    assert RECIPIENT_MUM not in str(result)
    assert group_id not in str(result)


async def test_no_entry_no_recipients(
    hass: HomeAssistant, recipients_entry: MockConfigEntry, emulator: Emulator
) -> None:
    """With no entry loaded the API is still there, with no one to message."""
    recipients_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(recipients_entry.entry_id)
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(recipients_entry.entry_id)
    assert await call_tool(hass, LIST, {}) == {"recipients": []}
    with pytest.raises(ServiceValidationError) as err:
        await call_tool(hass, SEND, {"recipient": "Mum", "message": "Hi"})
    assert str(err.value) == "There is no WhatsApp recipient named Mum. The recipients: -"
    assert sends(emulator) == []


async def test_an_entry_not_loaded_contributes_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, access_token: str
) -> None:
    """The recipients of an entry that is not loaded are neither listed nor messaged."""
    other, _ = other_entry(emulator, access_token, entry, {"Dad": "966507654321"})
    other.add_to_hass(hass)
    assert [r["name"] for r in (await call_tool(hass, LIST, {}))["recipients"]] == [
        "Mum",
        "Family",
    ]
    with pytest.raises(ServiceValidationError) as err:
        await call_tool(hass, SEND, {"recipient": "Dad", "message": "Hi"})
    assert err.value.translation_key == "llm_unknown_recipient"
    assert sends(emulator) == []


async def test_two_entries(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
) -> None:
    """One API for every entry: each recipient is sent from its own instance.

    A name two recipients share is ambiguous: the error names neither number nor instance.
    """
    other, other_id = other_entry(
        emulator, access_token, entry, {"Shop": "966507654321", "mum": "966509999999"}
    )
    await setup_entry(hass, other)
    assert [api.id for api in llm.async_get_apis(hass)].count(DOMAIN) == 1
    result = await call_tool(hass, LIST, {})
    assert result == {
        "recipients": [
            {"name": "Mum", "kind": "contact"},
            {"name": "Family", "kind": "group"},
            {"name": "Shop", "kind": "contact"},
            {"name": "mum", "kind": "contact"},
        ]
    }
    await call_tool(hass, SEND, {"recipient": "shop", "message": "Open?"})
    assert [(r.instance_id, r.json["number"]) for r in sends(emulator)] == [
        (other_id, "966507654321")
    ]
    with pytest.raises(ServiceValidationError) as err:
        await call_tool(hass, SEND, {"recipient": "MUM", "message": "Hi"})
    assert err.value.translation_key == "llm_ambiguous_recipient"
    assert str(err.value) == (
        "More than one WhatsApp recipient is named Mum: rename one of them so that each name "
        "is unique"
    )
    for secret in (RECIPIENT_MUM, "966509999999", instance_id, other_id, OTHER_PHONE):
        assert secret not in str(err.value)
    assert len(sends(emulator)) == 1


async def test_a_message_that_cannot_go_now_waits_in_the_outbox(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """While the gateway cannot send, the message is queued, and the agent is told so."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    result = await call_tool(hass, SEND, {"recipient": "Mum", "message": "Later"})
    assert result == {"success": True, "recipient": "Mum", "status": "queued"}
    assert len(entry.runtime_data.sender.outbox) == 1


async def test_a_failed_send_is_an_error_for_the_agent(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, instance_id: str
) -> None:
    """With no outbox (valid_for 0), a send the gateway cannot make fails with its reason."""
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_OUTBOX_VALID_FOR: 0}
    )
    await hass.async_block_till_done()
    emulator.state.set_fault(instance_id, Fault("outage"))
    with pytest.raises(HomeAssistantError) as err:
        await call_tool(hass, SEND, {"recipient": "Mum", "message": "Now or never"})
    assert err.value.translation_key == "temporary_failure"
    assert len(entry.runtime_data.sender.outbox) == 0
