"""Tests of media from Home Assistant: files, camera snapshots and media sources via signed URLs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.demo.camera import DemoCamera
from homeassistant.components.media_source import PlayMedia
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)
from yarl import URL

from custom_components.smartwats.const import CONF_SEND_INTERVAL, DOMAIN, MEDIA_URL_TTL
from custom_components.smartwats.media import MEDIA_STORE, MediaItem, MediaStore, safe_filename
from smartwats_emulator import Emulator
from smartwats_emulator.params import SEND_ENDPOINTS, RecordedRequest

from .conftest import RECIPIENT_MUM

type ClientFactory = Callable[[], Awaitable[TestClient]]

PDF = b"%PDF-1.4 invoice"


@pytest.fixture
def media_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A folder that is both allowlisted and the local media folder, with a few files."""
    (tmp_path / "invoice.pdf").write_bytes(PDF)
    (tmp_path / "door bell.mp3").write_bytes(b"ID3 audio")
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8 first")
    (tmp_path / "sub").mkdir()
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    hass.config.media_dirs = {"local": str(tmp_path)}
    return tmp_path


@pytest.fixture
async def entry(
    hass: HomeAssistant, recipients_entry: MockConfigEntry, internal_url: str, media_dir: Path
) -> MockConfigEntry:
    """The entry, set up without platforms and without a pause between sends."""
    recipients_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        recipients_entry, options={**recipients_entry.options, CONF_SEND_INTERVAL: 0}
    )
    with patch("custom_components.smartwats.PLATFORMS", []):
        assert await hass.config_entries.async_setup(recipients_entry.entry_id)
        await hass.async_block_till_done()
    return recipients_entry


def sends(emulator: Emulator) -> list[RecordedRequest]:
    """The send requests the gateway received, oldest first."""
    return [request for request in emulator.requests if request.endpoint in SEND_ENDPOINTS]


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    """Call an action and wait for it."""
    return await hass.services.async_call(DOMAIN, service, data, blocking=True)


async def fetch(client_factory: ClientFactory, url: str) -> tuple[int, bytes, dict[str, str]]:
    """Fetch a media URL the way the gateway would: no authentication."""
    client = await client_factory()
    response = await client.get(URL(url).path_qs)
    return response.status, await response.read(), dict(response.headers)


async def test_send_media_from_a_file(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    hass_client_no_auth: ClientFactory,
    internal_url: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An allowlisted file gets a signed URL that serves it until it expires."""
    await call(
        hass,
        "send_media",
        {"target": RECIPIENT_MUM, "media_path": str(media_dir / "invoice.pdf"), "caption": "Due"},
    )
    [request] = sends(emulator)
    assert request.endpoint == "send"
    url = request.json["media_url"]
    assert url.startswith(f"{internal_url}/api/smartwats/media/")
    assert url.endswith("/invoice.pdf")
    assert request.json == {
        "number": RECIPIENT_MUM,
        "type": "media",
        "media_url": url,
        "message": "Due",
        "filename": "invoice.pdf",
    }
    status, body, headers = await fetch(hass_client_no_auth, url)
    assert (status, body) == (200, PDF)
    assert headers["Content-Type"] == "application/pdf"
    assert "invoice.pdf" in headers["Content-Disposition"]
    # A wrong token or a wrong file name is a 404; so is the path after expiry.
    token = URL(url).parts[-2]
    assert (await fetch(hass_client_no_auth, url.replace(token, "x" * len(token))))[0] == 404
    assert (await fetch(hass_client_no_auth, url.replace("invoice.pdf", "other.pdf")))[0] == 404
    freezer.tick(MEDIA_URL_TTL + timedelta(seconds=1))
    assert (await fetch(hass_client_no_auth, url))[0] == 404
    assert len(hass.data[MEDIA_STORE]) == 0


async def test_each_send_gets_its_own_url(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    group_id: str,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Several targets: a path each; groups go to the group endpoint; a filename is kept."""
    await call(
        hass,
        "send_media",
        {
            "target": [RECIPIENT_MUM, group_id],
            "media_path": str(media_dir / "door bell.mp3"),
            "filename": "Bell.mp3",
        },
    )
    first, second = sends(emulator)
    assert (first.endpoint, second.endpoint) == ("send", "send_group")
    assert second.json["group_id"] == group_id
    assert first.json["filename"] == second.json["filename"] == "Bell.mp3"
    assert first.json["media_url"] != second.json["media_url"]
    assert first.json["media_url"].endswith("/door_bell.mp3")
    for request in (first, second):
        status, body, headers = await fetch(hass_client_no_auth, request.json["media_url"])
        assert (status, body, headers["Content-Type"]) == (200, b"ID3 audio", "audio/mpeg")


async def test_send_media_from_a_url(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """A URL goes to the gateway as it is, without Home Assistant's URL being needed."""
    hass.config.internal_url = None
    await call(hass, "send_media", {"target": RECIPIENT_MUM, "media_url": "https://x.org/a.jpg"})
    [request] = sends(emulator)
    assert request.json == {
        "number": RECIPIENT_MUM,
        "type": "media",
        "media_url": "https://x.org/a.jpg",
    }


async def test_send_media_from_a_camera(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    camera: str,
    hass_client_no_auth: ClientFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A snapshot is taken now and served as a JPEG named after the camera."""
    freezer.move_to("2026-05-01 12:30:05+00:00")
    await call(hass, "send_media", {"target": RECIPIENT_MUM, "camera_entity_id": camera})
    [request] = sends(emulator)
    assert request.json["filename"] == "front_door_20260501_123005.jpg"
    status, body, headers = await fetch(hass_client_no_auth, request.json["media_url"])
    assert status == 200
    assert body.startswith(b"\xff\xd8")
    assert headers["Content-Type"] == "image/jpg"
    # The same through a media-source id of the camera.
    await call(
        hass,
        "send_media",
        {"target": RECIPIENT_MUM, "media_content_id": f"media-source://camera/{camera}"},
    )
    assert sends(emulator)[-1].json["filename"].startswith("front_door_")


async def test_camera_errors(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, camera: str
) -> None:
    """An unknown camera is bad input; a camera that fails is a Home Assistant error."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "send_media", {"target": RECIPIENT_MUM, "camera_entity_id": "camera.nope"})
    assert err.value.translation_key == "camera_not_found"
    with (
        patch.object(DemoCamera, "async_camera_image", side_effect=HomeAssistantError("broken")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call(hass, "send_media", {"target": RECIPIENT_MUM, "camera_entity_id": camera})
    assert err.value.translation_key == "camera_failed"
    assert sends(emulator) == []


async def test_send_media_from_a_media_source(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A local media-source file is served like a file."""
    assert await async_setup_component(hass, "media_source", {})
    await call(
        hass,
        "send_media",
        {"target": RECIPIENT_MUM, "media_content_id": "media-source://media_source/local/a.jpg"},
    )
    [request] = sends(emulator)
    assert request.json["filename"] == "a.jpg"
    status, body, headers = await fetch(hass_client_no_auth, request.json["media_url"])
    assert (status, body, headers["Content-Type"]) == (200, b"\xff\xd8 first", "image/jpeg")


async def test_send_audio(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    internal_url: str,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Audio from a URL, a file or a media source (TTS: a signed path of Home Assistant)."""
    await call(hass, "send_audio", {"target": RECIPIENT_MUM, "audio_url": "https://x.org/a.ogg"})
    await call(
        hass,
        "send_audio",
        {"target": RECIPIENT_MUM, "audio_path": str(media_dir / "door bell.mp3"), "ptt": False},
    )
    assert await async_setup_component(hass, "media_source", {})
    tts = PlayMedia("/api/tts_proxy/abc123.mp3", "audio/mpeg")
    with patch("homeassistant.components.media_source.async_resolve_media", return_value=tts):
        await call(
            hass,
            "send_audio",
            {"target": RECIPIENT_MUM, "media_content_id": "media-source://tts/cloud?message=Hi"},
        )
    first, second, third = sends(emulator)
    assert first.json == {"number": RECIPIENT_MUM, "audio_url": "https://x.org/a.ogg", "ptt": True}
    assert second.json["ptt"] is False
    status, body, _ = await fetch(hass_client_no_auth, second.json["audio_url"])
    assert (status, body) == (200, b"ID3 audio")
    tts_url = URL(third.json["audio_url"])
    assert str(tts_url).startswith(f"{internal_url}/api/tts_proxy/abc123.mp3?authSig=")


async def test_media_source_with_an_external_url(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator
) -> None:
    """A media source that resolves to a URL elsewhere is given as it is."""
    assert await async_setup_component(hass, "media_source", {})
    radio = PlayMedia("https://radio.example/stream.mp3", "audio/mpeg")
    with patch("homeassistant.components.media_source.async_resolve_media", return_value=radio):
        await call(
            hass,
            "send_media",
            {"target": RECIPIENT_MUM, "media_content_id": "media-source://radio_browser/x"},
        )
    [request] = sends(emulator)
    assert request.json["media_url"] == "https://radio.example/stream.mp3"
    assert request.json["filename"] == "stream.mp3"


async def test_send_album(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Items by URL and by local path, in order, with one caption."""
    await call(
        hass,
        "send_album",
        {
            "target": RECIPIENT_MUM,
            "caption": "Holiday",
            "items": [
                {"type": "image", "url": "https://x.org/1.jpg"},
                {"type": "video", "path": str(media_dir / "a.jpg")},
            ],
        },
    )
    [request] = sends(emulator)
    assert request.endpoint == "send_album"
    album = request.json["album"]
    assert request.json["caption"] == "Holiday"
    assert album[0] == {"type": "image", "url": "https://x.org/1.jpg"}
    assert album[1]["type"] == "video"
    status, body, _ = await fetch(hass_client_no_auth, album[1]["url"])
    assert (status, body) == (200, b"\xff\xd8 first")


@pytest.mark.parametrize(
    ("items", "key", "text"),
    [
        ([{"type": "image", "url": "https://x.org/1.jpg"}], "album_size", "not 1"),
        ([{"type": "image", "url": "https://x.org/1.jpg"}] * 11, "album_size", "not 11"),
        (
            [
                {"type": "audio", "url": "https://x.org/1.mp3"},
                {"type": "image", "url": "https://x.org/1.jpg"},
            ],
            "invalid_album_item",
            "Album item 1",
        ),
        (
            [{"type": "image"}, {"type": "image", "url": "https://x.org/1.jpg"}],
            "invalid_album_item",
            "url or path",
        ),
        (
            [{"type": "image", "url": "https://x.org/1.jpg"}, {"type": "image", "url": "x.jpg"}],
            "invalid_url",
            "x.jpg",
        ),
        (
            [
                {"type": "image", "url": "https://x.org/1.jpg"},
                {"type": "image", "path": "/etc/passwd"},
            ],
            "path_not_allowed",
            "/etc/passwd",
        ),
    ],
)
async def test_send_album_validation(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    items: list[dict[str, Any]],
    key: str,
    text: str,
) -> None:
    """2 to 10 items, each an image or a video from one allowed source."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "send_album", {"target": RECIPIENT_MUM, "items": items})
    assert err.value.translation_key == key
    assert text in str(err.value)
    assert sends(emulator) == []


@pytest.mark.parametrize(
    ("data", "key", "text"),
    [
        ({}, "missing_source", "media_url, media_path"),
        (
            {"media_url": "https://x.org/a.jpg", "media_path": "/config/a.jpg"},
            "multiple_sources",
            "media_url, media_path",
        ),
        ({"media_url": "not a url"}, "invalid_url", "not a url"),
        ({"media_url": "http://[::1"}, "invalid_url", "http://[::1"),
        ({"media_path": "/etc/passwd"}, "path_not_allowed", "/etc/passwd"),
        ({"media_content_id": "http://x.org/a.jpg"}, "not_media_source", "http://x.org/a.jpg"),
        (
            {"media_content_id": "media-source://media_source/local/missing.jpg"},
            "file_not_found",
            "missing.jpg",
        ),
        ({"media_content_id": "media-source://nowhere/x"}, "media_unresolvable", "nowhere"),
    ],
)
async def test_send_media_validation(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    data: dict[str, Any],
    key: str,
    text: str,
) -> None:
    """Exactly one valid source is needed; nothing is sent otherwise."""
    assert await async_setup_component(hass, "media_source", {})
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "send_media", {"target": RECIPIENT_MUM, **data})
    assert err.value.translation_key == key
    assert text in str(err.value)
    assert sends(emulator) == []


async def test_file_must_exist(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, media_dir: Path
) -> None:
    """An allowlisted path that is no file (missing, a folder) is rejected."""
    for path in (media_dir / "missing.pdf", media_dir / "sub"):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "send_media", {"target": RECIPIENT_MUM, "media_path": str(path)})
        assert err.value.translation_key == "file_not_found"
    assert sends(emulator) == []


SECRET = b"api_password: hunter2"


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the allowlist, with a secret in it (think secrets.yaml)."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secrets.yaml").write_bytes(SECRET)
    (folder / "invoice.pdf").write_bytes(SECRET)
    return folder


async def send_file(hass: HomeAssistant, emulator: Emulator, path: Path) -> str:
    """Send a local file; return the URL the gateway got."""
    await call(hass, "send_media", {"target": RECIPIENT_MUM, "media_path": str(path)})
    return str(sends(emulator)[-1].json["media_url"])


async def test_file_swapped_for_a_symlink_is_not_served(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    outside: Path,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A file replaced by a symlink after the call is a 404: the link is not followed."""
    url = await send_file(hass, emulator, media_dir / "invoice.pdf")
    assert (await fetch(hass_client_no_auth, url))[:2] == (200, PDF)
    (media_dir / "invoice.pdf").unlink()
    (media_dir / "invoice.pdf").symlink_to(outside / "secrets.yaml")
    status, body, _ = await fetch(hass_client_no_auth, url)
    assert status == 404
    assert SECRET not in body


async def test_folder_swapped_for_a_symlink_is_not_served(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    outside: Path,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A folder on the way replaced by a symlink after the call is a 404 as well."""
    (media_dir / "sub" / "invoice.pdf").write_bytes(PDF)
    url = await send_file(hass, emulator, media_dir / "sub" / "invoice.pdf")
    (media_dir / "sub").rename(media_dir / "old")
    (media_dir / "sub").symlink_to(outside)
    status, body, _ = await fetch(hass_client_no_auth, url)
    assert status == 404
    assert SECRET not in body


async def test_file_swapped_for_something_else_is_not_served(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A file replaced by a pipe (which would block a reader) or a folder is a 404."""
    first = await send_file(hass, emulator, media_dir / "invoice.pdf")
    second = await send_file(hass, emulator, media_dir / "a.jpg")
    (media_dir / "invoice.pdf").unlink()
    os.mkfifo(media_dir / "invoice.pdf")
    (media_dir / "a.jpg").unlink()
    (media_dir / "a.jpg").mkdir()
    assert (await fetch(hass_client_no_auth, first))[0] == 404
    assert (await fetch(hass_client_no_auth, second))[0] == 404


async def test_allowlist_is_checked_when_served(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A folder taken off the allowlist after the call is no longer served."""
    url = await send_file(hass, emulator, media_dir / "invoice.pdf")
    hass.config.allowlist_external_dirs = set()
    assert (await fetch(hass_client_no_auth, url))[0] == 404


async def test_symlink_at_call_time(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    outside: Path,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A symlink is judged by where it leads when the action is called, and that file is sent.

    Out of the allowlist: rejected. Within it: the file it led to is served, whatever the
    link points at later.
    """
    (media_dir / "secrets.yaml").symlink_to(outside / "secrets.yaml")
    with pytest.raises(ServiceValidationError) as err:
        await send_file(hass, emulator, media_dir / "secrets.yaml")
    assert err.value.translation_key == "path_not_allowed"
    assert sends(emulator) == []
    (media_dir / "latest.pdf").symlink_to(media_dir / "invoice.pdf")
    url = await send_file(hass, emulator, media_dir / "latest.pdf")
    assert url.endswith("/latest.pdf")
    (media_dir / "latest.pdf").unlink()
    (media_dir / "latest.pdf").symlink_to(media_dir / "a.jpg")
    assert (await fetch(hass_client_no_auth, url))[:2] == (200, PDF)


async def test_media_source_file_swapped_for_a_symlink(
    hass: HomeAssistant,
    *,
    entry: MockConfigEntry,
    emulator: Emulator,
    media_dir: Path,
    outside: Path,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A local media-source file replaced by a symlink after the call is a 404 too."""
    assert await async_setup_component(hass, "media_source", {})
    await call(
        hass,
        "send_media",
        {"target": RECIPIENT_MUM, "media_content_id": "media-source://media_source/local/a.jpg"},
    )
    url = sends(emulator)[-1].json["media_url"]
    (media_dir / "a.jpg").unlink()
    (media_dir / "a.jpg").symlink_to(outside / "secrets.yaml")
    status, body, _ = await fetch(hass_client_no_auth, url)
    assert status == 404
    assert SECRET not in body


async def test_no_reachable_url(
    hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator, media_dir: Path
) -> None:
    """Without a URL the gateway can reach, served media cannot be sent: the error says why."""
    with (
        patch("custom_components.smartwats.services.async_reachable_base_url", return_value=None),
        pytest.raises(ServiceValidationError) as err,
    ):
        await call(
            hass,
            "send_media",
            {"target": RECIPIENT_MUM, "media_path": str(media_dir / "invoice.pdf")},
        )
    assert err.value.translation_key == "no_reachable_url"
    assert "external URL" in str(err.value)
    assert sends(emulator) == []


async def test_bad_target_fails_before_the_snapshot(
    hass: HomeAssistant, entry: MockConfigEntry, camera: str
) -> None:
    """Targets are checked before any media is prepared."""
    with (
        patch.object(DemoCamera, "async_camera_image") as snapshot,
        pytest.raises(ServiceValidationError),
    ):
        await call(hass, "send_media", {"target": "12", "camera_entity_id": camera})
    snapshot.assert_not_called()


async def test_store_is_bounded(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """At most so many paths wait; the oldest goes first; expired ones are dropped."""
    store = MediaStore(max_pending=2)
    item = MediaItem(filename="a.txt", content_type="text/plain", content=b"a")
    first, second = store.async_register(item), store.async_register(item)
    token = first.split("/")[-2]
    assert store.async_get(token, "a.txt") is item
    third = store.async_register(item)
    assert store.async_get(token, "a.txt") is None
    assert len(store) == 2
    assert {second, third} != {first}
    freezer.tick(MEDIA_URL_TTL)
    assert len(store) == 0


async def test_view_serves_bytes(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client_no_auth: ClientFactory
) -> None:
    """Items held in memory are served with their type; nothing else on the view answers."""
    path = hass.data[MEDIA_STORE].async_register(
        MediaItem(filename="Hello world.txt", content_type="text/plain", content=b"hi")
    )
    status, body, headers = await fetch(hass_client_no_auth, path)
    assert (status, body) == (200, b"hi")
    assert headers["Cache-Control"] == "no-store"
    assert (await fetch(hass_client_no_auth, "/api/smartwats/media/"))[0] == 404
    assert (await fetch(hass_client_no_auth, "/api/smartwats/media/x"))[0] == 404


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/config/www/door bell.mp3", "door_bell.mp3"),
        ("../../etc/passwd", "passwd"),
        ("...", "file"),
        ("caméra.jpg", "caméra.jpg"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    """File names lose folders and characters that need care in a URL."""
    assert safe_filename(name) == expected
