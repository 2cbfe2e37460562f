"""Asking a question on WhatsApp and waiting for its answer (the `ask` action).

Each loaded entry has one `AskWaiters`: the questions of its chats that wait for an answer. The
action registers its question before it sends it (so that an answer arriving before the send
returns is not missed), and the webhook offers every received message to the waiters before it
fires the message's event (the event fires either way).

The reply that counts comes from the question's chat (in a group, from any participant), is not
an own message, is no older than the moment the question was asked (WhatsApp stamps whole
seconds), and is either a button press whose id is an answer's id, or a text equal to an
answer's number or title (ignoring case, surrounding spaces and one trailing full stop). The
oldest waiting question of the chat that the reply answers takes it; a reply answers one
question only.

When the entry unloads (or reloads), the questions that still wait end with the translated
error ``ask_ended``: no answer came, but the question did not time out either.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .api.inbound import InboundMessage
from .const import DOMAIN
from .messages import validation_error
from .webhook import message_in_chat

# How many questions of one entry may wait for an answer at the same time.
MAX_PENDING_ASKS: Final = 100


@dataclass(frozen=True, slots=True)
class AskAnswer:
    """One possible answer: the id a button press carries and the words that choose it."""

    id: str
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AskReply:
    """The reply that answered a question."""

    answer: AskAnswer
    text: str | None
    sender: str | None
    message_id: str


def normalize_reply(text: str) -> str:
    """Return a reply as it is compared: no case, no surrounding spaces, no one trailing stop."""
    text = text.strip()
    if text.endswith("."):
        text = text[:-1].rstrip()
    return text.casefold()


@dataclass(slots=True, kw_only=True)
class PendingAsk:
    """A question that waits for its answer."""

    target: str
    answers: tuple[AskAnswer, ...]
    # The moment asked, to the whole second (as WhatsApp stamps messages).
    since: datetime
    future: asyncio.Future[AskReply]
    _words: dict[str, AskAnswer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Index the answers by number and by title."""
        for number, answer in enumerate(self.answers, start=1):
            self._words.setdefault(normalize_reply(answer.title), answer)
            self._words.setdefault(str(number), answer)

    def match(self, message: InboundMessage) -> AskAnswer | None:
        """Return the answer the message gives to this question, if it gives one."""
        if message.from_me or not message_in_chat(self.target, message):
            return None
        if message.timestamp is not None:
            stamped = dt_util.parse_datetime(message.timestamp)
            if stamped is not None and stamped < self.since:
                return None
        if message.button_id is not None:
            # A button press counts by its id only (its text is the button's label).
            return next((answer for answer in self.answers if answer.id == message.button_id), None)
        if message.text is None:
            return None
        return self._words.get(normalize_reply(message.text))


class AskWaiters:
    """The questions of one entry that wait for an answer."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start with none."""
        self.hass = hass
        self._pending: list[PendingAsk] = []
        self._stopped = False

    def __len__(self) -> int:
        """Return how many questions wait."""
        return len(self._pending)

    @callback
    def async_listen(self, target: str, answers: tuple[AskAnswer, ...]) -> PendingAsk:
        """Start listening for the answer to a question about to be sent to ``target``."""
        if self._stopped:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="ask_ended")
        if len(self._pending) >= MAX_PENDING_ASKS:
            raise validation_error("too_many_asks", max=MAX_PENDING_ASKS)
        ask = PendingAsk(
            target=target,
            answers=answers,
            since=dt_util.utcnow().replace(microsecond=0),
            future=self.hass.loop.create_future(),
        )
        self._pending.append(ask)
        return ask

    @callback
    def async_forget(self, ask: PendingAsk) -> None:
        """Stop listening for the answer to a question (answered, timed out or failed)."""
        if ask in self._pending:
            self._pending.remove(ask)
        if not ask.future.done():
            ask.future.cancel()
        elif not ask.future.cancelled():
            # Ended while its question was being sent: the send's own error is the one raised.
            ask.future.exception()

    @callback
    def async_offer(self, message: InboundMessage) -> bool:
        """Give a received message to the oldest question it answers; tell whether it did."""
        for ask in self._pending:
            if ask.future.done():
                continue
            if (answer := ask.match(message)) is not None:
                ask.future.set_result(
                    AskReply(
                        answer=answer,
                        text=message.text,
                        sender=message.sender,
                        message_id=message.message_id,
                    )
                )
                return True
        return False

    @callback
    def async_stop(self) -> None:
        """End the questions that wait (the entry unloads): each fails with ``ask_ended``."""
        self._stopped = True
        for ask in self._pending:
            if not ask.future.done():
                ask.future.set_exception(
                    HomeAssistantError(translation_domain=DOMAIN, translation_key="ask_ended")
                )
        self._pending.clear()
