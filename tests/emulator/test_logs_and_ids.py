"""The emulator's logs stay bounded, and a seed makes its ids and QR payloads reproducible."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from smartwats_emulator import LOG_LIMIT, Emulator
from smartwats_emulator.__main__ import parse_args
from tests.emulator.conftest import Gateway


def test_logs_keep_the_newest_entries() -> None:
    """Requests, deliveries, sent and inbound messages: LOG_LIMIT each, the oldest go first."""
    emu = Emulator()
    token = emu.state.add_account()
    instance = emu.state.instance(emu.state.add_instance(token))
    logs = (emu.requests, emu.webhooks.deliveries, instance.sent, instance.inbound)
    assert [log.maxlen for log in logs] == [LOG_LIMIT] * 4
    assert LOG_LIMIT == 10_000


async def run_once(session: aiohttp.ClientSession, seed: int | None) -> dict[str, Any]:
    """Make the same calls on a new emulator; return every id and QR payload it made up."""
    async with Emulator(seed=seed) as emu:
        token = emu.state.add_account()
        instance_id = emu.state.add_instance(token)
        gateway = Gateway(emu, session, token, instance_id)
        qr = (await gateway.call("get_qrcode", method="GET")).body["base64"]
        payload = emu.state.qr_payload(instance_id)
        pair = await gateway.call("get_paircode", query={"phone": "966501234567"})
        emu.state.link(instance_id)
        send = await gateway.call("send", json_body={"number": "966501234567", "message": "Hi"})
        received = await emu.inject_inbound(instance_id, "text", lid=True)
        groups = emu.state.instance(instance_id).groups
        return {
            "token": token,
            "instance_id": instance_id,
            "qr_payload": payload,
            "qr": qr,
            "pair_code": pair.body["code"],
            "sent_id": send.message["key"]["id"],
            "inbound_key": received["key"],
            "groups": [(group.id, group.participants) for group in groups],
        }


async def test_same_seed_same_ids(session: aiohttp.ClientSession) -> None:
    """Two emulators with one seed make up the same ids and QR payloads; they still look real."""
    first = await run_once(session, 7)
    assert first == await run_once(session, 7)
    assert re.fullmatch(r"[0-9a-f]{13}", first["token"])
    assert re.fullmatch(r"[0-9A-F]{13}", first["instance_id"])
    assert first["qr_payload"].startswith("2@")
    assert re.fullmatch(r"3EB0[0-9A-F]{16}", first["sent_id"])
    assert re.fullmatch(r"3A[0-9A-F]{18}", first["inbound_key"]["id"])
    assert re.fullmatch(r"\d{15}@lid", first["inbound_key"]["remoteJid"])
    assert all(re.fullmatch(r"1203630\d{11}@g\.us", group_id) for group_id, _ in first["groups"])


async def test_other_seed_or_none_other_ids(session: aiohttp.ClientSession) -> None:
    """Another seed makes other ids; without a seed every run differs."""
    seeded = await run_once(session, 7)
    other = await run_once(session, 8)
    unseeded = [await run_once(session, None), await run_once(session, None)]
    for run in (other, *unseeded):
        for key, value in seeded.items():
            assert run[key] != value, key
    for key, value in unseeded[0].items():
        assert unseeded[1][key] != value, key


def test_command_line_seed() -> None:
    """--seed N, none by default."""
    assert parse_args([]).seed is None
    assert parse_args(["--seed", "42"]).seed == 42
