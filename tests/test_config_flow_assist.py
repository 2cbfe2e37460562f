"""Tests of the Assist settings of the recipient form (add and reconfigure)."""

from __future__ import annotations

from types import MappingProxyType

from homeassistant.config_entries import ConfigSubentry, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_schema_suggested_value

from custom_components.smartwats.config_flow import CONF_GROUP
from custom_components.smartwats.const import (
    CONF_AGENT_ID,
    CONF_ASSIST,
    CONF_ASSIST_PREFIX,
    CONF_PHONE,
    CONF_TARGET,
    CONF_USER_ID,
    SUBENTRY_RECIPIENT,
)

from .conftest import LINKED_PHONE
from .flow_helpers import start_recipient, start_recipient_reconfigure, submit_recipient

NUMBER = "966501234567"
AGENT = "conversation.home_assistant"


@pytest.fixture
def entry(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry of the linked instance, added (default country code 966, phone known)."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PHONE: LINKED_PHONE}
    )
    return mock_config_entry


def only_recipient(entry: MockConfigEntry) -> dict[str, object]:
    """The data of the entry's one recipient."""
    (sub,) = entry.subentries.values()
    return dict(sub.data)


def user_options(result: SubentryFlowResult) -> dict[str, str]:
    """The users the form offers to run the conversation as (name by id)."""
    options = result["data_schema"].schema[CONF_USER_ID].config["options"]
    return {option["value"]: option["label"] for option in options}


async def test_new_recipient_suggests_assist_off_and_the_default_agent(
    hass: HomeAssistant, instance_id: str, entry: MockConfigEntry
) -> None:
    """The form offers Assist off, Home Assistant's own agent and the @ha prefix."""
    result = await start_recipient(hass, entry)
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_ASSIST) is False
    assert get_schema_suggested_value(schema, CONF_AGENT_ID) == AGENT
    assert get_schema_suggested_value(schema, CONF_ASSIST_PREFIX) == "@ha"

    result = await submit_recipient(hass, result, {CONF_NAME: "Mum", CONF_TARGET: NUMBER})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Assist off: nothing of it is stored.
    assert only_recipient(entry) == {CONF_NAME: "Mum", CONF_TARGET: NUMBER}


async def test_number_with_assist_as_a_user(
    hass: HomeAssistant, instance_id: str, entry: MockConfigEntry
) -> None:
    """Only active people are offered as users; a number stores no prefix."""
    sara = await hass.auth.async_create_user("Sara")
    away = await hass.auth.async_create_user("Away")
    await hass.auth.async_deactivate_user(away)
    await hass.auth.async_create_system_user("Robot")
    result = await start_recipient(hass, entry)
    assert user_options(result) == {sara.id: "Sara"}

    result = await submit_recipient(
        hass,
        result,
        {
            CONF_NAME: "Mum",
            CONF_TARGET: NUMBER,
            CONF_ASSIST: True,
            CONF_USER_ID: sara.id,
            CONF_ASSIST_PREFIX: "!x",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert only_recipient(entry) == {
        CONF_NAME: "Mum",
        CONF_TARGET: NUMBER,
        CONF_ASSIST: True,
        CONF_AGENT_ID: AGENT,
        CONF_USER_ID: sara.id,
    }


@pytest.mark.parametrize(("typed", "stored"), [(" !Bot ", "!Bot"), ("  ", "@ha"), (None, "@ha")])
async def test_group_with_assist_stores_its_prefix(
    hass: HomeAssistant,
    instance_id: str,
    group_id: str,
    entry: MockConfigEntry,
    *,
    typed: str | None,
    stored: str,
) -> None:
    """A group keeps its prefix (the default one when left empty); no user by default."""
    result = await start_recipient(hass, entry)
    user_input: dict[str, object] = {
        CONF_NAME: "Family",
        CONF_GROUP: group_id,
        CONF_ASSIST: True,
        CONF_AGENT_ID: "conversation.other",
    }
    if typed is not None:
        user_input[CONF_ASSIST_PREFIX] = typed
    result = await submit_recipient(hass, result, user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert only_recipient(entry) == {
        CONF_NAME: "Family",
        CONF_TARGET: group_id,
        CONF_ASSIST: True,
        CONF_AGENT_ID: "conversation.other",
        CONF_ASSIST_PREFIX: stored,
    }


async def test_reconfigure_shows_and_turns_off_assist(
    hass: HomeAssistant, instance_id: str, group_id: str, entry: MockConfigEntry
) -> None:
    """The form shows a recipient's Assist settings; turned off, they are removed."""
    sara = await hass.auth.async_create_user("Sara")
    data = {
        CONF_NAME: "Family",
        CONF_TARGET: group_id,
        CONF_ASSIST: True,
        CONF_AGENT_ID: "conversation.other",
        CONF_USER_ID: sara.id,
        CONF_ASSIST_PREFIX: "!bot",
    }
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType(data),
            subentry_type=SUBENTRY_RECIPIENT,
            title="Family",
            unique_id=group_id,
        ),
    )
    (family,) = entry.subentries
    result = await start_recipient_reconfigure(hass, entry, family)
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_ASSIST) is True
    assert get_schema_suggested_value(schema, CONF_AGENT_ID) == "conversation.other"
    assert get_schema_suggested_value(schema, CONF_USER_ID) == sara.id
    assert get_schema_suggested_value(schema, CONF_ASSIST_PREFIX) == "!bot"

    result = await submit_recipient(
        hass, result, {CONF_NAME: "Family", CONF_GROUP: group_id, CONF_ASSIST: False}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert only_recipient(entry) == {CONF_NAME: "Family", CONF_TARGET: group_id}


async def test_reconfigure_without_assist_settings(
    hass: HomeAssistant, instance_id: str, entry: MockConfigEntry
) -> None:
    """A recipient stored before Assist existed shows it off, with the defaults."""
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType({CONF_NAME: "Mum", CONF_TARGET: NUMBER}),
            subentry_type=SUBENTRY_RECIPIENT,
            title="Mum",
            unique_id=NUMBER,
        ),
    )
    (mum,) = entry.subentries
    result = await start_recipient_reconfigure(hass, entry, mum)
    schema = result["data_schema"].schema
    assert get_schema_suggested_value(schema, CONF_ASSIST) is False
    assert get_schema_suggested_value(schema, CONF_AGENT_ID) == AGENT
    assert get_schema_suggested_value(schema, CONF_USER_ID) is None

    result = await submit_recipient(
        hass, result, {CONF_NAME: "Mum", CONF_TARGET: NUMBER, CONF_ASSIST: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert only_recipient(entry) == {
        CONF_NAME: "Mum",
        CONF_TARGET: NUMBER,
        CONF_ASSIST: True,
        CONF_AGENT_ID: AGENT,
    }
