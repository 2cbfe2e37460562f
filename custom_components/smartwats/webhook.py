"""Receiving: the webhook the gateway posts messages, receipts and other events to.

The gateway posts each event once, unsigned and without retries, to one URL per instance, so the
URL (with the entry's random webhook id) is the only secret and is never logged. Which URL:

- the Home Assistant Cloud cloudhook when the user has an active subscription (created once,
  kept in the entry's data, deleted when the entry is removed);
- otherwise Home Assistant's own URL as the gateway can reach it (`urls.py`): an HTTPS external
  URL on a public host, or any URL when the gateway itself is on a local address;
- when there is none, the `webhook_unavailable` repair issue explains how to get one (sending
  keeps working).

The URL and the entry's allowed events are given to the gateway whenever the instance is linked
and either differs from what was given last in this run, and again after every relink.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import suppress
import dataclasses
from dataclasses import dataclass
from http import HTTPStatus
import logging
from typing import TYPE_CHECKING

from aiohttp.hdrs import METH_POST
from aiohttp.web import Request, Response
from homeassistant.components.webhook import (
    async_generate_path,
    async_generate_url,
    async_register,
    async_unregister,
)
from homeassistant.const import CONF_WEBHOOK_ID, EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.util import dt as dt_util
from homeassistant.util.json import json_loads

from .api import DEFAULT_BASE_URL, SmartwatsError, SmartwatsLoggedOutError
from .const import (
    CONF_ALLOWED_EVENTS,
    CONF_BASE_URL,
    CONF_CLOUDHOOK_URL,
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_INSTANCE_ID,
    CONF_PHONE,
    DEFAULT_ALLOWED_EVENTS,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
    EVENT_WEBHOOK_EVENT,
    ISSUE_WEBHOOK_UNAVAILABLE,
    LOGGER,
    WEBHOOK_MAX_BODY,
    WEBHOOK_RETRY_INTERVAL,
)
from .coordinator import SmartwatsConfigEntry
from .gateway import async_create_client
from .inbound import (
    EVENT_MESSAGES_UPDATE,
    EVENT_MESSAGES_UPSERT,
    EVENT_RECEIVED_MESSAGE,
    InboundMessage,
    ParsedWebhook,
    RecentIds,
    parse_webhook,
)
from .urls import async_reachable_base_url

if TYPE_CHECKING:
    from aiohttp import StreamReader
    from homeassistant.util.aiohttp import MockRequest, MockStreamReader

# Sent with enable=false when Home Assistant has no URL: the gateway only checks that it is one.
_PLACEHOLDER_WEBHOOK_URL = "https://webhook.invalid/smartwats-disabled"
_READ_CHUNK = 64 * 1024
_MESSAGE_EVENTS = frozenset({EVENT_MESSAGES_UPSERT, EVENT_RECEIVED_MESSAGE, EVENT_MESSAGES_UPDATE})


def webhook_issue_id(entry: SmartwatsConfigEntry) -> str:
    """Return the id of the entry's "webhook unavailable" repair issue."""
    return f"{ISSUE_WEBHOOK_UNAVAILABLE}_{entry.entry_id}"


def signal_message_received(entry: SmartwatsConfigEntry) -> str:
    """Return the dispatcher signal of the entry's received messages (for the event entities).

    Its arguments are the `InboundMessage` and the bus event's data.
    """
    return f"{DOMAIN}_{entry.entry_id}_message_received"


def signal_webhook_state(entry: SmartwatsConfigEntry) -> str:
    """Return the dispatcher signal sent when the webhook gets or loses its URL."""
    return f"{DOMAIN}_{entry.entry_id}_webhook_state"


def _cloud_active(hass: HomeAssistant) -> bool:
    """Tell whether the user has an active Home Assistant Cloud subscription."""
    if "cloud" not in hass.config.components:
        return False
    from homeassistant.components import cloud  # noqa: PLC0415 - an optional after-dependency

    return cloud.async_active_subscription(hass)


class SmartwatsWebhook:
    """The webhook of one config entry: its URL at the gateway and the handler of its posts."""

    def __init__(self, hass: HomeAssistant, entry: SmartwatsConfigEntry) -> None:
        """Prepare the webhook of a loaded entry (``entry.runtime_data`` is set)."""
        self.hass = hass
        self.entry = entry
        self.webhook_id: str = entry.data[CONF_WEBHOOK_ID]
        self.instance_id: str = entry.data[CONF_INSTANCE_ID]
        self.recent_ids = RecentIds()
        # The URL the gateway can post to (None: there is none) and what was last given to it.
        self.url: str | None = None
        self.sent: tuple[str, tuple[str, ...]] | None = None
        self._linked: bool | None = None
        self._lock = asyncio.Lock()
        self._retry: CALLBACK_TYPE | None = None
        self._failing = False
        self._unsubscribe: list[Callable[[], None]] = []
        # Per entry, not per post: the message signal, the fields of every event, the instance
        # id as compared, and what the options say (read again whenever they are replaced).
        self._signal_message = signal_message_received(entry)
        self._common: dict[str, object] = {
            "config_entry_id": entry.entry_id,
            "instance_id": self.instance_id,
        }
        self._instance_key = self.instance_id.upper()
        self._settings_of: tuple[object, object] | None = None
        self._settings = _ParseSettings(
            allowed_events=(), include_own_messages=False, own_number=None, upsert_subscribed=True
        )

    @property
    def allowed_events(self) -> tuple[str, ...]:
        """Return the events the entry asks the gateway to post."""
        return self._parse_settings().allowed_events

    def _parse_settings(self) -> _ParseSettings:
        """Return what the entry's options and data say about posts, read once per change."""
        entry = self.entry
        options, data = entry.options, entry.data
        if self._settings_of is None or (
            self._settings_of[0] is not options or self._settings_of[1] is not data
        ):
            events = options.get(CONF_ALLOWED_EVENTS) or DEFAULT_ALLOWED_EVENTS
            if isinstance(events, str):
                events = events.split(",")
            allowed = tuple(event.strip() for event in events if event.strip())
            self._settings = _ParseSettings(
                allowed_events=allowed,
                include_own_messages=bool(options.get(CONF_INCLUDE_OWN_MESSAGES, False)),
                own_number=data.get(CONF_PHONE) or None,
                upsert_subscribed=_subscribed(allowed, EVENT_MESSAGES_UPSERT),
            )
            self._settings_of = (options, data)
        return self._settings

    async def async_start(self) -> None:
        """Register the webhook, give its URL to the gateway and follow what may change it."""
        async_register(
            self.hass,
            DOMAIN,
            self.entry.title,
            self.webhook_id,
            self.async_handle,
            local_only=False,
            allowed_methods=[METH_POST],
        )
        coordinator = self.entry.runtime_data.coordinator
        self._linked = coordinator.data.linked
        self._unsubscribe.append(coordinator.async_add_listener(self._async_link_changed))
        self._unsubscribe.append(
            self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._async_config_changed)
        )
        if "cloud" in self.hass.config.components:
            from homeassistant.components import cloud  # noqa: PLC0415 - optional

            self._unsubscribe.append(
                cloud.async_listen_connection_change(self.hass, self._async_cloud_changed)
            )
        # The URL (and the repair) now; the gateway is told in the background, not delaying setup.
        async with self._lock:
            self._async_set_url(await self.async_get_url())
        self._async_schedule_sync()

    @callback
    def async_stop(self) -> None:
        """Unregister the webhook and stop following changes (the entry unloads)."""
        async_unregister(self.hass, self.webhook_id)
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._retry is not None:
            self._retry()
            self._retry = None

    # -- the URL at the gateway -------------------------------------------------------------------

    async def _async_cloudhook_url(self) -> str | None:
        """Return the entry's cloudhook URL, created the first time; None when Cloud cannot."""
        if url := self.entry.data.get(CONF_CLOUDHOOK_URL):
            return str(url)
        from homeassistant.components import cloud  # noqa: PLC0415 - optional

        try:
            url = await cloud.async_create_cloudhook(self.hass, self.webhook_id)
        except cloud.CloudNotAvailable as err:
            # Not connected yet: the connection listener tries again once it is.
            LOGGER.debug("No Home Assistant Cloud webhook for %s yet: %s", self.entry.title, err)
            return None
        except Exception as err:  # noqa: BLE001 - Cloud's own errors; never fail the setup
            LOGGER.warning(
                "Could not create a Home Assistant Cloud webhook for %s: %s", self.entry.title, err
            )
            return None
        self.hass.config_entries.async_update_entry(
            self.entry, data={**self.entry.data, CONF_CLOUDHOOK_URL: url}
        )
        return str(url)

    async def async_get_url(self) -> str | None:
        """Return the URL the gateway can post to, or None when Home Assistant has none."""
        if _cloud_active(self.hass) and (url := await self._async_cloudhook_url()):
            return url
        gateway = self.entry.data.get(CONF_BASE_URL) or DEFAULT_BASE_URL
        base = async_reachable_base_url(self.hass, gateway, allow_cloud=False)
        if base is None:
            return None
        return f"{base.rstrip('/')}{async_generate_path(self.webhook_id)}"

    async def async_sync(self, *, force: bool = False) -> None:
        """Give the URL and the allowed events to the gateway when they changed (or ``force``)."""
        async with self._lock:
            url = await self.async_get_url()
            self._async_set_url(url)
            if url is None or not self.entry.runtime_data.coordinator.data.linked:
                return
            wanted = (url, self.allowed_events)
            if wanted == self.sent and not force:
                return
            if self._retry is not None:
                self._retry()
                self._retry = None
            try:
                await self.entry.runtime_data.client.set_webhook(
                    url, enable=True, allowed_events=wanted[1]
                )
            except SmartwatsLoggedOutError:
                # Sent again after the relink.
                self.entry.runtime_data.coordinator.async_set_logged_out()
                return
            except SmartwatsError as err:
                # Logged once per outage, then at debug level at each retry.
                LOGGER.log(
                    logging.DEBUG if self._failing else logging.WARNING,
                    "Could not give the webhook of %s to the gateway, retrying every %s: %s",
                    self.entry.title,
                    WEBHOOK_RETRY_INTERVAL,
                    err,
                )
                self._failing = True
                self._retry = async_call_later(self.hass, WEBHOOK_RETRY_INTERVAL, self._async_retry)
                return
            if self._failing:
                LOGGER.info("The gateway has the webhook of %s again", self.entry.title)
                self._failing = False
            elif self.sent is None or self.sent[0] != url:
                LOGGER.debug("The gateway posts the events of %s to a new URL", self.entry.title)
            self.sent = wanted

    @callback
    def _async_set_url(self, url: str | None) -> None:
        """Keep the URL; open or close the repair issue and tell the event entities."""
        had_url = self.url is not None
        self.url = url
        issue_id = webhook_issue_id(self.entry)
        if url is None:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_WEBHOOK_UNAVAILABLE,
                translation_placeholders={"name": self.entry.title},
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        if had_url != (url is not None):
            async_dispatcher_send(self.hass, signal_webhook_state(self.entry))

    @callback
    def _async_schedule_sync(self, *, force: bool = False) -> None:
        self.entry.async_create_task(
            self.hass, self.async_sync(force=force), f"{DOMAIN} webhook update"
        )

    @callback
    def _async_retry(self, _now: object) -> None:
        self._retry = None
        self._async_schedule_sync()

    @callback
    def _async_link_changed(self) -> None:
        """Give the webhook to the gateway again once the instance is linked again."""
        linked = self.entry.runtime_data.coordinator.data.linked
        relinked = linked and self._linked is False
        self._linked = linked
        if relinked:
            self._async_schedule_sync(force=True)

    @callback
    def _async_config_changed(self, _event: Event) -> None:
        """Home Assistant's URLs may have changed."""
        self._async_schedule_sync()

    @callback
    def _async_cloud_changed(self, _state: object) -> None:
        """Home Assistant Cloud connected or disconnected: the cloudhook may be usable now."""
        self._async_schedule_sync()

    # -- the handler ------------------------------------------------------------------------------

    async def async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: Request | MockRequest
    ) -> Response:
        """Handle one post of the gateway; never raises, answers at once."""
        body = await _async_read_body(request)
        if isinstance(body, Response):
            return body
        try:
            payload = json_loads(body)
        except ValueError:
            LOGGER.debug("Ignored a webhook post to %s that is not JSON", self.entry.title)
            return Response(status=HTTPStatus.BAD_REQUEST)
        if not isinstance(payload, dict):
            LOGGER.debug("Ignored a webhook post to %s that is not an object", self.entry.title)
            return Response(status=HTTPStatus.BAD_REQUEST)
        try:
            self._async_process(payload)
        except Exception:  # noqa: BLE001 - an event lost is better than the gateway seeing an error
            LOGGER.exception("Could not process a webhook post to %s", self.entry.title)
        return Response(status=HTTPStatus.OK)

    @callback
    def _async_process(self, payload: Mapping[str, object]) -> None:
        """Report what one post holds as events."""
        settings = self._parse_settings()
        parsed = parse_webhook(
            payload,
            include_own_messages=settings.include_own_messages,
            own_number=settings.own_number,
            upsert_subscribed=settings.upsert_subscribed,
        )
        if parsed.instance_id is None or parsed.instance_id.upper() != self._instance_key:
            LOGGER.debug(
                "Ignored a webhook post to %s for another instance (%s)",
                self.entry.title,
                parsed.instance_id,
            )
            return
        if parsed.event in _MESSAGE_EVENTS:
            self.entry.runtime_data.coordinator.async_set_linked()
        self._async_fire(parsed)

    @callback
    def _async_fire(self, parsed: ParsedWebhook) -> None:
        """Fire the bus events, count the messages and tell the event entities."""
        common = self._common
        bus = self.hass.bus
        for message in parsed.messages:
            if self.recent_ids.seen(message.message_id):
                continue
            if message.timestamp is None:
                message = dataclasses.replace(message, timestamp=dt_util.utcnow().isoformat())  # noqa: PLW2901
            self._async_report(message, message.event_data(common))
        for status in parsed.statuses:
            bus.async_fire(EVENT_MESSAGE_STATUS, common | status.event_data())
        for event in parsed.events:
            bus.async_fire(EVENT_WEBHOOK_EVENT, common | event.event_data())

    @callback
    def _async_report(self, message: InboundMessage, data: dict[str, object]) -> None:
        self.hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, data)
        if not message.from_me:
            self.entry.runtime_data.stats.async_count_received(dict(data))
        async_dispatcher_send(self.hass, self._signal_message, message, data)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ParseSettings:
    """What the entry's options and data say about the posts (see `parse_webhook`)."""

    allowed_events: tuple[str, ...]
    include_own_messages: bool
    own_number: str | None
    upsert_subscribed: bool


def _subscribed(allowed_events: tuple[str, ...], event: str) -> bool:
    """Tell whether the gateway posts ``event`` (no events given means all of them)."""
    return not allowed_events or event in allowed_events


async def _async_read_body(request: Request | MockRequest) -> bytes | Response:
    """Read the body, or return the answer refusing it (too large)."""
    length = request.headers.get("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > WEBHOOK_MAX_BODY:
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


async def async_setup_webhook(hass: HomeAssistant, entry: SmartwatsConfigEntry) -> None:
    """Register the entry's webhook and point the gateway at it; undone when the entry unloads."""
    manager = SmartwatsWebhook(hass, entry)
    entry.runtime_data.webhook = manager
    entry.async_on_unload(manager.async_stop)
    await manager.async_start()


async def async_remove_webhook(hass: HomeAssistant, entry: SmartwatsConfigEntry) -> None:
    """Delete the entry's cloudhook and turn the gateway's webhook off (best effort)."""
    ir.async_delete_issue(hass, DOMAIN, webhook_issue_id(entry))
    if entry.data.get(CONF_CLOUDHOOK_URL):
        from homeassistant.components import cloud  # noqa: PLC0415 - optional

        try:
            await cloud.async_delete_cloudhook(hass, entry.data[CONF_WEBHOOK_ID])
        except cloud.CloudNotAvailable as err:
            LOGGER.debug("Could not delete the cloudhook of %s: %s", entry.title, err)
    url = _PLACEHOLDER_WEBHOOK_URL
    if webhook_id := entry.data.get(CONF_WEBHOOK_ID):
        with suppress(NoURLAvailableError):
            url = async_generate_url(hass, webhook_id)
    try:
        client = async_create_client(hass, entry.data, entry.options)
        await client.set_webhook(url, enable=False)
    except (SmartwatsError, ValueError) as err:
        LOGGER.debug("Could not turn the webhook of %s off: %s", entry.title, err)
