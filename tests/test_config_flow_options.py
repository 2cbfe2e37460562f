"""Tests of the options flow and of the recipient subentries, against the gateway emulator."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any
from unittest.mock import AsyncMock

from homeassistant.config_entries import ConfigSubentry, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    get_schema_suggested_value,
)

from custom_components.smartwats.config_flow import (
    CONF_GROUP,
    RecipientSubentryFlowHandler,
    SmartwatsConfigFlow,
)
from custom_components.smartwats.const import (
    CONF_ALLOWED_EVENTS,
    CONF_DEFAULT_COUNTRY_CODE,
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_OUTBOX_VALID_FOR,
    CONF_PHONE,
    CONF_SEND_INTERVAL,
    CONF_TARGET,
    DEFAULT_OUTBOX_VALID_FOR,
    DEFAULT_SEND_INTERVAL,
    GATEWAY_EVENTS,
    MAX_SEND_INTERVAL,
    SUBENTRY_RECIPIENT,
)
from smartwats_emulator import Emulator, Fault

from .conftest import LINKED_PHONE
from .flow_helpers import (
    configure_options,
    start_options,
    start_recipient,
    start_recipient_reconfigure,
    submit_recipient,
)

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "no_retry_delay")

NUMBER = "966501234567"
LID = "123456789012345@lid"
TRANSLATIONS = Path(__file__).parent.parent / "custom_components/smartwats/translations"
# The events' choices in the form: the gateway's names, with "_" for "." (translation keys).
DEFAULT_EVENT_CHOICES = ["messages_upsert", "received_message", "messages_update"]


def translations(language: str) -> dict[str, Any]:
    """A translation file of the integration."""
    data: dict[str, Any] = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))
    return data


@pytest.fixture
def entry(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry of the linked instance, added (default country code 966, phone known)."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PHONE: LINKED_PHONE}
    )
    return mock_config_entry


# -- options -----------------------------------------------------------------------------------


async def test_options(
    hass: HomeAssistant, entry: MockConfigEntry, mock_setup_entry: AsyncMock
) -> None:
    """The options are shown with their values, checked, stored and the entry reloaded."""
    result = await start_options(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_ALLOWED_EVENTS) == DEFAULT_EVENT_CHOICES
    assert get_schema_suggested_value(schema, CONF_DEFAULT_COUNTRY_CODE) == "966"
    assert get_schema_suggested_value(schema, CONF_SEND_INTERVAL) == DEFAULT_SEND_INTERVAL
    assert get_schema_suggested_value(schema, CONF_INCLUDE_OWN_MESSAGES) is False
    events = schema[CONF_ALLOWED_EVENTS].config
    assert events["options"] == [event.replace(".", "_") for event in GATEWAY_EVENTS]
    assert events["translation_key"] == CONF_ALLOWED_EVENTS
    assert events["multiple"] is True
    # The pause's range is in its description: the form's own error does not say it.
    assert result["description_placeholders"] == {
        "max_send_interval": f"{MAX_SEND_INTERVAL:g}",
        "max_valid_for": "604800",
    }
    assert schema[CONF_SEND_INTERVAL].config["max"] == MAX_SEND_INTERVAL

    result = await configure_options(
        hass,
        result,
        {
            CONF_ALLOWED_EVENTS: ["messages_upsert", "groups_update"],
            CONF_DEFAULT_COUNTRY_CODE: " +44 ",
            CONF_SEND_INTERVAL: 2.5,
            CONF_INCLUDE_OWN_MESSAGES: True,
            CONF_OUTBOX_VALID_FOR: 600,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_ALLOWED_EVENTS: ["messages.upsert", "groups.update"],
        CONF_DEFAULT_COUNTRY_CODE: "44",
        CONF_SEND_INTERVAL: 2.5,
        CONF_INCLUDE_OWN_MESSAGES: True,
        CONF_OUTBOX_VALID_FOR: 600,
    }
    await hass.async_block_till_done()
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded


async def test_every_event_has_a_label(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Each event is shown by a label in every language; each choice is stored as its event."""
    result = await start_options(hass, entry)
    choices = result["data_schema"].schema[CONF_ALLOWED_EVENTS].config["options"]
    for language in ("en", "ar"):
        labels = translations(language)["selector"][CONF_ALLOWED_EVENTS]["options"]
        assert sorted(labels) == sorted(choices), language
        assert all(labels.values()), language

    result = await configure_options(
        hass,
        result,
        {
            CONF_ALLOWED_EVENTS: choices,
            CONF_SEND_INTERVAL: 0,
            CONF_INCLUDE_OWN_MESSAGES: False,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_ALLOWED_EVENTS] == list(GATEWAY_EVENTS)


def test_the_options_say_their_range() -> None:
    """The pause and the country code say what they take, in every language."""
    for language in ("en", "ar"):
        described = translations(language)["options"]["step"]["init"]["data_description"]
        assert "{max_send_interval}" in described[CONF_SEND_INTERVAL], language
        assert "{max_valid_for}" in described[CONF_OUTBOX_VALID_FOR], language
        assert "0" in described[CONF_SEND_INTERVAL], language
        assert "3" in described[CONF_DEFAULT_COUNTRY_CODE], language


@pytest.mark.parametrize(
    ("country", "options", "offered"),
    [
        ("AE", {}, "971"),
        ("ae", {}, "971"),
        ("AE", {CONF_DEFAULT_COUNTRY_CODE: "966"}, "966"),
        (None, {}, None),
    ],
)
async def test_country_code_offered_from_home_assistants_country(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    country: str | None,
    options: dict[str, str],
    offered: str | None,
) -> None:
    """An entry without a default country code is offered that of Home Assistant's country."""
    hass.config.country = country
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            **{
                key: value
                for key, value in mock_config_entry.options.items()
                if key != CONF_DEFAULT_COUNTRY_CODE
            },
            **options,
        },
    )
    result = await start_options(hass, mock_config_entry)
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_DEFAULT_COUNTRY_CODE) == offered


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({CONF_ALLOWED_EVENTS: []}, {CONF_ALLOWED_EVENTS: "no_events"}),
        ({CONF_DEFAULT_COUNTRY_CODE: "0966"}, {CONF_DEFAULT_COUNTRY_CODE: "invalid_country_code"}),
        ({CONF_DEFAULT_COUNTRY_CODE: "1868"}, {CONF_DEFAULT_COUNTRY_CODE: "invalid_country_code"}),
        ({CONF_DEFAULT_COUNTRY_CODE: "abc"}, {CONF_DEFAULT_COUNTRY_CODE: "invalid_country_code"}),
        (
            {CONF_ALLOWED_EVENTS: [], CONF_DEFAULT_COUNTRY_CODE: "x"},
            {CONF_ALLOWED_EVENTS: "no_events", CONF_DEFAULT_COUNTRY_CODE: "invalid_country_code"},
        ),
    ],
)
async def test_options_errors_and_recovery(
    hass: HomeAssistant, entry: MockConfigEntry, change: dict[str, Any], errors: dict[str, str]
) -> None:
    """Wrong options come back as typed with an error; corrected, they are stored."""
    result = await start_options(hass, entry)
    typed = {
        CONF_ALLOWED_EVENTS: ["received_message"],
        CONF_DEFAULT_COUNTRY_CODE: "1",
        CONF_SEND_INTERVAL: 0,
        CONF_INCLUDE_OWN_MESSAGES: False,
    } | change
    result = await configure_options(hass, result, typed)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    for key, value in typed.items():
        assert get_schema_suggested_value(result["data_schema"].schema, key) == value

    # An emptied country code is no country code.
    typed = {
        CONF_ALLOWED_EVENTS: ["received_message"],
        CONF_SEND_INTERVAL: 0,
        CONF_INCLUDE_OWN_MESSAGES: False,
    }
    result = await configure_options(hass, result, typed)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The outbox's validity was not typed: its default is stored.
    assert entry.options == typed | {CONF_OUTBOX_VALID_FOR: DEFAULT_OUTBOX_VALID_FOR}


# -- recipients --------------------------------------------------------------------------------


def group_options(result: SubentryFlowResult) -> dict[str, str]:
    """The groups the form's dropdown offers (name by id), empty without a dropdown."""
    schema = result["data_schema"].schema
    if CONF_GROUP not in schema:
        return {}
    return {option["value"]: option["label"] for option in schema[CONF_GROUP].config["options"]}


def recipients(entry: MockConfigEntry) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The entry's recipients: title, unique id and data."""
    return [
        (sub.title, sub.unique_id, dict(sub.data))
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_RECIPIENT
    ]


def test_recipient_is_the_only_subentry_type(mock_config_entry: MockConfigEntry) -> None:
    """Recipients are the one kind of subentry."""
    assert SmartwatsConfigFlow.async_get_supported_subentry_types(mock_config_entry) == {
        SUBENTRY_RECIPIENT: RecipientSubentryFlowHandler
    }


async def test_number_is_normalised_and_checked(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """A national number takes the default country code and is checked with the gateway."""
    result = await start_recipient(hass, entry)
    assert set(group_options(result).values()) == {"Family", "Home automation", "Neighbours"}

    result = await submit_recipient(hass, result, {CONF_NAME: " Mum ", CONF_TARGET: "050-123 4567"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert recipients(entry) == [("Mum", NUMBER, {CONF_NAME: "Mum", CONF_TARGET: NUMBER})]
    checks = [r for r in emulator.requests if r.endpoint == "check_phone"]
    assert len(checks) == 1


async def test_group_is_picked_from_the_dropdown(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """A group of the linked account is picked by name and stored by its id."""
    result = await start_recipient(hass, entry)
    family = next(gid for gid, name in group_options(result).items() if name == "Family")
    assert family.endswith("@g.us")

    result = await submit_recipient(hass, result, {CONF_NAME: "Family", CONF_GROUP: family})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert recipients(entry) == [("Family", family, {CONF_NAME: "Family", CONF_TARGET: family})]


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        ("12", {CONF_TARGET: "invalid_phone"}),
        ("someone@example.com", {CONF_TARGET: "invalid_phone"}),
        ("+999 555 0101", {CONF_TARGET: "not_on_whatsapp"}),
        (f"+{LINKED_PHONE}", {CONF_TARGET: "own_number"}),
        ("", {"base": "target_or_group"}),
        ("   ", {"base": "target_or_group"}),
    ],
)
async def test_recipient_errors_and_recovery(
    hass: HomeAssistant,
    instance_id: str,
    entry: MockConfigEntry,
    typed: str,
    errors: dict[str, str],
) -> None:
    """Wrong targets come back as typed with an error; corrected, the recipient is added."""
    result = await start_recipient(hass, entry)
    result = await submit_recipient(hass, result, {CONF_NAME: "Someone", CONF_TARGET: typed})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_NAME) == "Someone"
    assert get_schema_suggested_value(schema, CONF_TARGET) == typed

    result = await submit_recipient(hass, result, {CONF_NAME: "Someone", CONF_TARGET: f"+{NUMBER}"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert recipients(entry)[0][1] == NUMBER


async def test_number_and_group_together(
    hass: HomeAssistant, instance_id: str, entry: MockConfigEntry
) -> None:
    """A number and a group at once is one too many."""
    result = await start_recipient(hass, entry)
    group = next(iter(group_options(result)))
    result = await submit_recipient(
        hass, result, {CONF_NAME: "Both", CONF_TARGET: NUMBER, CONF_GROUP: group}
    )
    assert result["errors"] == {"base": "target_or_group"}

    result = await submit_recipient(hass, result, {CONF_NAME: "Group", CONF_GROUP: group})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_check_fails_then_works(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """A gateway failure while checking the number is reported; the retry works."""
    result = await start_recipient(hass, entry)
    emulator.state.set_fault(instance_id, Fault("outage"))
    result = await submit_recipient(hass, result, {CONF_NAME: "Mum", CONF_TARGET: NUMBER})
    assert result["errors"] == {"base": "cannot_connect"}

    emulator.state.set_fault(instance_id, None)
    result = await submit_recipient(hass, result, {CONF_NAME: "Mum", CONF_TARGET: NUMBER})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_groups_unavailable(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """Without the groups there is no dropdown; typed ids (groups, LIDs) still work unchecked."""
    emulator.state.set_fault(
        instance_id, Fault("outage", count=4)
    )  # the first call and its retries
    result = await start_recipient(hass, entry)
    assert group_options(result) == {}
    assert emulator.state.instance(instance_id).fault is None

    emulator.state.set_fault(instance_id, Fault("outage"))  # nothing below reaches the gateway
    group_id = "120363012345678901@g.us"
    result = await submit_recipient(hass, result, {CONF_NAME: "Club", CONF_TARGET: f" {group_id} "})
    assert result["type"] is FlowResultType.CREATE_ENTRY

    result = await start_recipient(hass, entry)
    result = await submit_recipient(hass, result, {CONF_NAME: "Private", CONF_TARGET: LID})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [r[1] for r in recipients(entry)] == [group_id, LID]


async def test_recipient_configured_already(
    hass: HomeAssistant, instance_id: str, entry: MockConfigEntry
) -> None:
    """The same number (whatever its format) is one recipient: the form says which one has it.

    What was typed stays, to be changed.
    """
    result = await start_recipient(hass, entry)
    await submit_recipient(hass, result, {CONF_NAME: "Mum", CONF_TARGET: NUMBER})

    result = await start_recipient(hass, entry)
    typed = {CONF_NAME: "Mother", CONF_TARGET: "0501234567"}
    result = await submit_recipient(hass, result, typed)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_TARGET: "target_taken"}
    assert result["description_placeholders"] == {"recipient": "Mum"}
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_NAME) == "Mother"
    assert get_schema_suggested_value(schema, CONF_TARGET) == "0501234567"
    assert len(recipients(entry)) == 1

    result = await submit_recipient(hass, result, {CONF_NAME: "Mother", CONF_TARGET: "0507654321"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(recipients(entry)) == 2


async def test_group_configured_already(
    hass: HomeAssistant, instance_id: str, entry: MockConfigEntry
) -> None:
    """A group picked a second time: the error is on the group, naming its recipient."""
    result = await start_recipient(hass, entry)
    family = next(gid for gid, name in group_options(result).items() if name == "Family")
    await submit_recipient(hass, result, {CONF_NAME: "Family", CONF_GROUP: family})

    result = await start_recipient(hass, entry)
    result = await submit_recipient(hass, result, {CONF_NAME: "Kin", CONF_GROUP: family})
    assert result["errors"] == {CONF_GROUP: "target_taken"}
    assert result["description_placeholders"] == {"recipient": "Family"}
    assert get_schema_suggested_value(result["data_schema"].schema, CONF_GROUP) == family


def test_invalid_number_says_what_to_do() -> None:
    """A number refused as invalid: add the country code, or set a default one (Configure)."""
    error = translations("en")["config_subentries"][SUBENTRY_RECIPIENT]["error"]
    assert "country code" in error["invalid_phone"]
    assert "Configure" in error["invalid_phone"]


async def test_entry_without_phone_or_country_code(
    hass: HomeAssistant, instance_id: str, mock_config_entry: MockConfigEntry
) -> None:
    """Without a default country code national numbers are refused; no own number is known."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={k: v for k, v in mock_config_entry.options.items() if k != "default_country_code"},
    )
    result = await start_recipient(hass, mock_config_entry)
    result = await submit_recipient(hass, result, {CONF_NAME: "Mum", CONF_TARGET: "0501234567"})
    assert result["errors"] == {CONF_TARGET: "invalid_phone"}

    result = await submit_recipient(hass, result, {CONF_NAME: "Me", CONF_TARGET: LINKED_PHONE})
    assert result["type"] is FlowResultType.CREATE_ENTRY


# -- reconfiguring recipients ------------------------------------------------------------------


def add_recipients(hass: HomeAssistant, entry: MockConfigEntry, *targets: str) -> list[str]:
    """Add recipients directly; return their subentry ids."""
    for target in targets:
        hass.config_entries.async_add_subentry(
            entry,
            ConfigSubentry(
                data=MappingProxyType({CONF_NAME: f"R {target}", CONF_TARGET: target}),
                subentry_type=SUBENTRY_RECIPIENT,
                title=f"R {target}",
                unique_id=target,
            ),
        )
    return [sub.subentry_id for sub in entry.subentries.values()]


async def test_reconfigure_number(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """A recipient's number and name change; the new number is normalised and checked."""
    (mum,) = add_recipients(hass, entry, NUMBER)
    result = await start_recipient_reconfigure(hass, entry, mum)
    assert result["description_placeholders"] == {"name": f"R {NUMBER}"}
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_NAME) == f"R {NUMBER}"
    assert get_schema_suggested_value(schema, CONF_TARGET) == "+966 50 123 4567"
    assert get_schema_suggested_value(schema, CONF_GROUP) is None

    result = await submit_recipient(hass, result, {CONF_NAME: "Mum", CONF_TARGET: "+999 555 0101"})
    assert result["errors"] == {CONF_TARGET: "not_on_whatsapp"}

    result = await submit_recipient(hass, result, {CONF_NAME: "Mum", CONF_TARGET: "0507654321"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert recipients(entry) == [
        ("Mum", "966507654321", {CONF_NAME: "Mum", CONF_TARGET: "966507654321"})
    ]


async def test_reconfigure_group_to_another_group(
    hass: HomeAssistant, emulator: Emulator, instance_id: str, entry: MockConfigEntry
) -> None:
    """A group recipient shows its group picked, and can take another one."""
    groups = {group.name: group.id for group in emulator.state.instance(instance_id).groups}
    (family,) = add_recipients(hass, entry, groups["Family"])
    result = await start_recipient_reconfigure(hass, entry, family)
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_GROUP) == groups["Family"]
    assert get_schema_suggested_value(schema, CONF_TARGET) is None

    result = await submit_recipient(
        hass, result, {CONF_NAME: "House", CONF_GROUP: groups["Home automation"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    house = groups["Home automation"]
    assert recipients(entry) == [("House", house, {CONF_NAME: "House", CONF_TARGET: house})]


async def test_reconfigure_to_a_taken_target(
    hass: HomeAssistant, instance_id: str, entry: MockConfigEntry
) -> None:
    """A recipient cannot take the target of another; keeping its own is fine."""
    first, _second = add_recipients(hass, entry, NUMBER, LID)
    result = await start_recipient_reconfigure(hass, entry, first)
    result = await submit_recipient(hass, result, {CONF_NAME: "Dup", CONF_TARGET: LID})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_TARGET: "target_taken"}
    assert result["description_placeholders"] == {"name": f"R {NUMBER}", "recipient": f"R {LID}"}
    assert get_schema_suggested_value(result["data_schema"].schema, CONF_TARGET) == LID

    result = await submit_recipient(hass, result, {CONF_NAME: "Renamed", CONF_TARGET: NUMBER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert recipients(entry)[0][:2] == ("Renamed", NUMBER)
