"""Fault soak: the integration against a gateway that misbehaves in turn, for about 50 minutes.

The emulated gateway goes through its faults one after the other (`smartwats_emulator/faults.py`),
each for a few simulated minutes with a clean minute between, while messages are sent (the
`smartwats.send_text` action and a recipient's notify entity) and inbound messages are posted to
Home Assistant's real webhook URL. The clock ticks in real time, so that the emulator's delays and
the client's timeouts happen, and jumps 30 s ahead after each step, when nothing is under way, so
that the link probes, setup retries and webhook retries fall due. Twice the soak reloads the entry,
as a restart of Home Assistant would: during the outage (its setup fails and retries, posts wait)
and while the session is dead (it loads logged out).

What must hold over the whole soak:

- reloads the integration asks for are at least 5 simulated minutes apart;
- nothing is logged at ERROR level, and nothing reaches the event loop's exception handler;
- every inbound message fires `smartwats_message_received` exactly once: at once while the entry
  is loaded, once it loads when it was not (posts wait in its inbox); a repeated id is reported
  once; posts for another instance are ignored;
- every send is sent with a message id or fails with a translated reason (a key of `exceptions` in
  translations/en.json, or Home Assistant's own "config entry not loaded" that its helper raises
  for the actions); a failure that says nothing was sent sent nothing; no message is ever
  requested from the gateway twice;
- a notify send is never skipped silently. The one skip the integration cannot prevent: while the
  entry is not loaded, Home Assistant skips an entity service call to its entity, with a warning.
- Once the gateway is clean, the entry is loaded, linked and the gateway has its webhook; sends,
  notify sends and posts all work.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import gc
import itertools
import json
import logging
from pathlib import Path
from pprint import pformat
from typing import Any
from unittest.mock import patch

from aiohttp import web
from aiohttp.test_utils import TestClient
from freezegun.api import TickingDateTimeFactory
from homeassistant.components import homeassistant as core_component
from homeassistant.components.notify.const import (
    ATTR_MESSAGE,
    DOMAIN as NOTIFY_DOMAIN,
    SERVICE_SEND_MESSAGE,
)
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import DOMAIN as HA_DOMAIN, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

import custom_components.smartwats as integration
from custom_components.smartwats.api import SmartwatsClient
from custom_components.smartwats.const import (
    CONF_SEND_INTERVAL,
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_RECEIVED,
    LINKED_POLL_INTERVAL,
)
from smartwats_emulator import Emulator, Fault
from smartwats_emulator.wamessages import INBOUND_KINDS, build_inbound, received_message_payload
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, RECIPIENT_MUM, WEBHOOK_ID

_LOGGER = logging.getLogger(__name__)

SOAK_START = "2025-06-01 08:00:00"
STEP = timedelta(seconds=30)
CLEAN_STEPS = 2  # 1 simulated minute
# How long the entry may take to load and link again once the gateway is clean (setup retries
# back off up to 80 s; a failed probe is repeated every 30 s).
SETTLE_STEPS = 20
# The client's own limit (15 s) would make each `timeout_after_send` cost 15 s of wall time.
REQUEST_TIMEOUT = 0.5
FAST_CLIENT = {"retry_backoff": 0.0, "request_timeout": REQUEST_TIMEOUT}
# Each fault and its length in steps: 5.5 minutes for the faults the link probe (every 5 minutes
# while linked) meets, so that it meets each at least once; 2 minutes for those it does not. The
# outage lasts longer: the soak reloads the entry once the probe has met it (`RELOADS`).
FAULTS = (
    (Fault("outage"), 14),
    (Fault("http_500"), 11),
    (Fault("html"), 11),
    (Fault("reset"), 11),
    (Fault("latency", delay=0.05), 11),
    (Fault("stale_session"), 11),
    # The gateway acts, then answers after the client has given up (sends only).
    (Fault("timeout_after_send", delay=2 * REQUEST_TIMEOUT), 4),
)
# (phase, step) where the soak reloads the entry, as a restart of Home Assistant would.
RELOADS = frozenset({("outage", 10), ("stale_session", 2)})
# A dead session receives nothing (the emulator would still deliver: see faults.py).
NO_INBOUND_PHASES = frozenset({"stale_session"})
LAST_ROUND = "after the soak"

ACTION_NUMBERS = ("966502000001", "966502000002")
MUM_ENTITY = "notify.mum"
LINKED_ENTITY = f"binary_sensor.{LINKED_PHONE}_linked"
URL = f"/api/webhook/{WEBHOOK_ID}"
OWN_JID = f"{LINKED_PHONE}@s.whatsapp.net"
A_GROUP = "120363099999999999@g.us"


def _exception_keys(component: Path) -> frozenset[str]:
    """The keys of the translated exceptions of a component (its English translation)."""
    text = (component / "translations" / "en.json").read_text(encoding="utf-8")
    return frozenset(json.loads(text).get("exceptions", {}))


TRANSLATED_KEYS = _exception_keys(Path(integration.__file__).parent)
# Home Assistant's own translated errors, raised by its helper that the actions look the entry up
# with (`homeassistant.helpers.service.async_get_config_entry`): the integration has no keys of
# its own for these any more.
CORE_KEYS = _exception_keys(Path(core_component.__file__).parent) & {
    "service_config_entry_not_found",
    "service_config_entry_not_loaded",
}
# Failures that say nothing was sent; `outcome_unknown` and `send_failures` may hide a sent one.
NOT_SENT_KEYS = frozenset(
    {
        "temporary_failure",
        "not_linked",
        "rejected",
        "quota_exceeded",
        "invalid_auth",
        "invalid_instance",
        "entry_not_loaded",
        "no_loaded_entry",
        "service_config_entry_not_loaded",
        "sender_stopped",
    }
)
# What Home Assistant logs when an entity service call skips an entity that is not loaded.
MISSING_ENTITY_LOG = f"Referenced entities {MUM_ENTITY} are missing or not currently available"
_SHOWN = 12  # items of each kind of finding shown


@dataclass(slots=True)
class Send:
    """One send of the soak and what came of it."""

    via: str  # "action" or "notify"
    text: str
    targets: tuple[str, ...]  # digits only, as the gateway's `number`
    phase: str
    loaded: bool  # whether the entry was loaded when the send began
    message_ids: list[str | None] | None = None  # the response's ids, when it succeeded
    # The response's status of each message ("sent", or "queued" in the outbox) and outbox ids.
    statuses: list[str] | None = None
    outbox_ids: list[str | None] | None = None
    error: BaseException | None = None
    missing_logged: bool = False  # Home Assistant logged that it skipped the entity


@dataclass(slots=True)
class Post:
    """One inbound message posted to the webhook."""

    message_id: str
    instance_id: str
    phase: str
    loaded: bool  # whether the entry was loaded when it was posted


@dataclass(slots=True)
class Watch:
    """What the soak watches besides its own sends and posts."""

    # The original `async_reload`: the soak's own reloads do not count against the integration.
    reload_uncounted: Callable[[str], Awaitable[bool]]
    setups: list[datetime] = field(default_factory=list)  # successful setups of the entry
    reloads: list[datetime] = field(default_factory=list)  # reloads asked for, not by the soak
    loop_errors: list[dict[str, Any]] = field(default_factory=list)  # the exception handler's


class Soak:
    """Drives the soak (sends, posts, simulated time) and records what came of each."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        freezer: TickingDateTimeFactory,
        caplog: pytest.LogCaptureFixture,
        emulator: Emulator,
        client: TestClient[web.Request, web.Application],
        entry: MockConfigEntry,
        instance_ids: tuple[str, str],
        watch: Watch,
    ) -> None:
        """Start with nothing sent or posted.

        ``instance_ids`` are the entry's instance and another of the same account.
        """
        self.hass = hass
        self.freezer = freezer
        self.caplog = caplog
        self.emulator = emulator
        self.client = client
        self.entry = entry
        self.instance_id, self.other_instance_id = instance_ids
        self.watch = watch
        self.phase = "start"
        self.started = dt_util.utcnow()
        self.sends: list[Send] = []
        self.posts: list[Post] = []
        self.fired: Counter[str] = Counter()
        # Messages posted while the entry was loaded that did not fire at once.
        self.late: list[str] = []
        self.reloaded: list[datetime] = []
        # When the entry could not be reloaded: in the middle of a setup or unload.
        self.busy: list[str] = []
        self._numbers = itertools.count(1)
        self.steps = 0
        hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, self._received)
        # Queued messages that ended without being sent (expired, outcome unknown, ...).
        self.failed_outbox: set[str] = set()
        hass.bus.async_listen(EVENT_MESSAGE_FAILED, self._failed)

    @callback
    def _received(self, event: Event) -> None:
        self.fired[event.data["message_id"]] += 1

    @callback
    def _failed(self, event: Event) -> None:
        if event.data["outbox_id"] is not None:
            self.failed_outbox.add(event.data["outbox_id"])

    @property
    def loaded(self) -> bool:
        """Whether the entry is loaded."""
        return self.entry.state is ConfigEntryState.LOADED

    @property
    def healthy(self) -> bool:
        """Whether the entry is loaded and linked, and the gateway has its webhook."""
        if not self.loaded:
            return False
        webhook = self.entry.runtime_data.webhook
        state = self.hass.states.get(LINKED_ENTITY)
        return (
            state is not None
            and state.state == STATE_ON
            and webhook is not None
            and webhook.last_sync == "ok"
        )

    # -- time -----------------------------------------------------------------------------------

    async def settle(self) -> None:
        """Wait until nothing is under way: Home Assistant's tasks and the gateway's echoes."""
        for _ in range(2):
            await self.emulator.webhooks.drain()
            await self.hass.async_block_till_done(wait_background_tasks=True)

    async def advance(self, delta: timedelta) -> None:
        """Let simulated time pass, then run what fell due.

        Only when nothing is under way: the jump also expires the timeouts of requests in
        flight. `move_to`, not `tick`: a ticking clock's `tick` drops the real time elapsed since
        the last jump (the clock could go back).
        """
        await self.settle()
        self.freezer.move_to(dt_util.utcnow() + delta)
        async_fire_time_changed(self.hass)
        await self.settle()

    # -- one step -------------------------------------------------------------------------------

    async def step(self) -> None:
        """Send by action and by notify, post inbound messages, then let 30 s pass."""
        n = self.steps
        self.steps += 1
        await self.send_text(ACTION_NUMBERS if n % 3 == 0 else (ACTION_NUMBERS[n % 2],))
        await self.notify()
        if self.phase not in NO_INBOUND_PHASES:
            await self.post_message(INBOUND_KINDS[n % len(INBOUND_KINDS)], group=n % 4 == 1)
            if n % 4 == 0:
                # An id posted before (a restarted engine repeats messages): reported once.
                mine = [post for post in self.posts if post.instance_id == self.instance_id]
                await self.repost(mine[n // 2 % len(mine)])
            if n % 5 == 0:
                await self.post_message("text", instance_id=self.other_instance_id)
        await self.advance(STEP)

    async def reload(self) -> None:
        """Reload the entry as a restart would (not counted against the integration)."""
        if not self.entry.state.recoverable:
            # Being set up or unloaded by someone else (a reload of the integration's) even now.
            self.busy.append(f"{self.phase}: {self.entry.state}")
            return
        self.reloaded.append(dt_util.utcnow())
        await self.watch.reload_uncounted(self.entry.entry_id)
        await self.settle()

    # -- sending --------------------------------------------------------------------------------

    def _begin(self, via: str, targets: tuple[str, ...]) -> Send:
        send = Send(
            via=via,
            text=f"soak {via} {next(self._numbers)} during {self.phase}",
            targets=targets,
            phase=self.phase,
            loaded=self.loaded,
        )
        self.sends.append(send)
        return send

    async def send_text(self, targets: tuple[str, ...]) -> None:
        """Send a unique text to the numbers with the action."""
        send = self._begin("action", targets)
        try:
            response: Any = await self.hass.services.async_call(
                DOMAIN,
                "send_text",
                {"target": list(targets), "message": send.text},
                blocking=True,
                return_response=True,
            )
        except Exception as err:  # noqa: BLE001 - every failure is judged at the end
            send.error = err
        else:
            send.message_ids = [item.get("message_id") for item in response["messages"]]
            send.statuses = [item["status"] for item in response["messages"]]
            send.outbox_ids = [item.get("outbox_id") for item in response["messages"]]

    async def notify(self) -> None:
        """Send a unique text to Mum through her notify entity."""
        send = self._begin("notify", (RECIPIENT_MUM,))
        logged = len(self.caplog.records)
        try:
            await self.hass.services.async_call(
                NOTIFY_DOMAIN,
                SERVICE_SEND_MESSAGE,
                {ATTR_ENTITY_ID: MUM_ENTITY, ATTR_MESSAGE: send.text},
                blocking=True,
            )
        except Exception as err:  # noqa: BLE001 - every failure is judged at the end
            send.error = err
        send.missing_logged = any(
            MISSING_ENTITY_LOG in record.getMessage() for record in self.caplog.records[logged:]
        )

    # -- receiving ------------------------------------------------------------------------------

    async def post_message(
        self, kind: str, *, group: bool = False, instance_id: str | None = None
    ) -> None:
        """Post a new message, as messages.upsert and as received_message (one message)."""
        instance_id = instance_id or self.instance_id
        message_id = f"3EB0500A{next(self._numbers):012X}"
        fields: dict[str, object] = {"message_id": message_id}
        if group:
            fields["group"] = A_GROUP
        message = build_inbound(kind, fields, own_jid=OWN_JID, default_group=None)
        post = Post(message_id, instance_id, self.phase, self.loaded)
        self.posts.append(post)
        bodies = [
            webhook_body(instance_id, "messages.upsert", {"type": "notify", "messages": [message]}),
            webhook_body(instance_id, "received_message", received_message_payload(message)),
        ]
        if len(self.posts) % 2:
            bodies.reverse()  # the gateway posts them in either order
        for body in bodies:
            await self._post(body)
        await self.settle()
        # Processed before the webhook answers, while the entry is loaded.
        loaded = post.loaded and self.loaded
        if loaded and instance_id == self.instance_id and self.fired[message_id] != 1:
            self.late.append(f"{message_id} ({kind}, {self.phase}): fired {self.fired[message_id]}")

    async def repost(self, post: Post) -> None:
        """Post a message posted before (the same id) again."""
        message = build_inbound(
            "text", {"message_id": post.message_id}, own_jid=OWN_JID, default_group=None
        )
        await self._post(
            webhook_body(
                self.instance_id, "messages.upsert", {"type": "notify", "messages": [message]}
            )
        )
        await self.settle()

    async def _post(self, body: dict[str, Any]) -> None:
        response = await self.client.post(URL, json=body)
        # 200 whatever the entry's state: the gateway never posts again.
        assert response.status == 200, (self.phase, response.status, body)

    # -- judging --------------------------------------------------------------------------------

    def judge_sends(self) -> dict[str, list[str]]:
        """Return what went wrong with the sends, by kind of problem."""
        problems: dict[str, list[str]] = {}

        def problem(kind: str, send: Send, detail: str) -> None:
            problems.setdefault(kind, []).append(
                f"{send.via} {send.text!r} to {list(send.targets)} (entry loaded: {send.loaded})"
                f": {detail}"
            )

        sent = list(self.emulator.state.instance(self.instance_id).sent)
        on_gateway = {
            (message.to.split("@")[0], message.payload.get("message")): message.message_id
            for message in sent
        }
        for send in self.sends:
            ids = [on_gateway.get((target, send.text)) for target in send.targets]
            err = send.error
            if err is not None:
                if not isinstance(err, HomeAssistantError):
                    problem("untranslated error", send, f"{type(err).__name__}: {err}")
                elif not translated(err):
                    problem(
                        "untranslated error",
                        send,
                        f"{type(err).__name__} {err.translation_domain}.{err.translation_key}: "
                        f"{err}",
                    )
                elif err.translation_key in NOT_SENT_KEYS and any(ids):
                    problem("failed but sent", send, f"{err.translation_key}: {err}")
            elif send.via == "notify":
                # Skipped with a warning while the entry is not loaded; never otherwise.
                if None in ids and (send.loaded or not send.missing_logged):
                    problem("notify skipped silently", send, "no error, nothing sent")
            else:
                # Sent: the answered id is the gateway's. Queued: delivered once the gateway was
                # back, or reported failed (smartwats_message_failed).
                for index, status in enumerate(send.statuses or []):
                    answered = (send.message_ids or [])[index]
                    outbox_id = (send.outbox_ids or [])[index]
                    if status == "sent" and answered != ids[index]:
                        problem("sent without its id", send, f"answered {answered}, sent {ids}")
                    elif (
                        status == "queued"
                        and ids[index] is None
                        and outbox_id not in self.failed_outbox
                    ):
                        problem("queued and lost", send, f"outbox id {outbox_id}")
        # A queued message is requested again after attempts that surely had no effect (the
        # gateway unreachable or refusing for now); what must never happen is a second send.
        delivered = Counter((message.to, message.payload.get("message")) for message in sent)
        problems["sent twice"] = [
            f"{text!r} to {target}: {count} times"
            for (target, text), count in delivered.items()
            if count > 1
        ]
        problems["last round failed"] = [
            f"{send.via} {send.text!r}: {send.error!r}"
            for send in self.sends
            if send.phase == LAST_ROUND and send.error is not None
        ]
        return problems

    def judge_posts(self) -> dict[str, list[str]]:
        """Return what went wrong with the inbound messages, by kind of problem."""
        problems: dict[str, list[str]] = {}
        ours = {
            post.message_id: post for post in self.posts if post.instance_id == self.instance_id
        }
        others = {post.message_id for post in self.posts if post.instance_id != self.instance_id}
        problems["not fired exactly once"] = [
            f"{message_id} (posted during {post.phase}, entry loaded: {post.loaded}): fired "
            f"{self.fired[message_id]} times"
            for message_id, post in ours.items()
            if self.fired[message_id] != 1
        ]
        problems["fired for another instance"] = [
            message_id for message_id in self.fired if message_id in others
        ]
        # Our own messages come back from the gateway (fromMe): not reported either.
        problems["fired but never posted"] = [
            message_id
            for message_id in self.fired
            if message_id not in ours and message_id not in others
        ]
        problems["not fired at once while loaded"] = self.late
        return problems

    def summary(self) -> str:
        """Describe what the soak did, for the log and for failures."""
        mine = [post for post in self.posts if post.instance_id == self.instance_id]
        failures = Counter(
            getattr(send.error, "translation_key", None) or type(send.error).__name__
            for send in self.sends
            if send.error is not None
        )
        notify = [send for send in self.sends if send.via == "notify"]
        skipped = sum(1 for send in notify if send.error is None and send.missing_logged)
        sent = sum(1 for send in self.sends if send.error is None) - skipped
        return (
            f"{dt_util.utcnow() - self.started} simulated in {self.steps} steps; "
            f"{len(self.sends)} sends ({len(notify)} by notify, "
            f"{sum(len(send.targets) for send in self.sends)} messages): {sent} sent, failed "
            f"{dict(failures)}, {skipped} notify sends skipped while the entry was not loaded; "
            f"{len(self.emulator.state.instance(self.instance_id).sent)} messages on the gateway; "
            f"{len(mine)} inbound messages ({sum(not post.loaded for post in mine)} while the "
            f"entry was not loaded) + {len(self.posts) - len(mine)} for another instance; "
            f"{len(self.reloaded)} reloads by the soak"
        )

    def judge(self, *, healthy: bool) -> dict[str, list[str]]:
        """Return everything that went wrong, by kind of problem (none: an empty dict)."""
        watch = self.watch
        findings: dict[str, list[str]] = {
            "not healthy once clean": [] if healthy else [f"entry {self.entry.state}"],
            # Reloads the integration asked for (not the soak's own) are 5 minutes apart.
            "reloads less than 5 minutes apart": [
                f"{earlier:%H:%M:%S} and {later:%H:%M:%S}"
                for earlier, later in itertools.pairwise(watch.reloads)
                if later - earlier < LINKED_POLL_INTERVAL
            ],
            "logged at ERROR": [
                # The first line: some messages carry a whole stack.
                f"{record.name}: {record.getMessage().splitlines()[0]}"
                + (f" ({record.exc_info[1]!r})" if record.exc_info else "")
                for record in self.caplog.get_records("setup") + self.caplog.get_records("call")
                if record.levelno >= logging.ERROR
            ],
            "busy when the soak reloads it": self.busy,
            "unhandled in the event loop": [
                f"{context.get('message')}: {context.get('exception')!r}"
                for context in watch.loop_errors
            ],
        }
        # Each successful setup is the first or follows a reload (the soak's or another).
        expected = 1 + len(self.reloaded) + len(watch.reloads)
        if len(watch.setups) != expected:
            times = shown([f"{at:%H:%M:%S}" for at in watch.setups])
            counted = f"1 + {len(self.reloaded)} by the soak + {len(watch.reloads)} others"
            findings["setups"] = [f"{len(watch.setups)} at {times}, not {expected} ({counted})"]
        findings |= self.judge_posts()
        findings |= self.judge_sends()
        return {kind: shown(items) for kind, items in findings.items() if items}


def translated(err: HomeAssistantError) -> bool:
    """Whether the error is translated: the integration's own, or Home Assistant's (see above)."""
    if err.translation_domain == DOMAIN:
        return err.translation_key in TRANSLATED_KEYS
    return err.translation_domain == HA_DOMAIN and err.translation_key in CORE_KEYS


def shown(items: list[str]) -> list[str]:
    """The first items, and how many more there are."""
    if len(items) <= _SHOWN:
        return items
    return [*items[:_SHOWN], f"... and {len(items) - _SHOWN} more"]


@contextmanager
def loop_errors(hass: HomeAssistant, errors: list[dict[str, Any]]) -> Iterator[None]:
    """Record what reaches the event loop's exception handler (then pass it on as before)."""
    previous = hass.loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(context)
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    hass.loop.set_exception_handler(handler)
    try:
        yield
    finally:
        hass.loop.set_exception_handler(previous)


@pytest.fixture
async def soak(
    hass: HomeAssistant,
    *,
    freezer: TickingDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    hass_client_no_auth: ClientSessionGenerator,
    emulator: Emulator,
    access_token: str,
    instance_id: str,
    recipients_entry: MockConfigEntry,
) -> AsyncGenerator[Soak]:
    """The entry with its recipients, loaded, its webhook at Home Assistant's real HTTP server.

    Setups and reloads of the entry are counted, and so is what reaches the event loop's
    exception handler, until the test ends.
    """
    watch = Watch(reload_uncounted=hass.config_entries.async_reload)
    setup_entry = integration.async_setup_entry
    client_init = SmartwatsClient.__init__

    async def counted_setup(hass: HomeAssistant, entry: ConfigEntry[Any]) -> bool:
        loaded = await setup_entry(hass, entry)
        if loaded:
            watch.setups.append(dt_util.utcnow())
        return loaded

    async def counted_reload(entry_id: str) -> bool:
        watch.reloads.append(dt_util.utcnow())
        return await watch.reload_uncounted(entry_id)

    def fast_client(client: SmartwatsClient, *args: Any, **kwargs: Any) -> None:
        # Retries at once, as with the `no_retry_delay` fixture (the backoff is real seconds),
        # and a short request timeout (see REQUEST_TIMEOUT); every client, wherever it is made.
        client_init(client, *args, **kwargs | FAST_CLIENT)

    # The test server's access log reads time.localtime, which the frozen clock breaks (one
    # ERROR "Error in logging" per request); below INFO it is off.
    caplog.set_level(logging.WARNING, logger="aiohttp.access")
    with (
        patch.object(SmartwatsClient, "__init__", fast_client),
        patch("custom_components.smartwats.async_setup_entry", counted_setup),
        patch.object(hass.config_entries, "async_reload", counted_reload),
        loop_errors(hass, watch.loop_errors),
    ):
        entry = recipients_entry
        entry.add_to_hass(hass)
        # No pause between messages: it would be real seconds.
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_SEND_INTERVAL: 0}
        )
        # Before Home Assistant's HTTP server starts: it freezes the views, and the platforms'
        # components register some.
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
        # The server, on a free port, becomes the URL the (local) gateway posts to.
        client = await hass_client_no_auth()
        base = f"http://{client.server.host}:{client.server.port}"
        await hass.config.async_update(internal_url=base)
        other_instance_id = emulator.state.add_instance(
            access_token, linked=True, phone="966500000002"
        )
        soak = Soak(
            hass,
            freezer=freezer,
            caplog=caplog,
            emulator=emulator,
            client=client,
            entry=entry,
            instance_ids=(instance_id, other_instance_id),
            watch=watch,
        )
        await soak.settle()
        assert soak.healthy
        assert emulator.state.instance(instance_id).webhook_url == f"{base}{URL}"
        yield soak


@pytest.mark.freeze_time(SOAK_START, tick=True)
async def test_fault_soak(soak: Soak, emulator: Emulator, instance_id: str) -> None:
    """Faults in turn, sends and posts meanwhile: nothing lost, doubled, unexplained or logged."""
    soak.phase = "clean"
    for _ in range(CLEAN_STEPS):
        await soak.step()
    for fault, steps in FAULTS:
        soak.phase = fault.kind
        emulator.state.set_fault(instance_id, fault)
        for step in range(steps):
            if (fault.kind, step) in RELOADS:
                await soak.reload()
                if fault.kind == "outage" and soak.reloaded:
                    # The point of reloading now: posts must wait for the entry.
                    assert soak.entry.state is ConfigEntryState.SETUP_RETRY
            await soak.step()
        soak.phase = f"clean after {fault.kind}"
        emulator.state.set_fault(instance_id, None)
        for step in itertools.count():
            if step >= CLEAN_STEPS and (soak.loaded or step >= SETTLE_STEPS):
                break
            await soak.step()

    # Clean for good: the entry loads and links again, and a clean probe follows.
    soak.phase = "settling"
    for _ in range(SETTLE_STEPS):
        if soak.healthy:
            break
        await soak.advance(STEP)
    await soak.advance(LINKED_POLL_INTERVAL)
    healthy = soak.healthy
    soak.phase = LAST_ROUND
    await soak.step()
    await soak.settle()
    gc.collect()  # a task's exception nobody retrieved is reported when it is collected

    summary = soak.summary()
    _LOGGER.info("Soak: %s", summary)
    findings = soak.judge(healthy=healthy)
    assert not findings, f"{summary}\n{pformat(findings, width=100)}"
