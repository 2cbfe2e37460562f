"""The send queue of one SmartWats instance: order, pacing, events, counters and errors.

Every message of an instance (actions and notify entities alike) goes through its sender. One
call's messages are sent one after the other, calls in the order they arrived (a fair lock), and
`send_interval` seconds (options) pass between the answer to one message and the next request, so
that WhatsApp never sees a burst. Nothing is dropped: a bulk send just takes longer. Every target
is attempted even when others fail; a message whose outcome is unknown (it may have been sent) is
reported as such and never sent again. When the entry unloads, the messages not sent yet fail at
once and the ones sent keep their ids. Other requests that WhatsApp watches for abuse (number
checks) wait their turn in the same queue (`SmartwatsSender.async_call`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Final

from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .api import (
    SendResult,
    SmartwatsAuthError,
    SmartwatsClient,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsInstanceError,
    SmartwatsLoggedOutError,
    SmartwatsNotLinkedError,
    SmartwatsOutcomeUnknownError,
    SmartwatsQuotaError,
)
from .const import (
    CONF_INSTANCE_ID,
    CONF_SEND_INTERVAL,
    DEFAULT_SEND_INTERVAL,
    DOMAIN,
    EVENT_MESSAGE_SENT,
    LOGGER,
)
from .coordinator import SmartwatsConfigEntry, SmartwatsData

GROUP_SUFFIX: Final = "@g.us"

type SendFunction = Callable[[SmartwatsClient, str], Awaitable[SendResult]]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    """One message to one target: its type (for the event) and how to send it.

    ``send`` gets the client and the target; it is called when the message's turn comes, so that
    anything with a short life (a signed media URL) is made then.
    """

    target: str
    type: str
    send: SendFunction


def is_group(target: str) -> bool:
    """Whether a target is a group (``...@g.us``): text and media go to the group endpoint."""
    return target.endswith(GROUP_SUFFIX)


def text_sender(text: str) -> SendFunction:
    """Return the send function of a text message (to a chat or a group)."""

    async def send(client: SmartwatsClient, target: str) -> SendResult:
        if is_group(target):
            return await client.send_group_text(target, text)
        return await client.send_text(target, text)

    return send


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


@callback
def async_gateway_error(
    hass: HomeAssistant,
    entry: SmartwatsConfigEntry,
    err: SmartwatsError | ValueError,
    *,
    data: SmartwatsData | None = None,
) -> HomeAssistantError:
    """Return the translated error for a gateway failure, acting on what it reveals.

    A bad token starts re-authentication; a session that is not linked (any more) is recorded on
    the link coordinator, which raises the relink repair. ``data`` is the entry's runtime data
    when the entry may have unloaded while the request was under way (`SmartwatsSender.data`).
    """
    error = str(err)
    key: str
    if isinstance(err, SmartwatsAuthError):
        entry.async_start_reauth(hass)
        key = "invalid_auth"
    elif isinstance(err, SmartwatsLoggedOutError | SmartwatsNotLinkedError):
        (data or entry.runtime_data).coordinator.async_set_logged_out()
        key = "not_linked"
    elif isinstance(err, SmartwatsInstanceError):
        key = "invalid_instance"
    elif isinstance(err, SmartwatsQuotaError):
        key = "quota_exceeded"
    elif isinstance(err, SmartwatsOutcomeUnknownError):
        key = "outcome_unknown"
    elif isinstance(err, SmartwatsConnectionError):
        key = "temporary_failure"
    else:
        key = "rejected"
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"error": error},
    )


class SmartwatsSender:
    """The paced send queue of one config entry (one gateway instance)."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartwatsConfigEntry, client: SmartwatsClient
    ) -> None:
        """Set up the queue; it runs in the callers' tasks, so there is nothing to start."""
        self.hass = hass
        self.entry = entry
        self.client = client
        # asyncio.Lock wakes its waiters first come, first served: calls keep their order.
        self._lock = asyncio.Lock()
        self._stopped = asyncio.Event()
        self._next_at = 0.0
        # The entry's runtime data, kept when the queue stops (see `data`).
        self._data: SmartwatsData | None = None

    @property
    def interval(self) -> float:
        """Seconds between the answer to one request and the next request."""
        return float(self.entry.options.get(CONF_SEND_INTERVAL, DEFAULT_SEND_INTERVAL))

    @property
    def data(self) -> SmartwatsData:
        """The entry's runtime data, even once the entry has unloaded.

        The entry drops it right after the queue stops, while a request may still be under way:
        its answer is still counted and acted on.
        """
        return self._data if self._data is not None else self.entry.runtime_data

    @callback
    def async_stop(self) -> None:
        """Stop the queue (the entry unloads): waiting messages and requests fail at once."""
        self._data = getattr(self.entry, "runtime_data", None)
        self._stopped.set()

    async def async_send(
        self, messages: Sequence[OutgoingMessage], *, context: Context | None = None
    ) -> SendOutcome:
        """Send the messages in order, paced; return what was sent and what failed.

        Never raises for a message: when the queue stops (the entry unloads) meanwhile, the
        messages not sent yet fail with `sender_stopped` and the ones sent keep their ids.
        """
        outcome = SendOutcome(total=len(messages))
        async with self._lock:
            for message in messages:
                if not await self._async_wait_turn():
                    self._async_fail(outcome, message.target, self._stopped_error())
                    continue
                try:
                    result = await message.send(self.client, message.target)
                except (SmartwatsError, ValueError) as err:
                    LOGGER.debug("Sending %s to %s failed: %s", message.type, message.target, err)
                    error = async_gateway_error(self.hass, self.entry, err, data=self.data)
                    error.__cause__ = err
                    self._async_fail(outcome, message.target, error)
                else:
                    outcome.sent.append(SentMessage(message.target, result.message_id))
                    self.data.stats.async_count_sent()
                    # Only a live session sends: evidence that the instance is linked.
                    self.data.coordinator.async_set_linked()
                    self.hass.bus.async_fire(
                        EVENT_MESSAGE_SENT,
                        {
                            "config_entry_id": self.entry.entry_id,
                            "instance_id": self.entry.data[CONF_INSTANCE_ID],
                            "message_id": result.message_id,
                            "target": message.target,
                            "type": message.type,
                        },
                        context=context,
                    )
                finally:
                    self._next_at = self.hass.loop.time() + self.interval
        return outcome

    async def async_call[T](self, request: Callable[[SmartwatsClient], Awaitable[T]]) -> T:
        """Make one gateway request (not a message) in the queue's turn, paced like a message.

        Raises `HomeAssistantError` (`sender_stopped`) when the queue stops before its turn;
        the request's own errors are the caller's to map (`async_gateway_error`).
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
    def _async_fail(self, outcome: SendOutcome, target: str, error: HomeAssistantError) -> None:
        outcome.failures.append((target, error))
        self.data.stats.async_count_failed()

    def _stopped_error(self) -> HomeAssistantError:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="sender_stopped",
            translation_placeholders={"name": self.entry.title},
        )
