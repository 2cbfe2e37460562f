"""Media that lives in Home Assistant, served to the gateway through short-lived signed URLs.

The gateway only fetches URLs. An allowlisted local file, a camera snapshot or a media-source item
is therefore kept here and served by `SmartwatsMediaView` under a random, single-purpose path
(``/api/smartwats/media/<token>/<filename>``) on the URL the gateway can reach. Each send gets a
path of its own that expires after `MEDIA_URL_TTL`; an unknown or expired path is a 404 and
nothing else is reachable through the view. No timer runs: expired paths are dropped whenever the
store is used, and at most `MEDIA_MAX_PENDING` wait at once (the oldest goes first).

A local file is resolved when the action is called and served from that resolved path only: when
it is fetched (minutes later, maybe), it must still be allowlisted, be a regular file, and no part
of its path may be a symlink, so that nothing swapped in meanwhile (a link to secrets.yaml) is
served.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
import mimetypes
import os
from pathlib import Path
import re
import secrets
import stat
from typing import Any, BinaryIO, Literal
from urllib.parse import quote, urlsplit

from aiohttp import hdrs, web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from yarl import URL

from .const import DOMAIN, MEDIA_MAX_PENDING, MEDIA_URL_TTL, MEDIA_VIEW_URL

MEDIA_STORE: HassKey[MediaStore] = HassKey(f"{DOMAIN}_media")

_DEFAULT_CONTENT_TYPE = "application/octet-stream"
_UNSAFE_FILENAME = re.compile(r"[^\w.\-]+")
_CAMERA_DOMAIN = "camera"
_CAMERA_PREFIX = f"media-source://{_CAMERA_DOMAIN}/"
_READ_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaItem:
    """Something Home Assistant serves: a file on disk or bytes in memory.

    ``path`` is resolved (no symlinks in it); ``allowlisted`` says that it must still be in
    `allowlist_external_dirs` when served (a file an action named; not a media-source item).
    """

    filename: str
    content_type: str
    path: Path | None = None
    allowlisted: bool = False
    content: bytes | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the item as JSON-serialisable data (the content base64-encoded)."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "path": None if self.path is None else str(self.path),
            "allowlisted": self.allowlisted,
            "content": None if self.content is None else base64.b64encode(self.content).decode(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaItem:
        """Return the item `as_dict` described."""
        path, content = data.get("path"), data.get("content")
        return cls(
            filename=data["filename"],
            content_type=data["content_type"],
            path=None if path is None else Path(path),
            allowlisted=bool(data.get("allowlisted", False)),
            content=None if content is None else base64.b64decode(content),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedMedia:
    """Media ready to go: a URL the gateway fetches itself, or media Home Assistant serves.

    Served media is an item of the store, or a path of Home Assistant itself (TTS) given to the
    gateway signed. ``filename`` is the name the gateway should give a document (from the source).
    """

    filename: str | None
    url: str | None = None
    served: MediaItem | str | None = None

    @property
    def needs_base_url(self) -> bool:
        """Whether Home Assistant serves it (the gateway must be able to reach it)."""
        return self.url is None

    @callback
    def async_url(self, hass: HomeAssistant, base_url: str | None) -> str:
        """Return the URL to give the gateway; served media gets a new signed path each time."""
        if self.url is not None:
            return self.url
        if isinstance(self.served, MediaItem):
            path = hass.data[MEDIA_STORE].async_register(self.served)
        else:
            path = async_sign_path(hass, str(self.served), MEDIA_URL_TTL, use_content_user=True)
        return (base_url or "").rstrip("/") + path

    def as_dict(self) -> dict[str, Any]:
        """Return the media as JSON-serialisable data."""
        served = self.served.as_dict() if isinstance(self.served, MediaItem) else self.served
        return {"filename": self.filename, "url": self.url, "served": served}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreparedMedia:
        """Return the media `as_dict` described."""
        served = data.get("served")
        return cls(
            filename=data.get("filename"),
            url=data.get("url"),
            served=MediaItem.from_dict(served) if isinstance(served, dict) else served,
        )


@dataclass(slots=True)
class _Pending:
    item: MediaItem
    expires: datetime


class MediaStore:
    """The items waiting to be fetched, by token."""

    def __init__(self, max_pending: int = MEDIA_MAX_PENDING) -> None:
        """Start empty."""
        self._pending: dict[str, _Pending] = {}
        self._max_pending = max_pending

    def __len__(self) -> int:
        """Return how many paths are live."""
        self._prune()
        return len(self._pending)

    @callback
    def async_register(self, item: MediaItem) -> str:
        """Make a new path for the item and return it (relative to Home Assistant's URL)."""
        self._prune()
        while len(self._pending) >= self._max_pending:
            del self._pending[next(iter(self._pending))]
        token = secrets.token_urlsafe(32)
        self._pending[token] = _Pending(item, dt_util.utcnow() + MEDIA_URL_TTL)
        return MEDIA_VIEW_URL.format(token=token, filename=quote(item.filename, safe=""))

    @callback
    def async_get(self, token: str, filename: str) -> MediaItem | None:
        """Return the item of a live path, or None."""
        self._prune()
        pending = self._pending.get(token)
        if pending is None or pending.item.filename != filename:
            return None
        return pending.item

    def _prune(self) -> None:
        now = dt_util.utcnow()
        for token in [t for t, pending in self._pending.items() if pending.expires <= now]:
            del self._pending[token]


class SmartwatsMediaView(HomeAssistantView):
    """Serves the store's items to the gateway, without authentication (the path is the key)."""

    url = MEDIA_VIEW_URL
    name = "api:smartwats:media"
    requires_auth = False

    def __init__(self, store: MediaStore) -> None:
        """Serve the items of ``store``."""
        self._store = store

    async def get(self, request: web.Request, token: str, filename: str) -> web.StreamResponse:
        """Serve a live item; anything else is a 404."""
        item = self._store.async_get(token, filename)
        if item is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        headers = {
            hdrs.CONTENT_TYPE: item.content_type,
            hdrs.CONTENT_DISPOSITION: f"inline; filename*=UTF-8''{quote(item.filename)}",
            hdrs.CACHE_CONTROL: "no-store",
        }
        if item.path is None:
            return web.Response(body=item.content, headers=headers)
        hass = request.app[KEY_HASS]
        opened = await hass.async_add_executor_job(
            _open_served_file, hass, item.path, item.allowlisted
        )
        if opened is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        # Streamed from the file that passed the checks, not opened again by path.
        file, size = opened
        try:
            response = web.StreamResponse(headers=headers)
            response.content_length = size
            await response.prepare(request)
            remaining = size
            while remaining > 0 and (
                chunk := await hass.async_add_executor_job(file.read, min(_READ_CHUNK, remaining))
            ):
                remaining -= len(chunk)
                await response.write(chunk)
        finally:
            file.close()
        await response.write_eof()
        return response


def _open_served_file(
    hass: HomeAssistant, path: Path, allowlisted: bool
) -> tuple[BinaryIO, int] | None:
    """Open a stored file to serve it, or return None when it may not be served any more."""
    if allowlisted and not hass.config.is_allowed_path(str(path)):
        return None
    return _open_regular_file(path)


def _open_regular_file(path: Path) -> tuple[BinaryIO, int] | None:
    """Open a regular file at an absolute path that has no symlink in it; return it and its size.

    Each folder is opened relative to the one before it with O_NOFOLLOW, so that a symlink put
    anywhere on the path is refused rather than followed, with no gap between check and use.
    O_NONBLOCK keeps a named pipe put in the file's place from blocking the open.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        folder = os.open(path.anchor, flags | os.O_DIRECTORY)
        try:
            for part in path.parts[1:-1]:
                parent, folder = folder, os.open(part, flags | os.O_DIRECTORY, dir_fd=folder)
                os.close(parent)
            fd = os.open(path.name, flags | os.O_NONBLOCK, dir_fd=folder)
        finally:
            os.close(folder)
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb"), info.st_size


@callback
def async_setup_media(hass: HomeAssistant) -> None:
    """Create the store and register the view (once, when the integration is set up)."""
    store = hass.data[MEDIA_STORE] = MediaStore()
    hass.http.register_view(SmartwatsMediaView(store))


def safe_filename(name: str, default: str = "file") -> str:
    """Return a file name without directories or characters that need care in a URL."""
    name = _UNSAFE_FILENAME.sub("_", Path(name).name).strip("._")
    return name or default


def _content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or _DEFAULT_CONTENT_TYPE


def check_url(url: str) -> str:
    """Return an http(s) URL the gateway can fetch, or raise the validation error."""
    try:
        parsed = URL(url)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_url",
            translation_placeholders={"url": url},
        )
    return url


def media_from_url(url: str) -> PreparedMedia:
    """Prepare media that the gateway fetches itself (the URL is checked)."""
    return PreparedMedia(filename=None, url=check_url(url))


type MediaSource = Literal["url", "path", "camera", "media_source"]


async def async_prepare_media(
    hass: HomeAssistant, source: MediaSource, value: str
) -> PreparedMedia:
    """Prepare media from a URL, a local file, a camera snapshot (now) or a media-source item."""
    if source == "url":
        return media_from_url(value)
    if source == "path":
        return await async_media_from_path(hass, value)
    if source == "camera":
        return await async_media_from_camera(hass, value)
    return await async_media_from_source(hass, value)


def _resolve_file(path: Path) -> Path | None:
    """Return where a path leads now if that is a file (symlinks followed), else None."""
    try:
        resolved = path.resolve(strict=True)
    except OSError, RuntimeError:  # missing, or a symlink loop
        return None
    return resolved if resolved.is_file() else None


def _file_not_found(path: object) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="file_not_found",
        translation_placeholders={"path": str(path)},
    )


async def async_media_from_path(hass: HomeAssistant, path: str) -> PreparedMedia:
    """Prepare a local file, which must be in `allowlist_external_dirs`.

    The file a symlink leads to now is the one sent: the resolved path is kept (and checked again
    when it is served).
    """

    def check() -> tuple[bool, Path | None]:
        if not hass.config.is_allowed_path(path):
            return False, None
        return True, _resolve_file(Path(path))

    allowed, resolved = await hass.async_add_executor_job(check)
    if not allowed:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_not_allowed",
            translation_placeholders={"path": path},
        )
    if resolved is None:
        raise _file_not_found(path)
    filename = safe_filename(path)
    item = MediaItem(
        filename=filename, content_type=_content_type(filename), path=resolved, allowlisted=True
    )
    return PreparedMedia(filename=filename, served=item)


async def async_media_from_camera(hass: HomeAssistant, entity_id: str) -> PreparedMedia:
    """Take a snapshot with a camera, now."""
    from homeassistant.components import camera  # noqa: PLC0415 - an after_dependency

    state = hass.states.get(entity_id)
    if state is None or state.domain != _CAMERA_DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="camera_not_found",
            translation_placeholders={"entity_id": entity_id},
        )
    try:
        image = await camera.async_get_image(hass, entity_id)
    except HomeAssistantError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="camera_failed",
            translation_placeholders={"entity_id": entity_id, "error": str(err)},
        ) from err
    extension = mimetypes.guess_extension(image.content_type) or ".jpg"
    stamp = dt_util.utcnow().strftime("%Y%m%d_%H%M%S")
    filename = f"{state.object_id}_{stamp}{extension}"
    item = MediaItem(filename=filename, content_type=image.content_type, content=image.content)
    return PreparedMedia(filename=filename, served=item)


async def async_media_from_source(hass: HomeAssistant, media_content_id: str) -> PreparedMedia:
    """Prepare a media-source item (a local media file, TTS, a camera...).

    A camera item is a snapshot taken now; an item that resolves to a local file is served from
    here; one that resolves to a URL of Home Assistant itself (TTS) is given as a signed path of
    Home Assistant, and any other URL as it is.
    """
    from homeassistant.components import media_source  # noqa: PLC0415 - an after_dependency

    if not media_source.is_media_source_id(media_content_id):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_media_source",
            translation_placeholders={"media_content_id": media_content_id},
        )
    if media_content_id.startswith(_CAMERA_PREFIX):
        return await async_media_from_camera(hass, media_content_id.removeprefix(_CAMERA_PREFIX))
    try:
        media = await media_source.async_resolve_media(hass, media_content_id, None)
    except HomeAssistantError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="media_unresolvable",
            translation_placeholders={"media_content_id": media_content_id, "error": str(err)},
        ) from err
    if media.path is not None:
        # Resolved now like a file path; the media source, not the allowlist, decides what it
        # serves, so only the symlink and file checks apply when it is fetched.
        resolved = await hass.async_add_executor_job(_resolve_file, media.path)
        if resolved is None:
            raise _file_not_found(media.path)
        filename = safe_filename(media.path.name)
        item = MediaItem(filename=filename, content_type=media.mime_type, path=resolved)
        return PreparedMedia(filename=filename, served=item)
    filename = safe_filename(urlsplit(media.url).path)
    if media.url.startswith("/"):
        return PreparedMedia(filename=filename, served=media.url)
    return PreparedMedia(filename=filename, url=media.url)
