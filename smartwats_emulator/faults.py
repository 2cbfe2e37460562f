"""Faults that tests switch on per instance to see how a client copes with a misbehaving gateway.

`stale_session` is the gateway's own inconsistency: its database still marks the instance as
linked while the WhatsApp session behind it is dead. The endpoints that need the session (every
`send*`, `set_webhook`, `get_groups`, `check_phone`, `check_phones_batch`) answer "This WhatsApp
account relogin required", yet `get_qrcode` / `get_paircode` still answer "already linked", as the
database has it. Logging out (the API's `logout`, or the phone removing the device) ends the dead
session: the fault is cleared and the instance is logged out, so the next `get_qrcode` shows a QR.
Injected inbound messages are still delivered meanwhile, although the real gateway would receive
nothing: that keeps the emulator simple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from .params import SEND_ENDPOINTS

type FaultKind = Literal[
    "latency",  # wait `delay` seconds, then answer normally
    "http_500",  # a PHP fatal error page with status 500
    "html",  # a proxy's HTML error page with status 502
    "reset",  # close the connection without answering
    "quota",  # the plan's monthly quota error (send endpoints only)
    "timeout_after_send",  # act on a send, then stall `delay` seconds (send endpoints only)
    "outage",  # "Cannot connect to WhatsApp server…" (temporary gateway-side outage)
    "qr_not_ready",  # get_qrcode / get_paircode answer "not ready yet" (those endpoints only)
    "stale_session",  # linked, but the session is dead: "relogin required" (see above)
]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind.__value__))
_SEND_ONLY = frozenset({"quota", "timeout_after_send"})
_QR_ONLY = frozenset({"qr_not_ready"})
_QR_ENDPOINTS = frozenset({"get_qrcode", "get_paircode"})
# The endpoints that need a live session; the QR endpoints only read the database's "linked".
_SESSION_ENDPOINTS = SEND_ENDPOINTS | {
    "set_webhook",
    "get_groups",
    "check_phone",
    "check_phones_batch",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault: its kind, how many requests it affects (None = until cleared) and a delay."""

    kind: FaultKind
    count: int | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        """Reject kinds and values that would silently do nothing."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or None for until cleared)")
        if self.delay < 0:
            raise ValueError("delay must not be negative")

    def applies_to(self, endpoint: str) -> bool:
        """Tell whether a request to `endpoint` is affected (and so counts against `count`)."""
        if self.kind in _SEND_ONLY:
            return endpoint in SEND_ENDPOINTS
        if self.kind in _QR_ONLY:
            return endpoint in _QR_ENDPOINTS
        if self.kind == "stale_session":
            return endpoint in _SESSION_ENDPOINTS
        return True


class ActiveFault:
    """A fault set on an instance, with the number of requests it still affects."""

    def __init__(self, fault: Fault) -> None:
        """Start counting down from the fault's count."""
        self.fault = fault
        self.remaining = fault.count

    def consume(self) -> bool:
        """Count one affected request; return True when the fault is used up."""
        if self.remaining is None:
            return False
        self.remaining -= 1
        return self.remaining <= 0
