"""Webhook set-up and delivery: body shapes, filtering, the fromMe echo, receipts."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from smartwats_emulator import Emulator, EmulatorError, UnknownIdError
from tests.emulator.conftest import Gateway, WebhookReceiver

NUMBER = "966501234567"


async def hook(gateway: Gateway, receiver: WebhookReceiver, events: str = "") -> None:
    """Point the instance's webhook at the receiver through the API."""
    form = {"webhook_url": receiver.url, "enable": "true", "allowed_events": events}
    answer = await gateway.call("set_webhook", form=form)
    assert answer.body == {"status": "success", "message": "Webhook URI Saved"}


def upsert_message(body: dict[str, Any]) -> dict[str, Any]:
    """Return the single WAMessage of a messages.upsert body."""
    (message,) = body["data"]["data"]["messages"]
    assert isinstance(message, dict)
    return message


async def test_set_webhook_validation(socket_enabled: None, session: aiohttp.ClientSession) -> None:
    """Without allow_private_webhooks the URL must be public HTTPS."""
    async with Emulator() as emu:
        token = emu.state.add_account()
        gw = Gateway(emu, session, token, emu.state.add_instance(token, linked=True))
        for url in (
            "http://example.com/hook",
            "https://localhost/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://192.168.1.5/hook",
            "not a url",
        ):
            answer = await gw.call("set_webhook", form={"webhook_url": url, "enable": "true"})
            assert answer.body == {"status": "error", "message": "Webhook URL is not a valid URL"}
        answer = await gw.call(
            "set_webhook", form={"webhook_url": "https://hooks.example.com/x", "enable": "true"}
        )
        assert answer.message == "Webhook URI Saved"


async def test_enable_is_compared_to_true(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """enable=1 disables the webhook: only the string "true" enables it."""
    await gateway.call("set_webhook", form={"webhook_url": receiver.url, "enable": "1"})
    assert gateway.emu.state.instance(gateway.instance_id).webhook_enabled is False
    await gateway.emu.inject_inbound(gateway.instance_id, "text")
    assert receiver.bodies == []
    await hook(gateway, receiver)
    await gateway.emu.inject_inbound(gateway.instance_id, "text")
    assert len(receiver.bodies) == 2


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        ("", ["messages.upsert", "received_message"]),
        ("received_message", ["received_message"]),
        ("messages.upsert", ["messages.upsert"]),
        ("received_message,messages.update", ["received_message"]),
        ("messages.upsert,received_message", ["messages.upsert", "received_message"]),
    ],
)
async def test_allowed_events_substring(
    gateway: Gateway, receiver: WebhookReceiver, allowed: str, expected: list[str]
) -> None:
    """allowed_events is matched by substring; empty means every event."""
    await hook(gateway, receiver, allowed)
    await gateway.emu.inject_inbound(gateway.instance_id, "text")
    assert [body["data"]["event"] for body in receiver.bodies] == expected


async def test_allowed_events_array_form(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """allowed_events[] form fields are stored comma-joined."""
    form = [
        ("webhook_url", receiver.url),
        ("enable", "true"),
        ("allowed_events[]", "received_message"),
        ("allowed_events[]", "messages.update"),
    ]
    answer = await gateway.call("set_webhook", form=form)
    assert answer.body["status"] == "success"
    instance = gateway.emu.state.instance(gateway.instance_id)
    assert instance.allowed_events == "received_message,messages.update"


async def test_send_echo(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """A send comes back shortly after the answer as messages.upsert, type append, fromMe."""
    await hook(gateway, receiver)
    answer = await gateway.call("send", json_body={"number": NUMBER, "message": "Hi"})
    assert list(gateway.emu.webhooks.deliveries) == []  # the echo follows the answer
    await gateway.emu.webhooks.drain()
    (body,) = receiver.bodies
    assert body["instance_id"] == gateway.instance_id
    assert body["data"]["event"] == "messages.upsert"
    assert body["data"]["data"]["type"] == "append"
    message = upsert_message(body)
    assert message["key"] == answer.message["key"]
    assert message["key"]["fromMe"] is True
    event, url, posted, result = gateway.emu.webhooks.deliveries[0]
    assert (event, url, posted, result) == ("messages.upsert", receiver.url, body, 200)


async def test_album_echo_per_item(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """Each album item is echoed as its own message."""
    await hook(gateway, receiver)
    album = [
        {"type": "image", "url": "https://e.com/1.jpg"},
        {"type": "image", "url": "https://e.com/2.jpg"},
    ]
    await gateway.call("send_album", json_body={"number": NUMBER, "album": album})
    await gateway.emu.webhooks.drain()
    ids = [upsert_message(body)["key"]["id"] for body in receiver.bodies]
    assert ids == gateway.emu.state.instance(gateway.instance_id).sent[0].item_ids


async def test_inbound_text_both_events(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """An inbound text is posted as messages.upsert (notify) and as received_message."""
    await hook(gateway, receiver)
    message = await gateway.emu.inject_inbound(
        gateway.instance_id, "text", text="turn on the lights", push_name="Ahmed"
    )
    upsert, received = receiver.bodies
    assert upsert == {
        "instance_id": gateway.instance_id,
        "data": {"event": "messages.upsert", "data": {"type": "notify", "messages": [message]}},
    }
    assert message["key"]["remoteJid"] == f"{NUMBER}@s.whatsapp.net"
    assert message["key"]["fromMe"] is False
    assert message["message"] == {"conversation": "turn on the lights"}
    assert message["pushName"] == "Ahmed"
    assert isinstance(message["messageTimestamp"], int)
    assert received == {
        "instance_id": gateway.instance_id,
        "data": {
            "event": "received_message",
            "message": {
                "body_message": {
                    "content": "turn on the lights",
                    "type": "textMessage",
                    "messages": {"conversation": "turn on the lights"},
                },
                "message_key": message["key"],
                "push_name": "Ahmed",
                "from_contact": NUMBER,
            },
        },
    }
    assert (
        gateway.emu.state.instance(gateway.instance_id).inbound[0].message_id
        == message["key"]["id"]
    )


KIND_CASES: list[tuple[str, dict[str, Any], str, dict[str, Any], str, str]] = [
    # kind, fields, content key, expected subset of the content, received_message type, content
    (
        "reply",
        {"text": "yes", "quoted_id": "3EB0AAA"},
        "extendedTextMessage",
        {"text": "yes"},
        "textMessage",
        "yes",
    ),
    ("image", {"caption": "cat"}, "imageMessage", {"caption": "cat"}, "imageMessage", "cat"),
    (
        "video",
        {"caption": "clip"},
        "videoMessage",
        {"mimetype": "video/mp4"},
        "videoMessage",
        "clip",
    ),
    (
        "document",
        {"file_name": "bill.pdf"},
        "documentMessage",
        {"fileName": "bill.pdf", "mimetype": "application/pdf"},
        "emptyMessage",
        "👋",
    ),
    ("audio", {"seconds": 30}, "audioMessage", {"ptt": False, "seconds": 30}, "audioMessage", ""),
    ("voice", {"seconds": 4}, "audioMessage", {"ptt": True, "seconds": 4}, "audioMessage", ""),
    (
        "location",
        {"latitude": 1.5, "longitude": 2.5, "name": "Home"},
        "locationMessage",
        {"degreesLatitude": 1.5, "degreesLongitude": 2.5, "name": "Home"},
        "emptyMessage",
        "👋",
    ),
    (
        "contact",
        {"display_name": "Sara", "phone": "966511111111"},
        "contactMessage",
        {"displayName": "Sara"},
        "emptyMessage",
        "👋",
    ),
    ("sticker", {}, "stickerMessage", {"mimetype": "image/webp"}, "stickerMessage", ""),
    (
        "reaction",
        {"target_id": "3EB0BBB", "emoji": "❤️"},
        "reactionMessage",
        {"text": "❤️"},
        "emptyMessage",
        "👋",
    ),
    (
        "button_reply",
        {"button_id": "yes_1", "display_text": "Yes"},
        "buttonsResponseMessage",
        {"selectedButtonId": "yes_1", "selectedDisplayText": "Yes"},
        "buttonsResponseMessage",
        "Yes",
    ),
    (
        "template_reply",
        {"selected_id": "select_2", "display_text": "Select", "index": 0, "card_index": 1},
        "templateButtonReplyMessage",
        {"selectedId": "select_2", "selectedIndex": 0, "selectedCarouselCardIndex": 1},
        "templateButtonReplyMessage",
        "Select",
    ),
    (
        "list_reply",
        {"row_id": "row_7", "title": "Seven"},
        "listResponseMessage",
        {"title": "Seven", "singleSelectReply": {"selectedRowId": "row_7"}},
        "listResponseMessage",
        "Seven",
    ),
    (
        "native_flow_reply",
        {"button_id": "nf_1", "display_text": "Go"},
        "interactiveResponseMessage",
        {"body": {"text": "Go", "format": "DEFAULT"}},
        "emptyMessage",
        "👋",
    ),
]


@pytest.mark.parametrize("case", KIND_CASES, ids=[case[0] for case in KIND_CASES])
async def test_inbound_kinds(
    gateway: Gateway,
    receiver: WebhookReceiver,
    case: tuple[str, dict[str, Any], str, dict[str, Any], str, str],
) -> None:
    """Each inbound kind puts its content where the note's table says, in both events."""
    kind, fields, key, subset, digest_type, digest_content = case
    await hook(gateway, receiver)
    message = await gateway.emu.inject_inbound(gateway.instance_id, kind, **fields)
    content = message["message"][key]
    assert subset.items() <= content.items()
    assert upsert_message(receiver.bodies[0]) == message
    digest = receiver.events("received_message")[0]["data"]["message"]["body_message"]
    assert (digest["type"], digest["content"]) == (digest_type, digest_content)
    if digest_type == "emptyMessage":
        assert digest["messages"] == {"conversation": "👋"}
    else:
        assert digest["messages"] == message["message"]


async def test_inbound_details(gateway: Gateway) -> None:
    """Quotes, native-flow ids, reactions and captioned documents have their extra fields."""
    emu, iid = gateway.emu, gateway.instance_id
    reply = await emu.inject_inbound(iid, "extended_text", text="ok", quoted_id="3EB0QUOTED")
    assert reply["message"]["extendedTextMessage"]["contextInfo"]["stanzaId"] == "3EB0QUOTED"
    flow = await emu.inject_inbound(iid, "native_flow_reply", button_id="nf_9")
    params = flow["message"]["interactiveResponseMessage"]["nativeFlowResponseMessage"]
    assert json.loads(params["paramsJson"])["id"] == "nf_9"
    reaction = await emu.inject_inbound(iid, "reaction", target_id="3EB0TARGET")
    assert reaction["message"]["reactionMessage"]["key"]["id"] == "3EB0TARGET"
    document = await emu.inject_inbound(iid, "document", caption="see", file_name="a.pdf")
    inner = document["message"]["documentWithCaptionMessage"]["message"]["documentMessage"]
    assert (inner["caption"], inner["fileName"]) == ("see", "a.pdf")


async def test_inbound_addressing(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """Group messages name the sender in participant; LID chats carry the phone JID beside."""
    await hook(gateway, receiver)
    emu, iid = gateway.emu, gateway.instance_id
    group_id = emu.state.instance(iid).groups[1].id
    in_group = await emu.inject_inbound(iid, "text", group=group_id, from_number="966502222222")
    assert in_group["key"]["remoteJid"] == group_id
    assert in_group["key"]["participant"] == "966502222222@s.whatsapp.net"
    digest = receiver.events("received_message")[0]["data"]["message"]
    assert digest["from_contact"] == group_id.split("@")[0]
    assert digest["message_key"]["participant"] == "966502222222@s.whatsapp.net"

    by_lid = await emu.inject_inbound(iid, "text", lid="123456789012345", from_number=NUMBER)
    assert by_lid["key"]["remoteJid"] == "123456789012345@lid"
    assert by_lid["key"]["remoteJidAlt"] == f"{NUMBER}@s.whatsapp.net"

    group_lid = await emu.inject_inbound(iid, "text", group=True, lid=True)
    assert group_lid["key"]["remoteJid"] == emu.state.instance(iid).groups[0].id
    assert group_lid["key"]["participant"].endswith("@lid")
    assert group_lid["key"]["participantAlt"] == f"{NUMBER}@s.whatsapp.net"


async def test_inbound_wrapping_and_timestamps(gateway: Gateway) -> None:
    """Wrappers and the four timestamp shapes."""
    emu, iid = gateway.emu, gateway.instance_id
    eph = await emu.inject_inbound(iid, "text", text="x", wrap="ephemeral")
    assert eph["message"] == {"ephemeralMessage": {"message": {"conversation": "x"}}}
    once = await emu.inject_inbound(iid, "image", wrap="view_once")
    assert "imageMessage" in once["message"]["viewOnceMessageV2"]["message"]
    ts = 1718000000
    shapes = {
        "number": ts,
        "string": "1718000000",
        "ms": ts * 1000,
        "long": {"low": ts, "high": 0, "unsigned": False},
    }
    for style, expected in shapes.items():
        message = await emu.inject_inbound(iid, "text", timestamp=ts, timestamp_style=style)
        assert message["messageTimestamp"] == expected


async def test_inbound_misuse(emulator: Emulator, gateway: Gateway) -> None:
    """Unknown kinds and fields raise; an instance that is not linked receives nothing."""
    with pytest.raises(ValueError, match="unknown inbound kind"):
        await gateway.emu.inject_inbound(gateway.instance_id, "fax")
    with pytest.raises(ValueError, match="captoin"):
        await gateway.emu.inject_inbound(gateway.instance_id, "image", captoin="x")
    unlinked = emulator.state.add_instance(gateway.token)
    with pytest.raises(EmulatorError, match="not linked"):
        await emulator.inject_inbound(unlinked, "text")


async def test_receipts(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """send_receipts posts messages.update with status 2, 3, 4, one post each."""
    await hook(gateway, receiver, "messages.update")
    answer = await gateway.call("send", json_body={"number": NUMBER, "message": "Hi"})
    message_id = answer.message["key"]["id"]
    deliveries = await gateway.emu.send_receipts(gateway.instance_id, message_id)
    assert [d.result for d in deliveries] == [200, 200, 200]
    statuses = []
    for body in receiver.bodies:
        assert body["data"]["event"] == "messages.update"
        (update,) = body["data"]["data"]
        assert update["key"] == {
            "remoteJid": f"{NUMBER}@s.whatsapp.net",
            "fromMe": True,
            "id": message_id,
        }
        statuses.append(update["update"]["status"])
    assert statuses == [2, 3, 4]
    await gateway.emu.send_receipts(gateway.instance_id, message_id, up_to="delivered")
    assert len(receiver.bodies) == 5


async def test_group_receipts_not_forwarded(gateway: Gateway, receiver: WebhookReceiver) -> None:
    """Receipts of group messages are not forwarded by the gateway."""
    await hook(gateway, receiver, "messages.update")
    group_id = gateway.emu.state.instance(gateway.instance_id).groups[0].id
    answer = await gateway.call("send_group", json_body={"group_id": group_id, "message": "x"})
    assert await gateway.emu.send_receipts(gateway.instance_id, answer.message["key"]["id"]) == []
    with pytest.raises(UnknownIdError):
        await gateway.emu.send_receipts(gateway.instance_id, "3EB0NOPE")
    with pytest.raises(EmulatorError, match="up_to"):
        await gateway.emu.send_receipts(gateway.instance_id, "3EB0NOPE", up_to="seen")


async def test_delivery_failures_are_recorded_once(
    gateway: Gateway, receiver: WebhookReceiver
) -> None:
    """A failing webhook is tried once; the status or the error text is recorded."""
    receiver.status = 500
    await hook(gateway, receiver, "received_message")
    await gateway.emu.inject_inbound(gateway.instance_id, "text")
    assert [d.result for d in gateway.emu.webhooks.deliveries] == [500]
    assert len(receiver.bodies) == 1

    gateway.emu.state.set_webhook(gateway.instance_id, "http://127.0.0.1:9/closed")
    await gateway.emu.inject_inbound(gateway.instance_id, "text")
    failures = list(gateway.emu.webhooks.deliveries)[1:]
    assert len(failures) == 2
    assert all(isinstance(d.result, str) and "Error" in d.result for d in failures)
