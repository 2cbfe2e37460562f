"""The outbox of one instance: messages Home Assistant accepted that the gateway cannot take yet.

A message goes here instead of failing when the gateway cannot be reached (or the circuit below
is open), the session is not linked, or the entry is stopping — unless it was sent with
``valid_for`` 0. It is on disk (Home Assistant's `Store`, key ``smartwats.outbox.<entry_id>``)
before the action returns, and is delivered in order, through the instance's paced send queue,
once the gateway can take it; or it fails with ``expired`` when ``valid_for`` has passed.
Media Home Assistant holds in memory (a camera snapshot) is written beside it, in
``.storage/smartwats_outbox/<entry_id>/``, and deleted with the message.

The circuit breaker: after a send finds the gateway unreachable, no request is attempted for a
back-off period (5 s, doubling to 5 minutes), so that new messages go straight to the outbox
without waiting for timeouts. A successful probe of the link coordinator, the session seen
linked again, or an inbound message closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
import shutil
from typing import Any, Final
import uuid

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .media import MediaItem, PreparedMedia
from .messages import (
    AlbumMessage,
    AlbumPart,
    AudioMessage,
    MediaMessage,
    OutgoingMessage,
    message_as_dict,
    message_from_dict,
)

STORAGE_VERSION: Final = 1
# At most this many messages, and this much media, wait per entry.
MAX_MESSAGES: Final = 1000
MAX_MEDIA_BYTES: Final = 50 * 1024 * 1024
# The circuit breaker's back-off: from the first to the longest.
FIRST_BACKOFF: Final = 5.0
MAX_BACKOFF: Final = 300.0


def outbox_key(entry_id: str) -> str:
    """Return the `Store` key of an entry's outbox."""
    return f"{DOMAIN}.outbox.{entry_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """A message waiting for one target."""

    outbox_id: str
    target: str
    message: OutgoingMessage
    queued_at: float  # timestamps (seconds)
    expires_at: float
    # Its request may be with the gateway. Saved before the request and cleared when it surely
    # had no effect: found set at a start, the message may have been sent and never goes again.
    sending: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the item as JSON-serialisable data."""
        return {
            "outbox_id": self.outbox_id,
            "target": self.target,
            "message": message_as_dict(self.message),
            "queued_at": self.queued_at,
            "expires_at": self.expires_at,
            "sending": self.sending,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutboxItem:
        """Return the item `as_dict` described."""
        return cls(
            outbox_id=str(data["outbox_id"]),
            target=str(data["target"]),
            message=message_from_dict(data["message"]),
            queued_at=float(data["queued_at"]),
            expires_at=float(data["expires_at"]),
            sending=bool(data.get("sending", False)),
        )


class OutboxFullError(HomeAssistantError):
    """The outbox holds as much as it may: nothing is dropped, the action fails."""


class Outbox:
    """The waiting messages of one entry, oldest first, kept on disk."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the outbox of an entry (`async_load` reads what waited)."""
        self.hass = hass
        self.entry_id = entry_id
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, outbox_key(entry_id))
        self._items: list[OutboxItem] = []
        self.media_dir = Path(hass.config.path(".storage", f"{DOMAIN}_outbox", entry_id))

    def __len__(self) -> int:
        """Return how many messages wait."""
        return len(self._items)

    def __iter__(self) -> Iterator[OutboxItem]:
        """Iterate over the waiting messages, oldest first."""
        return iter(list(self._items))

    def holds_target(self, target: str) -> bool:
        """Whether a message to ``target`` waits (a new one must then wait behind it)."""
        return any(item.target == target for item in self._items)

    def oldest(self) -> OutboxItem | None:
        """Return the message that waited longest."""
        return self._items[0] if self._items else None

    async def async_load(self) -> None:
        """Read what waited; a file that cannot be read is kept aside and the outbox is empty."""
        try:
            data = await self._store.async_load()
            self._items = [OutboxItem.from_dict(item) for item in (data or {}).get("items", [])]
        except (HomeAssistantError, ValueError, KeyError, TypeError) as err:
            path = Path(self.hass.config.path(".storage", outbox_key(self.entry_id)))
            LOGGER.error(
                "The outbox of a SmartWats entry could not be read (%s); it is kept as %s.corrupt "
                "and starts empty",
                err,
                path.name,
            )
            await self.hass.async_add_executor_job(_keep_aside, path)
            self._items = []

    async def async_add(
        self, targets: list[str], message: OutgoingMessage, valid_for: float
    ) -> list[OutboxItem]:
        """Queue the message for each target, on disk before returning.

        Raises `OutboxFullError` when the outbox cannot take them, or `HomeAssistantError`
        when they cannot be saved (nothing is then queued).
        """
        if len(self._items) + len(targets) > MAX_MESSAGES:
            raise OutboxFullError(
                translation_domain=DOMAIN,
                translation_key="outbox_full",
                translation_placeholders={"max": str(MAX_MESSAGES)},
            )
        now = dt_util.utcnow().timestamp()
        stored = await self._async_store_media(message)
        items = [
            OutboxItem(
                outbox_id=uuid.uuid4().hex,
                target=target,
                message=stored,
                queued_at=now,
                expires_at=now + valid_for,
            )
            for target in targets
        ]
        self._items.extend(items)
        try:
            await self._async_save()
        except OSError as err:
            del self._items[-len(items) :]
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="outbox_save_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        return items

    async def async_set_sending(self, item: OutboxItem, *, sending: bool) -> OutboxItem:
        """Mark a message as (no longer) being sent, on disk before returning; return it."""
        marked = replace(item, sending=sending)
        self._items = [marked if i.outbox_id == item.outbox_id else i for i in self._items]
        await self._async_save()
        return marked

    async def async_remove(self, items: list[OutboxItem]) -> None:
        """Take messages out (sent, failed, expired or cleared) and delete their media."""
        ids = {item.outbox_id for item in items}
        self._items = [item for item in self._items if item.outbox_id not in ids]
        await self._async_save()
        used = {path for item in self._items for path in _media_paths(item.message)}
        gone = {path for item in items for path in _media_paths(item.message)} - used
        if gone:
            await self.hass.async_add_executor_job(_delete_files, gone)

    async def async_delete(self) -> None:
        """Delete the outbox and its media (the entry is removed)."""
        self._items = []
        await self._store.async_remove()
        await self.hass.async_add_executor_job(_delete_folder, self.media_dir)

    async def _async_save(self) -> None:
        await self._store.async_save({"items": [item.as_dict() for item in self._items]})

    async def _async_store_media(self, message: OutgoingMessage) -> OutgoingMessage:
        """Write media held in memory to files, so that it survives a restart."""
        if isinstance(message, MediaMessage | AudioMessage):
            return replace(message, media=await self._async_stored(message.media))
        if isinstance(message, AlbumMessage):
            parts = [
                AlbumPart(kind=part.kind, media=await self._async_stored(part.media))
                for part in message.parts
            ]
            return replace(message, parts=tuple(parts))
        return message

    async def _async_stored(self, media: PreparedMedia) -> PreparedMedia:
        item = media.served
        if not isinstance(item, MediaItem) or item.content is None:
            return media
        content = item.content
        used = await self.hass.async_add_executor_job(_size_of, self.media_dir)
        if used + len(content) > MAX_MEDIA_BYTES:
            raise OutboxFullError(
                translation_domain=DOMAIN,
                translation_key="outbox_full",
                translation_placeholders={"max": str(MAX_MESSAGES)},
            )
        path = self.media_dir / f"{uuid.uuid4().hex}_{item.filename}"
        await self.hass.async_add_executor_job(_write_file, path, content)
        stored = MediaItem(filename=item.filename, content_type=item.content_type, path=path)
        return replace(media, served=stored)


def _media_paths(message: OutgoingMessage) -> list[Path]:
    medias: list[PreparedMedia] = []
    if isinstance(message, MediaMessage | AudioMessage):
        medias = [message.media]
    elif isinstance(message, AlbumMessage):
        medias = [part.media for part in message.parts]
    return [
        media.served.path
        for media in medias
        if isinstance(media.served, MediaItem)
        and media.served.path is not None
        and not media.served.allowlisted
        and f"{DOMAIN}_outbox" in media.served.path.parts
    ]


def _delete_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _keep_aside(path: Path) -> None:
    if path.exists():
        path.replace(path.with_name(path.name + ".corrupt"))


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _delete_files(paths: set[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _size_of(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
