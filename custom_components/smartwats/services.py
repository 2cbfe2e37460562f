"""The SmartWats actions: their schemas and handlers.

Every handler resolves its config entries and targets first, builds its message once (media
prepared now: a snapshot is of this moment), and only then hands it to each instance's paced send
queue (sender.py), so that bad input never leaves half a bulk send behind. Send actions
optionally return the ids of the messages sent; when some fail, the error names each failed
target instead. Number checks wait their turn in the send queue (bulk look-ups are a known ban
trigger); logging out is for administrators only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

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
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.service import async_get_config_entry, async_register_admin_service
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType
import voluptuous as vol

from .api import InvalidPhoneNumberError, SmartwatsClient, normalize_phone
from .ask import AskAnswer, AskReply
from .const import (
    CONF_TARGET,
    DOMAIN,
    MAX_OUTBOX_VALID_FOR,
)
from .errors import gateway_errors
from .media import MediaSource, async_prepare_media
from .messages import (
    AudioMessage,
    MediaMessage,
    OutgoingMessage,
    async_album_message,
    carousel_message,
    contact_message,
    location_message,
    serves_media,
    text_message,
    validation_error,
)
from .models import SmartwatsConfigEntry, default_country_code
from .outbox import OutboxItem
from .sender import SendOutcome
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
SERVICE_GET_OUTBOX: Final = "get_outbox"
SERVICE_CLEAR_OUTBOX: Final = "clear_outbox"
SERVICE_ASK: Final = "ask"

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
ATTR_VALID_FOR: Final = "valid_for"
ATTR_OUTBOX_ID: Final = "outbox_id"
ATTR_QUESTION: Final = "question"
ATTR_ANSWERS: Final = "answers"
ATTR_TIMEOUT: Final = "timeout"
ATTR_STYLE: Final = "style"
ATTR_IMAGE_URL: Final = "image_url"

MAX_ASK_ANSWERS: Final = 10
# A card holds at most this many buttons (the gateway's limit).
MAX_ASK_BUTTONS: Final = 3
DEFAULT_ASK_TIMEOUT: Final = 300
MAX_ASK_TIMEOUT: Final = 86400
ASK_STYLES: Final = ("text", "buttons")

MAX_CHECK_PHONES: Final = 50

_ENTRY_SCHEMA: Final = {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
_TARGET_SCHEMA: Final = {
    **_ENTRY_SCHEMA,
    # Seconds (or a duration) a message that cannot be sent now may wait in the outbox.
    vol.Optional(ATTR_VALID_FOR): vol.All(cv.time_period, cv.positive_timedelta),
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
ASK_SCHEMA: Final = vol.Schema(
    {
        **_ENTRY_SCHEMA,
        vol.Optional(ATTR_TARGET): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_ENTITY_ID): cv.entity_ids,
        vol.Required(ATTR_QUESTION): cv.string,
        # Checked by the handler, whose errors say what is wrong in the user's language.
        vol.Required(ATTR_ANSWERS): vol.All(cv.ensure_list, [dict]),
        vol.Optional(ATTR_TIMEOUT, default=DEFAULT_ASK_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=MAX_ASK_TIMEOUT)
        ),
        vol.Optional(ATTR_STYLE, default=ASK_STYLES[0]): vol.In(ASK_STYLES),
        vol.Optional(ATTR_IMAGE_URL): cv.string,
    }
)
ENTRY_ONLY_SCHEMA: Final = vol.Schema(_ENTRY_SCHEMA)
CLEAR_OUTBOX_SCHEMA: Final = vol.Schema(
    {
        **_ENTRY_SCHEMA,
        vol.Optional(ATTR_OUTBOX_ID): cv.string,
        vol.Optional(ATTR_TARGET): cv.string,
    }
)
CHECK_PHONE_SCHEMA: Final = vol.Schema({**_ENTRY_SCHEMA, vol.Required(ATTR_PHONE): cv.string})
CHECK_PHONES_SCHEMA: Final = vol.Schema(
    {
        **_ENTRY_SCHEMA,
        vol.Required(ATTR_PHONES): vol.All(cv.ensure_list, [cv.string], vol.Length(min=1)),
    }
)


@dataclass(slots=True)
class _Targets:
    """The targets of a send action, per config entry (in the order given, without repeats)."""

    by_entry: dict[str, tuple[SmartwatsConfigEntry, list[str]]] = field(default_factory=dict)

    def add(self, entry: SmartwatsConfigEntry, target: str) -> None:
        targets = self.by_entry.setdefault(entry.entry_id, (entry, []))[1]
        if target not in targets:
            targets.append(target)


@callback
def _entry(
    hass: HomeAssistant, entry_id: str | None, implied: set[str] | None = None
) -> SmartwatsConfigEntry:
    """Return the loaded entry a call means.

    The one named; else the one ``implied`` (by the entities the call names); else the only one
    loaded. With several loaded and none of these, the error says which there are.
    """
    if entry_id is None and implied and len(implied) == 1:
        entry_id = next(iter(implied))
    if entry_id is None:
        loaded: list[SmartwatsConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
        if len(loaded) == 1:
            return loaded[0]
        if len(loaded) > 1:
            raise validation_error(
                "entry_ambiguous",
                entries=", ".join(f"{entry.title} ({entry.entry_id})" for entry in loaded),
            )
    entry: SmartwatsConfigEntry = async_get_config_entry(hass, DOMAIN, entry_id)
    return entry


def _normalize(entry: SmartwatsConfigEntry, value: str, key: str = "invalid_target") -> str:
    try:
        return normalize_phone(value, default_country_code(entry.options))
    except InvalidPhoneNumberError as err:
        raise validation_error(key, target=value, error=err) from err


@callback
def _targets(call: ServiceCall) -> _Targets:
    """Resolve `target` (numbers and ids, sent from the call's entry) and `entity_id`."""
    targets = _Targets()
    raw_targets: list[str] = call.data.get(ATTR_TARGET, [])
    entity_ids: list[str] = call.data.get(ATTR_ENTITY_ID, [])
    if not raw_targets and not entity_ids:
        raise validation_error("no_target")
    registry = er.async_get(call.hass)
    recipients = [(entity_id, registry.async_get(entity_id)) for entity_id in entity_ids]
    if raw_targets or ATTR_CONFIG_ENTRY_ID in call.data:
        # Numbers go out from the entry named, else from the one the recipients belong to.
        implied = {entity.config_entry_id for _, entity in recipients if entity is not None}
        entry = _entry(
            call.hass,
            call.data.get(ATTR_CONFIG_ENTRY_ID),
            {entry_id for entry_id in implied if entry_id is not None},
        )
        for value in raw_targets:
            targets.add(entry, _normalize(entry, value))
    for entity_id, entity in recipients:
        if (
            entity is None
            or entity.platform != DOMAIN
            or entity.domain != "notify"
            or entity.config_entry_id is None
            or entity.config_subentry_id is None
        ):
            raise validation_error("invalid_notify_entity", entity_id=entity_id)
        entry = _entry(call.hass, entity.config_entry_id)
        if (subentry := entry.subentries.get(entity.config_subentry_id)) is None:
            raise validation_error("invalid_notify_entity", entity_id=entity_id)
        targets.add(entry, subentry.data[CONF_TARGET])
    return targets


def _one_of(call: ServiceCall, fields: dict[str, MediaSource]) -> tuple[MediaSource, str]:
    """Return the one media source the call gives (never none, never several) and its value."""
    given = [name for name in fields if call.data.get(name) not in (None, "")]
    if not given:
        raise validation_error("missing_source", fields=", ".join(fields))
    if len(given) > 1:
        raise validation_error("multiple_sources", fields=", ".join(given))
    return fields[given[0]], call.data[given[0]]


async def _async_send(
    call: ServiceCall, targets: _Targets, message: OutgoingMessage
) -> ServiceResponse:
    """Send the message to every target through each instance's queue."""
    if serves_media(message):
        # Checked before anything is sent: the gateway must be able to fetch the media.
        for entry, _entry_targets in targets.by_entry.values():
            base = entry.runtime_data.client.base_url
            if async_reachable_base_url(call.hass, base, allow_cloud=True) is None:
                raise validation_error("no_reachable_url")
    outcome = SendOutcome(total=0)
    for result in await asyncio.gather(
        *(
            entry.runtime_data.sender.async_send(
                entry_targets,
                message,
                valid_for=_valid_for(call, entry),
                context=call.context,
            )
            for entry, entry_targets in targets.by_entry.values()
        )
    ):
        outcome.merge(result)
    outcome.raise_for_failures()
    if not call.return_response:
        return None
    messages: list[JsonValueType] = [
        {"target": sent.target, "message_id": sent.message_id, "status": "sent"}
        for sent in outcome.sent
    ]
    messages += [
        {
            "target": queued.target,
            "message_id": None,
            "status": "queued",
            "outbox_id": queued.outbox_id,
        }
        for queued in outcome.queued
    ]
    return {"messages": messages}


def _valid_for(call: ServiceCall, entry: SmartwatsConfigEntry) -> float:
    """Return how long the call's messages may wait in the outbox (seconds)."""
    given: timedelta | None = call.data.get(ATTR_VALID_FOR)
    if given is None:
        return entry.runtime_data.sender.default_valid_for
    seconds = given.total_seconds()
    if seconds > MAX_OUTBOX_VALID_FOR:
        raise validation_error("valid_for_too_long", max=MAX_OUTBOX_VALID_FOR)
    return seconds


async def _async_send_text(call: ServiceCall) -> ServiceResponse:
    targets = _targets(call)
    return await _async_send(call, targets, text_message(call.data[ATTR_MESSAGE]))


_MEDIA_SOURCES: Final[dict[str, MediaSource]] = {
    ATTR_MEDIA_URL: "url",
    ATTR_MEDIA_PATH: "path",
    ATTR_CAMERA_ENTITY_ID: "camera",
    ATTR_MEDIA_CONTENT_ID: "media_source",
}
_AUDIO_SOURCES: Final[dict[str, MediaSource]] = {
    ATTR_AUDIO_URL: "url",
    ATTR_AUDIO_PATH: "path",
    ATTR_MEDIA_CONTENT_ID: "media_source",
}


async def _async_send_media(call: ServiceCall) -> ServiceResponse:
    targets = _targets(call)  # bad targets fail before a snapshot is taken
    media = await async_prepare_media(call.hass, *_one_of(call, _MEDIA_SOURCES))
    message = MediaMessage(
        media=media,
        caption=call.data.get(ATTR_CAPTION),
        filename=call.data.get(ATTR_FILENAME) or media.filename,
    )
    return await _async_send(call, targets, message)


async def _async_send_audio(call: ServiceCall) -> ServiceResponse:
    targets = _targets(call)
    media = await async_prepare_media(call.hass, *_one_of(call, _AUDIO_SOURCES))
    return await _async_send(call, targets, AudioMessage(media=media, ptt=call.data[ATTR_PTT]))


async def _async_send_location(call: ServiceCall) -> ServiceResponse:
    message = location_message(
        call.hass,
        latitude=call.data.get(ATTR_LATITUDE),
        longitude=call.data.get(ATTR_LONGITUDE),
        entity_id=call.data.get(ATTR_LOCATION_ENTITY_ID),
        name=call.data.get(ATTR_NAME),
        address=call.data.get(ATTR_ADDRESS),
    )
    return await _async_send(call, _targets(call), message)


async def _async_send_contact(call: ServiceCall) -> ServiceResponse:
    targets = _targets(call)
    message = contact_message(call.data[ATTR_CONTACT_NAME], call.data[ATTR_CONTACT_PHONE])
    for entry, _entry_targets in targets.by_entry.values():
        _normalize(entry, message.phone, "invalid_contact_phone")
    return await _async_send(call, targets, message)


async def _async_send_album(call: ServiceCall) -> ServiceResponse:
    targets = _targets(call)
    message = await async_album_message(
        call.hass, call.data[ATTR_ITEMS], call.data.get(ATTR_CAPTION)
    )
    return await _async_send(call, targets, message)


async def _async_send_carousel(call: ServiceCall) -> ServiceResponse:
    targets = _targets(call)
    message = carousel_message(
        call.data[ATTR_CARDS],
        text=call.data.get(ATTR_TEXT),
        title=call.data.get(ATTR_TITLE),
        footer=call.data.get(ATTR_FOOTER),
    )
    return await _async_send(call, targets, message)


def _ask_answers(raw_answers: list[dict[str, object]]) -> tuple[AskAnswer, ...]:
    """Return the answers of an ask: 1 to 10, each with an id and a title, the ids unique."""
    if not 1 <= len(raw_answers) <= MAX_ASK_ANSWERS:
        raise validation_error("ask_answers_count", count=len(raw_answers), max=MAX_ASK_ANSWERS)
    answers: list[AskAnswer] = []
    for index, raw in enumerate(raw_answers, start=1):
        answer_id, title = raw.get("id"), raw.get("title")
        if not isinstance(answer_id, str | int) or not isinstance(title, str | int):
            raise validation_error("ask_invalid_answer", index=index)
        answer = AskAnswer(str(answer_id).strip(), str(title).strip())
        if not answer.id or not answer.title:
            raise validation_error("ask_invalid_answer", index=index)
        if any(other.id == answer.id for other in answers):
            raise validation_error("ask_duplicate_answer", id=answer.id)
        answers.append(answer)
    return tuple(answers)


def _ask_choices(answers: tuple[AskAnswer, ...]) -> str:
    """Return the numbered answers and how to reply (``1 Yes · 2 No — reply with …``)."""
    choices = " · ".join(f"{number} {answer.title}" for number, answer in enumerate(answers, 1))
    return f"{choices} — reply with the number or the words"


def _ask_message(call: ServiceCall, answers: tuple[AskAnswer, ...]) -> OutgoingMessage:
    """Return the question as the style asks: a text, or a card with a button per answer."""
    question: str = call.data[ATTR_QUESTION]
    if not question.strip():
        raise validation_error("empty_message")
    if call.data[ATTR_STYLE] == "text":
        return text_message(f"{question}\n{_ask_choices(answers)}")
    image_url: str | None = call.data.get(ATTR_IMAGE_URL)
    if not image_url:
        raise validation_error("ask_image_required")
    if len(answers) > MAX_ASK_BUTTONS:
        raise validation_error("ask_too_many_buttons", count=len(answers), max=MAX_ASK_BUTTONS)
    card = {
        "title": question,
        "body": _ask_choices(answers),
        "image": image_url,
        "buttons": [{"type": "reply", "text": answer.title, "id": answer.id} for answer in answers],
    }
    return carousel_message([card], text=None, title=None, footer=None)


async def _async_ask(call: ServiceCall) -> ServiceResponse:
    """Send a question to one chat and return its answer (or that none came in time)."""
    targets = _targets(call)
    chats = [
        (entry, target)
        for entry, entry_targets in targets.by_entry.values()
        for target in entry_targets
    ]
    if len(chats) != 1:
        raise validation_error("ask_one_chat", count=len(chats))
    entry, target = chats[0]
    answers = _ask_answers(call.data[ATTR_ANSWERS])
    message = _ask_message(call, answers)
    runtime = entry.runtime_data
    # Listening starts before the send: an answer may come before the send returns.
    ask = runtime.asks.async_listen(target, answers)
    try:
        # An ask never waits in the outbox: it is sent now or fails.
        outcome = await runtime.sender.async_send(
            [target], message, valid_for=0, context=call.context
        )
        outcome.raise_for_failures()
        question_id = outcome.sent[0].message_id
        reply: AskReply | None = None
        try:
            async with asyncio.timeout(call.data[ATTR_TIMEOUT]):
                reply = await ask.future
        except TimeoutError:
            pass
    finally:
        runtime.asks.async_forget(ask)
    if reply is None:
        return {
            "answer_id": None,
            "answer": None,
            "text": None,
            "sender": None,
            "message_id": None,
            "question_message_id": question_id,
            "timed_out": True,
        }
    return {
        "answer_id": reply.answer.id,
        "answer": reply.answer.title,
        "text": reply.text,
        "sender": reply.sender,
        "message_id": reply.message_id,
        "question_message_id": question_id,
        "timed_out": False,
    }


async def _async_get_groups(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    coordinator = entry.runtime_data.coordinator
    with gateway_errors(coordinator.async_gateway_failed):
        groups = await entry.runtime_data.client.get_groups()
    # Only a live session lists groups: evidence that the instance is linked.
    coordinator.async_set_linked()
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
    entry = _entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    number = _normalize(entry, call.data[ATTR_PHONE], "invalid_phone")
    check = await _async_paced(entry, lambda client: client.check_phone(number))
    return {"phone": check.phone, "exists": check.exists, "jid": check.jid}


async def _async_check_phones(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    phones: list[str] = call.data[ATTR_PHONES]
    if len(phones) > MAX_CHECK_PHONES:
        raise validation_error("too_many_phones", count=len(phones), max=MAX_CHECK_PHONES)
    numbers = [_normalize(entry, phone, "invalid_phone") for phone in phones]
    checks = await _async_paced(entry, lambda client: client.check_phones(numbers))
    return {
        "results": [
            {"phone": check.phone, "exists": check.exists, "jid": check.jid} for check in checks
        ]
    }


async def _async_paced[T](
    entry: SmartwatsConfigEntry, request: Callable[[SmartwatsClient], Awaitable[T]]
) -> T:
    """Make a gateway request in the instance's send queue, its failure translated."""
    runtime = entry.runtime_data
    with gateway_errors(runtime.coordinator.async_gateway_failed):
        return await runtime.sender.async_call(request)


def _outbox_item(item: OutboxItem) -> JsonValueType:
    return {
        "outbox_id": item.outbox_id,
        "target": item.target,
        "type": item.message.type,
        "queued_at": dt_util.utc_from_timestamp(item.queued_at).isoformat(),
        "expires_at": dt_util.utc_from_timestamp(item.expires_at).isoformat(),
    }


async def _async_get_outbox(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    return {"messages": [_outbox_item(item) for item in entry.runtime_data.sender.outbox]}


async def _async_clear_outbox(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    target = call.data.get(ATTR_TARGET)
    if target is not None:
        target = _normalize(entry, target)
    removed = await entry.runtime_data.sender.async_clear(call.data.get(ATTR_OUTBOX_ID), target)
    return {"messages": [_outbox_item(item) for item in removed]}


async def _async_logout(call: ServiceCall) -> None:
    entry = _entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    coordinator = entry.runtime_data.coordinator
    with gateway_errors(coordinator.async_gateway_failed):
        await entry.runtime_data.client.logout()
    # The session is gone: the link state shows it and the relink flow applies.
    coordinator.async_set_logged_out()


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
        (SERVICE_GET_OUTBOX, _async_get_outbox, ENTRY_ONLY_SCHEMA),
        (SERVICE_CHECK_PHONE, _async_check_phone, CHECK_PHONE_SCHEMA),
        (SERVICE_CHECK_PHONES, _async_check_phones, CHECK_PHONES_SCHEMA),
        (SERVICE_ASK, _async_ask, ASK_SCHEMA),
    )
    for name, handler, schema in read_actions:
        hass.services.async_register(
            DOMAIN, name, handler, schema=schema, supports_response=SupportsResponse.ONLY
        )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CLEAR_OUTBOX,
        _async_clear_outbox,
        schema=CLEAR_OUTBOX_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    # Only an administrator may unlink the session: linking it again takes one.
    async_register_admin_service(
        hass, DOMAIN, SERVICE_LOGOUT, _async_logout, schema=ENTRY_ONLY_SCHEMA
    )
