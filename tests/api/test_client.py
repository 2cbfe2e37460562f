"""Tests of the client over real HTTP against a scripted gateway (shapes the emulator lacks)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.smartwats.api import (
    DEFAULT_BASE_URL,
    AlbumItem,
    CallButton,
    CarouselCard,
    CopyButton,
    Group,
    GroupParticipant,
    InvalidPhoneNumberError,
    LinkState,
    LinkStatus,
    PhoneCheck,
    QuickReplyButton,
    SmartwatsAlreadyLinkedError,
    SmartwatsAuthError,
    SmartwatsClient,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsInstanceError,
    SmartwatsLoggedOutError,
    SmartwatsNotLinkedError,
    SmartwatsNotReadyError,
    SmartwatsOutcomeUnknownError,
    SmartwatsQuotaError,
    SmartwatsRequestError,
    UrlButton,
)
from smartwats_emulator import Emulator, Fault

from .conftest import INSTANCE_ID, TOKEN, ClientFactory, Reply, ScriptedGateway

PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6"
    "kgAAAABJRU5ErkJggg=="
)
PNG_URI = f"data:image/png;base64,{PNG_B64}"
SENT = {
    "status": "success",
    "message": {
        "key": {"remoteJid": "966501234567@s.whatsapp.net", "fromMe": True, "id": "3EB0A1"},
        "message": {"extendedTextMessage": {"text": "Hello"}},
        "messageTimestamp": "1718000000",
        "status": "SUCCESS",
    },
}
CARD = CarouselCard(
    "First",
    "Body",
    "https://x/1.png",
    [QuickReplyButton("Pick", "p1"), UrlButton("View", "https://x/1")],
    footer="100 SAR",
)


# -- transport conventions ---------------------------------------------------------------------


async def test_send_text_request(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """Credentials go in the query, the send body is JSON, JSON is asked for."""
    gateway.reply("send", SENT)
    result = await make_client().send_text("+966 50-123 4567", "Hello")
    assert result.message_id == "3EB0A1"
    assert result.raw == SENT
    (request,) = gateway.requests
    assert request.method == "POST"
    assert request.query == {"instance_id": INSTANCE_ID, "access_token": TOKEN}
    assert request.headers["Accept"] == "application/json"
    assert request.content_type == "application/json"
    assert request.json() == {"number": "966501234567", "type": "text", "message": "Hello"}


@pytest.mark.parametrize("suffix", ["", "/", "//"])
async def test_base_url_with_or_without_slash(
    make_client: ClientFactory, gateway: ScriptedGateway, suffix: str
) -> None:
    """The base URL works with or without its trailing slash."""
    client = make_client(base_url=gateway.url.rstrip("/") + suffix)
    assert client.base_url == gateway.url
    await client.get_groups()
    assert gateway.requests[0].endpoint == "get_groups"


async def test_set_webhook_form(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """set_webhook posts a form with enable as literal true/false and events comma-joined."""
    client = make_client()
    await client.set_webhook(
        "https://h/hook", allowed_events=["received_message", " messages.update"]
    )
    await client.set_webhook("https://h/hook", enable=False)
    await client.set_webhook("https://h/hook", allowed_events=[])
    await client.set_webhook("https://h/hook", allowed_events="a,b")
    first, second, third, fourth = gateway.seen("set_webhook")
    assert first.method == "POST"
    assert first.content_type == "application/x-www-form-urlencoded"
    assert first.query == {"instance_id": INSTANCE_ID, "access_token": TOKEN}
    assert first.form() == {
        "webhook_url": "https://h/hook",
        "enable": "true",
        "allowed_events": "received_message,messages.update",
    }
    assert second.form() == {"webhook_url": "https://h/hook", "enable": "false"}
    assert third.form()["allowed_events"] == ""
    assert fourth.form()["allowed_events"] == "a,b"
    with pytest.raises(ValueError, match="Webhook URL"):
        await client.set_webhook("")


async def test_create_instance(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """create_instance needs no instance id and posts a form; the id may be nested in data."""
    gateway.reply(
        "create_instance",
        {"status": "success", "message": "Instance ID generated successfully", "instance_id": "A1"},
        {"status": "success", "data": {"instance_id": "B2"}},
        {"status": "success", "message": "Instance ID generated successfully"},
    )
    client = make_client(instance_id=None)
    assert await client.create_instance() == "A1"
    assert client.instance_id is None
    assert await client.create_instance() == "B2"
    with pytest.raises(SmartwatsRequestError, match="no instance id"):
        await client.create_instance()
    request = gateway.requests[0]
    assert request.method == "POST"
    assert request.query == {"access_token": TOKEN}
    assert request.content_type == "application/x-www-form-urlencoded"


async def test_calls_need_an_instance(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """Without an instance id no request is made; the id can be set later."""
    client = make_client(instance_id=None)
    with pytest.raises(SmartwatsInstanceError, match="Instance ID is required"):
        await client.get_groups()
    assert gateway.requests == []
    client.instance_id = "NEWID"
    assert "NEWID" in repr(client)
    await client.get_groups()
    assert gateway.requests[0].query["instance_id"] == "NEWID"


async def test_logout(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """Logout posts; an instance logged out before is not an error."""
    gateway.reply(
        "logout",
        {"status": "success", "message": "Success"},
        {"status": "error", "message": "This account seems to have logged out before."},
        {"status": "error", "message": "Access token does not exist"},
    )
    client = make_client()
    await client.logout()
    await client.logout()
    with pytest.raises(SmartwatsAuthError):
        await client.logout()
    assert [r.method for r in gateway.seen("logout")] == ["POST"] * 3


# -- sends -------------------------------------------------------------------------------------


async def test_send_bodies(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """Every send writes the documented JSON body; numbers are normalised."""
    client = make_client(default_country_code="966")
    await client.send_media("0501234567", "https://x/a.jpg", caption="Look", filename="a.jpg")
    await client.send_media("966501234567", "https://x/a.jpg")
    await client.send_location("966501234567", 24.7136, 46, name="Riyadh", address="KSA")
    await client.send_location("966501234567", -90, 180)
    await client.send_contact("966501234567", "John Doe", "+966 55 000 0000")
    await client.send_audio("966501234567", "https://x/v.mp3")
    await client.send_audio("966501234567", "https://x/s.mp3", ptt=False)
    await client.send_album(
        "966501234567",
        [AlbumItem("image", "https://x/1.jpg"), AlbumItem("video", "https://x/2.mp4")],
        caption="Event",
    )
    await client.send_group_text("120363012345678901@g.us", "Hi all")
    await client.send_group_media("120363012345678901", "https://x/d.pdf", filename="d.pdf")
    bodies = [(request.endpoint, request.json()) for request in gateway.requests]
    assert bodies == [
        (
            "send",
            {
                "number": "966501234567",
                "type": "media",
                "media_url": "https://x/a.jpg",
                "message": "Look",
                "filename": "a.jpg",
            },
        ),
        ("send", {"number": "966501234567", "type": "media", "media_url": "https://x/a.jpg"}),
        (
            "send_location",
            {
                "number": "966501234567",
                "latitude": 24.7136,
                "longitude": 46.0,
                "name": "Riyadh",
                "address": "KSA",
            },
        ),
        ("send_location", {"number": "966501234567", "latitude": -90.0, "longitude": 180.0}),
        (
            "send_contact",
            {"number": "966501234567", "contact_name": "John Doe", "contact_phone": "966550000000"},
        ),
        ("send_audio", {"number": "966501234567", "audio_url": "https://x/v.mp3", "ptt": True}),
        ("send_audio", {"number": "966501234567", "audio_url": "https://x/s.mp3", "ptt": False}),
        (
            "send_album",
            {
                "number": "966501234567",
                "album": [
                    {"type": "image", "url": "https://x/1.jpg"},
                    {"type": "video", "url": "https://x/2.mp4"},
                ],
                "caption": "Event",
            },
        ),
        (
            "send_group",
            {"group_id": "120363012345678901@g.us", "type": "text", "message": "Hi all"},
        ),
        (
            "send_group",
            {
                "group_id": "120363012345678901@g.us",
                "type": "media",
                "media_url": "https://x/d.pdf",
                "filename": "d.pdf",
            },
        ),
    ]
    assert all(request.query["access_token"] == TOKEN for request in gateway.requests)
    assert all("access_token" not in request.json() for request in gateway.requests)


@pytest.mark.parametrize("field", ["cards", "templateCarousel"])
async def test_send_carousel_body(
    make_client: ClientFactory, gateway: ScriptedGateway, field: str
) -> None:
    """The carousel goes to the full JID, with its cards under the chosen field name."""
    cards = [
        CARD,
        CarouselCard(
            "Second",
            "Help",
            "https://x/2.png",
            [CallButton("Call", "+966534874887"), CopyButton("Copy", "SAVE50")],
        ),
    ]
    await make_client().send_carousel(
        "+966501234567", cards, text="Choose", title="Welcome", footer="shop", field=field
    )
    body = gateway.requests[0].json()
    assert body == {
        "number": "966501234567@s.whatsapp.net",
        "text": "Choose",
        "title": "Welcome",
        "footer": "shop",
        field: [
            {
                "title": "First",
                "body": "Body",
                "footer": "100 SAR",
                "image": {"url": "https://x/1.png"},
                "buttons": [
                    {"quickReplyButton": {"displayText": "Pick", "id": "p1"}},
                    {"urlButton": {"displayText": "View", "url": "https://x/1"}},
                ],
            },
            {
                "title": "Second",
                "body": "Help",
                "image": {"url": "https://x/2.png"},
                "buttons": [
                    {"callButton": {"displayText": "Call", "phoneNumber": "+966534874887"}},
                    {"copyButton": {"displayText": "Copy", "copyCode": "SAVE50"}},
                ],
            },
        ],
    }


async def test_send_validation(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """Bad arguments are refused before any request."""
    client = make_client()
    number = "966501234567"
    image = AlbumItem("image", "https://x/1.jpg")
    with pytest.raises(ValueError, match="2 to 10 items, not 0"):
        await client.send_album(number, [])
    with pytest.raises(ValueError, match="2 to 10 items, not 11"):
        await client.send_album(number, [image] * 11)
    with pytest.raises(TypeError, match="AlbumItem"):
        await client.send_album(number, [image, {"type": "image", "url": "u"}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="field must be one of"):
        await client.send_carousel(number, [CARD], field="carousel")
    with pytest.raises(ValueError, match="1 to 10 cards, not 0"):
        await client.send_carousel(number, [])
    with pytest.raises(TypeError, match="CarouselCard"):
        await client.send_carousel(number, [{"title": "x"}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="Latitude must be between -90 and 90"):
        await client.send_location(number, 91, 0)
    with pytest.raises(ValueError, match="Longitude must be between -180 and 180"):
        await client.send_location(number, 0, float("nan"))
    with pytest.raises(TypeError, match="Latitude must be a number"):
        await client.send_location(number, True, 0)
    with pytest.raises(ValueError, match="Message"):
        await client.send_text(number, "")
    with pytest.raises(ValueError, match="Media URL"):
        await client.send_media(number, " ")
    with pytest.raises(ValueError, match="Audio URL"):
        await client.send_audio(number, "")
    with pytest.raises(ValueError, match="Contact name"):
        await client.send_contact(number, "", number)
    with pytest.raises(ValueError, match="Message"):
        await client.send_group_text("1203@g.us", "")
    with pytest.raises(InvalidPhoneNumberError, match="'abc'"):
        await client.send_text("abc", "Hi")
    with pytest.raises(InvalidPhoneNumberError, match="national number"):
        await client.send_text("0501234567", "Hi")
    with pytest.raises(InvalidPhoneNumberError, match="Invalid group id"):
        await client.send_group_text(number, "Hi")
    assert gateway.requests == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (SENT, "3EB0A1"),
        ({"status": "success", "message_payload": {"key": {"id": "MP1"}}}, "MP1"),
        ({"status": "success", "message": "Success", "data": {"key": {"id": "D1"}}}, "D1"),
        ({"status": "success", "data": {"message": {"key": {"id": "DM1"}}}}, "DM1"),
        ({"status": "success", "data": {"id": "D2"}}, "D2"),
        ({"status": "success", "data": {"message_id": 12345}}, "12345"),
        ({"status": "success", "id": " TOP "}, "TOP"),
        ({"status": "success", "message_id": "MID"}, "MID"),
        ({"status": "success", "messageId": "MID2"}, "MID2"),
        (
            {"status": "success", "message": [{"key": {"id": ""}}, {"key": {"id": "ALB2"}}]},
            "ALB2",
        ),
        ({"status": "success", "message": [{"key": {}}]}, None),
        ({"status": "success", "message": "Success", "id": True}, None),
        ({"status": "success", "message": "Success"}, None),
    ],
)
async def test_message_id_fallbacks(
    make_client: ClientFactory, gateway: ScriptedGateway, answer: Any, expected: str | None
) -> None:
    """The sent message id is found in message.key.id or in one of the known fallbacks."""
    gateway.reply("send_audio", answer)
    result = await make_client().send_audio("966501234567", "https://x/a.mp3")
    assert result.message_id == expected


@pytest.mark.parametrize(
    "status", ["success", "SUCCESS", "true", "True", "1", " Success ", 1, True]
)
async def test_success_statuses(
    make_client: ClientFactory, gateway: ScriptedGateway, status: Any
) -> None:
    """Success is success/true/1 in any case, or boolean true."""
    gateway.reply("send", {"status": status, "message": {"key": {"id": "X"}}})
    assert (await make_client().send_text("966501234567", "Hi")).message_id == "X"


@pytest.mark.parametrize("status", ["error", "false", "0", 0, 2, False, None, "failed"])
async def test_failure_statuses(
    make_client: ClientFactory, gateway: ScriptedGateway, status: Any
) -> None:
    """Anything else is an error, with the gateway's text (or a generic one)."""
    gateway.reply("send", {"status": status})
    with pytest.raises(SmartwatsRequestError, match=r"^Error$"):
        await make_client().send_text("966501234567", "Hi")


# -- error texts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("Access token is required", SmartwatsAuthError),
        ("Access token does not exist", SmartwatsAuthError),
        ("Instance ID is required", SmartwatsInstanceError),
        ("Instance ID Invalidated", SmartwatsInstanceError),
        ("The Instance ID provided has been invalidated", SmartwatsInstanceError),
        ("This instance ID has not been activated yet", SmartwatsNotLinkedError),
        ("Instance ID has been used", SmartwatsAlreadyLinkedError),
        ("It seems that you have logged in successfully", SmartwatsAlreadyLinkedError),
        ("This WhatsApp account relogin required", SmartwatsLoggedOutError),
        ("Account does not exist", SmartwatsLoggedOutError),
        ("Phone number is required", SmartwatsRequestError),
        ("Recipient is required", SmartwatsRequestError),
        ("Please enter media url or message", SmartwatsRequestError),
        ("Cannot connect to WhatsApp server. Please try again later", SmartwatsConnectionError),
        ("The WhatsApp session could not be found in the system", SmartwatsConnectionError),
        ("The system cannot generate a WhatsApp QR code", SmartwatsNotReadyError),
        ("Cannot get Pair Code", SmartwatsNotReadyError),
        (
            "The number of messages you have sent per month has exceeded the maximum limit",
            SmartwatsQuotaError,
        ),
        ("Webhook URL is required", SmartwatsRequestError),
        ("Webhook URL is not a valid URL", SmartwatsRequestError),
        ("Enable field is required", SmartwatsRequestError),
        ("Error", SmartwatsRequestError),
        ("ACCESS TOKEN DOES NOT EXIST", SmartwatsAuthError),
        ("Something nobody has seen before", SmartwatsRequestError),
    ],
)
async def test_error_texts(
    make_client: ClientFactory,
    gateway: ScriptedGateway,
    message: str,
    error: type[SmartwatsError],
) -> None:
    """Each known error text raises its exception, carrying the text."""
    gateway.reply("set_webhook", {"status": "error", "message": message})
    with pytest.raises(SmartwatsError) as caught:
        await make_client(retry_attempts=0).set_webhook("https://h/hook")
    assert type(caught.value) is error
    assert caught.value.message == message
    assert str(caught.value) == message


async def test_error_text_in_other_fields(
    make_client: ClientFactory, gateway: ScriptedGateway
) -> None:
    """An error text under `error` is used when `message` is not a text."""
    gateway.reply(
        "send", {"status": "error", "message": {"x": 1}, "error": "Recipient is required"}
    )
    with pytest.raises(SmartwatsRequestError, match="Recipient is required"):
        await make_client().send_text("966501234567", "Hi")


# -- HTTP status, content and transport failures ----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": "success", "message": {"key": {"id": "3EB0A1"}}}',
        # Beyond strict JSON (orjson refuses these), as Python's json module reads them.
        b'\xef\xbb\xbf{"status": "success", "message": {"key": {"id": "3EB0A1"}}}',
        b'{"status": "success", "message": {"key": {"id": "3EB0A1"}}, "rate": NaN}',
        b'{"status": "success", "message": {"key": {"id": "3EB0A1"}}, "n": 123456789012345678901}',
        '{"status": "success", "message": {"key": {"id": "3EB0A1"}}}'.encode("utf-16"),
    ],
)
async def test_answers_decoded_as_json_module_does(
    make_client: ClientFactory, gateway: ScriptedGateway, body: bytes
) -> None:
    """Every answer Python's json module reads is read, whichever decoder reads it."""
    gateway.reply("send", Reply(body, content_type="application/json"))
    gateway.reply("send", Reply(body, content_type="application/json"))
    client = make_client()
    for _ in range(2):  # the second request reuses what the first made (URL, timeout)
        result = await client.send_text("966501234567", "Hello")
        assert result.message_id == "3EB0A1"
    assert result.raw.keys() == json.loads(body).keys()


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (Reply("<h1>Fatal error</h1>", status=500), r"HTTP 500"),
        (Reply("<html>502 Bad Gateway</html>", status=502), r"HTTP 502"),
        (Reply({"status": "error", "message": "upstream down"}, status=503), "HTTP 503.*upstream"),
        (Reply("<br /><b>Warning</b>: something", status=200), "not JSON"),
        (Reply('{"status": "success", ', content_type="application/json"), "not JSON"),
        (Reply(b"\xff\xfe\x00", status=200), "not JSON"),
        (Reply("", status=200), "not JSON"),
        (Reply("<h1>Not Found</h1>", status=404), r"not JSON \(HTTP 404, text/html\)"),
    ],
)
async def test_bad_answers_are_temporary(
    make_client: ClientFactory, gateway: ScriptedGateway, reply: Reply, match: str
) -> None:
    """5xx and bodies that are not JSON: a read is retried, then fails as temporary."""
    gateway.reply("get_groups", reply)
    with pytest.raises(SmartwatsConnectionError, match=match) as caught:
        await make_client(retry_attempts=2).get_groups()
    assert type(caught.value) is SmartwatsConnectionError
    assert len(gateway.seen("get_groups")) == 3


@pytest.mark.parametrize(
    "reply",
    [
        Reply("<h1>Fatal error</h1>", status=500),
        Reply("<html>502</html>", status=502),
        Reply("<br /><b>Warning</b>", status=200),
    ],
)
async def test_bad_answer_to_send_is_outcome_unknown(
    make_client: ClientFactory, gateway: ScriptedGateway, reply: Reply
) -> None:
    """A send answered by a 5xx or HTML may have been sent: it is never repeated."""
    gateway.reply("send", reply)
    with pytest.raises(SmartwatsOutcomeUnknownError):
        await make_client(retry_attempts=3).send_text("966501234567", "Hi")
    assert len(gateway.seen("send")) == 1


async def test_read_retried_after_500_then_succeeds(
    make_client: ClientFactory, gateway: ScriptedGateway
) -> None:
    """A read succeeds once the gateway recovers."""
    gateway.reply(
        "get_groups",
        Reply("<h1>Fatal</h1>", status=500),
        Reply("<h1>Bad gateway</h1>", status=502),
        {"status": "success", "data": [{"id": "1@g.us", "name": "G", "size": 2}]},
    )
    groups = await make_client(retry_attempts=2).get_groups()
    assert groups == [Group(id="1@g.us", name="G", size=2, participants=None)]
    assert len(gateway.seen("get_groups")) == 3


async def test_retry_backoff_doubles(
    make_client: ClientFactory, gateway: ScriptedGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Retries wait retry_backoff, then twice as long each time."""
    caplog.set_level("DEBUG", logger="custom_components.smartwats.api")
    gateway.reply("get_groups", Reply("x", status=500))
    with pytest.raises(SmartwatsConnectionError):
        await make_client(retry_attempts=3, retry_backoff=0.01).get_groups()
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert retries == [
        "get_groups: SmartwatsOutcomeUnknownError, retry 1 of 3 in 0.01 s",
        "get_groups: SmartwatsOutcomeUnknownError, retry 2 of 3 in 0.02 s",
        "get_groups: SmartwatsOutcomeUnknownError, retry 3 of 3 in 0.04 s",
    ]


async def test_http_error_with_json_envelope(
    make_client: ClientFactory, gateway: ScriptedGateway
) -> None:
    """Newer builds answer 400/404 with the usual envelope: its text decides."""
    gateway.reply(
        "get_groups",
        Reply({"status": "error", "message": "Access token does not exist"}, status=404),
        Reply({"status": "success", "message": "Success"}, status=400),
        Reply({"detail": "nope"}, status=400),
        Reply(["not", "an", "envelope"], status=401),
    )
    client = make_client()
    with pytest.raises(SmartwatsAuthError):
        await client.get_groups()
    with pytest.raises(SmartwatsRequestError, match=r"^Success$"):
        await client.get_groups()
    with pytest.raises(SmartwatsRequestError, match=r"^Error \(HTTP 400\)$"):
        await client.get_groups()
    with pytest.raises(SmartwatsRequestError, match=r"^Error \(HTTP 401\)$"):
        await client.get_groups()


async def test_redirect_is_not_followed(
    make_client: ClientFactory, gateway: ScriptedGateway
) -> None:
    """A redirect would carry the token elsewhere: it is reported, not followed."""
    gateway.reply("send", Reply("", status=301))
    with pytest.raises(SmartwatsRequestError, match=r"redirected send \(HTTP 301\)"):
        await make_client().send_text("966501234567", "Hi")
    assert len(gateway.requests) == 1


async def test_gateway_outage(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """An outage answer: a read is retried; a send is not (the gateway answered: nothing sent)."""
    outage = {
        "status": "error",
        "message": "Cannot connect to WhatsApp server. Please try again later",
    }
    gateway.reply("send", outage)
    gateway.reply("get_groups", outage, {"status": "success", "data": []})
    client = make_client(retry_attempts=2)
    with pytest.raises(SmartwatsConnectionError) as caught:
        await client.send_text("966501234567", "Hi")
    assert type(caught.value) is SmartwatsConnectionError
    assert len(gateway.seen("send")) == 1
    assert await client.get_groups() == []
    assert len(gateway.seen("get_groups")) == 2


async def test_timeouts(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """A send timing out after the request is written is outcome-unknown and not resent."""
    gateway.reply("send", Reply(SENT, delay=5))
    gateway.reply("get_groups", Reply({"status": "success", "data": []}, delay=5))
    client = make_client(request_timeout=0.2, retry_attempts=1)
    with pytest.raises(SmartwatsOutcomeUnknownError, match=r"within 0.2 s"):
        await client.send_text("966501234567", "Hi")
    assert len(gateway.seen("send")) == 1
    with pytest.raises(SmartwatsConnectionError, match=r"within 0.2 s") as caught:
        await client.get_groups()
    assert type(caught.value) is SmartwatsConnectionError
    assert len(gateway.seen("get_groups")) == 2


async def test_qr_calls_use_the_longer_timeout(
    make_client: ClientFactory, gateway: ScriptedGateway
) -> None:
    """The QR and pair code calls may take a while on the real gateway."""
    gateway.reply("get_qrcode", Reply({"status": "success", "base64": PNG_URI}, delay=0.3))
    gateway.reply("get_paircode", Reply({"status": "success", "code": "ABCD-EFGH"}, delay=0.3))
    client = make_client(request_timeout=0.1, qr_timeout=3, retry_attempts=0)
    assert await client.get_qr_code() == PNG_URI
    assert await client.get_pair_code("966501234567") == "ABCD-EFGH"


async def test_connection_reset(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """A reset after the request was written: a send is outcome-unknown, a read is retried."""
    gateway.reply("send_contact", Reply(reset=True))
    gateway.reply("check_phone", Reply(reset=True), {"status": "success", "data": []})
    client = make_client(retry_attempts=2)
    with pytest.raises(SmartwatsOutcomeUnknownError, match="connection to the SmartWats gateway"):
        await client.send_contact("966501234567", "John", "966500000000")
    assert len(gateway.seen("send_contact")) == 1
    check = await client.check_phone("966501234567")
    assert check == PhoneCheck(phone="966501234567", exists=False)
    assert len(gateway.seen("check_phone")) == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    """Nothing listening: every call is retried, then fails as temporary (surely not sent)."""
    client = SmartwatsClient(
        session,
        TOKEN,
        INSTANCE_ID,
        base_url=f"http://127.0.0.1:{_free_port()}/api",
        retry_attempts=1,
        retry_backoff=0.001,
    )
    with pytest.raises(SmartwatsConnectionError, match="Cannot connect") as caught:
        await client.send_text("966501234567", "Hi")
    assert type(caught.value) is SmartwatsConnectionError
    with pytest.raises(SmartwatsConnectionError, match="Cannot connect") as caught:
        await client.get_groups()
    assert type(caught.value) is SmartwatsConnectionError


async def test_send_retried_when_it_could_not_connect(session: aiohttp.ClientSession) -> None:
    """A send that could not even connect is retried, and sent once the gateway is back."""
    port = _free_port()
    client = SmartwatsClient(
        session,
        TOKEN,
        INSTANCE_ID,
        base_url=f"http://127.0.0.1:{port}/api/",
        retry_attempts=3,
        retry_backoff=0.2,
    )
    received: list[web.Request] = []

    async def send(request: web.Request) -> web.Response:
        received.append(request)
        return web.json_response(SENT)

    app = web.Application()
    app.router.add_post("/api/send", send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    task = asyncio.create_task(client.send_text("966501234567", "Hi"))
    try:
        await asyncio.sleep(0.05)  # the first attempt is refused
        await web.TCPSite(runner, "127.0.0.1", port).start()
        result = await task
    finally:
        await runner.cleanup()
    assert result.message_id == "3EB0A1"
    assert len(received) == 1


async def test_connect_timeout_is_surely_not_sent(gateway: ScriptedGateway) -> None:
    """Waiting too long for a connection (here: a full pool) means the request never left."""
    gateway.reply("get_groups", Reply({"status": "success", "data": []}, delay=5))
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        slow = SmartwatsClient(session, TOKEN, INSTANCE_ID, base_url=gateway.url, retry_attempts=0)
        client = SmartwatsClient(
            session,
            TOKEN,
            INSTANCE_ID,
            base_url=gateway.url,
            request_timeout=0.4,
            retry_attempts=1,
            retry_backoff=0.001,
        )
        hog = asyncio.create_task(slow.get_groups())
        await asyncio.sleep(0.1)
        with pytest.raises(SmartwatsConnectionError, match="Timed out connecting") as caught:
            await client.send_text("966501234567", "Hi")
        assert type(caught.value) is SmartwatsConnectionError
        hog.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hog
    assert gateway.seen("send") == []


# -- response shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "success", "message": "Success", "base64": PNG_URI},
        {"status": "success", "qrcode": PNG_URI},
        {"status": "success", "qr_code": PNG_B64},
        {"status": "success", "qr": PNG_B64},
        {"status": "success", "data": {"qr": PNG_URI}},
        {"status": "success", "data": {"base64": PNG_B64}},
        {"status": "success", "data": PNG_URI},
        {"status": "success", "base64": PNG_B64},
        {"status": "success", "base64": PNG_B64[:40] + "\n" + PNG_B64[40:]},
        {"status": "true", "base64": "  " + PNG_URI + "  "},
    ],
)
async def test_qr_code_shapes(
    make_client: ClientFactory, gateway: ScriptedGateway, answer: Any
) -> None:
    """The QR comes back as a PNG data URI whatever field or form the gateway used."""
    gateway.reply("get_qrcode", answer)
    assert await make_client().get_qr_code() == PNG_URI
    assert gateway.requests[0].method == "GET"


async def test_qr_code_problems(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """Not an image, already linked, not there yet (retried)."""
    gateway.reply(
        "get_qrcode",
        {"status": "success", "qr": "2@AbCdEf,xyz=,abc="},
        {"status": "success", "message": "It seems that you have logged in successfully"},
        {"status": "error", "message": "Instance ID has been used"},
        {"status": "error", "message": "The system cannot generate a WhatsApp QR code"},
        {"status": "success", "message": "Success"},
    )
    client = make_client(retry_attempts=1)
    with pytest.raises(SmartwatsRequestError, match="not an image"):
        await client.get_qr_code()
    with pytest.raises(SmartwatsAlreadyLinkedError, match="logged in successfully"):
        await client.get_qr_code()
    with pytest.raises(SmartwatsAlreadyLinkedError, match="has been used"):
        await client.get_qr_code()
    with pytest.raises(SmartwatsNotReadyError, match="no QR code yet"):
        await client.get_qr_code()  # "cannot generate", retried once: no QR in the answer
    assert len(gateway.seen("get_qrcode")) == 5


@pytest.mark.parametrize(
    "qr",
    [
        pytest.param(f"{PNG_URI}) ![a](https://evil.example/a.png", id="markdown after a PNG"),
        pytest.param("x) ![a](https://evil", id="markdown"),
        pytest.param(
            "data:image/png;base64," + base64.b64encode(b"GIF89a\x01\x00").decode(), id="GIF"
        ),
        pytest.param(
            "data:image/png;base64,"
            + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(600_000)).decode(),
            id="oversize",
        ),
    ],
)
async def test_qr_code_that_is_not_an_image(
    make_client: ClientFactory, gateway: ScriptedGateway, qr: str
) -> None:
    """Only a PNG or JPEG of sane size is a QR code; anything else is refused, not passed on."""
    gateway.reply("get_qrcode", {"status": "success", "base64": qr})
    with pytest.raises(SmartwatsRequestError, match="not an image"):
        await make_client().get_qr_code()


async def test_qr_code_jpeg(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """A JPEG QR code is taken as a JPEG, whatever type the gateway claimed."""
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\xff\xd9").decode()
    gateway.reply("get_qrcode", {"status": "success", "base64": f"data:image/png;base64,{jpeg}"})
    assert await make_client().get_qr_code() == f"data:image/jpeg;base64,{jpeg}"


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "success", "message": "Success", "code": "ABCD-EFGH"},
        {"status": "success", "pairing_code": "ABCD-EFGH"},
        {"status": "success", "paircode": "ABCD-EFGH"},
        {"status": "success", "data": {"code": "ABCD-EFGH"}},
        {"status": "success", "data": {"pairing_code": " ABCD-EFGH "}},
        {"status": "success", "data": "ABCD-EFGH"},
    ],
)
async def test_pair_code_shapes(
    make_client: ClientFactory, gateway: ScriptedGateway, answer: Any
) -> None:
    """The pair code is found under its known names; the phone is posted as digits."""
    gateway.reply("get_paircode", answer)
    assert await make_client().get_pair_code("+966 50 123 4567") == "ABCD-EFGH"
    (request,) = gateway.requests
    assert request.method == "POST"
    assert request.form() == {"phone": "966501234567"}
    assert request.query["phone"] == "966501234567"


async def test_pair_code_problems(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """Already linked, or not there yet after the retries."""
    gateway.reply(
        "get_paircode",
        {"status": "success", "message": "It seems that you have logged in successfully"},
        {"status": "error", "message": "Cannot get Pair Code"},
    )
    client = make_client(retry_attempts=1)
    with pytest.raises(SmartwatsAlreadyLinkedError):
        await client.get_pair_code("966501234567")
    with pytest.raises(SmartwatsNotReadyError, match="Cannot get Pair Code"):
        await client.get_pair_code("966501234567")
    assert len(gateway.seen("get_paircode")) == 3
    gateway.replies["get_paircode"] = [Reply({"status": "success", "message": "Success"})]
    with pytest.raises(SmartwatsNotReadyError, match="no pair code yet"):
        await make_client(retry_attempts=0).get_pair_code("966501234567")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {
                "status": "success",
                "data": [
                    {
                        "id": "1@g.us",
                        "name": "Family",
                        "size": 3,
                        "participants": [
                            {"id": "a@s.whatsapp.net", "admin": "superadmin"},
                            {"id": "b@s.whatsapp.net", "admin": None},
                        ],
                    },
                    {"name": "no id"},
                    "junk",
                ],
            },
            [
                Group(
                    "1@g.us",
                    "Family",
                    3,
                    [
                        GroupParticipant("a@s.whatsapp.net", "superadmin"),
                        GroupParticipant("b@s.whatsapp.net"),
                    ],
                )
            ],
        ),
        (
            {
                "status": "success",
                "data": [
                    {
                        "id": "2@g.us",
                        "subject": "Home",
                        "participants": {
                            "10": {"id": "c@s.whatsapp.net"},
                            "2": {"jid": "b@s.whatsapp.net", "isAdmin": True},
                            "0": {"id": "a@s.whatsapp.net", "admin": True},
                            "x": {"id": "d@s.whatsapp.net", "isSuperAdmin": True},
                            "1": {"admin": "admin"},
                        },
                    }
                ],
            },
            [
                Group(
                    "2@g.us",
                    "Home",
                    4,
                    [
                        GroupParticipant("a@s.whatsapp.net", "admin"),
                        GroupParticipant("b@s.whatsapp.net", "admin"),
                        GroupParticipant("c@s.whatsapp.net"),
                        GroupParticipant("d@s.whatsapp.net", "superadmin"),
                    ],
                )
            ],
        ),
        (
            {"status": "success", "data": {"3@g.us": {"subject": "Keyed", "size": "7"}}},
            [Group("3@g.us", "Keyed", 7, None)],
        ),
        (
            {
                "status": "success",
                "groups": [{"jid": "4@g.us", "participants": ["a@s.whatsapp.net"]}],
            },
            [Group("4@g.us", "", 1, [GroupParticipant("a@s.whatsapp.net")])],
        ),
        (
            {"status": "success", "data": {"groups": [{"id": "5@g.us", "size": True}]}},
            [Group("5@g.us", "", None, None)],
        ),
        ([{"id": "6@g.us", "name": "Top", "size": 1}], [Group("6@g.us", "Top", 1, None)]),
        ({"status": "success", "message": "Success", "data": []}, []),
        ({"status": "success", "message": "Success"}, []),
    ],
)
async def test_group_shapes(
    make_client: ClientFactory, gateway: ScriptedGateway, answer: Any, expected: list[Group]
) -> None:
    """Groups as a list or keyed by id; participants as a list or an index-keyed object."""
    gateway.reply("get_groups", answer)
    assert await make_client().get_groups() == expected


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "success", "data": [{"jid": "966501234567@s.whatsapp.net", "exists": True}]},
        {"status": "success", "data": {"results": [{"phone": "+966501234567", "exists": "true"}]}},
        {"status": "success", "results": [{"number": 966501234567, "is_whatsapp": 1}]},
        [{"inputPhone": "966 50 123 4567", "isWhatsapp": True}, {"phone": "966500000002"}],
        {"status": "success", "data": {"966501234567": {"is_on_whatsapp": "yes"}}},
        {"status": "success", "data": [{"jid": "966501234567:3@s.whatsapp.net"}]},
        {"status": "success", "data": [{"phone": "966501234567", "numberExists": True}, "junk"]},
        {"status": "success", "data": [{"phone": "966501234567", "valid": "1"}]},
    ],
)
async def test_batch_shapes(
    make_client: ClientFactory, gateway: ScriptedGateway, answer: Any
) -> None:
    """Batch answers in any known shape; numbers left out of the answer do not exist."""
    gateway.reply("check_phones_batch", answer)
    checks = await make_client().check_phones(["+966 50 123 4567", "966500000002"])
    assert [(check.phone, check.exists) for check in checks] == [
        ("966501234567", True),
        ("966500000002", False),
    ]
    (request,) = gateway.requests
    assert request.method == "POST"
    assert request.json() == {"phones": ["966501234567", "966500000002"]}


async def test_batch_false_flags(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """Explicit false answers are kept, whatever their spelling."""
    gateway.reply(
        "check_phones_batch",
        {
            "status": "success",
            "data": [
                {"phone": "966501234567", "exists": "false", "jid": "966501234567@s.whatsapp.net"},
                {"phone": "966500000002", "exists": "maybe", "valid": 0},
                {"phone": "966500000003", "exists": "maybe"},
            ],
        },
    )
    checks = await make_client().check_phones(["966501234567", "966500000002", "966500000003"])
    assert checks == [
        PhoneCheck("966501234567", False, "966501234567@s.whatsapp.net"),
        PhoneCheck("966500000002", False),
        PhoneCheck("966500000003", False),
    ]


async def test_batches_are_split_and_merged_in_order(
    make_client: ClientFactory, gateway: ScriptedGateway
) -> None:
    """Large batches go out in chunks of 50 and come back in input order."""
    numbers = [f"96650{index:07d}" for index in range(120)]

    def onwhatsapp(chunk: list[str]) -> dict[str, Any]:
        # Answered in reverse, leaving out every third number.
        items = [
            {"jid": f"{n}@s.whatsapp.net", "exists": True} for n in reversed(chunk) if int(n) % 3
        ]
        return {"status": "success", "data": items}

    gateway.reply(
        "check_phones_batch",
        onwhatsapp(numbers[:50]),
        onwhatsapp(numbers[50:100]),
        onwhatsapp(numbers[100:]),
    )
    checks = await make_client().check_phones(numbers)
    assert [check.phone for check in checks] == numbers
    assert [check.exists for check in checks] == [bool(int(n) % 3) for n in numbers]
    assert [len(r.json()["phones"]) for r in gateway.requests] == [50, 50, 20]
    assert await make_client().check_phones([]) == []
    assert len(gateway.requests) == 3


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"status": "success", "data": [{"jid": "966501234567@s.whatsapp.net", "exists": True}]},
            PhoneCheck("966501234567", True, "966501234567@s.whatsapp.net"),
        ),
        ({"status": "success", "data": []}, PhoneCheck("966501234567", False)),
        (
            {"status": "success", "data": {"exists": True, "jid": "966501234567@s.whatsapp.net"}},
            PhoneCheck("966501234567", True, "966501234567@s.whatsapp.net"),
        ),
        ({"status": "success", "is_whatsapp": False}, PhoneCheck("966501234567", False)),
        ({"status": "success", "result": {"valid": "true"}}, PhoneCheck("966501234567", True)),
        ({"status": "success", "message": "Success"}, PhoneCheck("966501234567", False)),
    ],
)
async def test_single_check_shapes(
    make_client: ClientFactory, gateway: ScriptedGateway, answer: Any, expected: PhoneCheck
) -> None:
    """One number: a list like the batch, or flags at the top, under data or result."""
    gateway.reply("check_phone", answer)
    assert await make_client().check_phone("+966501234567") == expected
    (request,) = gateway.requests
    assert request.method == "GET"
    assert request.query["phone"] == "966501234567"


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"access_token": ""}, "access token"),
        ({"request_timeout": 0}, "Timeouts"),
        ({"qr_timeout": -1}, "Timeouts"),
        ({"retry_attempts": -1}, "must not be negative"),
        ({"retry_backoff": -0.5}, "must not be negative"),
        ({"base_url": "not a url"}, "Invalid API base URL 'not a url'"),
        ({"base_url": "ftp://host/api/"}, "expected http"),
        ({"base_url": "http://"}, "expected http"),
        ({"base_url": "http://[::1/api"}, "Invalid API base URL"),
        ({"base_url": "https://host/api/?x=1"}, "no query"),
    ],
)
def test_constructor_validation(
    session: aiohttp.ClientSession, kwargs: dict[str, Any], match: str
) -> None:
    """Bad settings are refused at construction."""
    token = kwargs.pop("access_token", TOKEN)
    with pytest.raises(ValueError, match=match) as caught:
        SmartwatsClient(session, token, INSTANCE_ID, **kwargs)
    assert TOKEN not in str(caught.value)


def test_defaults(session: aiohttp.ClientSession) -> None:
    """The default gateway is SmartWats' own; repr shows no token."""
    client = SmartwatsClient(session, TOKEN)
    assert client.base_url == DEFAULT_BASE_URL == "https://app.smartwats.com/api/"
    assert client.instance_id is None
    assert repr(client) == (
        "SmartwatsClient(base_url='https://app.smartwats.com/api/', instance_id=None)"
    )


async def test_link_state_logged_out(make_client: ClientFactory, gateway: ScriptedGateway) -> None:
    """A QR call answered "relogin required" means the phone ended the session."""
    gateway.reply(
        "get_qrcode", {"status": "error", "message": "This WhatsApp account relogin required"}
    )
    assert await make_client().get_link_state() == LinkState(LinkStatus.LOGGED_OUT)


async def test_link_state_linked_while_session_is_stale(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """A dead session behind a "linked" database: the QR probe says LINKED, a send logged out.

    The gateway's answers contradict each other (the emulator's stale_session fault), so
    get_link_state alone cannot see that the account must log in again; only a session call can.
    """
    token = emulator.state.add_account()
    instance_id = emulator.state.add_instance(token, linked=True)
    emulator.state.set_fault(instance_id, Fault("stale_session"))
    client = SmartwatsClient(
        session, token, instance_id, base_url=emulator.api_url, retry_backoff=0.001
    )
    assert await client.get_link_state() == LinkState(LinkStatus.LINKED)
    with pytest.raises(SmartwatsLoggedOutError):
        await client.send_text("966501234567", "Hello")
    assert await client.get_link_state() == LinkState(LinkStatus.LINKED)
    assert list(emulator.state.instance(instance_id).sent) == []
