"""Tests of the config flow: set-up, linking by QR code or pair code, reauth and reconfigure.

Every test walks the flow as a user does, against the gateway emulator over real HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from unittest.mock import AsyncMock

from aiohttp import web
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_WEBHOOK_ID
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
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_INSTANCE_ID,
    CONF_PHONE,
    CONF_SEND_INTERVAL,
    DEFAULT_ALLOWED_EVENTS,
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
    qr_markdown,
    start_linking,
    start_reconfigure,
    start_user_flow,
    suggested,
)

pytestmark = pytest.mark.usefixtures("mock_setup_entry", "no_retry_delay")

UNKNOWN_TOKEN = "0123456789abc"  # noqa: S105 - a token the emulator does not know
UNKNOWN_INSTANCE = "0000000000000"


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


def assert_new_entry(
    result: ConfigFlowResult, emulator: Emulator, token: str, instance_id: str, phone: str | None
) -> None:
    """The flow created the entry of the instance with the default options."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == instance_id
    assert entry.title == (phone or instance_id)
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
    assert entry.options == {
        CONF_ALLOWED_EVENTS: list(DEFAULT_ALLOWED_EVENTS),
        CONF_SEND_INTERVAL: DEFAULT_SEND_INTERVAL,
        CONF_INCLUDE_OWN_MESSAGES: False,
    }


# -- the user step -----------------------------------------------------------------------------


async def test_linked_instance_is_set_up_at_once(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_setup_entry: AsyncMock,
) -> None:
    """A token and an instance linked already make the entry right away."""
    result = await start_user_flow(hass)
    assert result["description_placeholders"] == {"profile_url": config_flow.PROFILE_URL}

    result = await configure(hass, result, connection(access_token, f" {instance_id} ", emulator))

    assert_new_entry(result, emulator, access_token, instance_id, None)
    assert len(mock_setup_entry.mock_calls) == 1


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


async def test_new_instance_is_created_and_linked_by_qr(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """An empty instance id creates an instance; the phone scans its QR code."""
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, None, emulator))

    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "link"
    assert result["menu_options"] == ["qr", "pair_code"]
    new_id = result["description_placeholders"]["instance_id"]
    assert [i.instance_id for i in emulator.state.all_instances()] == [new_id]
    assert emulator.state.instance(new_id).token == access_token

    result = await choose(hass, result, "qr")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "qr"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"qr_code": qr_markdown(emulator, new_id)}
    assert result["description_placeholders"]["qr_code"].startswith(
        "![QR code](data:image/png;base64,"
    )

    # Submitted before scanning: a fresh code and an explanation.
    shown = result["description_placeholders"]["qr_code"]
    emulator.state.instance(new_id).qr_generated_at -= 60  # the code shown has rotated meanwhile
    result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "not_linked"}
    assert result["description_placeholders"] == {"qr_code": qr_markdown(emulator, new_id)}
    assert result["description_placeholders"]["qr_code"] != shown

    emulator.state.link(new_id)
    result = await configure(hass, result, {})
    assert_new_entry(result, emulator, access_token, new_id, None)


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({CONF_ACCESS_TOKEN: UNKNOWN_TOKEN}, "base", "invalid_auth"),
        ({CONF_ACCESS_TOKEN: "   "}, CONF_ACCESS_TOKEN, "invalid_auth"),
        ({CONF_INSTANCE_ID: UNKNOWN_INSTANCE}, "base", "invalid_instance"),
        ({SECTION_ADVANCED: {CONF_BASE_URL: "http://127.0.0.1:1/api/"}}, "base", "cannot_connect"),
        (
            {SECTION_ADVANCED: {CONF_BASE_URL: "ftp://gateway.example/"}},
            CONF_BASE_URL,
            "invalid_url",
        ),
        (
            {SECTION_ADVANCED: {CONF_BASE_URL: "http://gateway.example/api/"}},
            CONF_BASE_URL,
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
    assert_new_entry(result, emulator, access_token, instance_id, None)


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
    assert_new_entry(result, emulator, access_token, fresh, None)


async def test_gateway_failure_and_recovery(
    hass: HomeAssistant, emulator: Emulator, access_token: str, instance_id: str
) -> None:
    """A gateway outage (after the retries) is "cannot connect"; once over, the flow goes on."""
    emulator.state.set_fault(instance_id, Fault("outage"))
    result = await start_user_flow(hass)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    assert result["errors"] == {"base": "cannot_connect"}

    emulator.state.set_fault(instance_id, None)
    result = await configure(hass, result, connection(access_token, instance_id, emulator))
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
    assert_new_entry(result, emulator, access_token, unlinked, None)


# -- linking by QR code ------------------------------------------------------------------------


async def test_qr_not_ready_then_linked(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """While the gateway prepares the QR code the step asks to retry; then it shows it."""
    unlinked = emulator.state.add_instance(access_token)
    emulator.state.set_fault(unlinked, Fault("qr_not_ready"))
    result = await start_linking(hass, emulator, access_token, unlinked)

    result = await choose(hass, result, "qr")
    assert result["step_id"] == "qr"
    assert result["errors"] == {"base": "qr_not_ready"}
    assert result["description_placeholders"] == {"qr_code": ""}

    result = await configure(hass, result, {})
    assert result["errors"] == {"base": "qr_not_ready"}

    emulator.state.set_fault(unlinked, None)
    result = await configure(hass, result, {})
    assert result["errors"] == {"base": "not_linked"}
    assert result["description_placeholders"] == {"qr_code": qr_markdown(emulator, unlinked)}

    emulator.state.link(unlinked)
    result = await configure(hass, result, {})
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_qr_step_gateway_failure(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """A failure while showing the QR code is reported on the step, which recovers."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    emulator.state.set_fault(unlinked, Fault("outage"))

    result = await choose(hass, result, "qr")
    assert result["errors"] == {"base": "cannot_connect"}
    assert result["description_placeholders"] == {"qr_code": ""}

    emulator.state.set_fault(unlinked, None)
    result = await configure(hass, result, {})
    assert result["errors"] == {"base": "not_linked"}

    emulator.state.link(unlinked)
    result = await configure(hass, result, {})
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_linked_meanwhile_finishes_at_qr_step(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """Linked while the menu was open (the QR was scanned elsewhere): nothing left to do."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    emulator.state.link(unlinked)
    result = await choose(hass, result, "qr")
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_hostile_qr_never_reaches_the_description(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    monkeypatch: pytest.MonkeyPatch,
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
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "qr"
    assert result["errors"] == {"base": "unknown"}
    assert result["description_placeholders"] == {"qr_code": ""}

    result = await configure(hass, result, {})
    assert result["errors"] == {"base": "not_linked"}
    assert result["description_placeholders"] == {"qr_code": qr_markdown(emulator, unlinked)}


async def test_qr_linking_with_the_phone_number(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """The number typed on the QR step is checked, kept while waiting, and names the entry."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "qr")
    assert list(result["data_schema"].schema) == [CONF_PHONE]
    assert suggested(result, CONF_PHONE) is None

    # National (the flow knows no country code yet), then a group id: not a phone number.
    for typed in ("050 123 4567", "120363012345678901@g.us"):
        result = await configure(hass, result, {CONF_PHONE: typed})
        assert result["step_id"] == "qr"
        assert result["errors"] == {CONF_PHONE: "invalid_phone", "base": "not_linked"}
        assert suggested(result, CONF_PHONE) == typed
        assert result["description_placeholders"] == {"qr_code": qr_markdown(emulator, unlinked)}

    # Submitted before scanning: a fresh code, and the number stays as typed.
    result = await configure(hass, result, {CONF_PHONE: "+966 50-123 4567"})
    assert result["errors"] == {"base": "not_linked"}
    assert suggested(result, CONF_PHONE) == "+966 50-123 4567"
    assert result["description_placeholders"] == {"qr_code": qr_markdown(emulator, unlinked)}

    emulator.state.link(unlinked)
    result = await configure(hass, result, {CONF_PHONE: "+966 50-123 4567"})
    assert_new_entry(result, emulator, access_token, unlinked, PHONE)


async def test_qr_linked_with_a_wrong_number(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """Scanned, but the number typed is wrong: it is asked again; left empty, none is stored."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "qr")
    emulator.state.link(unlinked)

    result = await configure(hass, result, {CONF_PHONE: "not a number"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PHONE: "invalid_phone"}
    assert result["description_placeholders"] == {"qr_code": ""}
    assert suggested(result, CONF_PHONE) == "not a number"

    result = await configure(hass, result, {CONF_PHONE: "  "})
    assert_new_entry(result, emulator, access_token, unlinked, None)


async def test_qr_step_offers_the_pair_code_number(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    fast_polling: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After an expired pair code, the QR step offers the number typed for it."""
    monkeypatch.setattr(config_flow, "PAIR_CODE_TIMEOUT", 0.05)
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "pair_code")
    result = await configure(hass, result, {CONF_PHONE: PHONE})
    await hass.async_block_till_done()
    result = await configure(hass, result)
    assert result["step_id"] == "pair_code_expired"

    result = await choose(hass, result, "qr")
    assert suggested(result, CONF_PHONE) == PHONE
    emulator.state.link(unlinked)
    result = await configure(hass, result, {CONF_PHONE: PHONE})
    assert_new_entry(result, emulator, access_token, unlinked, PHONE)


# -- linking by pair code ----------------------------------------------------------------------


async def test_pair_code_links_and_names_the_entry(
    hass: HomeAssistant, emulator: Emulator, access_token: str, fast_polling: None
) -> None:
    """A number in any format gets a pair code; once entered on the phone the entry is made."""
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
    assert result["description_placeholders"] == {"pair_code": pair_code, "phone": f"+{PHONE}"}
    assert emulator.state.instance(unlinked).pair_phone == PHONE

    # One poll fails (the gateway is briefly down); the next one sees the phone linked.
    emulator.state.set_fault(unlinked, Fault("outage", count=4))
    emulator.state.link(unlinked)
    await hass.async_block_till_done()
    assert emulator.state.instance(unlinked).fault is None

    result = await configure(hass, result)
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
    assert_new_entry(result, emulator, access_token, unlinked, PHONE)


async def test_linked_meanwhile_finishes_at_pair_code(
    hass: HomeAssistant, emulator: Emulator, access_token: str
) -> None:
    """Asking a pair code for an instance that got linked meanwhile just finishes."""
    unlinked = emulator.state.add_instance(access_token)
    result = await start_linking(hass, emulator, access_token, unlinked)
    result = await choose(hass, result, "pair_code")
    emulator.state.link(unlinked)
    result = await configure(hass, result, {CONF_PHONE: PHONE})
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
    assert result["description_placeholders"]["qr_code"] == qr_markdown(emulator, instance_id)
    emulator.state.link(instance_id)
    result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_ACCESS_TOKEN] == new_token


async def test_reauth_relinks_by_qr_after_logout(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    """A session the phone logged out is linked again from the same QR steps."""
    mock_config_entry.add_to_hass(hass)
    data_before = dict(mock_config_entry.data)
    emulator.state.unlink(instance_id)

    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "relink"
    assert result["menu_options"] == ["qr", "pair_code"]

    result = await choose(hass, result, "qr")
    assert result["step_id"] == "qr"
    result = await configure(hass, result, {})
    assert result["errors"] == {"base": "not_linked"}

    emulator.state.link(instance_id)
    result = await configure(hass, result, {})
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
    assert result["description_placeholders"]["phone"] == f"+{PHONE}"

    emulator.state.link(instance_id)
    await hass.async_block_till_done()
    result = await configure(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_PHONE] == PHONE


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
    result = await choose(hass, result, "qr")
    emulator.state.link(instance_id)
    result = await configure(hass, result, {CONF_PHONE: "050 123 4567"})
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
    """A new token and API address for the same instance; errors on the way are recoverable."""
    mock_config_entry.add_to_hass(hass)
    result = await start_reconfigure(hass, mock_config_entry)
    assert suggested(result, CONF_ACCESS_TOKEN) == access_token
    assert suggested(result, CONF_INSTANCE_ID) == instance_id
    assert suggested(result, "advanced.base_url") == emulator.api_url

    new_token = rotate_token(emulator, instance_id)
    typed = connection(access_token, instance_id, emulator.api_url.rstrip("/"))
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


async def test_reconfigure_keeps_the_instance_when_emptied(
    hass: HomeAssistant,
    emulator: Emulator,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """An emptied instance id means the entry's own (never a new instance)."""
    mock_config_entry.add_to_hass(hass)
    result = await start_reconfigure(hass, mock_config_entry)

    new_token = rotate_token(emulator, instance_id)
    result = await configure(hass, result, connection(new_token, "", emulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_ACCESS_TOKEN] == new_token
    assert mock_config_entry.data[CONF_INSTANCE_ID] == instance_id
    assert len(emulator.state.all_instances()) == 1


async def test_reconfigure_refuses_another_instance(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Another instance is another entry."""
    mock_config_entry.add_to_hass(hass)
    data_before = dict(mock_config_entry.data)
    other = emulator.state.add_instance(access_token, linked=True)
    result = await start_reconfigure(hass, mock_config_entry)
    result = await configure(hass, result, connection(access_token, other, emulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert mock_config_entry.data == data_before


async def test_reconfigure_takes_the_instance_id_in_any_case(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The entry's instance typed in lower case is the same instance, not another one."""
    mock_config_entry.add_to_hass(hass)
    result = await start_reconfigure(hass, mock_config_entry)
    result = await configure(
        hass, result, connection(access_token, f"{instance_id.lower()} ", emulator)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.unique_id == instance_id
    assert mock_config_entry.data[CONF_INSTANCE_ID] == instance_id


async def test_reconfigure_refuses_plain_http_to_a_remote_gateway(
    hass: HomeAssistant,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The token would cross the internet in clear text: the address is refused, then fixed."""
    mock_config_entry.add_to_hass(hass)
    data_before = dict(mock_config_entry.data)
    result = await start_reconfigure(hass, mock_config_entry)
    typed = connection(access_token, instance_id, "http://203.0.113.7/api/")
    result = await configure(hass, result, typed)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_BASE_URL: "insecure_url"}
    assert suggested(result, "advanced.base_url") == "http://203.0.113.7/api/"
    assert mock_config_entry.data == data_before

    result = await configure(hass, result, connection(access_token, instance_id, emulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
