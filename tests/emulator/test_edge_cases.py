"""The emulator's parts on their own: misuse is refused clearly, odd input is read as PHP would."""

from __future__ import annotations

from collections.abc import Iterator
import socket
from typing import Any

import aiohttp
import pytest

from smartwats_emulator import (
    Emulator,
    EmulatorError,
    GatewayState,
    UnknownIdError,
    state as state_module,
)
from smartwats_emulator.outbound import file_name, guess_mimetype, native_flow_button
from smartwats_emulator.params import RequestParams
from smartwats_emulator.wamessages import build_inbound
from smartwats_emulator.webhooks import WebhookDispatcher, webhook_url_is_valid
from tests.emulator.conftest import Gateway

OWN = "966500000001@s.whatsapp.net"
GROUP = "120363012345678901@g.us"


def inbound(kind: str, default_group: str | None = GROUP, **fields: Any) -> dict[str, Any]:
    """Build an inbound WAMessage of the instance's phone."""
    return build_inbound(kind, fields, own_jid=OWN, default_group=default_group)


# -- state -----------------------------------------------------------------------------------------


def test_state_refuses_misuse() -> None:
    """Bad settings, empty or taken ids, unknown tokens and instances, impossible transitions."""
    with pytest.raises(ValueError, match="positive"):
        GatewayState(qr_rotate_seconds=0)
    gateway = GatewayState()
    with pytest.raises(EmulatorError, match="empty"):
        gateway.add_account("")
    token = gateway.add_account("68d9d5b40d8e2")
    with pytest.raises(EmulatorError, match="already exists"):
        gateway.add_account(token)
    with pytest.raises(UnknownIdError):
        gateway.add_instance("nope")
    instance_id = gateway.add_instance(token, linked=True)
    with pytest.raises(EmulatorError, match="taken"):
        gateway.add_instance(token, instance_id=instance_id)
    with pytest.raises(UnknownIdError):
        gateway.revoke_token("nope")
    with pytest.raises(EmulatorError, match="already linked"):
        gateway.start_waiting(gateway.instance(instance_id))
    with pytest.raises(UnknownIdError):
        gateway.link("nope")
    gateway.invalidate_instance(instance_id)
    with pytest.raises(EmulatorError, match="invalidated"):
        gateway.link(instance_id)


def test_waiting_instance_that_links_itself_shows_no_qr() -> None:
    """With auto-linking due at once, asking for a QR finds the instance linked."""
    gateway = GatewayState(auto_link_after=0)
    instance_id = gateway.add_instance(gateway.add_account())
    with pytest.raises(EmulatorError, match="already linked"):
        gateway.start_waiting(gateway.instance(instance_id))


def test_made_up_ids_never_clash(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token or instance id that is taken already is made up again."""
    tokens = iter(["68d9d5b40d8e2", "68d9d5b40d8e2", "68d9d5b40d8e3"])
    ids = iter(["68DBB04FECCBA", "68DBB04FECCBA", "68DBB04FECCBB"])
    monkeypatch.setattr(state_module, "new_token", lambda _rng: next(tokens))
    monkeypatch.setattr(state_module, "new_instance_id", lambda _rng: next(ids))
    gateway = GatewayState()
    first, second = gateway.add_account(), gateway.add_account()
    assert [first, second] == ["68d9d5b40d8e2", "68d9d5b40d8e3"]
    assert [gateway.add_instance(first), gateway.add_instance(first)] == [
        "68DBB04FECCBA",
        "68DBB04FECCBB",
    ]


# -- inbound messages ------------------------------------------------------------------------------


def test_inbound_options_and_their_errors() -> None:
    """Flags as text or booleans, group reactions, list descriptions; bad options are refused."""
    reaction = inbound("reaction", group=True, target_from_me="yes")
    assert reaction["message"]["reactionMessage"]["key"]["participant"] == OWN
    assert (
        "participant"
        not in inbound("reaction", target_from_me=False)["message"]["reactionMessage"]["key"]
    )
    listed = inbound("list_reply", description="The first")["message"]["listResponseMessage"]
    assert listed["description"] == "The first"
    refused: list[tuple[str, dict[str, Any], str]] = [
        ("location", {"latitude": [1]}, "must be a number"),
        ("text", {"timestamp_style": "roman"}, "unknown timestamp_style"),
        ("text", {"from_number": "abc"}, "must contain digits"),
        ("text", {"wrap": "gift"}, "unknown wrap"),
    ]
    for kind, fields, match in refused:
        with pytest.raises(ValueError, match=match):
            inbound(kind, **fields)
    with pytest.raises(ValueError, match="no group"):
        inbound("text", default_group=None, group=True)


# -- request parameters, media, webhook URLs -------------------------------------------------------


def test_parameters_read_like_php() -> None:
    """Objects come as JSON text; lists may come JSON-encoded; anything else is no list."""
    params = RequestParams(
        {"card": {"a": 1}, "album": '[{"url": "x"}]', "broken": "[nope", "number": 5}
    )
    assert params.text("card") == '{"a": 1}'
    assert params.items("album") == [{"url": "x"}]
    assert params.items("broken") == []
    assert params.items("number") == []


async def test_uploads_and_broken_json_are_ignored(gateway: Gateway) -> None:
    """An uploaded file is no field (the gateway takes URLs); a body that is no JSON is none."""
    form = aiohttp.FormData({"number": "966501234567", "message": "Hi"})
    form.add_field("media", b"\x89PNG", filename="a.png", content_type="image/png")
    async with gateway.session.post(
        gateway.emu.api_url + "send", params=gateway.creds, data=form
    ) as response:
        assert '"success"' in await response.text()
    assert "media" not in gateway.emu.requests[-1].form
    async with gateway.session.post(
        gateway.emu.api_url + "send",
        params=gateway.creds,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    ) as response:
        assert '"error"' in await response.text()
    assert gateway.emu.requests[-1].json is None


def test_media_names_and_buttons() -> None:
    """Extensions Python does not know, URLs without a name, buttons of no known kind."""
    assert guess_mimetype("https://x/voice.opus") == "audio/ogg"
    assert file_name("https://x/") == "file"
    assert native_flow_button({"unknownButton": {}}) is None


async def test_webhook_urls_and_deliveries_before_start() -> None:
    """A URL that does not parse is invalid; a dispatcher delivers only once started."""
    assert not webhook_url_is_valid("http://[::1", allow_private=True)
    gateway = GatewayState()
    instance = gateway.instance(gateway.add_instance(gateway.add_account(), linked=True))
    gateway.set_webhook(instance.instance_id, "http://127.0.0.1:9/hook")
    with pytest.raises(RuntimeError, match="not started"):
        await WebhookDispatcher().deliver(instance, "messages.upsert", {})


# -- the server and the control API ----------------------------------------------------------------


@pytest.fixture
def busy_port(socket_enabled: None) -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


async def test_server_misuse(busy_port: int) -> None:
    """No URL before the start, no second start, and a port in use leaves nothing running."""
    emu = Emulator()
    with pytest.raises(EmulatorError, match="not started"):
        _ = emu.url
    with pytest.raises(OSError, match="address"):
        await emu.start(port=busy_port)
    async with emu:
        with pytest.raises(EmulatorError, match="already started"):
            await emu.start()


async def test_control_bodies(gateway: Gateway, session: aiohttp.ClientSession) -> None:
    """No body is an empty one; a body that is no object is a bad request; a phone is taken."""
    base = f"{gateway.emu.url}_emulator/instances"
    async with session.post(f"{base}/{gateway.instance_id}/link") as response:
        assert response.status == 200
    async with session.post(base, json=["not", "an", "object"]) as response:
        assert response.status == 400
        assert "JSON object" in (await response.json())["error"]
    async with session.post(base, json={"phone": "966533333333"}) as response:
        created = (await response.json())["instance"]
    assert created["phone"] == "966533333333"
    async with session.get(f"{base}/{created['instance_id']}") as response:
        assert (await response.json())["instance_id"] == created["instance_id"]
