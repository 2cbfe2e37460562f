"""Fault injection: latency, error pages, resets, quota, outage, and acting before timing out."""

from __future__ import annotations

import time

import aiohttp
import pytest

from smartwats_emulator import Emulator, Fault
from tests.emulator.conftest import Gateway, WebhookReceiver

NUMBER = "966501234567"
TEXT = {"number": NUMBER, "type": "text", "message": "Hi"}


async def test_latency(gateway: Gateway) -> None:
    """A latency fault delays the answer, then answers normally; count limits it."""
    gateway.emu.set_fault(gateway.instance_id, Fault("latency", count=1, delay=0.15))
    started = time.monotonic()
    answer = await gateway.call("get_groups", method="GET")
    assert time.monotonic() - started >= 0.15
    assert answer.body["status"] == "success"
    started = time.monotonic()
    await gateway.call("get_groups", method="GET")
    assert time.monotonic() - started < 0.15
    assert gateway.emu.instance(gateway.instance_id).fault is None


async def test_http_500_and_html(gateway: Gateway) -> None:
    """http_500 and html answer error pages that are not JSON."""
    gateway.emu.set_fault(gateway.instance_id, Fault("http_500", count=1))
    answer = await gateway.call("send", json_body=TEXT)
    assert (answer.status, answer.content_type, answer.body) == (500, "text/html", None)
    assert "Fatal error" in answer.text
    gateway.emu.set_fault(gateway.instance_id, Fault("html"))
    for _ in range(2):
        answer = await gateway.call("get_groups", method="GET")
        assert (answer.status, answer.body) == (502, None)
        assert "<html>" in answer.text
    gateway.emu.set_fault(gateway.instance_id, None)
    assert (await gateway.call("get_groups", method="GET")).status == 200
    assert gateway.emu.sent(gateway.instance_id) == []


async def test_reset(gateway: Gateway) -> None:
    """A reset fault closes the connection without an answer; the request is still recorded."""
    gateway.emu.set_fault(gateway.instance_id, Fault("reset"))
    with pytest.raises(aiohttp.ClientError):
        await gateway.call("send", json_body=TEXT)
    assert gateway.emu.requests[0].endpoint == "send"
    assert gateway.emu.sent(gateway.instance_id) == []
    gateway.emu.set_fault(gateway.instance_id, None)
    assert (await gateway.call("send", json_body=TEXT)).body["status"] == "success"


async def test_quota_affects_sends_only(gateway: Gateway) -> None:
    """A quota fault answers the plan's error on sends; other endpoints neither fail nor count."""
    gateway.emu.set_fault(gateway.instance_id, Fault("quota", count=1))
    assert (await gateway.call("get_groups", method="GET")).body["status"] == "success"
    answer = await gateway.call("send", json_body=TEXT)
    assert answer.body == {
        "status": "error",
        "message": "The number of messages you have sent per month has exceeded the maximum limit",
    }
    assert (await gateway.call("send", json_body=TEXT)).body["status"] == "success"


async def test_outage_and_qr_not_ready(emulator: Emulator, gateway: Gateway) -> None:
    """The outage and qr_not_ready faults answer the gateway's temporary-failure texts."""
    gateway.emu.set_fault(gateway.instance_id, Fault("outage", count=1))
    answer = await gateway.call("get_groups", method="GET")
    assert answer.message == "Cannot connect to WhatsApp server. Please try again later"
    gateway.instance_id = emulator.add_instance(gateway.token)
    emulator.set_fault(gateway.instance_id, Fault("qr_not_ready", count=2))
    answer = await gateway.call("get_qrcode", method="GET")
    assert answer.message == "The system cannot generate a WhatsApp QR code"
    answer = await gateway.call("get_paircode", form={"phone": NUMBER})
    assert answer.message == "Cannot get Pair Code"
    assert (await gateway.call("get_qrcode", method="GET")).body["status"] == "success"


async def test_timeout_after_send(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """The gateway sends (once, echo included) and the client times out before the answer."""
    await gateway.call("set_webhook", form={"webhook_url": receiver.url, "enable": "true"})
    gateway.emu.set_fault(gateway.instance_id, Fault("timeout_after_send", count=1, delay=5))
    timeout = aiohttp.ClientTimeout(total=0.2)
    url = gateway.emu.api_url + "send"
    with pytest.raises(TimeoutError):
        async with gateway.session.post(
            url, params=gateway.creds, json=TEXT, timeout=timeout
        ) as response:
            await response.read()
    (sent,) = gateway.emu.sent(gateway.instance_id)
    assert [r.endpoint for r in gateway.emu.requests if r.endpoint == "send"] == ["send"]
    await gateway.emu.wait_for_webhooks()
    (echo,) = receiver.events("messages.upsert")
    assert echo["data"]["data"]["messages"][0]["key"]["id"] == sent.message_id


async def test_stop_ends_stalled_answers(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    """Stopping does not wait for a long stall to end."""
    emu = Emulator()
    await emu.start()
    token = emu.add_account()
    gw = Gateway(emu, session, token, emu.add_instance(token, linked=True))
    emu.set_fault(gw.instance_id, Fault("latency", delay=30))
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
