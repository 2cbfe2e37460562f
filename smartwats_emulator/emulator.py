"""The emulator: the gateway's state, its HTTP server, and the Python API tests drive it with."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Self

from aiohttp import web

from .api import GatewayApi
from .control import ControlApi
from .errors import EmulatorError, UnknownIdError
from .faults import Fault
from .jsontypes import JsonDict
from .page import page_routes
from .params import RecordedRequest
from .qr import qr_data_uri
from .state import (
    DEFAULT_PHONE,
    GatewayState,
    InboundMessage,
    Instance,
    InstanceState,
    SentMessage,
)
from .wamessages import build_inbound, received_message_payload
from .webhooks import WebhookDelivery, WebhookDispatcher

RECEIPT_STATUSES = {"sent": 2, "delivered": 3, "read": 4, "played": 5}


class Emulator:
    """An in-process SmartWats gateway on a local port.

    Usage::

        emu = Emulator()
        await emu.start()
        token = emu.add_account()
        iid = emu.add_instance(token, linked=True)
        ...  # point a client at emu.api_url
        await emu.stop()
    """

    def __init__(
        self,
        *,
        qr_rotate_seconds: float = 20.0,
        auto_link_after: float | None = None,
        allow_private_webhooks: bool = False,
        not_on_whatsapp_prefix: str = "999",
        echo_delay: float = 0.05,
    ) -> None:
        """Configure the emulator; nothing listens until `start`."""
        self.state = GatewayState(
            qr_rotate_seconds=qr_rotate_seconds,
            auto_link_after=auto_link_after,
            not_on_whatsapp_prefix=not_on_whatsapp_prefix,
        )
        self.allow_private_webhooks = allow_private_webhooks
        self.requests: list[RecordedRequest] = []
        self._webhooks = WebhookDispatcher()
        self._stopping = asyncio.Event()
        self._api = GatewayApi(
            self.state,
            self._webhooks,
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
        await self._webhooks.start()
        app = web.Application()
        app.add_routes(self._api.routes())
        app.add_routes(ControlApi(self).routes())
        app.add_routes(page_routes())
        # A short shutdown timeout: a stalled handler must never hold up stop().
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self._webhooks.close()
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
        await self._webhooks.close()

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

    # -- accounts and lifecycle -----------------------------------------------------------------

    def add_account(self, token: str | None = None) -> str:
        """Create an account; return its access token (13 lower-case hex chars unless given)."""
        return self.state.add_account(token)

    def add_instance(
        self,
        token: str,
        linked: bool = False,
        phone: str = DEFAULT_PHONE,
        *,
        instance_id: str | None = None,
    ) -> str:
        """Create an instance for the account; return its id (13 upper-case hex chars)."""
        return self.state.add_instance(token, linked=linked, phone=phone, instance_id=instance_id)

    def instance(self, instance_id: str) -> Instance:
        """Return an instance's state object."""
        return self.state.instance(instance_id)

    def instances(self) -> list[Instance]:
        """Return every instance, brought up to date."""
        return [self.state.instance(instance_id) for instance_id in list(self.state.instances)]

    def instance_state(self, instance_id: str) -> InstanceState:
        """Return where the instance is in its lifecycle."""
        return self.state.instance(instance_id).state

    def link(self, instance_id: str, phone: str | None = None) -> None:
        """Link the instance, as scanning its QR or entering its pair code does."""
        self.state.link(instance_id, phone)

    def logout_from_phone(self, instance_id: str) -> None:
        """Unlink as when the phone removes the linked device: calls then say "relogin required".

        Like the API's logout, it ends a `stale_session` fault: the next QR links afresh.
        """
        self.state.unlink(instance_id)

    def revoke_token(self, token: str) -> None:
        """Delete the account: its token becomes "Access token does not exist"."""
        self.state.revoke_token(token)

    def invalidate_instance(self, instance_id: str) -> None:
        """Revoke the instance: "The Instance ID provided has been invalidated"."""
        self.state.invalidate_instance(instance_id)

    def qr_payload(self, instance_id: str) -> str | None:
        """Return the text encoded in the QR currently shown, or None when none is shown."""
        return self.state.qr_payload(instance_id)

    def qr_data_uri(self, instance_id: str) -> str | None:
        """Return the current QR as a PNG data URI, or None when none is shown."""
        payload = self.qr_payload(instance_id)
        return None if payload is None else qr_data_uri(payload)

    def set_fault(self, instance_id: str, fault: Fault | None) -> None:
        """Make the instance's requests misbehave (see Fault); None clears the fault."""
        self.state.set_fault(instance_id, fault)

    def set_webhook(
        self, instance_id: str, url: str, *, enabled: bool = True, allowed_events: str = ""
    ) -> None:
        """Configure the instance's webhook directly, without the API's checks."""
        instance = self.state.instance(instance_id)
        instance.webhook_url = url
        instance.webhook_enabled = enabled
        instance.allowed_events = allowed_events

    # -- messages -------------------------------------------------------------------------------

    def sent(self, instance_id: str) -> list[SentMessage]:
        """Return the messages the instance sent through the API, oldest first."""
        return list(self.state.instance(instance_id).sent)

    def inbound(self, instance_id: str) -> list[InboundMessage]:
        """Return the messages injected as received by the instance, oldest first."""
        return list(self.state.instance(instance_id).inbound)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Return every webhook delivery attempt: (event, url, body, status or error text)."""
        return self._webhooks.deliveries

    async def wait_for_webhooks(self) -> None:
        """Wait until the background deliveries (send echoes) scheduled so far have been made."""
        await self._webhooks.drain()

    async def inject_inbound(self, instance_id: str, kind: str, **fields: object) -> JsonDict:
        """Receive a message on the linked phone and deliver it by webhook.

        It is posted as `messages.upsert` (type "notify") and then as `received_message`, each only
        if `allowed_events` lets it through. Returns the WAMessage. See inbound.build_inbound for
        the kinds, their fields and the options (group, lid, wrap, timestamp_style, …). A
        `stale_session` fault does not stop it, although the real gateway would receive nothing.
        """
        instance = self.state.instance(instance_id)
        if instance.state is not InstanceState.LINKED:
            raise EmulatorError(f"instance {instance_id} is not linked: it receives nothing")
        default_group = instance.groups[0].id if instance.groups else None
        message = build_inbound(kind, fields, own_jid=instance.jid, default_group=default_group)
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
        await self._webhooks.deliver(
            instance, "messages.upsert", {"type": "notify", "messages": [message]}
        )
        await self._webhooks.deliver(
            instance, "received_message", received_message_payload(message)
        )
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
            delivery = await self._webhooks.deliver(instance, "messages.update", [update])
            if delivery is not None:
                deliveries.append(delivery)
        return deliveries


def _seconds(value: object) -> int:
    """Return an injected message's time in whole seconds (now unless the test gave one)."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return int(float(value))
    return int(time.time())
