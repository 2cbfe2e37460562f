"""Fault injection: latency, error pages, resets, quota, outage, late answers, stale sessions."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from smartwats_emulator import Emulator, Fault, InstanceState
from tests.emulator.conftest import Answer, Gateway, WebhookReceiver

NUMBER = "966501234567"
TEXT = {"number": NUMBER, "type": "text", "message": "Hi"}
RELOGIN = {"status": "error", "message": "This WhatsApp account relogin required"}


async def test_latency(gateway: Gateway) -> None:
    """A latency fault delays the answer, then answers normally; count limits it."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("latency", count=1, delay=0.15))
    started = time.monotonic()
    answer = await gateway.call("get_groups", method="GET")
    assert time.monotonic() - started >= 0.15
    assert answer.body["status"] == "success"
    started = time.monotonic()
    await gateway.call("get_groups", method="GET")
    assert time.monotonic() - started < 0.15
    assert gateway.emu.state.instance(gateway.instance_id).fault is None


async def test_http_500_and_html(gateway: Gateway) -> None:
    """http_500 and html answer error pages that are not JSON."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("http_500", count=1))
    answer = await gateway.call("send", json_body=TEXT)
    assert (answer.status, answer.content_type, answer.body) == (500, "text/html", None)
    assert "Fatal error" in answer.text
    gateway.emu.state.set_fault(gateway.instance_id, Fault("html"))
    for _ in range(2):
        answer = await gateway.call("get_groups", method="GET")
        assert (answer.status, answer.body) == (502, None)
        assert "<html>" in answer.text
    gateway.emu.state.set_fault(gateway.instance_id, None)
    assert (await gateway.call("get_groups", method="GET")).status == 200
    assert list(gateway.emu.state.instance(gateway.instance_id).sent) == []


async def test_reset(gateway: Gateway) -> None:
    """A reset fault closes the connection without an answer; the request is still recorded."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("reset"))
    with pytest.raises(aiohttp.ClientError):
        await gateway.call("send", json_body=TEXT)
    assert gateway.emu.requests[0].endpoint == "send"
    assert list(gateway.emu.state.instance(gateway.instance_id).sent) == []
    gateway.emu.state.set_fault(gateway.instance_id, None)
    assert (await gateway.call("send", json_body=TEXT)).body["status"] == "success"


async def test_quota_affects_sends_only(gateway: Gateway) -> None:
    """A quota fault answers the plan's error on sends; other endpoints neither fail nor count."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("quota", count=1))
    assert (await gateway.call("get_groups", method="GET")).body["status"] == "success"
    answer = await gateway.call("send", json_body=TEXT)
    assert answer.body == {
        "status": "error",
        "message": "The number of messages you have sent per month has exceeded the maximum limit",
    }
    assert (await gateway.call("send", json_body=TEXT)).body["status"] == "success"


async def test_outage_and_qr_not_ready(emulator: Emulator, gateway: Gateway) -> None:
    """The outage and qr_not_ready faults answer the gateway's temporary-failure texts."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("outage", count=1))
    answer = await gateway.call("get_groups", method="GET")
    assert answer.message == "Cannot connect to WhatsApp server. Please try again later"
    gateway.instance_id = emulator.state.add_instance(gateway.token)
    emulator.state.set_fault(gateway.instance_id, Fault("qr_not_ready", count=2))
    answer = await gateway.call("get_qrcode", method="GET")
    assert answer.message == "The system cannot generate a WhatsApp QR code"
    answer = await gateway.call("get_paircode", form={"phone": NUMBER})
    assert answer.message == "Cannot get Pair Code"
    assert (await gateway.call("get_qrcode", method="GET")).body["status"] == "success"


async def test_timeout_after_send(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """The gateway sends (once, echo included) and the client times out before the answer."""
    await gateway.call("set_webhook", form={"webhook_url": receiver.url, "enable": "true"})
    gateway.emu.state.set_fault(gateway.instance_id, Fault("timeout_after_send", count=1, delay=5))
    timeout = aiohttp.ClientTimeout(total=0.2)
    url = gateway.emu.api_url + "send"
    with pytest.raises(TimeoutError):
        async with gateway.session.post(
            url, params=gateway.creds, json=TEXT, timeout=timeout
        ) as response:
            await response.read()
    (sent,) = gateway.emu.state.instance(gateway.instance_id).sent
    assert [r.endpoint for r in gateway.emu.requests if r.endpoint == "send"] == ["send"]
    await gateway.emu.webhooks.drain()
    (echo,) = receiver.events("messages.upsert")
    assert echo["data"]["data"]["messages"][0]["key"]["id"] == sent.message_id


async def test_stop_ends_stalled_answers(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    """Stopping does not wait for a long stall to end."""
    emu = Emulator()
    await emu.start()
    token = emu.state.add_account()
    gw = Gateway(emu, session, token, emu.state.add_instance(token, linked=True))
    emu.state.set_fault(gw.instance_id, Fault("latency", delay=30))
    timeout = aiohttp.ClientTimeout(total=0.1)
    with pytest.raises(TimeoutError):
        async with session.get(emu.api_url + "get_groups", params=gw.creds, timeout=timeout):
            pass
    started = time.monotonic()
    await emu.stop()
    assert time.monotonic() - started < 2


def test_fault_validation() -> None:
    """Faults that would do nothing are rejected."""
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("slow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        Fault("latency", count=0)
    with pytest.raises(ValueError, match="delay"):
        Fault("latency", delay=-1)


# -- stale_session ---------------------------------------------------------------------------


async def call_session_endpoints(gateway: Gateway) -> dict[str, Answer]:
    """Call, with valid requests, every endpoint that needs the WhatsApp session."""
    group_id = gateway.emu.state.instance(gateway.instance_id).groups[0].id
    media = "https://example.com/a.jpg"
    card = {"title": "T", "body": "B", "buttons": [{"quickReplyButton": {"displayText": "Go"}}]}
    bodies: dict[str, Any] = {
        "send": TEXT,
        "send_group": {"group_id": group_id, "type": "text", "message": "Hi all"},
        "send_location": {"number": NUMBER, "latitude": 24.7, "longitude": 46.6},
        "send_contact": {"number": NUMBER, "contact_name": "Jo", "contact_phone": "966509999999"},
        "send_audio": {"number": NUMBER, "audio_url": "https://example.com/v.ogg"},
        "send_album": {"number": NUMBER, "album": [{"type": "image", "url": media}]},
        "send_carousel": {"number": NUMBER, "text": "Pick", "cards": [card]},
        "check_phones_batch": {"phones": [NUMBER]},
    }
    answers = {
        endpoint: await gateway.call(endpoint, json_body=body) for endpoint, body in bodies.items()
    }
    answers["set_webhook"] = await gateway.call(
        "set_webhook", form={"webhook_url": "https://example.com/hook", "enable": "true"}
    )
    answers["get_groups"] = await gateway.call("get_groups", method="GET")
    answers["check_phone"] = await gateway.call("check_phone", query={"phone": NUMBER})
    return answers


async def test_stale_session_answers(gateway: Gateway) -> None:
    """A dead session: every call needing it says relogin required, the QR calls say linked."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("stale_session"))
    answers = await call_session_endpoints(gateway)
    assert len(answers) == 11
    for endpoint, answer in answers.items():
        assert (answer.status, answer.content_type, answer.body) == (200, "text/html", RELOGIN), (
            endpoint
        )
    assert (await gateway.call("get_qrcode", method="GET")).body == {
        "status": "error",
        "message": "Instance ID has been used",
    }
    assert (await gateway.call("get_paircode", form={"phone": NUMBER})).body == {
        "status": "error",
        "message": "It seems that you have logged in successfully",
    }
    # Nothing was acted on, and the gateway still holds the instance as linked, fault and all.
    instance = gateway.emu.state.instance(gateway.instance_id)
    assert list(gateway.emu.state.instance(gateway.instance_id).sent) == []
    assert instance.webhook_url == ""
    assert instance.state is InstanceState.LINKED
    assert instance.fault is not None
    assert instance.fault.remaining is None
    assert gateway.emu.state.qr_payload(gateway.instance_id) is None


async def test_stale_session_after_the_gateways_checks(
    emulator: Emulator, gateway: Gateway
) -> None:
    """The token, instance and link checks still answer first."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("stale_session"))
    answer = await gateway.call("send", creds=False, query={"instance_id": gateway.instance_id})
    assert answer.message == "Access token is required"
    unlinked = emulator.state.add_instance(gateway.token)
    emulator.state.set_fault(unlinked, Fault("stale_session"))
    gateway.instance_id = unlinked
    answer = await gateway.call("send", json_body=TEXT)
    assert answer.message == "This instance ID has not been activated yet"
    assert (await gateway.call("get_qrcode", method="GET")).body["status"] == "success"


@pytest.mark.parametrize("how", ["api", "phone"])
async def test_logout_ends_a_stale_session(gateway: Gateway, how: str) -> None:
    """Logging out clears the dead session: a fresh QR follows, and scanning it links again."""
    emu, iid = gateway.emu, gateway.instance_id
    emu.state.set_fault(iid, Fault("stale_session"))
    if how == "api":
        answer = await gateway.call("logout")
        assert answer.body == {"status": "success", "message": "Success"}
    else:
        emu.state.unlink(iid)
    assert emu.state.instance(iid).state is InstanceState.LOGGED_OUT
    assert emu.state.instance(iid).fault is None
    assert (await gateway.call("send", json_body=TEXT)).body == RELOGIN  # as after any logout
    qr = await gateway.call("get_qrcode", method="GET")
    assert qr.body["base64"].startswith("data:image/png;base64,")
    assert emu.qr_data_uri(iid) == qr.body["base64"]
    emu.state.link(iid)
    assert (await gateway.call("send", json_body=TEXT)).body["status"] == "success"
    assert (await gateway.call("get_qrcode", method="GET")).message == "Instance ID has been used"


async def test_logout_keeps_other_faults(gateway: Gateway) -> None:
    """Only a stale session ends with the session: a gateway-side fault stays."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("quota"))
    assert (await gateway.call("logout")).body["status"] == "success"
    fault = gateway.emu.state.instance(gateway.instance_id).fault
    assert fault is not None
    assert fault.fault.kind == "quota"


async def test_clearing_stale_session_restores_calls(gateway: Gateway) -> None:
    """Cleared, or used up when counted, the fault gives way to normal answers."""
    gateway.emu.state.set_fault(gateway.instance_id, Fault("stale_session"))
    assert (await gateway.call("send", json_body=TEXT)).body == RELOGIN
    gateway.emu.state.set_fault(gateway.instance_id, None)
    for endpoint, answer in (await call_session_endpoints(gateway)).items():
        assert answer.body["status"] == "success", (endpoint, answer.body)
    assert len(gateway.emu.state.instance(gateway.instance_id).sent) == 7

    # Counted: get_qrcode needs no session, so it does not use the fault up.
    gateway.emu.state.set_fault(gateway.instance_id, Fault("stale_session", count=2))
    await gateway.call("get_qrcode", method="GET")
    assert (await gateway.call("get_groups", method="GET")).body == RELOGIN
    assert (await gateway.call("send", json_body=TEXT)).body == RELOGIN
    assert (await gateway.call("send", json_body=TEXT)).body["status"] == "success"
    assert gateway.emu.state.instance(gateway.instance_id).fault is None
