"""Data the SmartWats API client sends and returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal, get_args

type AlbumMediaType = Literal["image", "video"]

ALBUM_MEDIA_TYPES: Final = frozenset(get_args(AlbumMediaType.__value__))
# An album is 2 to 10 pictures and videos (one is just a picture); a carousel 1 to 10 cards.
MIN_ALBUM_ITEMS: Final = 2
MAX_ALBUM_ITEMS: Final = 10
MAX_CAROUSEL_CARDS: Final = 10
MAX_CARD_BUTTONS: Final = 3


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of a successful send.

    ``message_id`` is the WhatsApp id of the sent message (the id that delivery and read receipts
    carry) when the gateway's answer holds one; ``raw`` is the decoded answer.
    """

    message_id: str | None
    raw: Any


class LinkStatus(StrEnum):
    """Whether an instance is linked to a phone."""

    LINKED = "linked"
    WAITING = "waiting"  # a QR code or pair code is waiting to be used
    LOGGED_OUT = "logged_out"  # the phone ended the session: it must be linked again


@dataclass(frozen=True, slots=True)
class LinkState:
    """The link state of an instance and, while it waits for a scan, its current QR code."""

    status: LinkStatus
    qr_code: str | None = None

    @property
    def linked(self) -> bool:
        """Whether the instance is linked to a phone."""
        return self.status is LinkStatus.LINKED


@dataclass(frozen=True, slots=True)
class GroupParticipant:
    """A member of a group; ``admin`` is ``None``, ``"admin"`` or ``"superadmin"``."""

    id: str
    admin: str | None = None

    @property
    def is_admin(self) -> bool:
        """Whether the member administers the group."""
        return self.admin is not None


@dataclass(frozen=True, slots=True)
class Group:
    """A group the linked account belongs to; ``participants`` is ``None`` when not reported."""

    id: str
    name: str
    size: int | None
    participants: list[GroupParticipant] | None = None


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """Whether a number is on WhatsApp; ``jid`` is the chat id the gateway reported, if any."""

    phone: str
    exists: bool
    jid: str | None = None


@dataclass(frozen=True, slots=True)
class AlbumItem:
    """One picture or video of an album."""

    type: AlbumMediaType
    url: str

    def __post_init__(self) -> None:
        """Reject a media type the gateway does not know and an empty URL."""
        if self.type not in ALBUM_MEDIA_TYPES:
            raise ValueError(f"Album item type must be 'image' or 'video', not {self.type!r}")
        _require_text("Album item url", self.url)

    def as_dict(self) -> dict[str, str]:
        """Return the item as the gateway expects it."""
        return {"type": self.type, "url": self.url}


@dataclass(frozen=True, slots=True)
class UrlButton:
    """A carousel button that opens a web page."""

    display_text: str
    url: str

    def __post_init__(self) -> None:
        """Reject empty fields."""
        _require_text("Button display text", self.display_text)
        _require_text("URL button url", self.url)

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Return the button as the gateway expects it."""
        return {"urlButton": {"displayText": self.display_text, "url": self.url}}


@dataclass(frozen=True, slots=True)
class CopyButton:
    """A carousel button that copies a code (one-time password, voucher) to the clipboard."""

    display_text: str
    copy_code: str

    def __post_init__(self) -> None:
        """Reject empty fields."""
        _require_text("Button display text", self.display_text)
        _require_text("Copy button code", self.copy_code)

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Return the button as the gateway expects it."""
        return {"copyButton": {"displayText": self.display_text, "copyCode": self.copy_code}}


@dataclass(frozen=True, slots=True)
class CallButton:
    """A carousel button that calls a phone number (written as the phone should dial it)."""

    display_text: str
    phone_number: str

    def __post_init__(self) -> None:
        """Reject empty fields."""
        _require_text("Button display text", self.display_text)
        _require_text("Call button phone number", self.phone_number)

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Return the button as the gateway expects it."""
        return {"callButton": {"displayText": self.display_text, "phoneNumber": self.phone_number}}


@dataclass(frozen=True, slots=True)
class QuickReplyButton:
    """A carousel button that answers with a predefined reply carrying ``id``."""

    display_text: str
    id: str

    def __post_init__(self) -> None:
        """Reject empty fields."""
        _require_text("Button display text", self.display_text)
        _require_text("Quick reply button id", self.id)

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Return the button as the gateway expects it."""
        return {"quickReplyButton": {"displayText": self.display_text, "id": self.id}}


type CarouselButton = UrlButton | CopyButton | CallButton | QuickReplyButton

# The two forms a button is read from: the friendly {type, text, <field>} and the gateway's own
# {<kind>Button: {displayText, <field>}} (which `as_dict` writes).
_FRIENDLY_BUTTONS: Final[dict[str, tuple[type[CarouselButton], str]]] = {
    "url": (UrlButton, "url"),
    "copy": (CopyButton, "code"),
    "call": (CallButton, "phone"),
    "reply": (QuickReplyButton, "id"),
}
_GATEWAY_BUTTONS: Final[dict[str, tuple[type[CarouselButton], str]]] = {
    "urlButton": (UrlButton, "url"),
    "copyButton": (CopyButton, "copyCode"),
    "callButton": (CallButton, "phoneNumber"),
    "quickReplyButton": (QuickReplyButton, "id"),
}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def carousel_button_from_dict(raw: object) -> CarouselButton:
    """Read a button in the friendly form or in the gateway's own form.

    Raises TypeError or ValueError (with a message naming what is wrong) for anything else.
    """
    if not isinstance(raw, Mapping):
        raise TypeError(f"a button is an object, not {raw!r}")
    for key, (button_class, name) in _GATEWAY_BUTTONS.items():
        if key in raw:
            spec = raw[key]
            if not isinstance(spec, Mapping):
                raise TypeError(f"{key} must be an object, not {spec!r}")
            return button_class(_text(spec.get("displayText")), _text(spec.get(name)))
    kind = raw.get("type")
    if kind not in _FRIENDLY_BUTTONS:
        raise ValueError(
            f"unknown button type {kind!r}: use url, copy, call or reply "
            "(or urlButton, copyButton, callButton, quickReplyButton)"
        )
    button_class, name = _FRIENDLY_BUTTONS[kind]
    return button_class(_text(raw.get("text")), _text(raw.get(name)))


@dataclass(frozen=True, slots=True)
class CarouselCard:
    """One card of a carousel: an image, a title, a body, an optional footer and 1 to 3 buttons."""

    title: str
    body: str
    image_url: str
    buttons: Sequence[CarouselButton]
    footer: str | None = None

    def __post_init__(self) -> None:
        """Keep the buttons as a tuple and check the card is complete."""
        object.__setattr__(self, "buttons", tuple(self.buttons))
        _require_text("Card title", self.title)
        _require_text("Card body", self.body)
        _require_text("Card image url", self.image_url)
        if not 1 <= len(self.buttons) <= MAX_CARD_BUTTONS:
            raise ValueError(
                f"A carousel card needs 1 to {MAX_CARD_BUTTONS} buttons, not {len(self.buttons)}"
            )

    def as_dict(self) -> dict[str, Any]:
        """Return the card as the gateway expects it (the image as ``{"url": ...}``)."""
        card: dict[str, Any] = {
            "title": self.title,
            "body": self.body,
            "image": {"url": self.image_url},
            "buttons": [button.as_dict() for button in self.buttons],
        }
        if self.footer is not None:
            card["footer"] = self.footer
        return card

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CarouselCard:
        """Read a card as `as_dict` writes it, or with the image as a plain URL.

        Its buttons in either form (`carousel_button_from_dict`). Raises ValueError for an
        incomplete card and `CarouselButtonError` for a button that cannot be read.
        """
        image = raw.get("image")
        image_url = image.get("url") if isinstance(image, Mapping) else image
        raw_buttons = raw.get("buttons")
        if not isinstance(raw_buttons, list):
            raw_buttons = [] if raw_buttons is None else [raw_buttons]
        buttons = []
        for number, raw_button in enumerate(raw_buttons, start=1):
            try:
                buttons.append(carousel_button_from_dict(raw_button))
            except (TypeError, ValueError) as err:
                raise CarouselButtonError(number, str(err)) from err
        footer = raw.get("footer")
        return cls(
            title=_text(raw.get("title")),
            body=_text(raw.get("body")),
            image_url=_text(image_url),
            buttons=buttons,
            footer=None if footer is None else str(footer),
        )


class CarouselButtonError(ValueError):
    """A button of a card cannot be read; ``number`` is its position (from 1)."""

    def __init__(self, number: int, message: str) -> None:
        """Keep which button it is."""
        super().__init__(message)
        self.number = number


def _require_text(what: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, not {value!r}")
