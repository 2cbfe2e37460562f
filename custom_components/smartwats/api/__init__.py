"""Asynchronous client of the SmartWats WhatsApp gateway (no Home Assistant dependency)."""

from __future__ import annotations

from .client import CHECK_PHONES_BATCH_SIZE, DEFAULT_BASE_URL, MAX_ALBUM_ITEMS, SmartwatsClient
from .exceptions import (
    InvalidPhoneNumberError,
    SmartwatsAlreadyLinkedError,
    SmartwatsAuthError,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsInstanceError,
    SmartwatsLoggedOutError,
    SmartwatsNotLinkedError,
    SmartwatsNotReadyError,
    SmartwatsOutcomeUnknownError,
    SmartwatsQuotaError,
    SmartwatsRequestError,
)
from .models import (
    AlbumItem,
    AlbumMediaType,
    CallButton,
    CarouselButton,
    CarouselCard,
    CopyButton,
    Group,
    GroupParticipant,
    PhoneCheck,
    QuickReplyButton,
    SendResult,
    UrlButton,
)
from .phone import normalize_phone

__all__ = [
    "CHECK_PHONES_BATCH_SIZE",
    "DEFAULT_BASE_URL",
    "MAX_ALBUM_ITEMS",
    "AlbumItem",
    "AlbumMediaType",
    "CallButton",
    "CarouselButton",
    "CarouselCard",
    "CopyButton",
    "Group",
    "GroupParticipant",
    "InvalidPhoneNumberError",
    "PhoneCheck",
    "QuickReplyButton",
    "SendResult",
    "SmartwatsAlreadyLinkedError",
    "SmartwatsAuthError",
    "SmartwatsClient",
    "SmartwatsConnectionError",
    "SmartwatsError",
    "SmartwatsInstanceError",
    "SmartwatsLoggedOutError",
    "SmartwatsNotLinkedError",
    "SmartwatsNotReadyError",
    "SmartwatsOutcomeUnknownError",
    "SmartwatsQuotaError",
    "SmartwatsRequestError",
    "UrlButton",
    "normalize_phone",
]
