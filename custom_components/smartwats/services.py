"""The SmartWats actions: sending (paced, through each instance's sender), groups, numbers, logout.

Every handler resolves its config entry (optional while exactly one is loaded), checks all of its
input and prepares any media before the first message goes out, so that bad input never leaves
half a bulk send behind. Send actions optionally return the ids of the messages sent; when some
fail, the error names each failed target instead. Number checks wait their turn in the send queue
(bulk look-ups are a known ban trigger); logging out is for administrators only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_ENTITY_ID,
    ATTR_LATITUDE,
    ATTR_LONGITUDE,
    ATTR_NAME,
)
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util.json import JsonValueType
import voluptuous as vol
from yarl import URL

from .api import (
    AlbumItem,
    AlbumMediaType,
    CallButton,
    CarouselButton,
    CarouselCard,
    CopyButton,
    InvalidPhoneNumberError,
    QuickReplyButton,
    SendResult,
    SmartwatsClient,
    SmartwatsError,
    UrlButton,
    normalize_phone,
)
from .const import CONF_DEFAULT_COUNTRY_CODE, CONF_TARGET, DOMAIN
from .coordinator import SmartwatsConfigEntry
from .media import (
    PreparedMedia,
    async_media_from_camera,
    async_media_from_path,
    async_media_from_source,
    media_from_url,
)
from .sender import (
    OutgoingMessage,
    SendFunction,
    SendOutcome,
    async_gateway_error,
    is_group,
    text_sender,
)
from .urls import async_reachable_base_url

SERVICE_SEND_TEXT: Final = "send_text"
SERVICE_SEND_MEDIA: Final = "send_media"
SERVICE_SEND_AUDIO: Final = "send_audio"
SERVICE_SEND_LOCATION: Final = "send_location"
SERVICE_SEND_CONTACT: Final = "send_contact"
SERVICE_SEND_ALBUM: Final = "send_album"
SERVICE_SEND_CAROUSEL: Final = "send_carousel"
SERVICE_GET_GROUPS: Final = "get_groups"
SERVICE_CHECK_PHONE: Final = "check_phone"
SERVICE_CHECK_PHONES: Final = "check_phones"
SERVICE_LOGOUT: Final = "logout"

ATTR_TARGET: Final = "target"
ATTR_MESSAGE: Final = "message"
ATTR_MEDIA_URL: Final = "media_url"
ATTR_MEDIA_PATH: Final = "media_path"
ATTR_CAMERA_ENTITY_ID: Final = "camera_entity_id"
ATTR_MEDIA_CONTENT_ID: Final = "media_content_id"
ATTR_CAPTION: Final = "caption"
ATTR_FILENAME: Final = "filename"
ATTR_AUDIO_URL: Final = "audio_url"
ATTR_AUDIO_PATH: Final = "audio_path"
ATTR_PTT: Final = "ptt"
ATTR_LOCATION_ENTITY_ID: Final = "location_entity_id"
ATTR_ADDRESS: Final = "address"
ATTR_CONTACT_NAME: Final = "contact_name"
ATTR_CONTACT_PHONE: Final = "contact_phone"
ATTR_ITEMS: Final = "items"
ATTR_TEXT: Final = "text"
ATTR_TITLE: Final = "title"
ATTR_FOOTER: Final = "footer"
ATTR_CARDS: Final = "cards"
ATTR_PHONE: Final = "phone"
ATTR_PHONES: Final = "phones"

MIN_ALBUM_ITEMS: Final = 2
MAX_ALBUM_ITEMS: Final = 10
MAX_CAROUSEL_CARDS: Final = 10
MAX_CHECK_PHONES: Final = 50

_ENTRY_SCHEMA: Final = {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
_TARGET_SCHEMA: Final = {
    **_ENTRY_SCHEMA,
    vol.Optional(ATTR_TARGET): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_ENTITY_ID): cv.entity_ids,
}

SEND_TEXT_SCHEMA: Final = vol.Schema({**_TARGET_SCHEMA, vol.Required(ATTR_MESSAGE): cv.string})
SEND_MEDIA_SCHEMA: Final = vol.Schema(
    {
        **_TARGET_SCHEMA,
        vol.Optional(ATTR_MEDIA_URL): cv.string,
        vol.Optional(ATTR_MEDIA_PATH): cv.string,
        vol.Optional(ATTR_CAMERA_ENTITY_ID): cv.entity_id,
        vol.Optional(ATTR_MEDIA_CONTENT_ID): cv.string,
        vol.Optional(ATTR_CAPTION): cv.string,
        vol.Optional(ATTR_FILENAME): cv.string,
    }
)
SEND_AUDIO_SCHEMA: Final = vol.Schema(
    {
        **_TARGET_SCHEMA,
        vol.Optional(ATTR_AUDIO_URL): cv.string,
        vol.Optional(ATTR_AUDIO_PATH): cv.string,
        vol.Optional(ATTR_MEDIA_CONTENT_ID): cv.string,
        vol.Optional(ATTR_PTT, default=True): cv.boolean,
    }
)
SEND_LOCATION_SCHEMA: Final = vol.Schema(
    {
        **_TARGET_SCHEMA,
        vol.Optional(ATTR_LATITUDE): cv.latitude,
        vol.Optional(ATTR_LONGITUDE): cv.longitude,
        vol.Optional(ATTR_LOCATION_ENTITY_ID): cv.entity_id,
        vol.Optional(ATTR_NAME): cv.string,
        vol.Optional(ATTR_ADDRESS): cv.string,
    }
)
SEND_CONTACT_SCHEMA: Final = vol.Schema(
    {
        **_TARGET_SCHEMA,
        vol.Required(ATTR_CONTACT_NAME): cv.string,
        vol.Required(ATTR_CONTACT_PHONE): cv.string,
    }
)
SEND_ALBUM_SCHEMA: Final = vol.Schema(
    {
        **_TARGET_SCHEMA,
        vol.Required(ATTR_ITEMS): vol.All(cv.ensure_list, [dict]),
        vol.Optional(ATTR_CAPTION): cv.string,
    }
)
SEND_CAROUSEL_SCHEMA: Final = vol.Schema(
    {
        **_TARGET_SCHEMA,
        vol.Optional(ATTR_TEXT): cv.string,
        vol.Optional(ATTR_TITLE): cv.string,
        vol.Optional(ATTR_FOOTER): cv.string,
        vol.Required(ATTR_CARDS): vol.All(cv.ensure_list, [dict]),
    }
)
ENTRY_ONLY_SCHEMA: Final = vol.Schema(_ENTRY_SCHEMA)
CHECK_PHONE_SCHEMA: Final = vol.Schema({**_ENTRY_SCHEMA, vol.Required(ATTR_PHONE): cv.string})
CHECK_PHONES_SCHEMA: Final = vol.Schema(
    {
        **_ENTRY_SCHEMA,
        vol.Required(ATTR_PHONES): vol.All(cv.ensure_list, [cv.string], vol.Length(min=1)),
    }
)

# Carousel buttons: the friendly form {type, text, <field>} and the gateway's own form.
_FRIENDLY_BUTTONS: Final[dict[str, tuple[type[CarouselButton], str]]] = {
    "url": (UrlButton, "url"),
    "copy": (CopyButton, "code"),
    "call": (CallButton, "phone"),
    "reply": (QuickReplyButton, "id"),
}
_NATIVE_BUTTONS: Final[dict[str, tuple[type[CarouselButton], str]]] = {
    "urlButton": (UrlButton, "url"),
    "copyButton": (CopyButton, "copyCode"),
    "callButton": (CallButton, "phoneNumber"),
    "quickReplyButton": (QuickReplyButton, "id"),
}

type SendBuilder = Callable[[str | None], SendFunction]
"""Makes the send function of a message for one instance, given the URL it reaches us at."""


@dataclass(slots=True)
class _Recipients:
    """The targets of a send action, per config entry (in the order given, without repeats)."""

    by_entry: dict[str, tuple[SmartwatsConfigEntry, list[str]]] = field(default_factory=dict)

    def add(self, entry: SmartwatsConfigEntry, target: str) -> None:
        targets = self.by_entry.setdefault(entry.entry_id, (entry, []))[1]
        if target not in targets:
            targets.append(target)


def _validation_error(key: str, **placeholders: object) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={name: str(value) for name, value in placeholders.items()},
    )


@callback
def _loaded_entry(hass: HomeAssistant, entry_id: str) -> SmartwatsConfigEntry:
    entry: SmartwatsConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise _validation_error("entry_not_found", config_entry_id=entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise _validation_error("entry_not_loaded", name=entry.title)
    return entry


@callback
def _service_entry(call: ServiceCall) -> SmartwatsConfigEntry:
    """Return the call's entry: the one named, or the only one loaded."""
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        return _loaded_entry(call.hass, entry_id)
    entries: list[SmartwatsConfigEntry] = call.hass.config_entries.async_loaded_entries(DOMAIN)
    if not entries:
        raise _validation_error("no_loaded_entry")
    if len(entries) > 1:
        raise _validation_error("entry_required")
    return entries[0]


def _country_code(entry: SmartwatsConfigEntry) -> str | None:
    return entry.options.get(CONF_DEFAULT_COUNTRY_CODE) or None


def _normalize(entry: SmartwatsConfigEntry, value: str, key: str = "invalid_target") -> str:
    try:
        return normalize_phone(value, _country_code(entry))
    except InvalidPhoneNumberError as err:
        raise _validation_error(key, target=value, error=err) from err


@callback
def _recipients(call: ServiceCall) -> _Recipients:
    """Resolve `target` (numbers and ids, sent from the call's entry) and `entity_id`."""
    recipients = _Recipients()
    raw_targets: list[str] = call.data.get(ATTR_TARGET, [])
    entity_ids: list[str] = call.data.get(ATTR_ENTITY_ID, [])
    if not raw_targets and not entity_ids:
        raise _validation_error("no_target")
    if raw_targets or ATTR_CONFIG_ENTRY_ID in call.data:
        entry = _service_entry(call)
        for value in raw_targets:
            recipients.add(entry, _normalize(entry, value))
    if not entity_ids:
        return recipients
    registry = er.async_get(call.hass)
    for entity_id in entity_ids:
        entity = registry.async_get(entity_id)
        subentry = None
        if (
            entity is not None
            and entity.platform == DOMAIN
            and entity.domain == "notify"
            and entity.config_entry_id is not None
            and entity.config_subentry_id is not None
        ):
            entry = _loaded_entry(call.hass, entity.config_entry_id)
            subentry = entry.subentries.get(entity.config_subentry_id)
        if subentry is None:
            raise _validation_error("invalid_notify_entity", entity_id=entity_id)
        recipients.add(entry, subentry.data[CONF_TARGET])
    return recipients


def _one_of(call: ServiceCall, *fields: str) -> str:
    """Return the one source field the call gives (never none, never several)."""
    given = [name for name in fields if call.data.get(name) not in (None, "")]
    if not given:
        raise _validation_error("missing_source", fields=", ".join(fields))
    if len(given) > 1:
        raise _validation_error("multiple_sources", fields=", ".join(given))
    return given[0]


def _check_url(url: str) -> str:
    try:
        parsed = URL(url)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise _validation_error("invalid_url", url=url)
    return url


async def _async_prepare(hass: HomeAssistant, source: str, value: str) -> PreparedMedia:
    """Prepare media from one of the source fields."""
    if source in (ATTR_MEDIA_URL, ATTR_AUDIO_URL):
        return media_from_url(_check_url(value))
    if source in (ATTR_MEDIA_PATH, ATTR_AUDIO_PATH):
        return await async_media_from_path(hass, value)
    if source == ATTR_CAMERA_ENTITY_ID:
        return await async_media_from_camera(hass, value)
    return await async_media_from_source(hass, value)


@callback
def _base_url(hass: HomeAssistant, entry: SmartwatsConfigEntry) -> str:
    """Return the URL the entry's gateway reaches Home Assistant at, for served media."""
    url = async_reachable_base_url(hass, entry.runtime_data.client.base_url, allow_cloud=True)
    if url is None:
        raise _validation_error("no_reachable_url")
    return url


async def _async_send(
    call: ServiceCall,
    message_type: str,
    build: SendBuilder,
    media: Sequence[PreparedMedia] = (),
) -> ServiceResponse:
    """Send one message to every recipient through each instance's queue.

    A queue that stops (its entry unloads) fails only its own unsent messages: every instance's
    outcome is kept, and the error names each failed target.
    """
    recipients = _recipients(call)
    serves_media = any(item.needs_base_url for item in media)
    batches = []
    for entry, targets in recipients.by_entry.values():
        send = build(_base_url(call.hass, entry) if serves_media else None)
        messages = [
            OutgoingMessage(target=target, type=message_type, send=send) for target in targets
        ]
        batches.append(entry.runtime_data.sender.async_send(messages, context=call.context))
    outcome = SendOutcome(total=0)
    # One instance (the usual case) is awaited as is: gather would make it a task of its own.
    results = [await batches[0]] if len(batches) == 1 else await asyncio.gather(*batches)
    for result in results:
        outcome.merge(result)
    outcome.raise_for_failures()
    if not call.return_response:
        return None
    return {
        "messages": [
            {"target": message.target, "message_id": message.message_id} for message in outcome.sent
        ]
    }


async def _async_send_text(call: ServiceCall) -> ServiceResponse:
    text: str = call.data[ATTR_MESSAGE]
    if not text.strip():
        raise _validation_error("empty_message")

    return await _async_send(call, "text", lambda _base_url: text_sender(text))


async def _async_send_media(call: ServiceCall) -> ServiceResponse:
    _recipients(call)  # bad targets fail before a snapshot is taken
    source = _one_of(
        call, ATTR_MEDIA_URL, ATTR_MEDIA_PATH, ATTR_CAMERA_ENTITY_ID, ATTR_MEDIA_CONTENT_ID
    )
    media = await _async_prepare(call.hass, source, call.data[source])
    caption: str | None = call.data.get(ATTR_CAPTION)
    filename: str | None = call.data.get(ATTR_FILENAME) or media.filename

    def build(base_url: str | None) -> SendFunction:
        async def send(client: SmartwatsClient, target: str) -> SendResult:
            url = media.async_url(call.hass, base_url)
            if is_group(target):
                return await client.send_group_media(
                    target, url, caption=caption, filename=filename
                )
            return await client.send_media(target, url, caption=caption, filename=filename)

        return send

    return await _async_send(call, "media", build, [media])


async def _async_send_audio(call: ServiceCall) -> ServiceResponse:
    _recipients(call)
    source = _one_of(call, ATTR_AUDIO_URL, ATTR_AUDIO_PATH, ATTR_MEDIA_CONTENT_ID)
    media = await _async_prepare(call.hass, source, call.data[source])
    ptt: bool = call.data[ATTR_PTT]

    def build(base_url: str | None) -> SendFunction:
        async def send(client: SmartwatsClient, target: str) -> SendResult:
            return await client.send_audio(target, media.async_url(call.hass, base_url), ptt=ptt)

        return send

    return await _async_send(call, "audio", build, [media])


def _location(call: ServiceCall) -> tuple[float, float, str | None]:
    """Return the latitude, longitude and default name of the location to send."""
    has_coordinates = ATTR_LATITUDE in call.data or ATTR_LONGITUDE in call.data
    entity_id: str | None = call.data.get(ATTR_LOCATION_ENTITY_ID)
    if entity_id is not None:
        if has_coordinates:
            raise _validation_error("location_both")
        state = call.hass.states.get(entity_id)
        if state is None:
            raise _validation_error("location_entity_not_found", entity_id=entity_id)
        latitude = state.attributes.get(ATTR_LATITUDE)
        longitude = state.attributes.get(ATTR_LONGITUDE)
        try:
            return float(cv.latitude(latitude)), float(cv.longitude(longitude)), state.name
        except vol.Invalid as err:
            raise _validation_error("location_entity_no_coordinates", entity_id=entity_id) from err
    if ATTR_LATITUDE not in call.data or ATTR_LONGITUDE not in call.data:
        raise _validation_error("location_required")
    return call.data[ATTR_LATITUDE], call.data[ATTR_LONGITUDE], None


async def _async_send_location(call: ServiceCall) -> ServiceResponse:
    latitude, longitude, default_name = _location(call)
    name: str | None = call.data.get(ATTR_NAME) or default_name
    address: str | None = call.data.get(ATTR_ADDRESS)

    def build(_base_url: str | None) -> SendFunction:
        async def send(client: SmartwatsClient, target: str) -> SendResult:
            return await client.send_location(
                target, latitude, longitude, name=name, address=address
            )

        return send

    return await _async_send(call, "location", build)


async def _async_send_contact(call: ServiceCall) -> ServiceResponse:
    recipients = _recipients(call)
    name: str = call.data[ATTR_CONTACT_NAME]
    phone: str = call.data[ATTR_CONTACT_PHONE]
    if not name.strip():
        raise _validation_error("empty_contact_name")
    for entry, _targets in recipients.by_entry.values():
        _normalize(entry, phone, "invalid_contact_phone")

    def build(_base_url: str | None) -> SendFunction:
        async def send(client: SmartwatsClient, target: str) -> SendResult:
            return await client.send_contact(target, name, phone)

        return send

    return await _async_send(call, "contact", build)


async def _async_album_item(
    hass: HomeAssistant, index: int, raw: Mapping[str, Any]
) -> tuple[AlbumMediaType, PreparedMedia]:
    kind: AlbumMediaType
    if raw.get("type") == "image":
        kind = "image"
    elif raw.get("type") == "video":
        kind = "video"
    else:
        raise _validation_error(
            "invalid_album_item",
            index=index,
            error=f"type must be image or video, not {raw.get('type')!r}",
        )
    sources = [key for key in ("url", "path") if raw.get(key)]
    if len(sources) != 1:
        raise _validation_error(
            "invalid_album_item", index=index, error="give either url or path (one of the two)"
        )
    value = str(raw[sources[0]])
    if sources[0] == "url":
        return kind, media_from_url(_check_url(value))
    return kind, await async_media_from_path(hass, value)


async def _async_send_album(call: ServiceCall) -> ServiceResponse:
    _recipients(call)
    raw_items: list[dict[str, Any]] = call.data[ATTR_ITEMS]
    if not MIN_ALBUM_ITEMS <= len(raw_items) <= MAX_ALBUM_ITEMS:
        raise _validation_error(
            "album_size", count=len(raw_items), min=MIN_ALBUM_ITEMS, max=MAX_ALBUM_ITEMS
        )
    items = [
        await _async_album_item(call.hass, index, raw)
        for index, raw in enumerate(raw_items, start=1)
    ]
    caption: str | None = call.data.get(ATTR_CAPTION)

    def build(base_url: str | None) -> SendFunction:
        async def send(client: SmartwatsClient, target: str) -> SendResult:
            album = [
                AlbumItem(type=kind, url=media.async_url(call.hass, base_url))
                for kind, media in items
            ]
            return await client.send_album(target, album, caption=caption)

        return send

    return await _async_send(call, "album", build, [media for _kind, media in items])


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _button(raw: object) -> CarouselButton:
    """Read a button in the friendly form or in the gateway's own form."""
    if not isinstance(raw, Mapping):
        raise TypeError(f"a button is an object, not {raw!r}")
    for key, (button_class, name) in _NATIVE_BUTTONS.items():
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


def _card(index: int, raw: Mapping[str, Any]) -> CarouselCard:
    image = raw.get("image")
    image_url = image.get("url") if isinstance(image, Mapping) else image
    raw_buttons = raw.get("buttons")
    if not isinstance(raw_buttons, list):
        raw_buttons = [] if raw_buttons is None else [raw_buttons]
    buttons = []
    for number, raw_button in enumerate(raw_buttons, start=1):
        try:
            buttons.append(_button(raw_button))
        except (TypeError, ValueError) as err:
            raise _validation_error(
                "invalid_button", index=index, button=number, error=err
            ) from err
    footer = raw.get("footer")
    try:
        card = CarouselCard(
            title=_text(raw.get("title")),
            body=_text(raw.get("body")),
            image_url=_check_url(_text(image_url)) if image_url else "",
            buttons=buttons,
            footer=None if footer is None else str(footer),
        )
    except ValueError as err:
        raise _validation_error("invalid_card", index=index, error=err) from err
    return card


async def _async_send_carousel(call: ServiceCall) -> ServiceResponse:
    _recipients(call)
    raw_cards: list[dict[str, Any]] = call.data[ATTR_CARDS]
    if not 1 <= len(raw_cards) <= MAX_CAROUSEL_CARDS:
        raise _validation_error("carousel_size", count=len(raw_cards), max=MAX_CAROUSEL_CARDS)
    cards = [_card(index, raw) for index, raw in enumerate(raw_cards, start=1)]
    text: str | None = call.data.get(ATTR_TEXT)
    title: str | None = call.data.get(ATTR_TITLE)
    footer: str | None = call.data.get(ATTR_FOOTER)

    def build(_base_url: str | None) -> SendFunction:
        async def send(client: SmartwatsClient, target: str) -> SendResult:
            return await client.send_carousel(target, cards, text=text, title=title, footer=footer)

        return send

    return await _async_send(call, "carousel", build)


async def _async_get_groups(call: ServiceCall) -> ServiceResponse:
    entry = _service_entry(call)
    try:
        groups = await entry.runtime_data.client.get_groups()
    except SmartwatsError as err:
        raise async_gateway_error(call.hass, entry, err) from err
    # Only a live session lists groups: evidence that the instance is linked.
    entry.runtime_data.coordinator.async_set_linked()
    result: list[JsonValueType] = []
    for group in groups:
        item: dict[str, JsonValueType] = {"id": group.id, "name": group.name, "size": group.size}
        if group.participants is not None:
            item["participants"] = [
                {"id": member.id, "admin": member.admin} for member in group.participants
            ]
        result.append(item)
    return {"groups": result}


async def _async_check_phone(call: ServiceCall) -> ServiceResponse:
    entry = _service_entry(call)
    number = _normalize(entry, call.data[ATTR_PHONE], "invalid_phone")
    sender = entry.runtime_data.sender
    try:
        check = await sender.async_call(lambda client: client.check_phone(number))
    except SmartwatsError as err:
        raise async_gateway_error(call.hass, entry, err, data=sender.data) from err
    return {"phone": check.phone, "exists": check.exists, "jid": check.jid}


async def _async_check_phones(call: ServiceCall) -> ServiceResponse:
    entry = _service_entry(call)
    phones: list[str] = call.data[ATTR_PHONES]
    if len(phones) > MAX_CHECK_PHONES:
        raise _validation_error("too_many_phones", count=len(phones), max=MAX_CHECK_PHONES)
    numbers = [_normalize(entry, phone, "invalid_phone") for phone in phones]
    sender = entry.runtime_data.sender
    try:
        checks = await sender.async_call(lambda client: client.check_phones(numbers))
    except SmartwatsError as err:
        raise async_gateway_error(call.hass, entry, err, data=sender.data) from err
    return {
        "results": [
            {"phone": check.phone, "exists": check.exists, "jid": check.jid} for check in checks
        ]
    }


async def _async_logout(call: ServiceCall) -> None:
    entry = _service_entry(call)
    try:
        await entry.runtime_data.client.logout()
    except SmartwatsError as err:
        raise async_gateway_error(call.hass, entry, err) from err
    # The session is gone: the link state shows it and the relink flow applies.
    entry.runtime_data.coordinator.async_set_logged_out()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    send_actions = (
        (SERVICE_SEND_TEXT, _async_send_text, SEND_TEXT_SCHEMA),
        (SERVICE_SEND_MEDIA, _async_send_media, SEND_MEDIA_SCHEMA),
        (SERVICE_SEND_AUDIO, _async_send_audio, SEND_AUDIO_SCHEMA),
        (SERVICE_SEND_LOCATION, _async_send_location, SEND_LOCATION_SCHEMA),
        (SERVICE_SEND_CONTACT, _async_send_contact, SEND_CONTACT_SCHEMA),
        (SERVICE_SEND_ALBUM, _async_send_album, SEND_ALBUM_SCHEMA),
        (SERVICE_SEND_CAROUSEL, _async_send_carousel, SEND_CAROUSEL_SCHEMA),
    )
    for name, handler, schema in send_actions:
        hass.services.async_register(
            DOMAIN, name, handler, schema=schema, supports_response=SupportsResponse.OPTIONAL
        )
    read_actions = (
        (SERVICE_GET_GROUPS, _async_get_groups, ENTRY_ONLY_SCHEMA),
        (SERVICE_CHECK_PHONE, _async_check_phone, CHECK_PHONE_SCHEMA),
        (SERVICE_CHECK_PHONES, _async_check_phones, CHECK_PHONES_SCHEMA),
    )
    for name, handler, schema in read_actions:
        hass.services.async_register(
            DOMAIN, name, handler, schema=schema, supports_response=SupportsResponse.ONLY
        )
    # Only an administrator may unlink the session: linking it again takes one.
    async_register_admin_service(
        hass, DOMAIN, SERVICE_LOGOUT, _async_logout, schema=ENTRY_ONLY_SCHEMA
    )
