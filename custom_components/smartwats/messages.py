"""What is sent: one immutable value per kind of message, built once from an action's call.

Each value holds everything needed to send it to any number of targets, later too: media that
Home Assistant serves is kept as `PreparedMedia` and given a fresh signed URL when its turn
comes (`sender.async_send_message`). Values are JSON-serialisable (`message_as_dict` /
`message_from_dict`), so that they can be stored and sent after a restart.

The builders read an action's data (already checked by its schema) and raise a translated
`ServiceValidationError` for anything that cannot be sent, before anything is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from homeassistant.const import ATTR_LATITUDE, ATTR_LONGITUDE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .api import (
    MAX_ALBUM_ITEMS,
    MAX_CAROUSEL_CARDS,
    MIN_ALBUM_ITEMS,
    AlbumMediaType,
    CarouselButtonError,
    CarouselCard,
)
from .const import DOMAIN
from .media import PreparedMedia, async_media_from_path, check_url, media_from_url


def validation_error(key: str, **placeholders: object) -> ServiceValidationError:
    """Return the translated validation error ``key`` with its placeholders as text."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={name: str(value) for name, value in placeholders.items()},
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessage:
    """A text (WhatsApp formatting such as ``*bold*`` included)."""

    type: ClassVar[str] = "text"
    text: str

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-serialisable data."""
        return {"text": self.text}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextMessage:
        """Return the message `as_dict` described."""
        return cls(text=data["text"])


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaMessage:
    """A picture, video or document, with an optional caption."""

    type: ClassVar[str] = "media"
    media: PreparedMedia
    caption: str | None = None
    filename: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-serialisable data."""
        return {"media": self.media.as_dict(), "caption": self.caption, "filename": self.filename}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaMessage:
        """Return the message `as_dict` described."""
        return cls(
            media=PreparedMedia.from_dict(data["media"]),
            caption=data.get("caption"),
            filename=data.get("filename"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioMessage:
    """An audio file, as a voice note when ``ptt``."""

    type: ClassVar[str] = "audio"
    media: PreparedMedia
    ptt: bool = True

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-serialisable data."""
        return {"media": self.media.as_dict(), "ptt": self.ptt}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AudioMessage:
        """Return the message `as_dict` described."""
        return cls(media=PreparedMedia.from_dict(data["media"]), ptt=bool(data["ptt"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationMessage:
    """A location pin."""

    type: ClassVar[str] = "location"
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-serialisable data."""
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "name": self.name,
            "address": self.address,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocationMessage:
        """Return the message `as_dict` described."""
        return cls(
            latitude=float(data["latitude"]),
            longitude=float(data["longitude"]),
            name=data.get("name"),
            address=data.get("address"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactMessage:
    """A contact card."""

    type: ClassVar[str] = "contact"
    name: str
    phone: str

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-serialisable data."""
        return {"name": self.name, "phone": self.phone}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContactMessage:
        """Return the message `as_dict` described."""
        return cls(name=data["name"], phone=data["phone"])


@dataclass(frozen=True, slots=True, kw_only=True)
class AlbumPart:
    """One picture or video of an album."""

    kind: AlbumMediaType
    media: PreparedMedia


@dataclass(frozen=True, slots=True, kw_only=True)
class AlbumMessage:
    """2 to 10 pictures and videos with one caption."""

    type: ClassVar[str] = "album"
    parts: tuple[AlbumPart, ...]
    caption: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-serialisable data."""
        return {
            "parts": [{"kind": part.kind, "media": part.media.as_dict()} for part in self.parts],
            "caption": self.caption,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlbumMessage:
        """Return the message `as_dict` described."""
        parts = tuple(
            AlbumPart(kind=part["kind"], media=PreparedMedia.from_dict(part["media"]))
            for part in data["parts"]
        )
        return cls(parts=parts, caption=data.get("caption"))


@dataclass(frozen=True, slots=True, kw_only=True)
class CarouselMessage:
    """1 to 10 cards with buttons, with an optional text, title and footer."""

    type: ClassVar[str] = "carousel"
    cards: tuple[CarouselCard, ...]
    text: str | None = None
    title: str | None = None
    footer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-serialisable data (the cards in the gateway's form)."""
        return {
            "cards": [card.as_dict() for card in self.cards],
            "text": self.text,
            "title": self.title,
            "footer": self.footer,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CarouselMessage:
        """Return the message `as_dict` described."""
        return cls(
            cards=tuple(CarouselCard.from_dict(card) for card in data["cards"]),
            text=data.get("text"),
            title=data.get("title"),
            footer=data.get("footer"),
        )


type OutgoingMessage = (
    TextMessage
    | MediaMessage
    | AudioMessage
    | LocationMessage
    | ContactMessage
    | AlbumMessage
    | CarouselMessage
)

_KINDS: Final[dict[str, type[OutgoingMessage]]] = {
    kind.type: kind
    for kind in (
        TextMessage,
        MediaMessage,
        AudioMessage,
        LocationMessage,
        ContactMessage,
        AlbumMessage,
        CarouselMessage,
    )
}


def message_as_dict(message: OutgoingMessage) -> dict[str, Any]:
    """Return a message as JSON-serialisable data, with its ``type``."""
    return {"type": message.type, **message.as_dict()}


def message_from_dict(data: Mapping[str, Any]) -> OutgoingMessage:
    """Return the message `message_as_dict` described (ValueError or KeyError if it is not one)."""
    if (kind := _KINDS.get(data["type"])) is None:
        raise ValueError(f"Unknown message type {data['type']!r}")
    return kind.from_dict(data)


def message_media(message: OutgoingMessage) -> tuple[PreparedMedia, ...]:
    """Return the media a message carries."""
    if isinstance(message, MediaMessage | AudioMessage):
        return (message.media,)
    if isinstance(message, AlbumMessage):
        return tuple(part.media for part in message.parts)
    return ()


def serves_media(message: OutgoingMessage) -> bool:
    """Whether Home Assistant serves media of the message (the gateway must reach it)."""
    return any(media.needs_base_url for media in message_media(message))


# -- builders from an action's data ---------------------------------------------------------------


def text_message(text: str) -> TextMessage:
    """Return a text message; an empty one is refused."""
    if not text.strip():
        raise validation_error("empty_message")
    return TextMessage(text=text)


def location_message(
    hass: HomeAssistant,
    *,
    latitude: float | None,
    longitude: float | None,
    entity_id: str | None,
    name: str | None,
    address: str | None,
) -> LocationMessage:
    """Return a location given as coordinates or as an entity that has them (named after it)."""
    if entity_id is not None:
        if latitude is not None or longitude is not None:
            raise validation_error("location_both")
        state = hass.states.get(entity_id)
        if state is None:
            raise validation_error("location_entity_not_found", entity_id=entity_id)
        try:
            latitude = float(cv.latitude(state.attributes.get(ATTR_LATITUDE)))
            longitude = float(cv.longitude(state.attributes.get(ATTR_LONGITUDE)))
        except vol.Invalid as err:
            raise validation_error("location_entity_no_coordinates", entity_id=entity_id) from err
        name = name or state.name
    if latitude is None or longitude is None:
        raise validation_error("location_required")
    return LocationMessage(latitude=latitude, longitude=longitude, name=name, address=address)


def contact_message(name: str, phone: str) -> ContactMessage:
    """Return a contact card (its number is checked by the caller, per instance)."""
    if not name.strip():
        raise validation_error("empty_contact_name")
    return ContactMessage(name=name, phone=phone)


_ALBUM_SOURCES: Final = ("url", "path")


async def async_album_message(
    hass: HomeAssistant, raw_items: list[Mapping[str, Any]], caption: str | None
) -> AlbumMessage:
    """Return an album of items ``{type: image|video, url|path}`` (files prepared now)."""
    if not MIN_ALBUM_ITEMS <= len(raw_items) <= MAX_ALBUM_ITEMS:
        raise validation_error(
            "album_size", count=len(raw_items), min=MIN_ALBUM_ITEMS, max=MAX_ALBUM_ITEMS
        )
    parts = []
    for index, raw in enumerate(raw_items, start=1):
        kind = raw.get("type")
        if kind not in ("image", "video"):
            error = f"type must be image or video, not {kind!r}"
            raise validation_error("invalid_album_item", index=index, error=error)
        sources = [key for key in _ALBUM_SOURCES if raw.get(key)]
        if len(sources) != 1:
            raise validation_error(
                "invalid_album_item", index=index, error="give either url or path (one of the two)"
            )
        value = str(raw[sources[0]])
        media = (
            media_from_url(value)
            if sources[0] == "url"
            else await async_media_from_path(hass, value)
        )
        parts.append(AlbumPart(kind=kind, media=media))
    return AlbumMessage(parts=tuple(parts), caption=caption)


def carousel_message(
    raw_cards: list[Mapping[str, Any]],
    *,
    text: str | None,
    title: str | None,
    footer: str | None,
) -> CarouselMessage:
    """Return a carousel of cards (each read as `CarouselCard.from_dict` reads it)."""
    if not 1 <= len(raw_cards) <= MAX_CAROUSEL_CARDS:
        raise validation_error("carousel_size", count=len(raw_cards), max=MAX_CAROUSEL_CARDS)
    cards = []
    for index, raw in enumerate(raw_cards, start=1):
        image = raw.get("image")
        image_url = image.get("url") if isinstance(image, Mapping) else image
        if image_url:
            check_url(str(image_url))
        try:
            cards.append(CarouselCard.from_dict(raw))
        except CarouselButtonError as err:
            raise validation_error(
                "invalid_button", index=index, button=err.number, error=err
            ) from err
        except ValueError as err:
            raise validation_error("invalid_card", index=index, error=err) from err
    return CarouselMessage(cards=tuple(cards), text=text, title=title, footer=footer)
