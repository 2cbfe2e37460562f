"""WhatsApp for Home Assistant's AI agents: an LLM API with two tools.

An agent whose options select the API "WhatsApp (SmartWats)" can list the recipients configured
in the loaded SmartWats entries (`list_whatsapp_recipients`) and send one of them a text
(`send_whatsapp_message`). Only configured recipients can be messaged, by their name, never a
number the model makes up; the numbers themselves are never shown to the model. A message goes
through the entry's paced queue and outbox like an action's, in the context of the conversation,
so `smartwats_message_sent` fires as usual.

Errors are raised as translated `HomeAssistantError`s: the conversation agent hands their text to
the model as the tool's result (an unknown name lists the valid ones).

What differs between the supported Home Assistant releases is in compat.py (`tool_result`,
`tool_annotations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, override

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import llm
import voluptuous as vol

from .api import is_group_jid
from .compat import tool_annotations, tool_result
from .const import (
    CONF_TARGET,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)
from .messages import text_message, validation_error
from .models import SmartwatsConfigEntry

LLM_API_ID: Final = DOMAIN
LLM_API_NAME: Final = "WhatsApp (SmartWats)"

ATTR_RECIPIENT: Final = "recipient"
ATTR_MESSAGE: Final = "message"

API_PROMPT: Final = (
    "You can send WhatsApp messages to the recipients the user has configured, and only to "
    "them. Call list_whatsapp_recipients to see their names (a recipient is a contact or a "
    "group), and send_whatsapp_message with one of those names and the text to send a "
    "message. Send only when the user asks you to, and write the message as the user wants it "
    "to read."
)


@dataclass(frozen=True, slots=True)
class _Recipient:
    """A recipient of a loaded entry: its name, and where it is sent (never shown)."""

    name: str
    target: str
    entry: SmartwatsConfigEntry

    @property
    def kind(self) -> str:
        return "group" if is_group_jid(self.target) else "contact"


def _key(name: str) -> str:
    """Return the form names are matched in: surrounding spaces dropped, case ignored."""
    return name.strip().casefold()


@callback
def _recipients(hass: HomeAssistant) -> list[_Recipient]:
    """Return the recipients of every loaded SmartWats entry, in the entries' order."""
    entries: list[SmartwatsConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return [
        _Recipient(subentry.title, subentry.data[CONF_TARGET], entry)
        for entry in entries
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_RECIPIENT
    ]


def _names(recipients: list[_Recipient]) -> str:
    return ", ".join(recipient.name for recipient in recipients) or "-"


class ListRecipientsTool(llm.Tool):
    """List the recipients a message can be sent to: each one's name and kind."""

    name = "list_whatsapp_recipients"
    title = "List WhatsApp recipients"
    description = (
        "List the WhatsApp recipients a message can be sent to: each one's name, and whether "
        "it is a contact or a group."
    )
    parameters = vol.Schema({})
    integration = DOMAIN
    annotations = tool_annotations(
        read_only=True, destructive=False, idempotent=True, open_world=False
    )

    @override
    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        """Return the recipients of the loaded entries (names and kinds, never numbers)."""
        recipients: list[Any] = [
            {"name": recipient.name, "kind": recipient.kind} for recipient in _recipients(hass)
        ]
        return tool_result({"recipients": recipients})


class SendMessageTool(llm.Tool):
    """Send a text to one configured recipient, named."""

    name = "send_whatsapp_message"
    title = "Send a WhatsApp message"
    description = (
        "Send a WhatsApp text message to one of the configured recipients, by name "
        "(list_whatsapp_recipients lists them)."
    )
    parameters = vol.Schema(
        {
            vol.Required(
                ATTR_RECIPIENT,
                description="The name of the recipient, as list_whatsapp_recipients gives it.",
            ): str,
            vol.Required(ATTR_MESSAGE, description="The text of the message."): str,
        }
    )
    integration = DOMAIN
    # Each call sends another message, to someone outside; it destroys nothing.
    annotations = tool_annotations(
        read_only=False, destructive=False, idempotent=False, open_world=True
    )

    @override
    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        """Send the message through the recipient's entry; say whether it was sent or queued."""
        args = self.parameters(tool_input.tool_args)
        recipient = _find(hass, args[ATTR_RECIPIENT])
        message = text_message(args[ATTR_MESSAGE])
        entry = recipient.entry
        sender = entry.runtime_data.sender
        outcome = await sender.async_send(
            [recipient.target],
            message,
            valid_for=sender.default_valid_for,
            context=llm_context.context,
        )
        outcome.raise_for_failures()
        status = "sent" if outcome.sent else "queued"
        return tool_result({"success": True, "recipient": recipient.name, "status": status})


@callback
def _find(hass: HomeAssistant, name: str) -> _Recipient:
    """Return the one recipient of that name, or raise (naming the valid ones)."""
    recipients = _recipients(hass)
    found = [recipient for recipient in recipients if _key(recipient.name) == _key(name)]
    if not found:
        raise validation_error("llm_unknown_recipient", name=name, recipients=_names(recipients))
    if len(found) > 1:
        raise validation_error("llm_ambiguous_recipient", name=found[0].name)
    return found[0]


class SmartwatsLLMAPI(llm.API):
    """The WhatsApp tools, over every loaded SmartWats entry."""

    @override
    async def async_get_api_instance(self, llm_context: llm.LLMContext) -> llm.APIInstance:
        """Return the API's prompt and tools."""
        return llm.APIInstance(
            api=self,
            api_prompt=API_PROMPT,
            llm_context=llm_context,
            tools=[ListRecipientsTool(), SendMessageTool()],
        )


@callback
def async_setup_llm_api(hass: HomeAssistant) -> None:
    """Register the API, once (the integration's setup)."""
    llm.async_register_api(hass, SmartwatsLLMAPI(hass=hass, id=LLM_API_ID, name=LLM_API_NAME))
