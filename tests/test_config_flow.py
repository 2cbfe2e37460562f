"""Tests of the config flow: set-up, linking by QR code or pair code, reauth and reconfigure.

Every test walks the flow as a user does, against the gateway emulator over real HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any
from unittest.mock import AsyncMock

from aiohttp import web
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_NAME, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartwats import config_flow
from custom_components.smartwats.api import DEFAULT_BASE_URL, SmartwatsClient
from custom_components.smartwats.config_flow import SECTION_ADVANCED
from custom_components.smartwats.const import (
    CONF_ALLOWED_EVENTS,
    CONF_BASE_URL,
    CONF_DEFAULT_COUNTRY_CODE,
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_INSTANCE_ID,
    CONF_OUTBOX_VALID_FOR,
    CONF_PHONE,
    CONF_SEND_INTERVAL,
    DEFAULT_ALLOWED_EVENTS,
    DEFAULT_OUTBOX_VALID_FOR,
    DEFAULT_SEND_INTERVAL,
    DOMAIN,
)
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.qr import qr_data_uri as render_qr

from .conftest import LINKED_PHONE
from .flow_helpers import (
    PHONE,
    choose,
    configure,
    connection,
    name_entry,
    qr_markdown,
    start_linking,
    start_reconfigure,
    start_user_flow,
    suggested,
    wait_for_change,
)

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "no_retry_delay")

UNKNOWN_TOKEN = "0123456789abc"  # noqa: S105 - a token the emulator does not know
UNKNOWN_INSTANCE = "0000000000000"
PHONE_WRITTEN = "+966 50 123 4567"  # PHONE as the flow shows it to a person


@pytest.fixture
def fast_qr_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ask the link state (and the QR code) every 10 ms while the QR code is shown."""
    monkeypatch.setattr(config_flow, "QR_POLL_INTERVAL", 0.01)


@pytest.fixture
async def odd_gateway(emulator: Emulator) -> AsyncGenerator[str]:
    """A server answering every call with an error no SmartWats gateway is known to give."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"status": "error", "message": "Something odd happened"})

    app = web.Application()
    app.router.add_route("*", "/api/{endpoint}", answer)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/api/"
    finally:
        await runner.cleanup()


def rotate_token(emulator: Emulator, instance_id: str) -> str:
    """Give the instance a new access token, as regenerating it on the profile does."""
    instance = emulator.state.instance(instance_id)
    emulator.state.revoke_token(instance.token)
    token = emulator.state.add_account()
    instance.token = token
    emulator.state.accounts[token].instance_ids.append(instance_id)
    return token


def rotate_qr(emulator: Emulator, instance_id: str) -> None:
    """Make the gateway show another QR code at its next answer, as it does every 20 s."""
    emulator.state.instance(instance_id).qr_generated_at -= 60


def assert_new_entry(
    result: ConfigFlowResult,
    emulator: Emulator,
    token: str,
    instance_id: str,
    phone: str | None,
    *,
    title: str | None = None,
    country_code: str | None = None,
) -> None:
    """The flow created the entry of the instance with the default options.

    Its title is ``title``, else the phone's number as people write it, else "WhatsApp" and the
    end of the instance id.
    """
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == instance_id
    default = f"WhatsApp {instance_id[-4:]}" if phone is None else PHONE_WRITTEN
    assert entry.title == (title or default)
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    assert len(webhook_id) == 64
    expected = {
        CONF_ACCESS_TOKEN: token,
        CONF_INSTANCE_ID: instance_id,
        CONF_BASE_URL: emulator.api_url,
        CONF_WEBHOOK_ID: webhook_id,
    }
    if phone is not None:
        expected[CONF_PHONE] = phone
    assert entry.data == expected
    options: dict[str, Any] = {
        CONF_ALLOWED_EVENTS: list(DEFAULT_ALLOWED_EVENTS),
        CONF_SEND_INTERVAL: DEFAULT_SEND_INTERVAL,
        CONF_INCLUDE_OWN_MESSAGES: False,
        CONF_OUTBOX_VALID_FOR: DEFAULT_OUTBOX_VALID_FOR,
    }
    if country_code is not None:
        options[CONF_DEFAULT_COUNTRY_CODE] = country_code
    assert entry.options == options


def assert_qr_shown(result: ConfigFlowResult, emulator: Emulator, instance_id: str) -> None:
    """The QR step waits for the scan, showing the code the gateway shows now."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "qr"
    assert result["progress_action"] == "wait_for_qr_scan"
    assert result["description_placeholders"] == {"qr_code": qr_markdown(emulator, instance_id)}


def assert_qr_awaited(result: ConfigFlowResult) -> None:
    """The QR step waits for the gateway's code (none to show yet)."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "qr"
    assert result["progress_action"] == "wait_for_qr_code"
    assert result["description_placeholders"] is None


def section_options(result: ConfigFlowResult) -> dict[str, Any]:
    """The options of the form's "Advanced settings" section (collapsed or not)."""
    options: dict[str, Any] = result["data_schema"].schema[SECTION_ADVANCED].options
    return options


# -- the user step -----------------------------------------------------------------------------


async def test_linked_instance_is_named_and_set_up(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_setup_entry: AsyncMock,
) -> None:
    """A token and an instance linked already lead to the last step: a name, the phone's number.

    Left empty, the entry is named "WhatsApp" and the end of the instance id.
    """
    result = await start_user_flow(hass)
    assert result["description_placeholders"] == {"profile_url": config_flow.PROFILE_URL}

    result = await configure(hass, result, connection(access_token, f" {instance_id} ", emulator))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "finish"
    assert result["errors"] == {}
    assert list(result["data_schema"].schema) == [CONF_PHONE, CONF_NAME]
    assert suggested(result, CONF_PHONE) is None
    assert suggested(result, CONF_NAME) is None
    assert result["description_placeholders"] == {
        "instance_id": instance_id,
        "default_name": f"WhatsApp {instance_id[-4:]}",
    }
    assert len(mock_setup_entry.mock_calls) == 0

    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, instance_id, None)
    assert len(mock_setup_entry.mock_calls) == 1


async def test_the_entry_takes_the_name_given(
    hass: HomeAssistant, emulator: Emulator, access_token: str, instance_id: str
) -> None:
    """A name typed on the last step is the entry's title (and so its device's name)."""
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    result = await name_entry(hass, result, {CONF_NAME: "  Home alerts ", CONF_PHONE: PHONE})
    assert_new_entry(result, emulator, access_token, instance_id, PHONE, title="Home alerts")


async def test_base_url_in_a_collapsed_section(hass: HomeAssistant) -> None:
    """The API address waits in a collapsed section (default: SmartWats' own)."""
    result = await start_user_flow(hass)
    schema = result["data_schema"].schema
    assert set(schema) == {CONF_ACCESS_TOKEN, CONF_INSTANCE_ID, SECTION_ADVANCED}
    advanced = schema[SECTION_ADVANCED]
    assert advanced.options == {"collapsed": True}
    base_url = next(iter(advanced.schema.schema))
    assert base_url == CONF_BASE_URL
    assert base_url.default() == DEFAULT_BASE_URL

    # An error that is not about the address keeps the default address out of the way.
    result = await configure(hass, result, connection("  ", None, DEFAULT_BASE_URL))
    assert result["errors"] == {CONF_ACCESS_TOKEN: "invalid_auth"}
    assert section_options(result) == {"collapsed": True}


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({CONF_ACCESS_TOKEN: UNKNOWN_TOKEN}, "base", "invalid_auth"),
        ({CONF_ACCESS_TOKEN: "   "}, CONF_ACCESS_TOKEN, "invalid_auth"),
        ({CONF_INSTANCE_ID: UNKNOWN_INSTANCE}, "base", "invalid_instance"),
        ({SECTION_ADVANCED: {CONF_BASE_URL: "http://127.0.0.1:1/api/"}}, "base", "cannot_connect"),
        ({SECTION_ADVANCED: {CONF_BASE_URL: "ftp://gateway.example/"}}, "base", "invalid_url"),
        (
            {SECTION_ADVANCED: {CONF_BASE_URL: "http://gateway.example/api/"}},
            "base",
            "insecure_url",
        ),
    ],
)
async def test_user_errors_and_recovery(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    change: dict[str, str],
    field: str,
    error: str,
) -> None:
    """Wrong input comes back with what the user typed and an error; corrected, it works."""
    result = await start_user_flow(hass)
    typed = connection(access_token, instance_id, emulator) | change
    result = await configure(hass, result, typed)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {field: error}
    assert suggested(result, CONF_ACCESS_TOKEN) == typed[CONF_ACCESS_TOKEN]
    assert suggested(result, CONF_INSTANCE_ID) == typed[CONF_INSTANCE_ID]
    assert suggested(result, "advanced.base_url") == typed[SECTION_ADVANCED][CONF_BASE_URL]

    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, instance_id, None)


@pytest.mark.parametrize(
    ("base_url", "error"),
    [
        ("ftp://gateway.example/", "invalid_url"),
        ("not a url", "invalid_url"),
        ("http://gateway.example/api/", "insecure_url"),
        ("http://127.0.0.1:1/api/", "cannot_connect"),
    ],
)
async def test_address_errors_are_shown_with_the_address(
    hass: HomeAssistant, access_token: str, base_url: str, error: str
) -> None:
    """An error about the API address is said above the form, and its section opens.

    Home Assistant shows no error of a field inside a section, and a collapsed section hides
    the field at fault; so the error is the form's, and its text names the field.
    """
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, None, base_url))
    assert result["errors"] == {"base": error}
    assert section_options(result) == {"collapsed": False}
    assert suggested(result, "advanced.base_url") == base_url
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_another_address_is_shown_open(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """An address that is not SmartWats' own stays in sight, whatever the error."""
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(UNKNOWN_TOKEN, None, emulator))
    assert result["errors"] == {"base": "invalid_auth"}
    assert section_options(result) == {"collapsed": False}
    hass.config_entries.flow.async_abort(result["flow_id"])


@pytest.mark.parametrize(
    ("url", "insecure"),
    [
        ("https://app.smartwats.com/api/", False),
        ("https://203.0.113.7/api/", False),
        ("https://gateway.example:8443/api/", False),
        ("http://127.0.0.1:8080/api/", False),
        ("http://127.8.9.10/api/", False),
        ("http://[::1]:8080/api/", False),
        ("http://10.1.2.3/api/", False),
        ("http://172.16.0.1/api/", False),
        ("http://172.31.255.254/api/", False),
        ("http://192.168.1.20/api/", False),
        ("http://169.254.10.20/api/", False),
        ("http://[fe80::1]/api/", False),
        ("http://[fd12:3456::1]/api/", False),
        ("http://[::ffff:192.168.1.20]/api/", False),
        ("http://localhost:8080/api/", False),
        ("HTTP://LOCALHOST/api/", False),
        ("http://smartwats.local/api/", False),
        ("http://Gateway.Local./api/", False),
        # Not http(s) URLs: refused as invalid_url instead.
        ("ftp://gateway.example/", False),
        ("not a url", False),
        ("http:///api/", False),
        ("http://[::1/api/", False),
        ("http://gateway.example/api/", True),
        ("http://app.smartwats.com/api/", True),
        ("http://203.0.113.7/api/", True),
        ("http://8.8.8.8/api/", True),
        ("http://172.32.0.1/api/", True),
        ("http://100.64.0.1/api/", True),  # carrier-grade NAT: beyond the home network
        ("http://[2001:db8::1]/api/", True),
        ("http://[::ffff:8.8.8.8]/api/", True),
        ("http://localhost.example.com/api/", True),
        ("http://smartwats.local.example.com/api/", True),
        ("http://gateway/api/", True),  # a bare name may resolve anywhere
    ],
)
def test_plain_http_is_for_local_gateways_only(url: str, *, insecure: bool) -> None:
    """Plain http is refused unless the host is loopback, private, link-local or a local name."""
    assert config_flow.is_insecure_url(url) is insecure


async def test_revoked_token_and_invalidated_instance(
    hass: HomeAssistant, emulator: Emulator, access_token: str, instance_id: str
) -> None:
    """A revoked token and an invalidated instance are told apart."""
    other_token = emulator.state.add_account()
    other_instance = emulator.state.add_instance(other_token, linked=True)
    emulator.state.revoke_token(other_token)
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(other_token, other_instance, emulator))
    assert result["errors"] == {"base": "invalid_auth"}

    emulator.state.invalidate_instance(instance_id)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    assert result["errors"] == {"base": "invalid_instance"}

    fresh = emulator.state.add_instance(access_token, linked=True)
    result = await configure(hass, result, connection(access_token, fresh, emulator))
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, fresh, None)


async def test_gateway_failure_and_recovery(
    hass: HomeAssistant, emulator: Emulator, access_token: str, instance_id: str
) -> None:
    """A gateway outage (after the retries) is "cannot connect"; once over, the flow goes on."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    assert result["errors"] == {"base": "cannot_connect"}
    assert section_options(result) == {"collapsed": False}  # the address may be at fault

    emulator.state.set_fault(instance_id, None)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, instance_id, None)


async def test_unexpected_answer_is_unknown_error(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    odd_gateway: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An answer nobody expects is "unknown" and logged with its traceback."""
    result = await start_user_flow(hass)
    typed = connection(access_token, instance_id, odd_gateway)
    result = await configure(hass, result, typed)
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error from the SmartWats gateway" in caplog.text
    assert "Something odd happened" in caplog.text
    assert access_token not in caplog.text

    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, instance_id, None)


async def test_created_instance_is_offered_again(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """When the check fails after an instance was created, the retry uses that instance."""
    unlinked = emulator.state.add_instance(access_token)  # create_instance hands it out
    emulator.state.set_fault(unlinked, Fault("outage"))
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, None, emulator))
    assert result["errors"] == {"base": "cannot_connect"}
    assert suggested(result, CONF_INSTANCE_ID) == unlinked

    emulator.state.set_fault(unlinked, None)
    result = await configure(hass, result, connection(access_token, unlinked, emulator))
    assert result["type"] is FlowResultType.MENU
    assert result["description_placeholders"] == {"instance_id": unlinked}
    assert len(emulator.state.all_instances()) == 1
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_cannot_create_instance(hass: HomeAssistant, emulator: Emulator) -> None:
    """No instance can be created with an unknown token."""
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(UNKNOWN_TOKEN, None, emulator))
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_INSTANCE_ID) == ""
    assert emulator.state.all_instances() == []
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_instance_configured_already(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """An instance is set up once."""
    mock_config_entry.add_to_hass(hass)
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_instance_id_in_any_case_is_one_instance(
    hass: HomeAssistant, emulator: Emulator, access_token: str, instance_id: str
) -> None:
    """An instance id typed in lower case with spaces is the same instance, stored upper-case."""
    result = await start_user_flow(hass)
    result = await configure(
        hass, result, connection(access_token, f" {instance_id.lower()} ", emulator)
    )
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, instance_id, None)

    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_created_instance_id_is_normalised(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An instance id the gateway hands out in lower case is stored upper-case too."""
    unlinked = emulator.state.add_instance(access_token)  # create_instance hands it out
    create = SmartwatsClient.create_instance

    async def lower_case(client: SmartwatsClient) -> str:
        return (await create(client)).lower()

    monkeypatch.setattr(SmartwatsClient, "create_instance", lower_case)
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, None, emulator))
    assert result["type"] is FlowResultType.MENU
    assert result["description_placeholders"] == {"instance_id": unlinked}

    emulator.state.link(unlinked)
    result = await choose(hass, result, "qr")
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, None)


# -- Home Assistant's country ------------------------------------------------------------------


async def test_country_of_home_assistant_gives_the_default_country_code(
    hass: HomeAssistant, emulator: Emulator, access_token: str, fast_polling: None
) -> None:
    """With Home Assistant's country set, national numbers work from the start.

    The pair code takes one, and the entry is created with that country's code as its default.
    """
    hass.config.country = "SA"
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "pair_code")
    result = await configure(hass, result, {CONF_PHONE: "050 123 4567"})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["description_placeholders"]["phone"] == PHONE_WRITTEN

    emulator.state.link(unlinked)
    await hass.async_block_till_done()
    result = await configure(hass, result)
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, PHONE, country_code="966")


async def test_without_a_country_no_default_country_code(
    hass: HomeAssistant, emulator: Emulator, access_token: str, instance_id: str
) -> None:
    """Home Assistant's country unset (or one the table lacks): national numbers need one."""
    hass.config.country = None
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    result = await name_entry(hass, result, {CONF_PHONE: "050 123 4567"})
    assert result["errors"] == {CONF_PHONE: "invalid_phone"}
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, instance_id, None)


# -- linking by QR code ------------------------------------------------------------------------


async def test_new_instance_is_created_and_linked_by_qr(
    hass: HomeAssistant, emulator: Emulator, access_token: str, fast_qr_polling: None
) -> None:
    """An empty instance id creates an instance; the phone scans its QR code.

    The step shows the gateway's code and follows it as it changes; once the phone is linked it
    moves on by itself, with nothing to submit.
    """
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, None, emulator))

    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "link"
    assert result["menu_options"] == ["qr", "pair_code"]
    new_id = result["description_placeholders"]["instance_id"]
    assert [i.instance_id for i in emulator.state.all_instances()] == [new_id]
    assert emulator.state.instance(new_id).token == access_token

    result = await choose(hass, result, "qr")
    assert_qr_shown(result, emulator, new_id)
    assert result["description_placeholders"]["qr_code"].startswith(
        "![QR code](data:image/png;base64,"
    )

    # The gateway changes its code: the step shows the new one.
    shown = result["description_placeholders"]["qr_code"]
    rotate_qr(emulator, new_id)
    result = await wait_for_change(hass, result)
    assert_qr_shown(result, emulator, new_id)
    assert result["description_placeholders"]["qr_code"] != shown

    emulator.state.link(new_id)
    result = await wait_for_change(hass, result)
    assert result["step_id"] == "finish"
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, new_id, None)


async def test_qr_not_ready_then_linked(
    hass: HomeAssistant, emulator: Emulator, access_token: str, fast_qr_polling: None
) -> None:
    """While the gateway prepares the QR code the step says so; the code shows once there."""
    unlinked = emulator.state.add_instance(access_token)
    emulator.state.set_fault(unlinked, Fault("qr_not_ready"))
    result = await start_linking(hass, emulator, access_token, unlinked)

    result = await choose(hass, result, "qr")
    assert_qr_awaited(result)

    emulator.state.set_fault(unlinked, None)
    result = await wait_for_change(hass, result)
    assert_qr_shown(result, emulator, unlinked)

    emulator.state.link(unlinked)
    result = await wait_for_change(hass, result)
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_qr_step_gateway_failure(
    hass: HomeAssistant, emulator: Emulator, access_token: str, fast_qr_polling: None
) -> None:
    """A failure while the QR code is awaited (or shown) is waited out: the step recovers."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    emulator.state.set_fault(unlinked, Fault("outage"))

    result = await choose(hass, result, "qr")
    assert_qr_awaited(result)

    emulator.state.set_fault(unlinked, None)
    result = await wait_for_change(hass, result)
    assert_qr_shown(result, emulator, unlinked)

    # Down again while the code is shown, then linked: the step moves on once it can tell.
    emulator.state.set_fault(unlinked, Fault("outage", count=8))
    emulator.state.link(unlinked)
    result = await wait_for_change(hass, result)
    assert emulator.state.instance(unlinked).fault is None
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_linked_meanwhile_finishes_at_qr_step(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """Linked while the menu was open (the QR was scanned elsewhere): only the name is left."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    emulator.state.link(unlinked)
    result = await choose(hass, result, "qr")
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_hostile_qr_never_reaches_the_description(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    monkeypatch: pytest.MonkeyPatch,
    fast_qr_polling: None,
) -> None:
    """A QR field carrying markdown after a real PNG is refused: none of it is shown."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    with monkeypatch.context() as patch:
        patch.setattr(
            "smartwats_emulator.api.qr_data_uri",
            lambda payload: f"{render_qr(payload)}) ![a](https://evil.example/a.png",
        )
        result = await choose(hass, result, "qr")
    assert_qr_awaited(result)

    result = await wait_for_change(hass, result)
    assert_qr_shown(result, emulator, unlinked)
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_qr_linking_with_the_phone_number(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """The number of a phone linked by QR is asked at the end: checked, it names the entry."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    emulator.state.link(unlinked)
    result = await choose(hass, result, "qr")
    assert list(result["data_schema"].schema) == [CONF_PHONE, CONF_NAME]
    assert suggested(result, CONF_PHONE) is None

    # National (Home Assistant has no country here), then a group id: not a phone number.
    for typed in ("050 123 4567", "120363012345678901@g.us", "not a number"):
        result = await name_entry(hass, result, {CONF_PHONE: typed, CONF_NAME: "Mine"})
        assert result["step_id"] == "finish"
        assert result["errors"] == {CONF_PHONE: "invalid_phone"}
        assert suggested(result, CONF_PHONE) == typed
        assert suggested(result, CONF_NAME) == "Mine"

    result = await name_entry(hass, result, {CONF_PHONE: "+966 50-123 4567"})
    assert_new_entry(result, emulator, access_token, unlinked, PHONE)


async def test_qr_step_offers_the_pair_code_number(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    fast_polling: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After an expired pair code, linked by QR: the last step offers the number typed for it.

    That number was never linked, so it is only offered: left empty, no number is stored.
    """
    monkeypatch.setattr(config_flow, "PAIR_CODE_TIMEOUT", 0.05)
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "pair_code")
    result = await configure(hass, result, {CONF_PHONE: PHONE})
    await hass.async_block_till_done()
    result = await configure(hass, result)
    assert result["step_id"] == "pair_code_expired"

    emulator.state.link(unlinked)
    result = await choose(hass, result, "qr")
    assert suggested(result, CONF_PHONE) == PHONE_WRITTEN
    assert suggested(result, CONF_NAME) is None

    result = await name_entry(hass, result, {CONF_PHONE: " "})
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_qr_code_not_scanned_in_time(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    fast_qr_polling: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A QR step left open stops asking the gateway after a while and offers both ways again."""
    monkeypatch.setattr(config_flow, "QR_TIMEOUT", 0.2)
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "qr")
    assert_qr_shown(result, emulator, unlinked)

    result = await wait_for_change(hass, result)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "qr_expired"
    assert result["menu_options"] == ["qr", "pair_code"]
    assert result["description_placeholders"] == {"timeout": "0.2"}
    asked = len(emulator.requests)
    await asyncio.sleep(0.05)  # five polling intervals
    assert len(emulator.requests) == asked

    monkeypatch.setattr(config_flow, "QR_TIMEOUT", 300.0)
    result = await choose(hass, result, "qr")
    assert_qr_shown(result, emulator, unlinked)
    emulator.state.link(unlinked)
    result = await wait_for_change(hass, result)
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_submitting_the_qr_step_checks_at_once(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """A client that submits the QR step, as the form it once was, has the link checked now."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "qr")

    result = await configure(hass, result, {})
    assert_qr_shown(result, emulator, unlinked)

    emulator.state.link(unlinked)
    result = await configure(hass, result, {})
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_closing_the_qr_dialog_stops_asking(
    hass: HomeAssistant, emulator: Emulator, access_token: str, fast_qr_polling: None
) -> None:
    """Closing the dialog while the QR code is shown stops the polling."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "qr")
    rotate_qr(emulator, unlinked)
    result = await wait_for_change(hass, result)  # polling, and polling again after the change

    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    asked = len(emulator.requests)
    rotate_qr(emulator, unlinked)
    emulator.state.link(unlinked)
    await asyncio.sleep(0.05)  # five polling intervals
    assert len(emulator.requests) == asked
    assert hass.config_entries.flow.async_progress() == []
    assert hass.config_entries.async_entries(DOMAIN) == []


# -- linking by pair code ----------------------------------------------------------------------


async def test_pair_code_links_and_names_the_entry(
    hass: HomeAssistant, emulator: Emulator, access_token: str, fast_polling: None
) -> None:
    """A number in any format gets a pair code; once entered on the phone the entry is named.

    The name offered is the number, as people write it; the number is not asked again.
    """
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)

    result = await choose(hass, result, "pair_code")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pair_code"
    assert result["errors"] == {}

    result = await configure(hass, result, {CONF_PHONE: "050 123 4567"})  # national: no code
    assert result["errors"] == {CONF_PHONE: "invalid_phone"}
    assert suggested(result, CONF_PHONE) == "050 123 4567"

    result = await configure(hass, result, {CONF_PHONE: "+966 50-123 4567"})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "pair_code_wait"
    assert result["progress_action"] == "wait_for_pair_code"
    pair_code = emulator.state.instance(unlinked).pair_code
    assert pair_code is not None
    assert len(pair_code.replace("-", "")) == 8
    assert result["description_placeholders"] == {"pair_code": pair_code, "phone": PHONE_WRITTEN}
    assert emulator.state.instance(unlinked).pair_phone == PHONE

    # One poll fails (the gateway is briefly down); the next one sees the phone linked.
    emulator.state.set_fault(unlinked, Fault("outage", count=4))
    emulator.state.link(unlinked)
    await hass.async_block_till_done()
    assert emulator.state.instance(unlinked).fault is None

    result = await configure(hass, result)
    assert result["step_id"] == "finish"
    assert list(result["data_schema"].schema) == [CONF_NAME]
    assert suggested(result, CONF_NAME) == PHONE_WRITTEN
    result = await name_entry(hass, result, {CONF_NAME: PHONE_WRITTEN})
    assert_new_entry(result, emulator, access_token, unlinked, PHONE)


async def test_pair_code_expires(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    fast_polling: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A code not entered in time leads back to the choice, explained; a new code works."""
    monkeypatch.setattr(config_flow, "PAIR_CODE_TIMEOUT", 0.05)
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "pair_code")
    result = await configure(hass, result, {CONF_PHONE: PHONE})
    assert result["type"] is FlowResultType.SHOW_PROGRESS

    await hass.async_block_till_done()
    result = await configure(hass, result)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "pair_code_expired"
    assert result["menu_options"] == ["qr", "pair_code"]
    assert result["description_placeholders"] == {"timeout": "0.05"}

    monkeypatch.setattr(config_flow, "PAIR_CODE_TIMEOUT", 180.0)
    result = await choose(hass, result, "pair_code")
    assert suggested(result, CONF_PHONE) == PHONE
    result = await configure(hass, result, {CONF_PHONE: PHONE})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    emulator.state.link(unlinked)
    await hass.async_block_till_done()
    result = await configure(hass, result)
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, PHONE)


@pytest.mark.parametrize(
    ("fault", "error"),
    [("qr_not_ready", "pair_code_not_ready"), ("outage", "cannot_connect")],
)
async def test_pair_code_errors_and_recovery(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    access_token: str,
    fast_polling: None,
    fault: Any,
    error: str,
) -> None:
    """No pair code yet, or the gateway down: the number stays, and a retry works."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "pair_code")
    emulator.state.set_fault(unlinked, Fault(fault))

    result = await configure(hass, result, {CONF_PHONE: PHONE})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert suggested(result, CONF_PHONE) == PHONE

    emulator.state.set_fault(unlinked, None)
    result = await configure(hass, result, {CONF_PHONE: PHONE})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    emulator.state.link(unlinked)
    await hass.async_block_till_done()
    result = await configure(hass, result)
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, PHONE)


async def test_linked_meanwhile_finishes_at_pair_code(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """Asking a pair code for an instance that got linked meanwhile goes to the last step.

    The number typed was never linked: it is offered, not taken.
    """
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "pair_code")
    emulator.state.link(unlinked)
    result = await configure(hass, result, {CONF_PHONE: PHONE})
    assert list(result["data_schema"].schema) == [CONF_PHONE, CONF_NAME]
    result = await name_entry(hass, result)
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_closing_the_dialog_stops_waiting(
    hass: HomeAssistant, emulator: Emulator, access_token: str, fast_polling: None
) -> None:
    """Closing the dialog while the code is shown stops the polling."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "pair_code")
    result = await configure(hass, result, {CONF_PHONE: PHONE})
    assert result["type"] is FlowResultType.SHOW_PROGRESS

    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress() == []
    assert hass.config_entries.async_entries(DOMAIN) == []


# -- re-authentication -------------------------------------------------------------------------


async def test_reauth_with_a_new_token(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    """A revoked token asks for a new one, checked against the same instance."""
    mock_config_entry.add_to_hass(hass)
    new_token = rotate_token(emulator, instance_id)

    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {
        "instance_id": instance_id,
        "profile_url": config_flow.PROFILE_URL,
        "name": LINKED_PHONE,  # added by Home Assistant to re-authentication steps
    }

    result = await configure(hass, result, {CONF_ACCESS_TOKEN: access_token})
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_ACCESS_TOKEN) == access_token

    emulator.state.set_fault(instance_id, Fault("outage"))
    result = await configure(hass, result, {CONF_ACCESS_TOKEN: new_token})
    assert result["errors"] == {"base": "cannot_connect"}

    emulator.state.set_fault(instance_id, None)
    result = await configure(hass, result, {CONF_ACCESS_TOKEN: f" {new_token} "})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == {
        CONF_ACCESS_TOKEN: new_token,
        CONF_INSTANCE_ID: instance_id,
        CONF_BASE_URL: emulator.api_url,
        CONF_WEBHOOK_ID: mock_config_entry.data[CONF_WEBHOOK_ID],
    }
    await hass.async_block_till_done()
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded


async def test_reauth_new_token_of_a_logged_out_session(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    fast_qr_polling: None,
) -> None:
    """A new token for a session the phone ended also leads to relinking."""
    mock_config_entry.add_to_hass(hass)
    new_token = rotate_token(emulator, instance_id)
    emulator.state.unlink(instance_id)

    result = await mock_config_entry.start_reauth_flow(hass)
    result = await configure(hass, result, {CONF_ACCESS_TOKEN: new_token})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "relink"

    result = await choose(hass, result, "qr")
    assert_qr_shown(result, emulator, instance_id)
    emulator.state.link(instance_id)
    result = await wait_for_change(hass, result)
    # The entry does not know its phone's number: it may be given now (no name: it has one).
    assert list(result["data_schema"].schema) == [CONF_PHONE]
    result = await name_entry(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_ACCESS_TOKEN] == new_token
    assert mock_config_entry.title == LINKED_PHONE


async def test_reauth_relinks_by_qr_after_logout(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
    fast_qr_polling: None,
) -> None:
    """A session the phone logged out is linked again from the same QR step.

    An entry that knows its phone's number is done as soon as the phone is linked.
    """
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PHONE: LINKED_PHONE}
    )
    data_before = dict(mock_config_entry.data)
    emulator.state.unlink(instance_id)

    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "relink"
    assert result["menu_options"] == ["qr", "pair_code"]

    result = await choose(hass, result, "qr")
    assert_qr_shown(result, emulator, instance_id)

    emulator.state.link(instance_id)
    result = await wait_for_change(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == data_before
    assert mock_config_entry.title == LINKED_PHONE
    await hass.async_block_till_done()
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reauth_relinks_by_pair_code_with_the_default_country_code(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    fast_polling: None,
) -> None:
    """Relinking by pair code takes national numbers (the entry's country code) and keeps it."""
    mock_config_entry.add_to_hass(hass)
    emulator.state.unlink(instance_id)

    result = await mock_config_entry.start_reauth_flow(hass)
    result = await choose(hass, result, "pair_code")
    result = await configure(hass, result, {CONF_PHONE: "050 123 4567"})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["description_placeholders"]["phone"] == PHONE_WRITTEN

    emulator.state.link(instance_id)
    await hass.async_block_till_done()
    result = await configure(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_PHONE] == PHONE
    assert mock_config_entry.title == LINKED_PHONE


async def test_reauth_relinks_by_qr_with_the_phone_number(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Relinking by QR takes the number in national form (the entry's country code)."""
    mock_config_entry.add_to_hass(hass)
    emulator.state.unlink(instance_id)

    result = await mock_config_entry.start_reauth_flow(hass)
    emulator.state.link(instance_id)
    result = await choose(hass, result, "qr")
    result = await name_entry(hass, result, {CONF_PHONE: "not a number"})
    assert result["errors"] == {CONF_PHONE: "invalid_phone"}
    result = await name_entry(hass, result, {CONF_PHONE: "050 123 4567"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_PHONE] == PHONE
    assert mock_config_entry.title == LINKED_PHONE


async def test_reauth_of_an_entry_left_with_a_lower_case_id(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """An entry the migration could not normalise (another has its id) re-authenticates as is.

    Rewriting its ids would clash with the other entry's entities and devices.
    """
    mock_config_entry.add_to_hass(hass)
    lower = instance_id.lower()
    duplicate = MockConfigEntry(
        domain=DOMAIN,
        title="duplicate",
        unique_id=lower,
        version=1,
        minor_version=2,
        data={**mock_config_entry.data, CONF_INSTANCE_ID: lower, CONF_WEBHOOK_ID: "f" * 64},
        options=dict(mock_config_entry.options),
    )
    duplicate.add_to_hass(hass)
    new_token = rotate_token(emulator, instance_id)

    result = await duplicate.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["instance_id"] == instance_id
    result = await configure(hass, result, {CONF_ACCESS_TOKEN: new_token})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert duplicate.unique_id == lower
    assert duplicate.data[CONF_INSTANCE_ID] == lower
    assert duplicate.data[CONF_ACCESS_TOKEN] == new_token


async def test_reauth_when_all_is_well_again(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_setup_entry: AsyncMock
) -> None:
    """If the token works and the phone is linked, re-authentication just reloads the entry."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert len(mock_setup_entry.mock_calls) == 1


# -- reconfiguration ---------------------------------------------------------------------------


async def test_reconfigure_token_and_base_url(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    """A new token and API address for the same instance; errors on the way are recoverable.

    The instance is no field (it cannot change): the description names it. The address, not
    SmartWats' own, shows in an open section.
    """
    mock_config_entry.add_to_hass(hass)
    result = await start_reconfigure(hass, mock_config_entry)
    assert set(result["data_schema"].schema) == {CONF_ACCESS_TOKEN, SECTION_ADVANCED}
    assert suggested(result, CONF_ACCESS_TOKEN) == access_token
    assert suggested(result, "advanced.base_url") == emulator.api_url
    assert section_options(result) == {"collapsed": False}

    new_token = rotate_token(emulator, instance_id)
    typed = connection(access_token, None, emulator.api_url.rstrip("/"))
    result = await configure(hass, result, typed)
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_ACCESS_TOKEN) == access_token
    assert suggested(result, "advanced.base_url") == emulator.api_url.rstrip("/")

    result = await configure(hass, result, typed | {CONF_ACCESS_TOKEN: new_token})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data == {
        CONF_ACCESS_TOKEN: new_token,
        CONF_INSTANCE_ID: instance_id,
        CONF_BASE_URL: emulator.api_url.rstrip("/"),
        CONF_WEBHOOK_ID: mock_config_entry.data[CONF_WEBHOOK_ID],
    }
    await hass.async_block_till_done()
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reconfigure_of_an_entry_at_the_default_address(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """SmartWats' own address stays folded away; an error about it unfolds it."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_BASE_URL: DEFAULT_BASE_URL}
    )
    result = await start_reconfigure(hass, mock_config_entry)
    assert section_options(result) == {"collapsed": True}

    typed = connection("0123456789abc", None, "http://203.0.113.7/api/")
    result = await configure(hass, result, typed)
    assert result["errors"] == {"base": "insecure_url"}
    assert section_options(result) == {"collapsed": False}
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_reconfigure_of_an_entry_left_with_a_lower_case_id(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """An entry the migration could not normalise keeps its instance id and unique id as is."""
    mock_config_entry.add_to_hass(hass)
    lower = instance_id.lower()
    duplicate = MockConfigEntry(
        domain=DOMAIN,
        title="duplicate",
        unique_id=lower,
        version=1,
        minor_version=2,
        data={**mock_config_entry.data, CONF_INSTANCE_ID: lower, CONF_WEBHOOK_ID: "f" * 64},
        options=dict(mock_config_entry.options),
    )
    duplicate.add_to_hass(hass)
    new_token = rotate_token(emulator, instance_id)

    result = await start_reconfigure(hass, duplicate)
    result = await configure(hass, result, connection(new_token, None, emulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert duplicate.unique_id == lower
    assert duplicate.data[CONF_INSTANCE_ID] == lower
    assert duplicate.data[CONF_ACCESS_TOKEN] == new_token


async def test_reconfigure_refuses_plain_http_to_a_remote_gateway(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The token would cross the internet in clear text: the address is refused, then fixed."""
    mock_config_entry.add_to_hass(hass)
    data_before = dict(mock_config_entry.data)
    result = await start_reconfigure(hass, mock_config_entry)
    typed = connection(access_token, None, "http://203.0.113.7/api/")
    result = await configure(hass, result, typed)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "insecure_url"}
    assert suggested(result, "advanced.base_url") == "http://203.0.113.7/api/"
    assert mock_config_entry.data == data_before

    result = await configure(hass, result, connection(access_token, None, emulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
