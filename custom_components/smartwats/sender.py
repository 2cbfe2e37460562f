"""The send queue of one SmartWats instance: order, pacing, events, counters and errors.

Every message of an instance (actions and notify entities alike) goes through its sender. One
call's messages are sent one after the other, calls in the order they arrived (a fair lock), and
`send_interval` seconds (options) pass between the answer to one message and the next request, so
that WhatsApp never sees a burst. Nothing is dropped: a bulk send just takes longer. Every target
is attempted even when others fail; a message whose outcome is unknown (it may have been sent) is
reported as such and never sent again. When the entry unloads, the messages not sent yet fail at
once and the ones sent keep their ids. Other requests that WhatsApp watches for abuse (number
checks) wait their turn in the same queue (`SmartwatsSender.async_call`).

A message is an `OutgoingMessage` value (messages.py); `async_send_message` is the one place that
turns it into a call of the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .api import AlbumItem, SendResult, SmartwatsClient, SmartwatsError
from .const import (
    CONF_INSTANCE_ID,
    CONF_SEND_INTERVAL,
    DEFAULT_SEND_INTERVAL,
    DOMAIN,
    EVENT_MESSAGE_SENT,
    LOGGER,
)
from .coordinator import SmartwatsLinkCoordinator
from .errors import ha_error
from .messages import (
    AlbumMessage,
    AudioMessage,
    CarouselMessage,
    ContactMessage,
    LocationMessage,
    MediaMessage,
    OutgoingMessage,
    TextMessage,
    serves_media,
)
from .stats import MessageStats
from .urls import async_reachable_base_url


async def async_send_message(  # noqa: PLR0911 - one return per kind of message
    hass: HomeAssistant,
    client: SmartwatsClient,
    target: str,
    message: OutgoingMessage,
    base_url: str | None,
) -> SendResult:
    """Send one message to one target; media Home Assistant serves gets a fresh URL on ``base_url``.

    The client sends to a group (``…@g.us``) through the group endpoint by itself.
    """
    match message:
        case TextMessage():
            return await client.send_text(target, message.text)
        case MediaMessage():
            url = message.media.async_url(hass, base_url)
            return await client.send_media(
                target, url, caption=message.caption, filename=message.filename
            )
        case AudioMessage():
            url = message.media.async_url(hass, base_url)
            return await client.send_audio(target, url, ptt=message.ptt)
        case LocationMessage():
            return await client.send_location(
                target,
                message.latitude,
                message.longitude,
                name=message.name,
                address=message.address,
            )
        case ContactMessage():
            return await client.send_contact(target, message.name, message.phone)
        case AlbumMessage():
            items = [
                AlbumItem(type=part.kind, url=part.media.async_url(hass, base_url))
                for part in message.parts
            ]
            return await client.send_album(target, items, caption=message.caption)
        case CarouselMessage():
            return await client.send_carousel(
                target,
                message.cards,
                text=message.text,
                title=message.title,
                footer=message.footer,
            )


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the gateway accepted."""

    target: str
    message_id: str | None


@dataclass(slots=True, kw_only=True)
class SendOutcome:
    """What a batch of messages came to: the messages sent and the failed targets with why."""

    total: int
    sent: list[SentMessage] = field(default_factory=list)
    failures: list[tuple[str, HomeAssistantError]] = field(default_factory=list)

    def merge(self, other: SendOutcome) -> None:
        """Add another batch's outcome (from another instance) to this one."""
        self.total += other.total
        self.sent += other.sent
        self.failures += other.failures

    def raise_for_failures(self) -> None:
        """Raise if anything failed: the only message's own error, or one naming each target."""
        if not self.failures:
            return
        if self.total == 1:
            raise self.failures[0][1]
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="send_failures",
            translation_placeholders={
                "failed": str(len(self.failures)),
                "total": str(self.total),
                "errors": "; ".join(f"{target}: {error}" for target, error in self.failures),
            },
        )


class SmartwatsSender:
    """The paced send queue of one config entry (one gateway instance)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: SmartwatsClient,
        coordinator: SmartwatsLinkCoordinator,
        stats: MessageStats,
    ) -> None:
        """Set up the queue; it runs in the callers' tasks, so there is nothing to start."""
        self.hass = hass
        self.entry = entry
        self.client = client
        # Told what sends reveal about the session; kept even once the entry has unloaded, so
        # that the answer of a request under way then is still counted and acted on.
        self._coordinator = coordinator
        self._stats = stats
        # asyncio.Lock wakes its waiters first come, first served: calls keep their order.
        self._lock = asyncio.Lock()
        self._stopped = asyncio.Event()
        self._next_at = 0.0

    @property
    def interval(self) -> float:
        """Seconds between the answer to one request and the next request."""
        return float(self.entry.options.get(CONF_SEND_INTERVAL, DEFAULT_SEND_INTERVAL))

    @callback
    def async_stop(self) -> None:
        """Stop the queue (the entry unloads): waiting messages and requests fail at once."""
        self._stopped.set()

    async def async_send(
        self,
        targets: Sequence[str],
        message: OutgoingMessage,
        *,
        context: Context | None = None,
    ) -> SendOutcome:
        """Send the message to each target in order, paced; return what was sent and what failed.

        Never raises for a target: when the queue stops (the entry unloads) meanwhile, the
        targets not sent to yet fail with `sender_stopped` and the ones sent keep their ids.
        """
        outcome = SendOutcome(total=len(targets))
        base_url = None
        if serves_media(message):
            base_url = async_reachable_base_url(self.hass, self.client.base_url, allow_cloud=True)
        async with self._lock:
            for target in targets:
                if not await self._async_wait_turn():
                    self._async_fail(outcome, target, self._stopped_error())
                    continue
                try:
                    result = await async_send_message(
                        self.hass, self.client, target, message, base_url
                    )
                except (SmartwatsError, ValueError) as err:
                    LOGGER.debug("Sending %s to %s failed: %s", message.type, target, err)
                    self._coordinator.async_gateway_failed(err)
                    self._async_fail(outcome, target, ha_error(err))
                else:
                    self._async_sent(outcome, target, message, result, context)
                finally:
                    self._next_at = self.hass.loop.time() + self.interval
        return outcome

    async def async_call[T](self, request: Callable[[SmartwatsClient], Awaitable[T]]) -> T:
        """Make one gateway request (not a message) in the queue's turn, paced like a message.

        Raises `HomeAssistantError` (`sender_stopped`) when the queue stops before its turn;
        the request's own errors are the caller's to map (errors.py).
        """
        async with self._lock:
            if not await self._async_wait_turn():
                raise self._stopped_error()
            try:
                return await request(self.client)
            finally:
                self._next_at = self.hass.loop.time() + self.interval

    async def _async_wait_turn(self) -> bool:
        """Wait until `send_interval` has passed since the last request; False once stopped."""
        delay = self._next_at - self.hass.loop.time()
        if delay > 0 and not self._stopped.is_set():
            with suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopped.wait()
        return not self._stopped.is_set()

    @callback
    def _async_sent(
        self,
        outcome: SendOutcome,
        target: str,
        message: OutgoingMessage,
        result: SendResult,
        context: Context | None,
    ) -> None:
        outcome.sent.append(SentMessage(target, result.message_id))
        self._stats.async_count_sent()
        # Only a live session sends: evidence that the instance is linked.
        self._coordinator.async_set_linked()
        self.hass.bus.async_fire(
            EVENT_MESSAGE_SENT,
            {
                "config_entry_id": self.entry.entry_id,
                "instance_id": self.entry.data[CONF_INSTANCE_ID],
                "message_id": result.message_id,
                "target": target,
                "type": message.type,
            },
            context=context,
        )

    @callback
    def _async_fail(self, outcome: SendOutcome, target: str, error: HomeAssistantError) -> None:
        outcome.failures.append((target, error))
        self._stats.async_count_failed()

    def _stopped_error(self) -> HomeAssistantError:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="sender_stopped",
            translation_placeholders={"name": self.entry.title},
        )
