"""Accounts, instances and their linking lifecycle.

An instance goes created → waiting (a QR or pair code was asked for) → linked → logged out (the
phone removed the device, or the API's logout). The gateway tells "never linked" ("not activated
yet") apart from "was linked once" ("relogin required"), so the instance remembers which it is.
Time-driven changes (QR rotation, --auto-link) are applied lazily whenever an instance is looked at,
so the emulator owns no timers that a test would have to clean up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
import itertools
import re
import time

from .errors import EmulatorError, UnknownIdError
from .faults import ActiveFault, Fault
from .ids import Rng, new_group_id, new_instance_id, new_pair_code, new_token, random_below
from .jsontypes import JsonDict
from .qr import new_qr_payload

DEFAULT_PHONE = "966500000001"
# How many entries each log keeps: the request log, the webhook deliveries, and every instance's
# sent and inbound messages. The oldest go first, so that a long soak or demo run stays bounded.
LOG_LIMIT = 10_000
# Orders sent and received messages in a chat even within one second.
_SEQUENCE = itertools.count()


class InstanceState(StrEnum):
    """Where an instance is in the linking lifecycle."""

    CREATED = "created"
    WAITING = "waiting"
    LINKED = "linked"
    LOGGED_OUT = "logged_out"


def digits(text: str) -> str:
    """Return only the digits of a phone number."""
    return re.sub(r"\D", "", text)


def phone_jid(number: str) -> str:
    """Return the personal chat JID of a phone number."""
    return f"{digits(number)}@s.whatsapp.net"


@dataclass(slots=True)
class Group:
    """A WhatsApp group the linked phone is in."""

    id: str
    name: str
    desc: str
    creation: int
    participants: list[tuple[str, str | None]]
    announce: bool = False
    restrict: bool = False
    # Some engines serialise participants as an index-keyed object: one demo group does that.
    participants_as_object: bool = False

    def as_gateway_dict(self) -> JsonDict:
        """Return the group as `get_groups` lists it."""
        members = [{"id": jid, "admin": admin} for jid, admin in self.participants]
        return {
            "id": self.id,
            "name": self.name,
            "size": len(members),
            "creation": self.creation,
            "desc": self.desc,
            "announce": self.announce,
            "restrict": self.restrict,
            "participants": (
                {str(index): member for index, member in enumerate(members)}
                if self.participants_as_object
                else members
            ),
        }


@dataclass(slots=True)
class SentMessage:
    """A message the instance sent through the API, as the phone page shows it."""

    instance_id: str
    message_id: str
    type: str
    to: str
    payload: JsonDict
    wamessage: JsonDict
    timestamp: int
    # An album is several WhatsApp messages: the ids of all (message_id is the answered one).
    item_ids: list[str] = field(default_factory=list)
    seq: int = field(default_factory=lambda: next(_SEQUENCE))

    def as_dict(self) -> JsonDict:
        """Return the record as JSON-serialisable data."""
        return {
            "instance_id": self.instance_id,
            "message_id": self.message_id,
            "type": self.type,
            "to": self.to,
            "payload": self.payload,
            "wamessage": self.wamessage,
            "timestamp": self.timestamp,
            "item_ids": self.item_ids,
            "seq": self.seq,
        }


@dataclass(slots=True)
class InboundMessage:
    """A message injected as received by the instance."""

    instance_id: str
    message_id: str
    kind: str
    chat: str
    wamessage: JsonDict
    timestamp: int
    seq: int = field(default_factory=lambda: next(_SEQUENCE))

    def as_dict(self) -> JsonDict:
        """Return the record as JSON-serialisable data."""
        return {
            "instance_id": self.instance_id,
            "message_id": self.message_id,
            "kind": self.kind,
            "chat": self.chat,
            "wamessage": self.wamessage,
            "timestamp": self.timestamp,
            "seq": self.seq,
        }


@dataclass(slots=True)
class Instance:
    """One WhatsApp instance of an account."""

    instance_id: str
    token: str
    phone: str
    state: InstanceState = InstanceState.CREATED
    ever_linked: bool = False
    invalidated: bool = False
    waiting_since: float | None = None
    qr_payload: str | None = None
    qr_generated_at: float = 0.0
    pair_code: str | None = None
    pair_phone: str | None = None
    webhook_url: str = ""
    webhook_enabled: bool = False
    allowed_events: str = ""
    fault: ActiveFault | None = None
    groups: list[Group] = field(default_factory=list)
    # Logs of LOG_LIMIT entries: index them, or copy them with list() to slice.
    sent: deque[SentMessage] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    inbound: deque[InboundMessage] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))

    @property
    def jid(self) -> str:
        """Return the linked phone's own JID."""
        return phone_jid(self.phone)

    def group(self, group_id: str) -> Group | None:
        """Return the group with that JID, if the phone is in it."""
        return next((group for group in self.groups if group.id == group_id), None)

    def as_dict(self) -> JsonDict:
        """Return the instance's state as JSON-serialisable data (for the control API and page)."""
        fault = self.fault
        return {
            "instance_id": self.instance_id,
            "access_token": self.token,
            "phone": self.phone,
            "state": self.state.value,
            "ever_linked": self.ever_linked,
            "invalidated": self.invalidated,
            "qr_payload": self.qr_payload,
            "pair_code": self.pair_code,
            "webhook": {
                "url": self.webhook_url,
                "enabled": self.webhook_enabled,
                "allowed_events": self.allowed_events,
            },
            "fault": None
            if fault is None
            else {
                "kind": fault.fault.kind,
                "remaining": fault.remaining,
                "delay": fault.fault.delay,
            },
            "groups": [group.as_gateway_dict() for group in self.groups],
        }


@dataclass(slots=True)
class Account:
    """A SmartWats account: an access token and its instances."""

    token: str
    instance_ids: list[str] = field(default_factory=list)


def _demo_groups(own_jid: str, rng: Rng) -> list[Group]:
    """Return the groups every new instance's phone is in."""
    now = int(time.time())

    def member() -> str:
        return f"9665{random_below(10**8, rng):08d}@s.whatsapp.net"

    return [
        Group(
            id=new_group_id(rng),
            name="Family",
            desc="Family chat",
            creation=now - 400 * 86400,
            participants=[(own_jid, "superadmin"), (member(), None), (member(), "admin")],
        ),
        Group(
            id=new_group_id(rng),
            name="Home automation",
            desc="Alerts from the house",
            creation=now - 30 * 86400,
            participants=[(own_jid, "admin"), (member(), "superadmin"), (member(), None)],
            participants_as_object=True,
        ),
        Group(
            id=new_group_id(rng),
            name="Neighbours",
            desc="",
            creation=now - 90 * 86400,
            participants=[
                (member(), "superadmin"),
                (own_jid, None),
                (member(), None),
                (member(), None),
            ],
            announce=True,
            restrict=True,
        ),
    ]


class GatewayState:
    """All accounts and instances, and the lifecycle rules between them."""

    def __init__(
        self,
        *,
        qr_rotate_seconds: float = 20.0,
        auto_link_after: float | None = None,
        not_on_whatsapp_prefix: str = "999",
        clock: Callable[[], float] = time.monotonic,
        rng: Rng = None,
    ) -> None:
        """Create an empty gateway; `rng` makes its ids reproducible (see ids.py)."""
        if qr_rotate_seconds <= 0:
            raise ValueError("qr_rotate_seconds must be positive")
        self.qr_rotate_seconds = qr_rotate_seconds
        self.auto_link_after = auto_link_after
        self.not_on_whatsapp_prefix = not_on_whatsapp_prefix
        self._clock = clock
        self.rng = rng
        self.accounts: dict[str, Account] = {}
        self.instances: dict[str, Instance] = {}

    # -- accounts and instances -------------------------------------------------------------

    def add_account(self, token: str | None = None) -> str:
        """Create an account and return its access token (a new one unless given)."""
        if token is None:
            token = new_token(self.rng)
            while token in self.accounts:
                token = new_token(self.rng)
        elif not token:
            raise EmulatorError("an access token cannot be empty")
        if token in self.accounts:
            raise EmulatorError(f"account {token} already exists")
        self.accounts[token] = Account(token)
        return token

    def add_instance(
        self,
        token: str,
        *,
        linked: bool = False,
        phone: str = DEFAULT_PHONE,
        instance_id: str | None = None,
    ) -> str:
        """Create an instance for the account and return its id."""
        account = self.accounts.get(token)
        if account is None:
            raise UnknownIdError(f"no account with token {token}")
        if instance_id is None:
            instance_id = new_instance_id(self.rng)
            while instance_id in self.instances:
                instance_id = new_instance_id(self.rng)
        elif not instance_id or instance_id in self.instances:
            raise EmulatorError(f"instance id {instance_id!r} is empty or taken")
        phone = digits(phone) or DEFAULT_PHONE
        instance = Instance(
            instance_id, token, phone, groups=_demo_groups(phone_jid(phone), self.rng)
        )
        self.instances[instance_id] = instance
        account.instance_ids.append(instance_id)
        if linked:
            self.link(instance_id)
        return instance_id

    def instance(self, instance_id: str) -> Instance:
        """Return an instance, brought up to date, or raise EmulatorError."""
        instance = self.instances.get(instance_id)
        if instance is None:
            raise UnknownIdError(f"no instance {instance_id}")
        self.refresh(instance)
        return instance

    def all_instances(self) -> list[Instance]:
        """Return every instance, brought up to date."""
        return [self.instance(instance_id) for instance_id in list(self.instances)]

    def reusable_instance(self, token: str) -> Instance | None:
        """Return a never-linked instance of the account (create_instance hands it out again)."""
        account = self.accounts[token]
        for instance_id in account.instance_ids:
            instance = self.instances[instance_id]
            if not instance.ever_linked and not instance.invalidated:
                return instance
        return None

    def revoke_token(self, token: str) -> None:
        """Delete an account: its token is no longer known ("Access token does not exist")."""
        if self.accounts.pop(token, None) is None:
            raise UnknownIdError(f"no account with token {token}")

    def invalidate_instance(self, instance_id: str) -> None:
        """Revoke an instance ("The Instance ID provided has been invalidated")."""
        self.instance(instance_id).invalidated = True

    # -- lifecycle ---------------------------------------------------------------------------

    def refresh(self, instance: Instance) -> None:
        """Apply what time did: auto-linking after a while, QR rotation."""
        if instance.state is not InstanceState.WAITING or instance.waiting_since is None:
            return
        now = self._clock()
        if (
            self.auto_link_after is not None
            and now - instance.waiting_since >= self.auto_link_after
        ):
            self.link(instance.instance_id)
            return
        if now - instance.qr_generated_at >= self.qr_rotate_seconds:
            instance.qr_payload = new_qr_payload(self.rng)
            instance.qr_generated_at = now

    def start_waiting(self, instance: Instance) -> str:
        """Start (or keep) waiting for a scan; return the current QR payload."""
        if instance.state is InstanceState.LINKED:
            raise EmulatorError(f"instance {instance.instance_id} is already linked")
        if instance.state is not InstanceState.WAITING:
            now = self._clock()
            instance.state = InstanceState.WAITING
            instance.waiting_since = now
            instance.qr_payload = new_qr_payload(self.rng)
            instance.qr_generated_at = now
        self.refresh(instance)
        if instance.qr_payload is None:  # refresh() auto-linked it
            raise EmulatorError(f"instance {instance.instance_id} is already linked")
        return instance.qr_payload

    def new_pair_code(self, instance: Instance, phone: str) -> str:
        """Start waiting and return a pairing code for the phone number."""
        self.start_waiting(instance)
        instance.pair_code = new_pair_code(self.rng)
        instance.pair_phone = digits(phone)
        return instance.pair_code

    def qr_payload(self, instance_id: str) -> str | None:
        """Return the QR payload currently shown, or None when no QR is being shown."""
        instance = self.instance(instance_id)
        return instance.qr_payload if instance.state is InstanceState.WAITING else None

    def link(self, instance_id: str, phone: str | None = None) -> None:
        """Link the instance, as scanning its QR or entering its pair code does."""
        instance = self.instances.get(instance_id)
        if instance is None:
            raise UnknownIdError(f"no instance {instance_id}")
        if instance.invalidated:
            raise EmulatorError(f"instance {instance_id} has been invalidated")
        new_phone = digits(phone or instance.pair_phone or "") or instance.phone
        if new_phone != instance.phone:
            old_jid, instance.phone = instance.jid, new_phone
            for group in instance.groups:
                group.participants = [
                    (instance.jid if jid == old_jid else jid, admin)
                    for jid, admin in group.participants
                ]
        instance.state = InstanceState.LINKED
        instance.ever_linked = True
        instance.waiting_since = None
        instance.qr_payload = None
        instance.pair_code = None
        instance.pair_phone = None

    def unlink(self, instance_id: str) -> None:
        """Drop the session (the phone removed the device, or the API's logout).

        Calls then say "relogin required". A `stale_session` fault ends with it (the next QR
        links afresh); other faults stay.
        """
        instance = self.instance(instance_id)
        if instance.state is not InstanceState.LINKED:
            raise EmulatorError(f"instance {instance_id} is not linked")
        instance.state = InstanceState.LOGGED_OUT
        # Logging out ends a dead session too: the next QR links afresh.
        if instance.fault is not None and instance.fault.fault.kind == "stale_session":
            instance.fault = None

    def set_webhook(
        self, instance_id: str, url: str, *, enabled: bool = True, allowed_events: str = ""
    ) -> None:
        """Configure the instance's webhook directly, without the API's checks."""
        instance = self.instance(instance_id)
        instance.webhook_url = url
        instance.webhook_enabled = enabled
        instance.allowed_events = allowed_events

    # -- faults and phone numbers -----------------------------------------------------------

    def set_fault(self, instance_id: str, fault: Fault | None) -> None:
        """Set (or with None clear) the instance's fault."""
        self.instance(instance_id).fault = None if fault is None else ActiveFault(fault)

    def take_fault(self, instance_id: str | None, endpoint: str) -> Fault | None:
        """Return the fault affecting this request, counting it; None when there is none."""
        instance = self.instances.get(instance_id or "")
        if instance is None or instance.fault is None:
            return None
        active = instance.fault
        if not active.fault.applies_to(endpoint):
            return None
        if active.consume():
            instance.fault = None
        return active.fault

    def on_whatsapp(self, number: str) -> bool:
        """Tell whether a number has WhatsApp: all do except those with the configured prefix."""
        number = digits(number)
        return bool(number) and not number.startswith(self.not_on_whatsapp_prefix)
