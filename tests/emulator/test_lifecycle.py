"""The linking lifecycle: QR → link → send → logout → relogin required, and the id checks."""

from __future__ import annotations

import asyncio
import base64
import re

import aiohttp

from smartwats_emulator import Emulator, InstanceState
from tests.emulator.conftest import Gateway

PNG_PREFIX = "data:image/png;base64,"


async def unlinked(emulator: Emulator, session: aiohttp.ClientSession) -> Gateway:
    """Return a gateway client for a new, not yet linked instance."""
    token = emulator.state.add_account()
    return Gateway(emulator, session, token, emulator.state.add_instance(token))


def text_message(number: str = "966501234567") -> dict[str, str]:
    """Return the JSON body of a text send."""
    return {"number": number, "type": "text", "message": "Hello"}


async def test_ids_look_like_the_real_ones(emulator: Emulator) -> None:
    """Tokens are 13 lower-case hex chars, instance ids 13 upper-case hex chars."""
    token = emulator.state.add_account()
    assert re.fullmatch(r"[0-9a-f]{13}", token)
    assert re.fullmatch(r"[0-9A-F]{13}", emulator.state.add_instance(token))
    assert emulator.state.add_account("68d9d5b40d8e2") == "68d9d5b40d8e2"


async def test_full_lifecycle(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """QR → scan → send → phone logs out → relogin required → new QR → scan → send."""
    gw = await unlinked(emulator, session)
    answer = await gw.call("send", json_body=text_message())
    assert answer.body == {
        "status": "error",
        "message": "This instance ID has not been activated yet",
    }
    assert emulator.state.instance(gw.instance_id).state is InstanceState.CREATED
    assert emulator.state.qr_payload(gw.instance_id) is None

    answer = await gw.call("get_qrcode", method="GET")
    assert answer.status == 200
    assert answer.body["status"] == "success"
    assert answer.body["message"] == "Success"
    assert answer.body["base64"].startswith(PNG_PREFIX)
    png = base64.b64decode(answer.body["base64"].removeprefix(PNG_PREFIX))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert emulator.state.instance(gw.instance_id).state is InstanceState.WAITING
    payload = emulator.state.qr_payload(gw.instance_id)
    assert payload is not None
    assert payload.startswith("2@")
    assert emulator.qr_data_uri(gw.instance_id) == answer.body["base64"]

    emulator.state.link(gw.instance_id)
    answer = await gw.call("get_qrcode", method="GET")
    assert answer.body == {"status": "error", "message": "Instance ID has been used"}
    assert emulator.state.qr_payload(gw.instance_id) is None
    answer = await gw.call("send", json_body=text_message())
    assert answer.body["status"] == "success"

    emulator.state.unlink(gw.instance_id)
    for endpoint in ("send", "send_location", "get_groups", "set_webhook", "check_phone"):
        answer = await gw.call(endpoint, json_body=text_message())
        assert answer.message == "This WhatsApp account relogin required", endpoint

    answer = await gw.call("get_qrcode", method="GET")
    assert answer.body["base64"].startswith(PNG_PREFIX)
    assert (await gw.call("send", json_body=text_message())).message == (
        "This WhatsApp account relogin required"
    )
    emulator.state.link(gw.instance_id)
    assert (await gw.call("send", json_body=text_message())).body["status"] == "success"


async def test_logout_endpoint(gateway: Gateway) -> None:
    """The API's logout unlinks; a second one says it was already logged out."""
    answer = await gateway.call("logout")
    assert answer.body == {"status": "success", "message": "Success"}
    answer = await gateway.call("logout")
    assert answer.body == {
        "status": "error",
        "message": "This account seems to have logged out before.",
    }
    answer = await gateway.call("get_groups", method="GET")
    assert answer.message == "This WhatsApp account relogin required"


async def test_create_instance(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """create_instance answers the new id, and hands out a never-linked one again."""
    token = emulator.state.add_account()
    gw = Gateway(emulator, session, token, "")
    answer = await gw.call("create_instance", creds=False, form={"access_token": token})
    assert answer.body["status"] == "success"
    assert answer.message == "Instance ID generated successfully"
    instance_id = answer.body["instance_id"]
    assert re.fullmatch(r"[0-9A-F]{13}", instance_id)
    again = await gw.call("create_instance", creds=False, query={"access_token": token})
    assert again.body["instance_id"] == instance_id

    emulator.state.link(instance_id)
    third = await gw.call("create_instance", creds=False, query={"access_token": token})
    assert third.body["instance_id"] != instance_id
    assert emulator.state.instance(third.body["instance_id"]).token == token


async def test_token_and_instance_errors(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """Missing, unknown, foreign and revoked credentials get the gateway's texts."""
    token = emulator.state.add_account()
    instance_id = emulator.state.add_instance(token, linked=True)
    other_token = emulator.state.add_account()
    other_instance = emulator.state.add_instance(other_token, linked=True)
    gw = Gateway(emulator, session, token, instance_id)

    async def message(params: dict[str, str]) -> str:
        answer = await gw.call("get_groups", method="GET", creds=False, query=params)
        assert answer.body["status"] == "error"
        return str(answer.message)

    assert await message({"instance_id": instance_id}) == "Access token is required"
    assert await message({"access_token": "0000000000000", "instance_id": instance_id}) == (
        "Access token does not exist"
    )
    assert await message({"access_token": token}) == "Instance ID is required"
    assert await message({"access_token": token, "instance_id": "AAAAAAAAAAAAA"}) == (
        "Instance ID Invalidated"
    )
    assert await message({"access_token": token, "instance_id": other_instance}) == (
        "Instance ID Invalidated"
    )
    emulator.state.invalidate_instance(instance_id)
    assert await message({"access_token": token, "instance_id": instance_id}) == (
        "The Instance ID provided has been invalidated"
    )
    emulator.state.revoke_token(other_token)
    assert await message({"access_token": other_token, "instance_id": other_instance}) == (
        "Access token does not exist"
    )


async def test_pair_code(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """get_paircode needs a phone, answers an 8-char code, and entering it links that phone."""
    gw = await unlinked(emulator, session)
    answer = await gw.call("get_paircode", method="GET")
    assert answer.body == {"status": "error", "message": "Phone number is required"}
    answer = await gw.call("get_paircode", form={"phone": "966512345678"})
    assert answer.body["status"] == "success"
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", answer.body["code"])
    assert emulator.state.instance(gw.instance_id).state is InstanceState.WAITING

    emulator.state.link(gw.instance_id)
    assert emulator.state.instance(gw.instance_id).phone == "966512345678"
    answer = await gw.call("get_paircode", form={"phone": "966512345678"})
    assert answer.message == "It seems that you have logged in successfully"


async def test_qr_rotates(socket_enabled: None, session: aiohttp.ClientSession) -> None:
    """The QR payload changes every qr_rotate_seconds while waiting for a scan."""
    async with Emulator(qr_rotate_seconds=0.05) as emu:
        gw = await unlinked(emu, session)
        first = await gw.call("get_qrcode", method="GET")
        payload = emu.state.qr_payload(gw.instance_id)
        assert emu.state.qr_payload(gw.instance_id) == payload
        await asyncio.sleep(0.08)
        second = await gw.call("get_qrcode", method="GET")
        assert emu.state.qr_payload(gw.instance_id) != payload
        assert second.body["base64"] != first.body["base64"]


async def test_auto_link(socket_enabled: None, session: aiohttp.ClientSession) -> None:
    """With auto_link_after an instance waiting for a scan links itself."""
    async with Emulator(auto_link_after=0.05) as emu:
        gw = await unlinked(emu, session)
        assert (await gw.call("get_qrcode", method="GET")).body["status"] == "success"
        await asyncio.sleep(0.08)
        answer = await gw.call("get_qrcode", method="GET")
        assert answer.message == "Instance ID has been used"
        assert emu.state.instance(gw.instance_id).state is InstanceState.LINKED
