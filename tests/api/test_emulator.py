"""The client against the gateway emulator: every endpoint, every error, faults and retries."""

from __future__ import annotations

import aiohttp
import pytest

from custom_components.smartwats.api import (
    AlbumItem,
    CallButton,
    CarouselCard,
    CopyButton,
    GroupParticipant,
    LinkState,
    LinkStatus,
    PhoneCheck,
    QuickReplyButton,
    SmartwatsAlreadyLinkedError,
    SmartwatsAuthError,
    SmartwatsClient,
    SmartwatsConnectionError,
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
from smartwats_emulator.qr import qr_data_uri as render_qr

from .conftest import ClientFactory

NUMBER = "966501234567"
NOT_ON_WHATSAPP = "999501234567"


@pytest.fixture
def emu(socket_enabled: None, emulator: Emulator) -> Emulator:
    """The emulator, with loopback sockets allowed before it starts."""
    return emulator


@pytest.fixture
def client_base_url(emu: Emulator) -> str:
    """`make_client` builds clients of the emulator."""
    return emu.api_url


@pytest.fixture
def linked(emu: Emulator, make_client: ClientFactory) -> tuple[SmartwatsClient, str]:
    """A client of a linked instance, and the instance id."""
    token = emu.state.add_account()
    instance_id = emu.state.add_instance(token, linked=True)
    return make_client(token, instance_id), instance_id


def requests_to(emu: Emulator, endpoint: str) -> list[object]:
    """Return the emulator's records of the requests to one endpoint."""
    return [request for request in emu.requests if request.endpoint == endpoint]


async def test_linking(emu: Emulator, make_client: ClientFactory) -> None:
    """Create an instance, get its QR and pair code, link it: then both say already linked."""
    token = emu.state.add_account()
    client = make_client(token, None)
    instance_id = await client.create_instance()
    assert len(instance_id) == 13
    client.instance_id = instance_id
    assert await client.get_qr_code() == emu.qr_data_uri(instance_id)
    assert (await client.get_qr_code()).startswith("data:image/png;base64,")
    code = await client.get_pair_code("+966 50 123 4567")
    assert len(code.replace("-", "")) == 8
    with pytest.raises(SmartwatsNotLinkedError, match="not been activated"):
        await client.set_webhook("http://127.0.0.1/hook")
    emu.state.link(instance_id)
    with pytest.raises(SmartwatsAlreadyLinkedError, match="Instance ID has been used"):
        await client.get_qr_code()
    with pytest.raises(SmartwatsAlreadyLinkedError, match="logged in successfully"):
        await client.get_pair_code(NUMBER)
    for request in emu.requests:
        assert request.query["access_token"] == token
    assert emu.requests[0].form == {}
    assert "instance_id" not in emu.requests[0].query
    paircode = requests_to(emu, "get_paircode")[0]
    assert paircode.form == {"phone": NUMBER}  # type: ignore[attr-defined]


async def test_hostile_qr_code(
    emu: Emulator, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A QR "image" carrying markdown after a real PNG is refused, not handed on."""
    token = emu.state.add_account()
    instance_id = emu.state.add_instance(token)
    monkeypatch.setattr(
        "smartwats_emulator.api.qr_data_uri",
        lambda payload: f"{render_qr(payload)}) ![a](https://evil.example/a.png",
    )
    client = make_client(token, instance_id)
    with pytest.raises(SmartwatsRequestError, match="not an image"):
        await client.get_qr_code()
    with pytest.raises(SmartwatsRequestError, match="not an image"):
        await client.get_link_state()


async def test_webhook_and_logout(emu: Emulator, linked: tuple[SmartwatsClient, str]) -> None:
    """The webhook is saved as sent; logout unlinks; a second logout is fine."""
    client, instance_id = linked
    await client.set_webhook(
        "http://127.0.0.1:9/hook", allowed_events=["received_message", "messages.update"]
    )
    instance = emu.state.instance(instance_id)
    assert instance.webhook_url == "http://127.0.0.1:9/hook"
    assert instance.webhook_enabled is True
    assert instance.allowed_events == "received_message,messages.update"
    await client.set_webhook("http://127.0.0.1:9/hook", enable=False)
    assert emu.state.instance(instance_id).webhook_enabled is False
    with pytest.raises(SmartwatsRequestError, match="Webhook URL is not a valid URL"):
        await client.set_webhook("not a url")
    await client.logout()
    await client.logout()  # "logged out before": nothing to do
    with pytest.raises(SmartwatsLoggedOutError, match="relogin required"):
        await client.send_text(NUMBER, "Hi")


async def test_every_send(emu: Emulator, linked: tuple[SmartwatsClient, str]) -> None:
    """Every send reaches the emulator once, and returns the id of the sent message."""
    client, instance_id = linked
    group = (await client.get_groups())[0]
    results = [
        await client.send_text(NUMBER, "Hello"),
        await client.send_media(NUMBER, "https://x/p.jpg", caption="Look"),
        await client.send_media(NUMBER, "https://x/d.pdf", filename="d.pdf"),
        await client.send_location(NUMBER, 24.7136, 46.6753, name="Riyadh", address="KSA"),
        await client.send_contact(NUMBER, "John Doe", "966550000000"),
        await client.send_audio(NUMBER, "https://x/v.mp3"),
        await client.send_audio(NUMBER, "https://x/s.mp3", ptt=False),
        await client.send_album(
            NUMBER,
            [AlbumItem("image", "https://x/1.jpg"), AlbumItem("video", "https://x/2.mp4")],
            caption="Event",
        ),
        await client.send_carousel(
            NUMBER,
            [
                CarouselCard(
                    "One",
                    "First",
                    "https://x/1.png",
                    [QuickReplyButton("Pick", "p1"), UrlButton("View", "https://x/1")],
                ),
                CarouselCard(
                    "Two",
                    "Second",
                    "https://x/2.png",
                    [CallButton("Call", "+966534874887"), CopyButton("Copy", "SAVE50")],
                    footer="Save",
                ),
            ],
            text="Choose",
            field="templateCarousel",
        ),
        await client.send_group_text(group.id, "Hi group"),
        await client.send_group_media(group.id, "https://x/p.jpg", caption="For all"),
    ]
    sent = list(emu.state.instance(instance_id).sent)
    assert [r.message_id for r in results] == [m.message_id for m in sent]
    assert all(r.message_id for r in results)
    assert [m.type for m in sent] == [
        "text",
        "media",
        "media",
        "location",
        "contact",
        "audio",
        "audio",
        "album",
        "carousel",
        "text",
        "media",
    ]
    assert {m.to for m in sent[:9]} == {f"{NUMBER}@s.whatsapp.net"}
    assert {m.to for m in sent[9:]} == {group.id}
    assert sent[6].payload["ptt"] is False
    assert sent[8].payload["cards"][1]["image"] == {"url": "https://x/2.png"}
    assert len(sent[7].item_ids) == 2
    assert results[0].raw["message"]["key"]["id"] == results[0].message_id
    carousel = requests_to(emu, "send_carousel")[0]
    assert carousel.json["number"] == f"{NUMBER}@s.whatsapp.net"  # type: ignore[attr-defined]


async def test_groups(linked: tuple[SmartwatsClient, str]) -> None:
    """Groups come with their members, whether listed or keyed by index."""
    client, _ = linked
    groups = await client.get_groups()
    assert [g.name for g in groups] == ["Family", "Home automation", "Neighbours"]
    for group in groups:
        assert group.id.endswith("@g.us")
        assert group.participants is not None
        assert group.size == len(group.participants)
    home = groups[1]  # its members arrive as an index-keyed object
    assert home.participants is not None
    assert home.participants[0] == GroupParticipant("966500000001@s.whatsapp.net", "admin")


async def test_phone_checks(linked: tuple[SmartwatsClient, str]) -> None:
    """Numbers starting with 999 are not on WhatsApp; batches keep the input order."""
    client, _ = linked
    assert await client.check_phone("+966 50 123 4567") == PhoneCheck(
        NUMBER, True, f"{NUMBER}@s.whatsapp.net"
    )
    assert await client.check_phone(NOT_ON_WHATSAPP) == PhoneCheck(NOT_ON_WHATSAPP, False)
    numbers = [f"{'999' if i % 4 == 0 else '966'}5{i:08d}" for i in range(75)]
    checks = await client.check_phones(numbers)
    assert [c.phone for c in checks] == numbers
    assert [c.exists for c in checks] == [not n.startswith("999") for n in numbers]


async def test_account_and_instance_errors(emu: Emulator, make_client: ClientFactory) -> None:
    """Bad token, unknown or invalidated instance, not linked, logged out from the phone."""
    token = emu.state.add_account()
    linked_id = emu.state.add_instance(token, linked=True)
    waiting_id = emu.state.add_instance(token, linked=False)
    with pytest.raises(SmartwatsAuthError, match="Access token does not exist"):
        await make_client("0000000000000", linked_id).get_groups()
    with pytest.raises(SmartwatsInstanceError, match="Invalidated"):
        await make_client(token, "FFFFFFFFFFFFF").get_groups()
    with pytest.raises(SmartwatsNotLinkedError):
        await make_client(token, waiting_id).send_text(NUMBER, "Hi")
    with pytest.raises(SmartwatsNotLinkedError):
        await make_client(token, waiting_id).check_phone(NUMBER)
    emu.state.unlink(linked_id)
    with pytest.raises(SmartwatsLoggedOutError, match="relogin required"):
        await make_client(token, linked_id).get_groups()
    assert (await make_client(token, linked_id).get_qr_code()).startswith("data:image/png")
    emu.state.invalidate_instance(waiting_id)
    with pytest.raises(SmartwatsInstanceError, match="has been invalidated"):
        await make_client(token, waiting_id).get_qr_code()
    emu.state.revoke_token(token)
    with pytest.raises(SmartwatsAuthError):
        await make_client(token, linked_id).send_text(NUMBER, "Hi")
    with pytest.raises(SmartwatsAuthError):
        await make_client(token, None).create_instance()


async def test_send_errors(emu: Emulator, linked: tuple[SmartwatsClient, str]) -> None:
    """Not on WhatsApp / not a member: the generic "Error"; quota; outage (not retried)."""
    client, instance_id = linked
    with pytest.raises(SmartwatsRequestError, match=r"^Error$"):
        await client.send_text(NOT_ON_WHATSAPP, "Hi")
    with pytest.raises(SmartwatsRequestError, match=r"^Error$"):
        await client.send_group_text("120363000000000000@g.us", "Hi")
    emu.state.set_fault(instance_id, Fault("quota", count=1))
    with pytest.raises(SmartwatsQuotaError, match="exceeded the maximum limit"):
        await client.send_text(NUMBER, "Hi")
    emu.state.set_fault(instance_id, Fault("outage", count=1))
    with pytest.raises(SmartwatsConnectionError, match="Cannot connect to WhatsApp") as caught:
        await client.send_text(NUMBER, "Hi")
    assert type(caught.value) is SmartwatsConnectionError
    assert len(requests_to(emu, "send")) == 3  # each failure once, none repeated
    assert list(emu.state.instance(instance_id).sent) == []
    assert (await client.send_text(NUMBER, "Hi")).message_id == emu.state.instance(
        instance_id
    ).sent[0].message_id


async def test_send_timing_out_after_the_request_is_not_sent_twice(
    emu: Emulator, linked: tuple[SmartwatsClient, str], session: aiohttp.ClientSession
) -> None:
    """The gateway acted, the answer came too late: outcome unknown, and exactly one send."""
    _, instance_id = linked
    client = SmartwatsClient(
        session,
        emu.state.instance(instance_id).token,
        instance_id,
        base_url=emu.api_url,
        request_timeout=0.3,
        retry_attempts=3,
        retry_backoff=0.001,
    )
    emu.state.set_fault(instance_id, Fault("timeout_after_send", count=1, delay=3))
    with pytest.raises(SmartwatsOutcomeUnknownError, match="No answer"):
        await client.send_text(NUMBER, "Only once")
    assert len(requests_to(emu, "send")) == 1
    assert len(emu.state.instance(instance_id).sent) == 1


@pytest.mark.parametrize("kind", ["http_500", "html", "reset"])
async def test_failed_send_is_outcome_unknown_and_not_repeated(
    emu: Emulator, linked: tuple[SmartwatsClient, str], kind: str
) -> None:
    """A 500, a proxy's 502 page or a reset on a send: maybe sent, never repeated."""
    client, instance_id = linked
    emu.state.set_fault(instance_id, Fault(kind, count=1))  # type: ignore[arg-type]
    with pytest.raises(SmartwatsOutcomeUnknownError):
        await client.send_location(NUMBER, 1.5, 2.5)
    assert len(requests_to(emu, "send_location")) == 1


@pytest.mark.parametrize("kind", ["http_500", "html", "reset", "outage"])
async def test_reads_are_retried_then_succeed(
    emu: Emulator, linked: tuple[SmartwatsClient, str], kind: str
) -> None:
    """A read failing twice (500, 502 page, reset, outage) succeeds on the third attempt."""
    client, instance_id = linked
    emu.state.set_fault(instance_id, Fault(kind, count=2))  # type: ignore[arg-type]
    assert len(await client.get_groups()) == 3
    assert len(requests_to(emu, "get_groups")) == 3


async def test_reads_give_up_after_the_retries(
    emu: Emulator, linked: tuple[SmartwatsClient, str]
) -> None:
    """A lasting failure ends as a temporary error once the retries are used."""
    client, instance_id = linked
    emu.state.set_fault(instance_id, Fault("http_500"))
    with pytest.raises(SmartwatsConnectionError, match="HTTP 500") as caught:
        await client.check_phones([NUMBER])
    assert type(caught.value) is SmartwatsConnectionError
    assert len(requests_to(emu, "check_phones_batch")) == 3


async def test_slow_gateway(
    emu: Emulator, linked: tuple[SmartwatsClient, str], make_client: ClientFactory
) -> None:
    """Latency within the timeout is fine; beyond it a read fails as temporary."""
    client, instance_id = linked
    emu.state.set_fault(instance_id, Fault("latency", count=1, delay=0.2))
    assert len(await client.get_groups()) == 3
    impatient = make_client(emu.state.instance(instance_id).token, instance_id, request_timeout=0.1)
    emu.state.set_fault(instance_id, Fault("latency", delay=2))
    with pytest.raises(SmartwatsConnectionError, match="No answer") as caught:
        await impatient.get_groups()
    assert type(caught.value) is SmartwatsConnectionError


async def test_qr_not_ready_is_retried(emu: Emulator, make_client: ClientFactory) -> None:
    """A QR code not generated yet is asked again, then it comes."""
    token = emu.state.add_account()
    instance_id = emu.state.add_instance(token)
    client = make_client(token, instance_id)
    emu.state.set_fault(instance_id, Fault("qr_not_ready", count=2))
    assert await client.get_qr_code() == emu.qr_data_uri(instance_id)
    emu.state.set_fault(instance_id, Fault("qr_not_ready"))
    with pytest.raises(SmartwatsNotReadyError, match="Cannot get Pair Code"):
        await client.get_pair_code(NUMBER)
    assert len(requests_to(emu, "get_paircode")) == 3


async def test_link_state(emu: Emulator, make_client: ClientFactory) -> None:
    """Waiting with the current QR code, then linked; a QR still being generated is waiting too."""
    token = emu.state.add_account()
    instance_id = emu.state.add_instance(token)
    client = make_client(token, instance_id, retry_attempts=0)
    state = await client.get_link_state()
    assert state == LinkState(LinkStatus.WAITING, emu.qr_data_uri(instance_id))
    assert not state.linked
    emu.state.set_fault(instance_id, Fault("qr_not_ready", count=1))
    assert await client.get_link_state() == LinkState(LinkStatus.WAITING)
    emu.state.link(instance_id)
    state = await client.get_link_state()
    assert state == LinkState(LinkStatus.LINKED)
    assert state.linked
