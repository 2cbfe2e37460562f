"""The /_emulator/ control endpoints, the phone page and the command line."""

from __future__ import annotations

import asyncio
import re
import signal
from typing import Any

import aiohttp
import pytest

from smartwats_emulator import Emulator, __main__ as command_line
from smartwats_emulator.__main__ import main, parse_args, run
from tests.emulator.conftest import Gateway, WebhookReceiver


async def control(
    emu: Emulator,
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    expect: int = 200,
) -> Any:
    """Call a control endpoint and return its JSON answer."""
    async with session.request(method, f"{emu.url}_emulator/{path}", json=body) as response:
        assert response.status == expect, await response.text()
        assert response.content_type == "application/json"
        return await response.json()


async def test_accounts_instances_and_lifecycle(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """Create, list, show the QR, link, log out and invalidate over HTTP."""
    token = (await control(emulator, session, "POST", "accounts", {}))["access_token"]
    created = await control(emulator, session, "POST", "instances", {"access_token": token})
    instance_id = created["instance"]["instance_id"]
    assert created["instance"]["state"] == "created"
    listed = await control(emulator, session, "GET", "instances")
    assert [i["instance_id"] for i in listed["instances"]] == [instance_id]

    qr = await control(emulator, session, "GET", f"instances/{instance_id}/qr")
    assert qr == {"payload": None, "base64": None}
    emulator.state.start_waiting(emulator.state.instance(instance_id))
    qr = await control(emulator, session, "GET", f"instances/{instance_id}/qr")
    assert qr["payload"] == emulator.state.qr_payload(instance_id)
    assert qr["base64"].startswith("data:image/png;base64,")

    linked = await control(
        emulator, session, "POST", f"instances/{instance_id}/link", {"phone": "966533333333"}
    )
    assert (linked["state"], linked["phone"]) == ("linked", "966533333333")
    out = await control(emulator, session, "POST", f"instances/{instance_id}/logout_from_phone")
    assert out["state"] == "logged_out"
    await control(
        emulator, session, "POST", f"instances/{instance_id}/logout_from_phone", expect=409
    )
    gone = await control(emulator, session, "POST", f"instances/{instance_id}/invalidate")
    assert gone["invalidated"] is True
    await control(emulator, session, "GET", "instances/NOPE", expect=404)
    await control(emulator, session, "DELETE", f"accounts/{token}")
    assert token not in emulator.state.accounts

    # Without a token, a new account comes with the instance.
    fresh = await control(emulator, session, "POST", "instances", {"linked": True})
    assert fresh["instance"]["state"] == "linked"
    assert fresh["access_token"] in emulator.state.accounts


async def test_messages_faults_and_logs(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """Inject, receipts, sent, chats, faults, requests and deliveries over HTTP."""
    emu, session, iid = gateway.emu, gateway.session, gateway.instance_id
    await control(emu, session, "POST", f"instances/{iid}/webhook", {"url": receiver.url})
    injected = await control(
        emu, session, "POST", f"instances/{iid}/inbound", {"kind": "text", "text": "hello"}
    )
    assert injected["message"]["message"] == {"conversation": "hello"}
    assert len(receiver.bodies) == 2
    await control(emu, session, "POST", f"instances/{iid}/inbound", {"kind": "fax"}, expect=400)

    answer = await gateway.call("send", json_body={"number": "966501234567", "message": "Hi"})
    message_id = answer.message["key"]["id"]
    sent = await control(emu, session, "GET", f"instances/{iid}/sent")
    assert [m["message_id"] for m in sent["sent"]] == [message_id]
    receipts = await control(
        emu,
        session,
        "POST",
        f"instances/{iid}/receipts",
        {"message_id": message_id, "up_to": "read"},
    )
    assert [d["body"]["data"]["data"][0]["update"]["status"] for d in receipts["deliveries"]] == [
        2,
        3,
        4,
    ]
    chats = await control(emu, session, "GET", f"instances/{iid}/chats")
    (chat,) = chats["chats"]
    assert chat["jid"] == "966501234567@s.whatsapp.net"
    assert [m["direction"] for m in chat["messages"]] == ["in", "out"]
    inbound = await control(emu, session, "GET", f"instances/{iid}/inbound")
    assert len(inbound["inbound"]) == 1

    faulty = await control(
        emu, session, "POST", f"instances/{iid}/fault", {"kind": "quota", "count": 1}
    )
    assert faulty["fault"] == {"kind": "quota", "remaining": 1, "delay": 0.0}
    assert (await gateway.call("send", json_body={"number": "966501234567", "message": "x"})).body[
        "status"
    ] == "error"
    await control(emu, session, "POST", f"instances/{iid}/fault", {"kind": "html"})
    cleared = await control(emu, session, "DELETE", f"instances/{iid}/fault")
    assert cleared["fault"] is None
    await control(emu, session, "POST", f"instances/{iid}/fault", {"kind": "nope"}, expect=400)

    requests = await control(emu, session, "GET", "requests?endpoint=send")
    assert [r["endpoint"] for r in requests["requests"]] == ["send", "send"]
    assert requests["requests"][0]["json"] == {"number": "966501234567", "message": "Hi"}
    await control(emu, session, "DELETE", "requests")
    assert list(emu.requests) == []
    await emu.webhooks.drain()
    deliveries = await control(emu, session, "GET", "webhook_deliveries")
    assert {d["event"] for d in deliveries["deliveries"]} == {
        "messages.upsert",
        "received_message",
        "messages.update",
    }


async def test_stale_session_over_http(gateway: Gateway) -> None:
    """The phone page's stale-session switch over HTTP; logging out from the phone ends it."""
    emu, session, iid = gateway.emu, gateway.session, gateway.instance_id
    relogin = "This WhatsApp account relogin required"
    stale = await control(emu, session, "POST", f"instances/{iid}/fault", {"kind": "stale_session"})
    assert (stale["state"], stale["fault"]) == (
        "linked",
        {"kind": "stale_session", "remaining": None, "delay": 0.0},
    )
    assert (await gateway.call("send", json_body={"number": "966501234567", "message": "x"})).body[
        "message"
    ] == relogin
    cleared = await control(emu, session, "DELETE", f"instances/{iid}/fault")
    assert cleared["fault"] is None
    assert (await gateway.call("get_groups", method="GET")).body["status"] == "success"

    await control(emu, session, "POST", f"instances/{iid}/fault", {"kind": "stale_session"})
    out = await control(emu, session, "POST", f"instances/{iid}/logout_from_phone")
    assert (out["state"], out["fault"]) == ("logged_out", None)
    assert (await gateway.call("get_qrcode", method="GET")).body["base64"].startswith("data:")
    linked = await control(emu, session, "POST", f"instances/{iid}/link", {})
    assert (linked["state"], linked["fault"]) == ("linked", None)


async def test_phone_page(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """The page is self-contained HTML: no external URLs."""
    async with session.get(emulator.url) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        html = await response.text()
    assert "<script>" in html
    # The stale-session switch: shown on linked instances, through the fault endpoints.
    assert 'kind: "stale_session"' in html
    assert "Make session stale" in html
    assert "Clear stale session" in html
    assert "http://" not in html
    assert "https://" not in html.replace("https://example.com", "")


def test_command_line_defaults() -> None:
    """The CLI's defaults and options."""
    args = parse_args([])
    assert (args.host, args.port, args.token, args.linked, args.auto_link) == (
        "127.0.0.1",
        8900,
        None,
        False,
        None,
    )
    args = parse_args(
        ["--port", "0", "--token", "68d9d5b40d8e2", "--instance", "68DBB04FECCBA", "--linked"]
    )
    assert (args.port, args.token, args.instance, args.linked) == (
        0,
        "68d9d5b40d8e2",
        "68DBB04FECCBA",
        True,
    )
    assert parse_args(["--auto-link", "3", "--allow-private-webhooks"]).auto_link == 3.0


async def test_command_line_serves_until_interrupted(
    session: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    """scripts/emulator makes the account and instance asked for, says where it is; Ctrl-C stops."""
    args = parse_args(
        ["--port", "0", "--token", "68d9d5b40d8e2", "--instance", "68DBB04FECCBA", "--linked"]
    )
    serving = asyncio.create_task(run(args))
    printed = ""
    async with asyncio.timeout(10):
        while "Ctrl-C stops." not in printed:
            await asyncio.sleep(0.01)
            printed += capsys.readouterr().out
    assert "access token: 68d9d5b40d8e2" in printed
    assert "instance id:  68DBB04FECCBA (linked)" in printed
    match = re.search(r"control API:\s+(\S+)", printed)
    assert match is not None
    async with session.get(match[1] + "instances/68DBB04FECCBA") as response:
        assert (await response.json())["state"] == "linked"

    signal.raise_signal(signal.SIGINT)  # the handler run() installed sets its stop event
    await asyncio.wait_for(serving, 10)
    with pytest.raises(aiohttp.ClientConnectionError):
        await session.get(match[1] + "instances")


def test_command_line_ctrl_c_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C before the signal handlers are in place still ends with status 0."""

    async def interrupted(args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(command_line, "run", interrupted)
    assert main(["--port", "0"]) == 0
