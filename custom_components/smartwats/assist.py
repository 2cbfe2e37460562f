"""Assist over WhatsApp: the chat of a recipient may talk to a conversation agent.

A recipient with Assist on (its subentry's `CONF_ASSIST`) hands the texts received in its chat to
a conversation agent (`CONF_AGENT_ID`, Home Assistant's own by default), as a Home Assistant user
(`CONF_USER_ID`) when one is set, and the agent's answer goes back to the same chat through the
paced send queue. In a group only texts starting with the recipient's prefix (`CONF_ASSIST_PREFIX`)
are meant for Assist. Never own messages, never a message older than `ASSIST_MAX_AGE` (the gateway
replays old messages after a reconnect), at most `ASSIST_MAX_TURNS` per chat and `ASSIST_WINDOW`.

Each chat keeps one conversation, continued as long as the agent continues it. Turns run as
background tasks of the entry, one chat's in order, so that the webhook never waits for an agent.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.intent import IntentResponseType
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .api import is_group_jid
from .api.inbound import InboundMessage
from .const import (
    CONF_AGENT_ID,
    CONF_ASSIST,
    CONF_ASSIST_PREFIX,
    CONF_TARGET,
    CONF_USER_ID,
    DEFAULT_AGENT_ID,
    DEFAULT_ASSIST_PREFIX,
    DOMAIN,
    LOGGER,
    SUBENTRY_RECIPIENT,
)
from .messages import text_message
from .sender import SmartwatsSender

# At most this many turns per chat within the window; one notice says so, then silence.
ASSIST_MAX_TURNS: Final = 10
ASSIST_WINDOW: Final = timedelta(minutes=1)
# An older message is a replay (after a reconnect), not something to answer now.
ASSIST_MAX_AGE: Final = timedelta(minutes=2)
# The replies' texts: translation keys of the "exceptions" category.
REPLY_FAILED: Final = "assist_failed"
REPLY_RATE_LIMITED: Final = "assist_rate_limited"


@dataclass(slots=True)
class _Chat:
    """A recipient's chat with Assist on, and the state of its conversation."""

    name: str
    target: str
    agent_id: str
    user_id: str | None
    prefix: str | None  # groups only
    conversation_id: str | None = None
    # When the turns of the current window started (at most ASSIST_MAX_TURNS kept).
    turns: deque[datetime] = field(default_factory=lambda: deque(maxlen=ASSIST_MAX_TURNS))
    noticed: bool = False  # the rate limit notice was sent in this window
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SmartwatsAssist:
    """The Assist chats of one loaded entry (built from its recipients; it reloads on a change)."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, sender: SmartwatsSender) -> None:
        """Take the recipients with Assist on."""
        self.hass = hass
        self.entry = entry
        self._sender = sender
        self._chats: dict[str, _Chat] = {}
        for subentry_id, subentry in entry.subentries.items():
            data = subentry.data
            if subentry.subentry_type != SUBENTRY_RECIPIENT or not data.get(CONF_ASSIST):
                continue
            target = str(data[CONF_TARGET])
            self._chats[subentry_id] = _Chat(
                name=subentry.title,
                target=target,
                agent_id=data.get(CONF_AGENT_ID) or DEFAULT_AGENT_ID,
                user_id=data.get(CONF_USER_ID) or None,
                prefix=(data.get(CONF_ASSIST_PREFIX) or DEFAULT_ASSIST_PREFIX)
                if is_group_jid(target)
                else None,
            )

    @callback
    def async_offer(self, message: InboundMessage, recipients: frozenset[str]) -> bool:
        """Hand a received message to Assist if it is meant for it; tell whether it was.

        The turn runs in the background. A message beyond the rate limit is not handed over
        (the first one of them gets a notice).
        """
        if message.from_me or message.type != "text" or not message.text:
            return False
        chat = next((self._chats[sub] for sub in sorted(recipients) if sub in self._chats), None)
        if chat is None:
            return False
        text = _meant_for_assist(message.text, chat.prefix)
        if not text:
            return False
        now = dt_util.utcnow()
        sent = dt_util.parse_datetime(message.timestamp) if message.timestamp else None
        if sent is not None and now - sent > ASSIST_MAX_AGE:
            LOGGER.debug("Not handing an old message of %s to Assist", chat.name)
            return False
        while chat.turns and now - chat.turns[0] >= ASSIST_WINDOW:
            chat.turns.popleft()
        if len(chat.turns) >= ASSIST_MAX_TURNS:
            if not chat.noticed:
                chat.noticed = True
                LOGGER.info("Too many messages for Assist from %s; silent for now", chat.name)
                self._async_background(self._async_notice(chat), "assist notice")
            return False
        chat.noticed = False
        chat.turns.append(now)
        self._async_background(self._async_turn(chat, text), "assist turn")
        return True

    def _async_background(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        self.entry.async_create_background_task(
            self.hass, coro, f"smartwats {what} {self.entry.entry_id}"
        )

    async def _async_turn(self, chat: _Chat, text: str) -> None:
        """Ask the agent and send its answer (a short apology when it fails)."""
        async with chat.lock:
            context = Context(user_id=chat.user_id)
            try:
                # Home Assistant's default configuration has it; a minimal one may not.
                if conversation.DOMAIN not in self.hass.config.components:
                    await async_setup_component(self.hass, conversation.DOMAIN, {})
                result = await conversation.async_converse(
                    self.hass,
                    text,
                    chat.conversation_id,
                    context,
                    language=self.hass.config.language,
                    agent_id=chat.agent_id,
                )
            except Exception as err:  # noqa: BLE001 - any agent's failure gets the same reply
                LOGGER.warning(
                    "Assist (%s) failed on a message of %s: %s", chat.agent_id, chat.name, err
                )
                reply = await self._async_reply_text(REPLY_FAILED)
            else:
                chat.conversation_id = result.conversation_id
                response = result.response
                if response.response_type is IntentResponseType.ERROR:
                    LOGGER.warning(
                        "Assist (%s) could not handle a message of %s: %s",
                        chat.agent_id,
                        chat.name,
                        response.error_code,
                    )
                    reply = await self._async_reply_text(REPLY_FAILED)
                else:
                    reply = str(response.speech.get("plain", {}).get("speech") or "")
            await self._async_send(chat, reply, context)

    async def _async_notice(self, chat: _Chat) -> None:
        await self._async_send(chat, await self._async_reply_text(REPLY_RATE_LIMITED), Context())

    async def _async_reply_text(self, key: str) -> str:
        """Return a reply's text in Home Assistant's language (English when not translated)."""
        translations = await async_get_translations(
            self.hass, self.hass.config.language, "exceptions", [DOMAIN]
        )
        return translations.get(f"component.{DOMAIN}.exceptions.{key}.message", "")

    async def _async_send(self, chat: _Chat, text: str, context: Context) -> None:
        if not text.strip():
            return
        sender = self._sender
        try:
            outcome = await sender.async_send(
                [chat.target],
                text_message(text),
                valid_for=sender.default_valid_for,
                context=context,
            )
        except HomeAssistantError as err:
            LOGGER.warning("Could not send Assist's answer to %s: %s", chat.name, err)
            return
        if outcome.failures:
            LOGGER.warning("Could not send Assist's answer to %s", chat.name)


def _meant_for_assist(text: str, prefix: str | None) -> str:
    """Return what a text asks Assist, or "" when it is not for Assist (no prefix in a group)."""
    text = text.strip()
    if prefix is None:
        return text
    head, rest = text[: len(prefix)], text[len(prefix) :]
    if head.casefold() != prefix.casefold() or (rest and rest[0].isalnum()):
        return ""
    return rest.lstrip(" \t\n,:;")
