"""An emulator of the SmartWats WhatsApp gateway, for tests and local development.

It answers like the real gateway (see shared/notes/gateway-behaviour.md), delivers its webhooks,
can be told to misbehave, and shows a page that stands in for the phone.
"""

from __future__ import annotations

from .emulator import Emulator
from .errors import EmulatorError, UnknownIdError
from .faults import FAULT_KINDS, Fault, FaultKind
from .params import RecordedRequest
from .state import LOG_LIMIT, GatewayState, InstanceState, SentMessage
from .wamessages import INBOUND_KINDS
from .webhooks import WebhookDelivery

__all__ = [
    "FAULT_KINDS",
    "INBOUND_KINDS",
    "LOG_LIMIT",
    "Emulator",
    "EmulatorError",
    "Fault",
    "FaultKind",
    "GatewayState",
    "InstanceState",
    "RecordedRequest",
    "SentMessage",
    "UnknownIdError",
    "WebhookDelivery",
]
