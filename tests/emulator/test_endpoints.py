"""Every endpoint's success shape, its validation texts, and where parameters are read from."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from smartwats_emulator import Emulator
from tests.emulator.conftest import Gateway

NUMBER = "966501234567"
MESSAGE_ID = re.compile(r"3EB0[0-9A-F]{16}")


def sent_key(answer_body: dict[str, Any]) -> dict[str, Any]:
    """Return the key of the sent WAMessage in a send answer."""
    assert answer_body["status"] == "success"
    key: dict[str, Any] = answer_body["message"]["key"]
    assert key["fromMe"] is True
    assert MESSAGE_ID.fullmatch(key["id"])
    return key


async def test_send_text_json_envelope(gateway: Gateway) -> None:
    """Send answers the sent WAMessage under `message`, as text/html with HTTP 200."""
    answer = await gateway.call(
        "send", json_body={"number": NUMBER, "type": "text", "message": "Hello / world"}
    )
    assert answer.status == 200
    assert answer.content_type == "text/html"
    assert "\\/" in answer.text  # PHP's json_encode escapes slashes
    key = sent_key(answer.body)
    assert key["remoteJid"] == f"{NUMBER}@s.whatsapp.net"
    message = answer.message
    assert message["message"] == {"extendedTextMessage": {"text": "Hello / world"}}
    assert isinstance(message["messageTimestamp"], str)
    sent = list(gateway.emu.state.instance(gateway.instance_id).sent)
    assert [(s.type, s.to, s.message_id) for s in sent] == [
        ("text", f"{NUMBER}@s.whatsapp.net", key["id"])
    ]


async def test_parameter_sources(gateway: Gateway) -> None:
    """Send reads query, form and JSON; credentials may travel in its JSON body."""
    by_form = await gateway.call("send", form={"number": NUMBER, "message": "form"})
    assert by_form.body["status"] == "success"
    by_query = await gateway.call("send", query={"number": NUMBER, "message": "query"})
    assert by_query.body["status"] == "success"
    in_json = await gateway.call(
        "send", creds=False, json_body={**gateway.creds, "number": NUMBER, "message": "json"}
    )
    assert in_json.body["status"] == "success"
    batch = await gateway.call(
        "check_phones_batch", creds=False, json_body={**gateway.creds, "phones": [NUMBER]}
    )
    assert batch.body["status"] == "success"
    texts = [s.payload["message"] for s in gateway.emu.state.instance(gateway.instance_id).sent]
    assert texts == ["form", "query", "json"]


async def test_json_is_ignored_outside_the_send_family(gateway: Gateway) -> None:
    """set_webhook, get_paircode and the like read query and form only, never a JSON body."""
    body = {**gateway.creds, "webhook_url": "https://example.com/hook", "enable": "true"}
    answer = await gateway.call("set_webhook", creds=False, json_body=body)
    assert answer.body == {"status": "error", "message": "Access token is required"}
    answer = await gateway.call("set_webhook", json_body=body)
    assert answer.message == "Webhook URL is required"
    answer = await gateway.call("set_webhook", form={"webhook_url": "https://example.com/hook"})
    assert answer.message == "Enable field is required"


async def test_send_validation(gateway: Gateway) -> None:
    """The send endpoint's validation texts, and "Error" for a number that is not on WhatsApp."""
    cases: list[tuple[dict[str, str], str]] = [
        ({"message": "hi"}, "Recipient is required"),
        ({"number": NUMBER}, "Please enter media url or message"),
        (
            {"number": NUMBER, "type": "media", "message": "caption"},
            "Please enter media url or message",
        ),
        ({"number": "999123456", "message": "hi"}, "Error"),
    ]
    for body, message in cases:
        answer = await gateway.call("send", json_body=body)
        assert answer.body == {"status": "error", "message": message}, body
    assert list(gateway.emu.state.instance(gateway.instance_id).sent) == []


@pytest.mark.parametrize(
    ("url", "filename", "kind", "mimetype"),
    [
        ("https://example.com/a/photo.jpg", "", "imageMessage", "image/jpeg"),
        ("https://example.com/clip.mp4", "", "videoMessage", "video/mp4"),
        (
            "https://example.com/files/report.pdf",
            "Report.pdf",
            "documentMessage",
            "application/pdf",
        ),
    ],
)
async def test_send_media(
    gateway: Gateway, url: str, filename: str, kind: str, mimetype: str
) -> None:
    """Media is sent as image, video or document by the URL's type, with caption and name."""
    body = {"number": NUMBER, "type": "media", "media_url": url, "message": "Look"}
    if filename:
        body["filename"] = filename
    answer = await gateway.call("send", json_body=body)
    sent_key(answer.body)
    content = answer.message["message"][kind]
    assert content["mimetype"] == mimetype
    assert content["caption"] == "Look"
    assert content["url"].startswith("https://mmg.whatsapp.net/")
    if kind == "documentMessage":
        assert content["fileName"] == "Report.pdf"
    assert gateway.emu.state.instance(gateway.instance_id).sent[0].payload["media_url"] == url


async def test_send_group(gateway: Gateway) -> None:
    """send_group sends to a group the phone is in; an unknown group fails with "Error"."""
    group_id = gateway.emu.state.instance(gateway.instance_id).groups[0].id
    answer = await gateway.call(
        "send_group", json_body={"group_id": group_id, "type": "text", "message": "Hi all"}
    )
    assert sent_key(answer.body)["remoteJid"] == group_id
    answer = await gateway.call(
        "send_group", json_body={"group_id": "1203630999@g.us", "type": "text", "message": "x"}
    )
    assert answer.body == {"status": "error", "message": "Error"}
    answer = await gateway.call("send_group", json_body={"type": "text", "message": "x"})
    assert answer.message == "Recipient is required"


async def test_send_location(gateway: Gateway) -> None:
    """send_location sends a locationMessage; coordinates are required."""
    answer = await gateway.call(
        "send_location",
        json_body={
            "number": NUMBER,
            "latitude": 24.7136,
            "longitude": 46.6753,
            "name": "Riyadh",
            "address": "Riyadh, Saudi Arabia",
        },
    )
    sent_key(answer.body)
    assert answer.message["message"]["locationMessage"] == {
        "degreesLatitude": 24.7136,
        "degreesLongitude": 46.6753,
        "name": "Riyadh",
        "address": "Riyadh, Saudi Arabia",
    }
    answer = await gateway.call("send_location", json_body={"number": NUMBER, "latitude": 1})
    assert answer.message == "Latitude and longitude are required"


async def test_send_contact(gateway: Gateway) -> None:
    """send_contact sends a vCard with the number's waid."""
    answer = await gateway.call(
        "send_contact",
        json_body={"number": NUMBER, "contact_name": "John Doe", "contact_phone": "966509999999"},
    )
    sent_key(answer.body)
    card = answer.message["message"]["contactMessage"]
    assert card["displayName"] == "John Doe"
    assert "waid=966509999999:+966509999999" in card["vcard"]
    answer = await gateway.call("send_contact", json_body={"number": NUMBER})
    assert answer.message == "Contact name and contact phone are required"


async def test_send_audio(gateway: Gateway) -> None:
    """send_audio sends a voice note unless ptt is false."""
    voice = await gateway.call(
        "send_audio", json_body={"number": NUMBER, "audio_url": "https://example.com/v.mp3"}
    )
    audio = voice.message["message"]["audioMessage"]
    assert audio["ptt"] is True
    assert audio["mimetype"] == "audio/ogg; codecs=opus"
    song = await gateway.call(
        "send_audio",
        json_body={"number": NUMBER, "audio_url": "https://example.com/s.mp3", "ptt": False},
    )
    assert song.message["message"]["audioMessage"]["ptt"] is False
    missing = await gateway.call("send_audio", json_body={"number": NUMBER})
    assert missing.message == "Please enter media url or message"


async def test_send_album(gateway: Gateway) -> None:
    """send_album sends one message per item and answers with the last one only."""
    album = [
        {"type": "image", "url": "https://example.com/1.jpg"},
        {"type": "video", "url": "https://example.com/2.mp4"},
        {"url": "https://example.com/3.png"},
    ]
    answer = await gateway.call(
        "send_album", json_body={"number": NUMBER, "caption": "Trip", "album": album}
    )
    key = sent_key(answer.body)
    assert "imageMessage" in answer.message["message"]
    (sent,) = gateway.emu.state.instance(gateway.instance_id).sent
    assert sent.type == "album"
    assert len(sent.item_ids) == 3
    assert sent.item_ids[-1] == key["id"]
    assert [item["type"] for item in sent.payload["album"]] == ["image", "video", "image"]

    too_many = [{"type": "image", "url": f"https://example.com/{n}.jpg"} for n in range(11)]
    answer = await gateway.call("send_album", json_body={"number": NUMBER, "album": too_many})
    assert answer.message == "An album can contain up to 10 items"
    answer = await gateway.call("send_album", json_body={"number": NUMBER, "album": []})
    assert answer.message == "Please enter media url or message"


async def test_send_carousel(gateway: Gateway) -> None:
    """send_carousel takes `cards` or `templateCarousel`, and a full JID as number."""
    cards = [
        {
            "title": "Product 1",
            "body": "Great",
            "footer": "100 SAR",
            "image": {"url": "https://example.com/p1.png"},
            "buttons": [
                {"quickReplyButton": {"displayText": "Select", "id": "select_1"}},
                {"urlButton": {"displayText": "View", "url": "https://example.com/p1"}},
                {"copyButton": {"displayText": "Copy", "copyCode": "SAVE50"}},
                {"callButton": {"displayText": "Call", "phoneNumber": "+966534874887"}},
            ],
        }
    ]
    answer = await gateway.call(
        "send_carousel",
        json_body={
            "number": f"{NUMBER}@s.whatsapp.net",
            "text": "Choose",
            "title": "Shop",
            "footer": "smartwats.com",
            "templateCarousel": cards,
        },
    )
    assert sent_key(answer.body)["remoteJid"] == f"{NUMBER}@s.whatsapp.net"
    interactive = answer.message["message"]["viewOnceMessage"]["message"]["interactiveMessage"]
    (card,) = interactive["carouselMessage"]["cards"]
    buttons = card["nativeFlowMessage"]["buttons"]
    assert [b["name"] for b in buttons] == ["quick_reply", "cta_url", "cta_copy", "cta_call"]
    assert json.loads(buttons[0]["buttonParamsJson"]) == {
        "display_text": "Select",
        "id": "select_1",
    }
    by_cards = await gateway.call("send_carousel", json_body={"number": NUMBER, "cards": cards})
    sent_key(by_cards.body)
    missing = await gateway.call("send_carousel", json_body={"number": NUMBER})
    assert missing.message == "Cards are required"


async def test_get_groups(gateway: Gateway) -> None:
    """get_groups lists the demo groups; one has its participants as an index-keyed object."""
    answer = await gateway.call("get_groups", method="GET")
    assert answer.body["status"] == "success"
    groups = answer.body["data"]
    assert len(groups) == 3
    for group in groups:
        assert group["id"].endswith("@g.us")
        assert {"name", "size", "creation", "desc", "announce", "restrict"} <= group.keys()
    shapes = [type(group["participants"]).__name__ for group in groups]
    assert sorted(shapes) == ["dict", "list", "list"]
    as_object = next(g for g in groups if isinstance(g["participants"], dict))
    assert set(as_object["participants"]) == {"0", "1", "2"}
    assert as_object["size"] == 3


async def test_check_phone(gateway: Gateway) -> None:
    """check_phone answers onWhatsApp-style; a number not on WhatsApp is simply absent."""
    answer = await gateway.call("check_phone", method="GET", query={"phone": "+966 50 123 4567"})
    assert answer.body == {
        "status": "success",
        "message": "Success",
        "data": [{"jid": f"{NUMBER}@s.whatsapp.net", "exists": True}],
    }
    answer = await gateway.call("check_phone", method="GET", query={"phone": "999111222"})
    assert answer.body["data"] == []
    answer = await gateway.call("check_phone", method="GET")
    assert answer.message == "Phone number is required"


async def test_check_phones_batch(gateway: Gateway) -> None:
    """check_phones_batch omits the numbers that are not on WhatsApp."""
    answer = await gateway.call(
        "check_phones_batch", json_body={"phones": [NUMBER, "999000111", "966507654321"]}
    )
    assert answer.body["data"] == [
        {"jid": f"{NUMBER}@s.whatsapp.net", "exists": True},
        {"jid": "966507654321@s.whatsapp.net", "exists": True},
    ]
    by_form = await gateway.call(
        "check_phones_batch", form=[("phones[]", NUMBER), ("phones[]", "999000111")]
    )
    assert [item["jid"] for item in by_form.body["data"]] == [f"{NUMBER}@s.whatsapp.net"]
    missing = await gateway.call("check_phones_batch", json_body={"phones": []})
    assert missing.message == "Phone number is required"


async def test_not_activated(emulator: Emulator, gateway: Gateway) -> None:
    """Before the first scan, the linked-only endpoints say "not activated yet"."""
    gateway.instance_id = emulator.state.add_instance(gateway.token)
    for endpoint in ("send", "send_group", "get_groups", "set_webhook", "check_phone"):
        answer = await gateway.call(endpoint, json_body={"number": NUMBER, "message": "x"})
        assert answer.message == "This instance ID has not been activated yet", endpoint


async def test_unknown_endpoint(gateway: Gateway) -> None:
    """An unknown endpoint is a 404 HTML page, as the PHP router gives."""
    answer = await gateway.call("nope", method="GET")
    assert answer.status == 404
    assert answer.body is None


async def test_request_log(gateway: Gateway) -> None:
    """Every request is recorded with its endpoint, method and parameter sources."""
    await gateway.call("send", json_body={"number": NUMBER, "message": "hi"})
    await gateway.call("get_paircode", form={"phone": NUMBER})
    await gateway.call("get_groups", method="GET")
    send, paircode, groups = gateway.emu.requests
    assert (send.endpoint, send.method, send.instance_id) == ("send", "POST", gateway.instance_id)
    assert send.query == gateway.creds
    assert send.json == {"number": NUMBER, "message": "hi"}
    assert send.form == {}
    assert send.content_type == "application/json"
    assert paircode.form == {"phone": NUMBER}
    assert paircode.access_token == gateway.token
    assert (groups.endpoint, groups.method, groups.json) == ("get_groups", "GET", None)
