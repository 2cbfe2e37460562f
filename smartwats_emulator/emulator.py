"""The emulator: the gateway's state, its HTTP server, and the Python API tests drive it with."""

from __future__ import annotations

import asyncio
from collections import deque
import random
import time
from types import TracebackType
from typing import Self

from aiohttp import web

from .api import GatewayApi
from .control import ControlApi
from .errors import EmulatorError, UnknownIdError
from .jsontypes import JsonDict
from .page import page_routes
from .params import RecordedRequest
from .qr import qr_data_uri
from .state import LOG_LIMIT, GatewayState, InboundMessage, InstanceState
from .wamessages import build_inbound, received_message_payload
from .webhooks import WebhookDelivery, WebhookDispatcher

RECEIPT_STATUSES = {"sent": 2, "delivered": 3, "read": 4, "played": 5}


class Emulator:
    """An in-process SmartWats gateway on a local port.

    Usage::

        emu = Emulator()
        await emu.start()
        token = emu.state.add_account()
        iid = emu.state.add_instance(token, linked=True)
        ...  # point a client at emu.api_url
        await emu.stop()

    `state` is the gateway (accounts, instances, linking, faults, what each instance sent and
    received), `webhooks` its webhook deliveries and `requests` the API requests it received. The
    logs keep the newest LOG_LIMIT entries each. With a `seed`, the ids and QR payloads it makes up
    are the same from run to run (given the same calls in the same order).
    """

    def __init__(
        self,
        *,
        qr_rotate_seconds: float = 20.0,
        auto_link_after: float | None = None,
        allow_private_webhooks: bool = False,
        not_on_whatsapp_prefix: str = "999",
        echo_delay: float = 0.05,
        seed: int | None = None,
    ) -> None:
        """Configure the emulator; nothing listens until `start`."""
        self.state = GatewayState(
            qr_rotate_seconds=qr_rotate_seconds,
            auto_link_after=auto_link_after,
            not_on_whatsapp_prefix=not_on_whatsapp_prefix,
            # Reproducible ids for tests and demos, not secrets.
            rng=None if seed is None else random.Random(seed),  # noqa: S311
        )
        self.allow_private_webhooks = allow_private_webhooks
        self.requests: deque[RecordedRequest] = deque(maxlen=LOG_LIMIT)
        self.webhooks = WebhookDispatcher()
        self._stopping = asyncio.Event()
        self._api = GatewayApi(
            self.state,
            self.webhooks,
            self.requests,
            self._stopping,
            allow_private_webhooks=allow_private_webhooks,
            echo_delay=echo_delay,
        )
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # -- server ---------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (port 0 picks a free port)."""
        if self._runner is not None:
            raise EmulatorError("the emulator is already started")
        self._stopping.clear()
        await self.webhooks.start()
        app = web.Application()
        app.add_routes(self._api.routes())
        control = ControlApi(self.state, self.requests, self.webhooks.deliveries, phone=self)
        app.add_routes(control.routes())
        app.add_routes(page_routes())
        # A short shutdown timeout: a stalled handler must never hold up stop().
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self.webhooks.close()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._url = f"http://{shown}:{bound_port}/"

    async def stop(self) -> None:
        """Stop listening, end stalled answers and pending webhook deliveries."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.webhooks.close()

    async def __aenter__(self) -> Self:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    @property
    def url(self) -> str:
        """Return the server's base URL, e.g. "http://127.0.0.1:8900/"."""
        if self._url is None:
            raise EmulatorError("the emulator is not started")
        return self._url

    @property
    def api_url(self) -> str:
        """Return the gateway API's base URL, e.g. "http://127.0.0.1:8900/api/"."""
        return self.url + "api/"

    # -- what the emulator does besides its state and its webhooks ------------------------------
    # Everything else is asked of the object that owns it: `state` (accounts, instances, linking,
    # faults, sent and inbound messages), `webhooks` (deliveries, `drain()`) and `requests`.

    def qr_data_uri(self, instance_id: str) -> str | None:
        """Return the current QR as a PNG data URI, or None when none is shown."""
        payload = self.state.qr_payload(instance_id)
        return None if payload is None else qr_data_uri(payload)

    async def inject_inbound(self, instance_id: str, kind: str, **fields: object) -> JsonDict:
        """Receive a message on the linked phone and deliver it by webhook.

        It is posted as `messages.upsert` (type "notify") and then as `received_message`, each only
        if `allowed_events` lets it through. Returns the WAMessage. See wamessages.build_inbound for
        the kinds, their fields and the options (group, lid, wrap, timestamp_style, …). A
        `stale_session` fault does not stop it, although the real gateway would receive nothing.
        """
        instance = self.state.instance(instance_id)
        if instance.state is not InstanceState.LINKED:
            raise EmulatorError(f"instance {instance_id} is not linked: it receives nothing")
        default_group = instance.groups[0].id if instance.groups else None
        message = build_inbound(
            kind, fields, own_jid=instance.jid, default_group=default_group, rng=self.state.rng
        )
        key = message["key"]
        instance.inbound.append(
            InboundMessage(
                instance_id=instance_id,
                message_id=key["id"],
                kind=kind,
                chat=key["remoteJid"],
                wamessage=message,
                timestamp=_seconds(fields.get("timestamp")),
            )
        )
        await self.webhooks.deliver(
            instance, "messages.upsert", {"type": "notify", "messages": [message]}
        )
        await self.webhooks.deliver(instance, "received_message", received_message_payload(message))
        return message

    async def send_receipts(
        self, instance_id: str, message_id: str, up_to: str | int = "read"
    ) -> list[WebhookDelivery]:
        """Post `messages.update` receipts for a sent message: status 2, 3, 4 (… up to `up_to`).

        One post per status. Receipts of group messages are not forwarded by the gateway, so none
        are posted for them.
        """
        instance = self.state.instance(instance_id)
        top = RECEIPT_STATUSES.get(up_to) if isinstance(up_to, str) else up_to
        if top is None or not 2 <= top <= 5:  # noqa: PLR2004 - WhatsApp's status codes
            raise EmulatorError(f"up_to must be one of {sorted(RECEIPT_STATUSES)} or 2-5")
        sent = next((s for s in instance.sent if message_id in s.item_ids), None)
        if sent is None:
            raise UnknownIdError(f"instance {instance_id} sent no message {message_id}")
        if sent.to.endswith("@g.us"):
            return []
        deliveries = []
        for status in range(2, top + 1):
            update = {
                "key": {"remoteJid": sent.to, "fromMe": True, "id": message_id},
                "update": {"status": status},
            }
            delivery = await self.webhooks.deliver(instance, "messages.update", [update])
            if delivery is not None:
                deliveries.append(delivery)
        return deliveries


def _seconds(value: object) -> int:
    """Return an injected message's time in whole seconds (now unless the test gave one)."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return int(float(value))
    return int(time.time())
