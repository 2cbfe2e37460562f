"""Receiving: the handler of the gateway's webhook posts, from Home Assistant's start to its stop.

The gateway posts each event once and never retries, so nothing may be lost while an entry is
not loaded (setting up, retrying, reloading after an options change). Every entry's webhook id
therefore has a handler from the integration's set-up on, whatever the entry's state: posts that
arrive while the entry is not loaded wait in the entry's inbox (at most `INBOX_MAX_POSTS` posts
for `INBOX_MAX_AGE`, the oldest dropped first with one warning) and are processed in order,
once each, as soon as it loads. Posts to a removed entry are answered and ignored.

Anyone who learns the URL can post anything, so a post is bounded before it is read (size), its
instance id is checked before anything else of it is parsed, and a large post is processed in
slices that leave the event loop to others (`_SLICE`). Where the URL points is kept current by
`webhook_url.py`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Mapping
import dataclasses
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, Protocol

from aiohttp.hdrs import METH_POST
from aiohttp.web import Request, Response
from homeassistant.components.webhook import async_register, async_unregister
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.json import json_loads

from .api import to_user_jid
from .api.coerce import loads_lenient
from .api.inbound import (
    EVENT_MESSAGES_UPDATE,
    EVENT_MESSAGES_UPSERT,
    EVENT_RECEIVED_MESSAGE,
    MAX_ID_LENGTH,
    MAX_POST_ITEMS,
    InboundMessage,
    MessageStatus,
    read_webhook,
)
from .const import (
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_INSTANCE_ID,
    CONF_PHONE,
    CONF_TARGET,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
    EVENT_WEBHOOK_EVENT,
    LOGGER,
    SUBENTRY_RECIPIENT,
    WEBHOOK_MAX_BODY,
)
from .coordinator import SmartwatsLinkCoordinator
from .stats import MessageStats
from .webhook_url import allowed_events

if TYPE_CHECKING:
    from aiohttp import StreamReader
    from homeassistant.util.aiohttp import MockRequest, MockStreamReader

    from .assist import SmartwatsAssist

# How many message ids an entry remembers to report a message once (it arrives as both
# messages.upsert and received_message, usually within milliseconds of each other).
RECENT_MESSAGE_IDS: Final = 1024
# How many posts, and for how long, an entry that is not loaded keeps.
INBOX_MAX_POSTS: Final = 1000
INBOX_MAX_AGE: Final = 600.0
# Processing yields to the event loop after this long (seconds), so that one large post never
# holds it for long.
_SLICE: Final = 0.02
# Decoding this much or more with the lenient decoder happens in the executor.
_LENIENT_INLINE_MAX: Final = 64 * 1024
_READ_CHUNK: Final = 64 * 1024
_MESSAGE_EVENTS: Final = frozenset(
    {EVENT_MESSAGES_UPSERT, EVENT_RECEIVED_MESSAGE, EVENT_MESSAGES_UPDATE}
)

WEBHOOK_INBOXES: HassKey[dict[str, WebhookInbox]] = HassKey(f"{DOMAIN}_webhook_inboxes")


def signal_message_received(entry: ConfigEntry) -> str:
    """Return the dispatcher signal of the entry's received messages (for the event entities).

    Its arguments are the `InboundMessage`, the bus event's data and the ids of the recipient
    subentries in whose chat the message is.
    """
    return f"{DOMAIN}_{entry.entry_id}_message_received"


@callback
def async_setup_webhooks(hass: HomeAssistant) -> None:
    """Give every entry's webhook id its handler (the integration is being set up)."""
    hass.data[WEBHOOK_INBOXES] = {}
    for entry in hass.config_entries.async_entries(DOMAIN):
        async_register_webhook(hass, entry)


@callback
def async_register_webhook(hass: HomeAssistant, entry: ConfigEntry) -> WebhookInbox:
    """Return the entry's inbox, registering its webhook id the first time."""
    inboxes = hass.data[WEBHOOK_INBOXES]
    webhook_id: str = entry.data[CONF_WEBHOOK_ID]
    if (inbox := inboxes.get(webhook_id)) is None:
        inbox = inboxes[webhook_id] = WebhookInbox(hass, entry.entry_id)
        async_register(
            hass,
            DOMAIN,
            entry.title,
            webhook_id,
            inbox.async_handle,
            local_only=False,
            allowed_methods=[METH_POST],
        )
    return inbox


@callback
def async_unregister_webhook(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Unregister the webhook id of a removed entry and forget what waits in its inbox."""
    webhook_id = entry.data.get(CONF_WEBHOOK_ID)
    if webhook_id and hass.data[WEBHOOK_INBOXES].pop(webhook_id, None) is not None:
        async_unregister(hass, webhook_id)


class RecentIds:
    """A bounded memory of the message ids seen last (least recently seen forgotten first)."""

    def __init__(self, size: int = RECENT_MESSAGE_IDS) -> None:
        """Remember at most ``size`` ids."""
        self._size = max(size, 1)
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        """Return how many ids are remembered."""
        return len(self._ids)

    def __contains__(self, message_id: object) -> bool:
        """Tell whether the id is remembered."""
        return message_id in self._ids

    def seen(self, message_id: str) -> bool:
        """Remember the id; return whether it was remembered already."""
        if message_id in self._ids:
            self._ids.move_to_end(message_id)
            return True
        self._ids[message_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False


def message_in_chat(target: str, message: InboundMessage) -> bool:
    """Tell whether a message is in the chat of a recipient (a number, a LID or a group JID)."""
    if message.is_group:
        return target == message.group_id
    if target == message.chat_id:
        return True
    number = message.chat_number
    return number is not None and target in (number, to_user_jid(number))


@dataclass(slots=True)
class _Waiting:
    received: float  # a timestamp
    payload: dict[str, object]


class WebhookInbox:
    """The posts of one entry's webhook: processed in order while it is loaded, kept while not.

    One worker task per entry takes posts in the order they arrived, so that a post processed in
    slices is never overtaken by the next one.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Start empty, with no entry loaded to process the posts."""
        self.hass = hass
        self.entry_id = entry_id
        self.pending: deque[_Waiting] = deque()
        # Which messages were reported lately: kept across reloads, so a message that arrives
        # as both received_message and messages.upsert around a reload is still reported once.
        self.recent_ids = RecentIds()
        # Posts dropped unprocessed (too many or too old) since the entry was set up.
        self.dropped = 0
        self._processor: PostProcessor | None = None
        self._worker: asyncio.Task[None] | None = None
        self._warned = False

    async def async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: Request | MockRequest
    ) -> Response:
        """Take one post of the gateway; never raises, answers once it is queued or processed."""
        body = await _async_read_body(request)
        if isinstance(body, Response):
            return body
        payload = await _async_decode(hass, body)
        if not isinstance(payload, dict):
            LOGGER.debug("Ignored a webhook post that is not a JSON object")
            return Response(status=HTTPStatus.BAD_REQUEST)
        entry = hass.config_entries.async_get_entry(self.entry_id)
        if entry is None:
            return Response(status=HTTPStatus.OK)
        # Before anything else of the post is read.
        if not _same_instance(payload.get("instance_id"), entry.data[CONF_INSTANCE_ID]):
            LOGGER.debug("Ignored a webhook post to %s for another instance", entry.title)
            return Response(status=HTTPStatus.OK)
        self._async_keep(payload)
        return Response(status=HTTPStatus.OK)

    @callback
    def async_attach(self, processor: PostProcessor) -> CALLBACK_TYPE:
        """Process posts with the loaded entry's processor (what waits first); return the undo."""
        self._processor = processor
        self._async_start_worker()

        @callback
        def detach() -> None:
            if self._processor is processor:
                self._processor = None

        return detach

    @callback
    def _async_keep(self, payload: dict[str, object]) -> None:
        now = dt_util.utcnow().timestamp()
        self._async_drop_old(now)
        if len(self.pending) >= INBOX_MAX_POSTS:
            self.pending.popleft()
            self._async_dropped(f"more than {INBOX_MAX_POSTS} posts waited")
        self.pending.append(_Waiting(now, payload))
        self._async_start_worker()

    @callback
    def _async_drop_old(self, now: float) -> None:
        while self.pending and now - self.pending[0].received > INBOX_MAX_AGE:
            self.pending.popleft()
            self._async_dropped(f"posts waited more than {INBOX_MAX_AGE:g} s")

    @callback
    def _async_dropped(self, why: str) -> None:
        self.dropped += 1
        if not self._warned:
            self._warned = True
            LOGGER.warning(
                "Webhook posts to a SmartWats entry that is not loaded were dropped, oldest "
                "first: %s",
                why,
            )

    @callback
    def _async_start_worker(self) -> None:
        # An eager worker may finish before its task is even assigned: check done(), not None.
        if (
            self._processor is not None
            and self.pending
            and (self._worker is None or self._worker.done())
        ):
            # Eager: a small post is processed before the gateway gets its answer.
            self._worker = self.hass.async_create_task(
                self._async_work(), f"{DOMAIN} webhook posts", eager_start=True
            )

    async def _async_work(self) -> None:
        while self.pending and (processor := self._processor) is not None:
            self._async_drop_old(dt_util.utcnow().timestamp())
            if not self.pending:
                break
            payload = self.pending.popleft().payload
            try:
                await processor.async_process(payload)
            except Exception:  # noqa: BLE001 - one post lost is better than all that follow
                LOGGER.exception("Could not process a webhook post")
        if not self.pending:
            self._warned = False


class AskOffers(Protocol):
    """The questions of the ask action that wait for an answer (ask.AskWaiters)."""

    def async_offer(self, message: InboundMessage) -> bool:
        """Give a received message to the question it answers; tell whether it did."""


class PostProcessor:
    """Turns the posts of one loaded entry into bus events, counts and event entity updates.

    The policy of what is reported is applied here, once: the instance was checked when the post
    arrived; own messages (``fromMe``) only with the option on, with the linked number as their
    sender; each message once (by id); a message the gateway's digest could only show as lost
    content not when messages.upsert brings it too; and which recipients' chats it is in.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        inbox: WebhookInbox,
        coordinator: SmartwatsLinkCoordinator,
        stats: MessageStats,
        *,
        asks: AskOffers,
        assist: SmartwatsAssist,
    ) -> None:
        """Prepare the fields every event of the entry carries."""
        self.hass = hass
        self._asks = asks
        self.entry = entry
        self.recent_ids = inbox.recent_ids
        self._coordinator = coordinator
        self._stats = stats
        self._assist = assist
        # The entry reloads when its recipients change.
        self._recipients = {
            subentry_id: subentry.data[CONF_TARGET]
            for subentry_id, subentry in entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_RECIPIENT
        }
        self._signal_message = signal_message_received(entry)
        self._common: dict[str, object] = {
            "config_entry_id": entry.entry_id,
            "instance_id": entry.data[CONF_INSTANCE_ID],
        }

    async def async_process(self, payload: Mapping[str, object]) -> None:
        """Report what one post holds; yields to the event loop between slices of a large one."""
        entry = self.entry
        post = read_webhook(payload)
        if post.skipped:
            LOGGER.warning(
                "A webhook post to %s held %d more items than the %d processed; they were ignored",
                entry.title,
                post.skipped,
                MAX_POST_ITEMS,
            )
        if post.event in _MESSAGE_EVENTS:
            # Only a live session receives: evidence that the instance is linked.
            self._coordinator.async_set_linked()
        loop = self.hass.loop
        bus = self.hass.bus
        common = self._common
        # Read at each post: the entry's data and options can change without a reload.
        events = allowed_events(entry)
        policy = _Policy(
            include_own=bool(entry.options.get(CONF_INCLUDE_OWN_MESSAGES, False)),
            own_number=entry.data.get(CONF_PHONE) or None,
            # No events given: the gateway posts them all.
            upsert_subscribed=not events or EVENT_MESSAGES_UPSERT in events,
        )
        until = loop.time() + _SLICE
        for item in post.items:
            if isinstance(item, InboundMessage):
                self._async_message(item, policy)
            elif isinstance(item, MessageStatus):
                bus.async_fire(EVENT_MESSAGE_STATUS, common | item.event_data())
            else:
                bus.async_fire(EVENT_WEBHOOK_EVENT, common | item.event_data())
            if loop.time() > until:
                await asyncio.sleep(0)
                until = loop.time() + _SLICE

    @callback
    def _async_message(self, message: InboundMessage, policy: _Policy) -> None:
        if message.content_lost and policy.upsert_subscribed:
            return  # messages.upsert brings it with its content
        if message.from_me:
            if not policy.include_own:
                return
            if policy.own_number:
                own = policy.own_number
                message = dataclasses.replace(message, sender=own, sender_jid=to_user_jid(own))
        if self.recent_ids.seen(message.message_id):
            return
        if message.timestamp is None:
            message = dataclasses.replace(message, timestamp=dt_util.utcnow().isoformat())
        data = message.event_data(self._common)
        # A reply to a question of the ask action answers it (and not Assist); its event fires
        # all the same.
        answered = self._asks.async_offer(message)
        recipients = frozenset(
            subentry_id
            for subentry_id, target in self._recipients.items()
            if message_in_chat(target, message)
        )
        assist = not answered and self._assist.async_offer(message, recipients)
        self.hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, data | {"assist": assist})
        if not message.from_me:
            self._stats.async_count_received(dict(data))
        async_dispatcher_send(self.hass, self._signal_message, message, data, recipients)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Policy:
    """What the entry's options and data say about reporting messages."""

    include_own: bool
    own_number: str | None
    upsert_subscribed: bool


def _same_instance(posted: object, instance_id: str) -> bool:
    """Tell whether a post's instance id is the entry's (in any case, as the gateway varies)."""
    return (
        isinstance(posted, str)
        and len(posted) <= MAX_ID_LENGTH
        and posted.strip().upper() == instance_id.strip().upper()
    )


async def _async_decode(hass: HomeAssistant, body: bytes) -> object:
    """Decode a body as JSON (lone surrogates mended, see `loads_lenient`); None if it is not."""
    try:
        return json_loads(body)
    except ValueError:
        pass
    # What orjson refuses: the standard decoder, which is slow on a large body.
    try:
        if len(body) < _LENIENT_INLINE_MAX:
            return loads_lenient(body)
        return await hass.async_add_executor_job(loads_lenient, body)
    except ValueError, RecursionError:
        return None


async def _async_read_body(request: Request | MockRequest) -> bytes | Response:
    """Read the body, or return the answer refusing it (too large)."""
    length = request.headers.get("Content-Length")
    if (
        length is not None
        and (length := length.strip()).isdecimal()
        and (len(length) > len(str(WEBHOOK_MAX_BODY)) or int(length) > WEBHOOK_MAX_BODY)
    ):
        return Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    stream: StreamReader | MockStreamReader = request.content
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(_READ_CHUNK):
        size += len(chunk)
        if size > WEBHOOK_MAX_BODY:
            return Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)
