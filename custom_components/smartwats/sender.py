"""The send queue of one SmartWats instance: order, pacing, the outbox, events, counters, errors.

Every message of an instance (actions and notify entities alike) goes through its sender. One
call's messages are sent one after the other, calls in the order they arrived (a fair lock), and
`send_interval` seconds (options) pass between the answer to one message and the next request, so
that WhatsApp never sees a burst. Nothing is dropped: a bulk send just takes longer. Every target
is attempted even when others fail; a message whose outcome is unknown (it may have been sent) is
reported as such and never sent again. When the entry unloads, the messages not sent yet fail at
once and the ones sent keep their ids. Other requests that WhatsApp watches for abuse (number
checks) wait their turn in the same queue (`SmartwatsSender.async_call`).

A message that cannot be delivered now (the gateway cannot be reached, the session is not linked,
the entry is stopping, or its turn would take more than `TURN_WAIT`) goes to the instance's
outbox (outbox.py) instead of failing, unless it was sent with ``valid_for`` 0; a delivery task
sends what waits there, oldest first, through the same paced queue, once the gateway can take it.

A message is an `OutgoingMessage` value (messages.py); `async_send_message` is the one place that
turns it into a call of the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .api import (
    AlbumItem,
    SendResult,
    SmartwatsClient,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsLoggedOutError,
    SmartwatsNotLinkedError,
    SmartwatsOutcomeUnknownError,
)
from .const import (
    CONF_INSTANCE_ID,
    CONF_OUTBOX_VALID_FOR,
    CONF_SEND_INTERVAL,
    DEFAULT_OUTBOX_VALID_FOR,
    DEFAULT_SEND_INTERVAL,
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_SENT,
    ISSUE_OUTBOX_STALLED,
    LOGGER,
)
from .coordinator import SmartwatsLinkCoordinator
from .errors import ha_error, translation_key
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
from .outbox import FIRST_BACKOFF, MAX_BACKOFF, Outbox, OutboxItem
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


# A send action waits at most this long for its messages' turn; what still waits then goes to
# the outbox (when it may wait).
TURN_WAIT: Final = 30.0
# The outbox_stalled repair: the oldest message has waited this long for a relink.
STALLED_AFTER: Final = 15 * 60.0


def signal_outbox_changed(entry_id: str) -> str:
    """Return the dispatcher signal sent when the entry's outbox changes (for its sensor)."""
    return f"{DOMAIN}_{entry_id}_outbox"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the gateway accepted."""

    target: str
    message_id: str | None


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A message that waits in the outbox."""

    target: str
    outbox_id: str


@dataclass(slots=True, kw_only=True)
class SendOutcome:
    """What a batch came to: the messages sent, queued, and the failed targets with why."""

    total: int
    sent: list[SentMessage] = field(default_factory=list)
    queued: list[QueuedMessage] = field(default_factory=list)
    failures: list[tuple[str, HomeAssistantError]] = field(default_factory=list)

    def merge(self, other: SendOutcome) -> None:
        """Add another batch's outcome (from another instance) to this one."""
        self.total += other.total
        self.sent += other.sent
        self.queued += other.queued
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


class _MayWaitError(Exception):
    """The message cannot be sent now (unreachable, not linked, stopping): it may wait."""

    def __init__(self, error: HomeAssistantError) -> None:
        super().__init__(str(error))
        self.error = error


class SmartwatsSender:
    """The paced send queue of one config entry (one gateway instance), with its outbox."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: SmartwatsClient,
        *,
        coordinator: SmartwatsLinkCoordinator,
        stats: MessageStats,
        outbox: Outbox,
    ) -> None:
        """Set up the queue; `async_start` starts the delivery of the outbox."""
        self.hass = hass
        self.entry = entry
        self.client = client
        # Told what sends reveal about the session; kept even once the entry has unloaded, so
        # that the answer of a request under way then is still counted and acted on.
        self._coordinator = coordinator
        self._stats = stats
        self.outbox = outbox
        # asyncio.Lock wakes its waiters first come, first served: calls keep their order.
        self._lock = asyncio.Lock()
        self._stopped = asyncio.Event()
        self._next_at = 0.0
        # The circuit breaker: open until this timestamp, after this many failures.
        self._open_until = 0.0
        self._failures = 0
        self._unsubscribe: CALLBACK_TYPE | None = None
        # The delivery of the outbox: a task while there is something to do, else a timer.
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._timer: CALLBACK_TYPE | None = None

    @property
    def interval(self) -> float:
        """Seconds between the answer to one request and the next request."""
        return float(self.entry.options.get(CONF_SEND_INTERVAL, DEFAULT_SEND_INTERVAL))

    @property
    def default_valid_for(self) -> float:
        """Seconds a message may wait in the outbox unless the caller says (entry option)."""
        return float(self.entry.options.get(CONF_OUTBOX_VALID_FOR, DEFAULT_OUTBOX_VALID_FOR))

    @property
    def next_attempt(self) -> float | None:
        """When the circuit lets a request through again (a timestamp), or None when closed."""
        return self._open_until if self._open_until > dt_util.utcnow().timestamp() else None

    @callback
    def async_start(self) -> None:
        """Start delivering the outbox; the circuit closes whenever the session shows life."""
        self._unsubscribe = self._coordinator.async_add_listener(self._async_link_changed)
        self._async_deliver_soon()

    @callback
    def async_stop(self) -> None:
        """Stop the queue (the entry unloads): waiting messages go to the outbox or fail."""
        self._stopped.set()
        self._async_cancel_timer()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    @callback
    def _async_link_changed(self) -> None:
        if self._coordinator.data.linked and self._coordinator.reachable:
            self._open_until, self._failures = 0.0, 0
            self._async_deliver_soon()

    # -- sending ----------------------------------------------------------------------------------

    async def async_send(
        self,
        targets: Sequence[str],
        message: OutgoingMessage,
        *,
        valid_for: float = 0.0,
        context: Context | None = None,
    ) -> SendOutcome:
        """Send the message to each target in order, paced; return what was sent, queued, failed.

        With ``valid_for`` above 0, a message that cannot be delivered now waits in the outbox
        that long (its turn waits at most `TURN_WAIT`); with 0 it fails at once. Never raises
        for a target, except `OutboxFullError` or a failed save of the outbox, when nothing of
        the waiting ones was queued.
        """
        outcome = SendOutcome(total=len(targets))
        may_wait = valid_for > 0
        deadline = self.hass.loop.time() + TURN_WAIT
        waiting = list(targets)
        if not (may_wait and self._must_wait()) and await self._async_acquire(
            deadline if may_wait else None
        ):
            try:
                waiting = await self._async_send_in_turn(
                    targets, message, deadline if may_wait else None, outcome, context
                )
            finally:
                self._lock.release()
        if waiting:
            for item in await self.outbox.async_add(waiting, message, valid_for):
                outcome.queued.append(QueuedMessage(item.target, item.outbox_id))
            self._async_outbox_changed()
            self._async_deliver_soon()
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

    async def _async_send_in_turn(
        self,
        targets: Sequence[str],
        message: OutgoingMessage,
        deadline: float | None,
        outcome: SendOutcome,
        context: Context | None,
    ) -> list[str]:
        """Send to each target (the lock is held); return the targets whose message may wait.

        ``deadline`` (event-loop time) is given when messages may wait: those that cannot be
        sent now, or whose turn comes after it, then wait instead of failing.
        """
        waiting: list[str] = []
        base_url = None
        if serves_media(message):
            base_url = async_reachable_base_url(self.hass, self.client.base_url, allow_cloud=True)
        for target in targets:
            if deadline is not None and (
                self._must_wait()
                or self.outbox.holds_target(target)
                or self.hass.loop.time() > deadline
            ):
                waiting.append(target)
                continue
            try:
                result = await self._async_send_one(target, message, base_url)
            except _MayWaitError as wait:
                if deadline is not None:
                    waiting.append(target)
                else:
                    self._async_fail(target, message, wait.error, outcome, context)
            except HomeAssistantError as error:
                self._async_fail(target, message, error, outcome, context)
            else:
                self._async_sent(target, message, result, context=context)
                outcome.sent.append(SentMessage(target, result.message_id))
        return waiting

    def _must_wait(self) -> bool:
        """Whether a message has no chance now (circuit open, not linked, stopping)."""
        return (
            self._stopped.is_set()
            or dt_util.utcnow().timestamp() < self._open_until
            or not self._coordinator.data.linked
        )

    async def _async_acquire(self, deadline: float | None) -> bool:
        """Take the queue's lock, by ``deadline`` (event-loop time) if one is given."""
        if deadline is None:
            await self._lock.acquire()
            return True
        try:
            async with asyncio.timeout_at(deadline):
                await self._lock.acquire()
        except TimeoutError:
            return False
        return True

    async def _async_send_one(
        self, target: str, message: OutgoingMessage, base_url: str | None
    ) -> SendResult:
        """Send in the queue's turn (the lock is held); raise `_MayWaitError` when it may wait."""
        if not await self._async_wait_turn():
            raise _MayWaitError(self._stopped_error())
        try:
            return await async_send_message(self.hass, self.client, target, message, base_url)
        except SmartwatsOutcomeUnknownError as err:
            # Perhaps sent: never again.
            raise ha_error(err) from err
        except SmartwatsConnectionError as err:
            # Surely not sent: the gateway is unreachable now (or said it cannot send now).
            self._async_open_circuit(err)
            raise _MayWaitError(ha_error(err)) from err
        except (SmartwatsLoggedOutError, SmartwatsNotLinkedError) as err:
            self._coordinator.async_gateway_failed(err)
            raise _MayWaitError(ha_error(err)) from err
        except (SmartwatsError, ValueError) as err:
            LOGGER.debug("Sending %s to %s failed: %s", message.type, target, err)
            self._coordinator.async_gateway_failed(err)
            raise ha_error(err) from err
        finally:
            self._next_at = self.hass.loop.time() + self.interval

    @callback
    def _async_open_circuit(self, err: Exception) -> None:
        backoff = min(FIRST_BACKOFF * 2**self._failures, MAX_BACKOFF)
        self._failures += 1
        self._open_until = dt_util.utcnow().timestamp() + backoff
        LOGGER.debug("The gateway is unreachable (%s): no request for %.0f s", err, backoff)

    async def _async_wait_turn(self) -> bool:
        """Wait until `send_interval` has passed since the last request; False once stopped."""
        delay = self._next_at - self.hass.loop.time()
        if delay > 0 and not self._stopped.is_set():
            with suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopped.wait()
        return not self._stopped.is_set()

    # -- the outbox ------------------------------------------------------------------------------

    @callback
    def _async_deliver_soon(self) -> None:
        """Deliver what waits, in a task of its own (one at a time; asked again, it runs again)."""
        if self._stopped.is_set() or not len(self.outbox):
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._async_cancel_timer()
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_deliver(), f"{DOMAIN} outbox delivery"
        )

    async def _async_deliver(self) -> None:
        """Send what waits in the outbox, oldest first; then wait for a timer or news."""
        delay: float | None = None
        self._again = True
        while self._again and not self._stopped.is_set():
            self._again = False
            delay = await self._async_deliver_some()
        if delay is not None and not self._stopped.is_set():
            self._timer = async_call_later(self.hass, max(delay, 0.0), self._async_timer_fired)

    @callback
    def _async_timer_fired(self, _now: object) -> None:
        self._timer = None
        self._async_deliver_soon()

    @callback
    def _async_cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None

    async def _async_deliver_some(self) -> float | None:
        """Deliver (or expire) what can be now; return how long until it is worth looking again."""
        while (item := self.outbox.oldest()) is not None and not self._stopped.is_set():
            now = dt_util.utcnow().timestamp()
            if now >= item.expires_at:
                await self._async_end(item, "expired", None)
                continue
            self._async_check_stalled(item, now)
            if now < self._open_until:
                return min(self._open_until - now, item.expires_at - now)
            if not self._coordinator.data.linked:
                # Looked at again when it expires, or when it has waited long enough for the
                # outbox_stalled repair.
                stalled_at = item.queued_at + STALLED_AFTER
                return (
                    min(item.expires_at, stalled_at if stalled_at > now else item.expires_at) - now
                )
            if item.sending:
                # Its request was out when Home Assistant stopped: perhaps sent, never again.
                await self._async_end(item, "outcome_unknown", None)
                continue
            async with self._lock:
                item = await self.outbox.async_set_sending(item, sending=True)
                try:
                    result = await self._async_send_one(
                        item.target, item.message, self._base_url(item)
                    )
                except _MayWaitError:
                    # Circuit open, not linked or stopping: surely not sent, looked at again above.
                    await self.outbox.async_set_sending(item, sending=False)
                    continue
                except HomeAssistantError as error:
                    cause = error.__cause__
                    reason = translation_key(cause) if isinstance(cause, Exception) else "rejected"
                    await self._async_end(item, reason, error)
                    continue
            queued_for = now - item.queued_at
            self._async_sent(
                item.target,
                item.message,
                result,
                outbox_id=item.outbox_id,
                queued_for=queued_for,
            )
            await self.outbox.async_remove([item])
            self._async_outbox_changed()
        ir.async_delete_issue(self.hass, DOMAIN, _stalled_issue_id(self.entry.entry_id))
        return None

    def _base_url(self, item: OutboxItem) -> str | None:
        if not serves_media(item.message):
            return None
        return async_reachable_base_url(self.hass, self.client.base_url, allow_cloud=True)

    async def _async_end(
        self, item: OutboxItem, reason: str, error: HomeAssistantError | None
    ) -> None:
        """End a queued message without sending it (expired, failed, cleared)."""
        await self.outbox.async_remove([item])
        self._stats.async_count_failed()
        self._async_fire_failed(item.target, item.message, reason, error, outbox_id=item.outbox_id)
        self._async_outbox_changed()

    async def async_clear(self, outbox_id: str | None, target: str | None) -> list[OutboxItem]:
        """Remove waiting messages (all, one, or a target's); each ends as ``cleared``."""
        items = [
            item
            for item in self.outbox
            if (outbox_id is None or item.outbox_id == outbox_id)
            and (target is None or item.target == target)
        ]
        for item in items:
            await self._async_end(item, "cleared", None)
        return items

    @callback
    def _async_check_stalled(self, item: OutboxItem, now: float) -> None:
        """Raise the outbox_stalled repair while a relink is what the oldest message waits for."""
        issue_id = _stalled_issue_id(self.entry.entry_id)
        if now - item.queued_at > STALLED_AFTER and not self._coordinator.data.linked:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_OUTBOX_STALLED,
                translation_placeholders={"name": self.entry.title},
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    @callback
    def _async_outbox_changed(self) -> None:
        async_dispatcher_send(self.hass, signal_outbox_changed(self.entry.entry_id))

    # -- reporting -------------------------------------------------------------------------------

    @callback
    def _async_sent(
        self,
        target: str,
        message: OutgoingMessage,
        result: SendResult,
        *,
        context: Context | None = None,
        outbox_id: str | None = None,
        queued_for: float = 0.0,
    ) -> None:
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
                "outbox_id": outbox_id,
                "queued_for": round(queued_for, 3),
            },
            context=context,
        )

    @callback
    def _async_fail(
        self,
        target: str,
        message: OutgoingMessage,
        error: HomeAssistantError,
        outcome: SendOutcome,
        context: Context | None,
    ) -> None:
        outcome.failures.append((target, error))
        self._stats.async_count_failed()
        cause = error.__cause__
        reason = (
            translation_key(cause)
            if isinstance(cause, Exception)
            else error.translation_key or "rejected"
        )
        self._async_fire_failed(target, message, reason, error, context=context)

    @callback
    def _async_fire_failed(
        self,
        target: str,
        message: OutgoingMessage,
        reason: str,
        error: HomeAssistantError | None,
        *,
        outbox_id: str | None = None,
        context: Context | None = None,
    ) -> None:
        self.hass.bus.async_fire(
            EVENT_MESSAGE_FAILED,
            {
                "config_entry_id": self.entry.entry_id,
                "instance_id": self.entry.data[CONF_INSTANCE_ID],
                "target": target,
                "type": message.type,
                "outbox_id": outbox_id,
                "reason": reason,
                "error": None if error is None else str(error),
            },
            context=context,
        )

    def _stopped_error(self) -> HomeAssistantError:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="sender_stopped",
            translation_placeholders={"name": self.entry.title},
        )


def _stalled_issue_id(entry_id: str) -> str:
    return f"{ISSUE_OUTBOX_STALLED}_{entry_id}"
