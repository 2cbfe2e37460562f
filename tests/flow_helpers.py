"""Walking the integration's flows as a user does: config flow, options flow, recipient subentries.

Shared by the flow tests (test_config_flow, test_config_flow_options, test_relink), so that a step
is taken the same way everywhere.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigFlowResult,
    SubentryFlowResult,
)
from homeassistant.const import CONF_ACCESS_TOKEN
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    get_schema_suggested_value,
)
import voluptuous as vol

from custom_components.smartwats.config_flow import SECTION_ADVANCED
from custom_components.smartwats.const import (
    CONF_BASE_URL,
    CONF_INSTANCE_ID,
    DOMAIN,
    PROFILE_URL,
    SUBENTRY_RECIPIENT,
)
from smartwats_emulator import Emulator

PHONE = "966501234567"

# -- the config flow: set-up, linking, reauth and reconfigure ------------------------------------


def connection(token: str, instance_id: str | None, base_url: str | Emulator) -> dict[str, Any]:
    """The connection form's input; no instance id means "create one"."""
    if isinstance(base_url, Emulator):
        base_url = base_url.api_url
    data: dict[str, Any] = {CONF_ACCESS_TOKEN: token, SECTION_ADVANCED: {CONF_BASE_URL: base_url}}
    if instance_id is not None:
        data[CONF_INSTANCE_ID] = instance_id
    return data


def suggested(result: ConfigFlowResult, key: str) -> Any:
    """The value a form field comes back with (``advanced.base_url`` for the section's)."""
    schema = cast("vol.Schema", result["data_schema"]).schema
    if "." in key:
        section_key, key = key.split(".")
        schema = schema[section_key].schema.schema
    return get_schema_suggested_value(schema, key)


async def start_user_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the integration's set-up dialog."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


async def configure(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any] | None = None
) -> ConfigFlowResult:
    """Submit a step of the flow."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def choose(hass: HomeAssistant, result: ConfigFlowResult, option: str) -> ConfigFlowResult:
    """Pick a menu option."""
    assert result["type"] is FlowResultType.MENU
    return await configure(hass, result, {"next_step_id": option})


def qr_markdown(emulator: Emulator, instance_id: str) -> str:
    """The QR code the gateway shows now, as the step description embeds it."""
    return f"![QR code]({emulator.qr_data_uri(instance_id)})"


async def wait_for_change(hass: HomeAssistant, result: ConfigFlowResult) -> ConfigFlowResult:
    """Wait until a progress step changes by itself, then fetch the step as the frontend does.

    Home Assistant tells the frontend (event ``data_entry_flow_progressed``) when a progress
    step moves on or shows another description; the frontend then fetches the flow's step.
    Call it right after causing the change, with no ``await`` in between.
    """
    flow_id = result["flow_id"]
    changed = asyncio.Event()

    @callback
    def _progressed(event: Event[dict[str, Any]]) -> None:
        if event.data["flow_id"] == flow_id:
            changed.set()

    unsubscribe = hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, _progressed)
    try:
        async with asyncio.timeout(10):
            await changed.wait()
    finally:
        unsubscribe()
    return await configure(hass, result)


async def name_entry(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any] | None = None
) -> ConfigFlowResult:
    """Submit the last step of a set-up: the entry's name (and the phone's number, if asked)."""
    assert result["type"] is FlowResultType.FORM, result
    assert result["step_id"] == "finish"
    return await configure(hass, result, user_input or {})


async def start_linking(
    hass: HomeAssistant, emulator: Emulator, token: str, instance_id: str
) -> ConfigFlowResult:
    """Walk the user step to the link menu of an unlinked instance."""
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(token, instance_id, emulator))
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "link"
    return result


async def start_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Open the entry's reconfigure dialog."""
    result: ConfigFlowResult = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {
        "profile_url": PROFILE_URL,
        "instance_id": entry.data[CONF_INSTANCE_ID],
    }
    return result


# -- the options flow ----------------------------------------------------------------------------


async def start_options(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Open the entry's options dialog."""
    return await hass.config_entries.options.async_init(entry.entry_id)


async def configure_options(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Submit the options form."""
    return await hass.config_entries.options.async_configure(result["flow_id"], user_input)


# -- recipients (subentries) ---------------------------------------------------------------------


async def start_recipient(hass: HomeAssistant, entry: MockConfigEntry) -> SubentryFlowResult:
    """Open the "Add recipient" dialog."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


async def start_recipient_reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str
) -> SubentryFlowResult:
    """Open a recipient's reconfigure dialog."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_RECIPIENT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    return result


async def submit_recipient(
    hass: HomeAssistant, result: SubentryFlowResult, user_input: dict[str, Any]
) -> SubentryFlowResult:
    """Submit a recipient form."""
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
