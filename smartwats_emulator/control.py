"""Control endpoints under /_emulator/: the Python API over HTTP (JSON in, JSON out).

They let another process (scripts/develop, end-to-end tests, the phone page) drive the emulator.
Errors answer `{"error": "…"}` with 404 for an unknown id, 409 for an impossible transition and
400 for a bad request.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
import json
from typing import Any, Protocol, cast

from aiohttp import web

from .errors import EmulatorError, UnknownIdError
from .faults import Fault
from .jsontypes import JsonDict
from .params import RecordedRequest
from .qr import qr_data_uri
from .state import GatewayState
from .webhooks import WebhookDelivery

type ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = "/_emulator"


def _errors(handler: ControlHandler) -> ControlHandler:
    """Turn the emulator's exceptions into JSON error answers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except UnknownIdError as err:
            return web.json_response({"error": str(err)}, status=404)
        except EmulatorError as err:
            return web.json_response({"error": str(err)}, status=409)
        except (ValueError, TypeError, KeyError) as err:
            return web.json_response({"error": f"{type(err).__name__}: {err}"}, status=400)

    return wrapped


async def _body(request: web.Request) -> JsonDict:
    """Return the request's JSON object ({} when there is no body)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise TypeError("the body must be a JSON object")
    return data


class Phone(Protocol):
    """What the phone does that also posts webhooks (the emulator does it)."""

    async def inject_inbound(self, instance_id: str, kind: str, **fields: object) -> JsonDict:
        """Receive a message and deliver it by webhook; return the WAMessage."""
        ...

    async def send_receipts(
        self, instance_id: str, message_id: str, up_to: str | int = "read"
    ) -> list[WebhookDelivery]:
        """Post the receipts of a sent message."""
        ...


class ControlApi:
    """The /_emulator/ endpoints of one emulator."""

    def __init__(
        self,
        state: GatewayState,
        requests: deque[RecordedRequest],
        deliveries: deque[WebhookDelivery],
        phone: Phone,
    ) -> None:
        """Serve the gateway's state, its request log and webhook deliveries, and the phone."""
        self.state = state
        self.requests = requests
        self.deliveries = deliveries
        self.phone = phone

    def routes(self) -> list[web.RouteDef]:
        """Return the control routes."""
        instance = PREFIX + "/instances/{instance_id}"
        table: list[tuple[str, str, ControlHandler]] = [
            ("GET", PREFIX + "/instances", self.list_instances),
            ("POST", PREFIX + "/instances", self.create_instance),
            ("POST", PREFIX + "/accounts", self.create_account),
            ("DELETE", PREFIX + "/accounts/{token}", self.revoke_token),
            ("GET", instance, self.get_instance),
            ("POST", instance + "/link", self.link),
            ("POST", instance + "/logout_from_phone", self.logout_from_phone),
            ("POST", instance + "/invalidate", self.invalidate),
            ("POST", instance + "/fault", self.set_fault),
            ("DELETE", instance + "/fault", self.clear_fault),
            ("POST", instance + "/webhook", self.set_webhook),
            ("POST", instance + "/inbound", self.inject_inbound),
            ("GET", instance + "/inbound", self.list_inbound),
            ("POST", instance + "/receipts", self.send_receipts),
            ("GET", instance + "/sent", self.list_sent),
            ("GET", instance + "/qr", self.qr),
            ("GET", instance + "/chats", self.chats),
            ("GET", PREFIX + "/requests", self.list_requests),
            ("DELETE", PREFIX + "/requests", self.clear_requests),
            ("GET", PREFIX + "/webhook_deliveries", self.list_deliveries),
        ]
        return [web.route(method, path, _errors(handler)) for method, path, handler in table]

    async def list_instances(self, request: web.Request) -> web.StreamResponse:
        """List every instance with its state, QR payload, webhook and groups."""
        return web.json_response({"instances": [i.as_dict() for i in self.state.all_instances()]})

    async def create_account(self, request: web.Request) -> web.StreamResponse:
        """Create an account: {"token"?} → {"access_token"}."""
        body = await _body(request)
        token = self.state.add_account(body.get("token"))
        return web.json_response({"access_token": token})

    async def revoke_token(self, request: web.Request) -> web.StreamResponse:
        """Delete an account."""
        self.state.revoke_token(request.match_info["token"])
        return web.json_response({"ok": True})

    async def create_instance(self, request: web.Request) -> web.StreamResponse:
        """Create an instance: {"access_token"?, "linked"?, "phone"?, "instance_id"?}.

        Without an access token a new account is created for it.
        """
        body = await _body(request)
        token = body.get("access_token") or self.state.add_account()
        kwargs: dict[str, Any] = {"linked": bool(body.get("linked", False))}
        if body.get("phone"):
            kwargs["phone"] = str(body["phone"])
        instance_id = self.state.add_instance(token, instance_id=body.get("instance_id"), **kwargs)
        return web.json_response(
            {"access_token": token, "instance": self.state.instance(instance_id).as_dict()}
        )

    async def get_instance(self, request: web.Request) -> web.StreamResponse:
        """Return one instance."""
        instance = self.state.instance(request.match_info["instance_id"])
        return web.json_response(instance.as_dict())

    async def link(self, request: web.Request) -> web.StreamResponse:
        """Link the instance: {"phone"?}."""
        body = await _body(request)
        instance_id = request.match_info["instance_id"]
        self.state.link(instance_id, body.get("phone"))
        return web.json_response(self.state.instance(instance_id).as_dict())

    async def logout_from_phone(self, request: web.Request) -> web.StreamResponse:
        """Unlink as the phone does."""
        instance_id = request.match_info["instance_id"]
        self.state.unlink(instance_id)
        return web.json_response(self.state.instance(instance_id).as_dict())

    async def invalidate(self, request: web.Request) -> web.StreamResponse:
        """Revoke the instance id."""
        instance_id = request.match_info["instance_id"]
        self.state.invalidate_instance(instance_id)
        return web.json_response(self.state.instance(instance_id).as_dict())

    async def set_fault(self, request: web.Request) -> web.StreamResponse:
        """Set a fault: {"kind", "count"?, "delay"?}; {"kind": null} clears it."""
        body = await _body(request)
        instance_id = request.match_info["instance_id"]
        fault = None
        if body.get("kind") is not None:
            count = body.get("count")
            fault = Fault(
                kind=cast("Any", str(body["kind"])),
                count=None if count is None else int(count),
                delay=float(body.get("delay", 0.0)),
            )
        self.state.set_fault(instance_id, fault)
        return web.json_response(self.state.instance(instance_id).as_dict())

    async def clear_fault(self, request: web.Request) -> web.StreamResponse:
        """Clear the fault."""
        instance_id = request.match_info["instance_id"]
        self.state.set_fault(instance_id, None)
        return web.json_response(self.state.instance(instance_id).as_dict())

    async def set_webhook(self, request: web.Request) -> web.StreamResponse:
        """Configure the webhook, unchecked: {"url", "enabled"?, "allowed_events"?}."""
        body = await _body(request)
        instance_id = request.match_info["instance_id"]
        self.state.set_webhook(
            instance_id,
            str(body["url"]),
            enabled=bool(body.get("enabled", True)),
            allowed_events=str(body.get("allowed_events", "")),
        )
        return web.json_response(self.state.instance(instance_id).as_dict())

    async def inject_inbound(self, request: web.Request) -> web.StreamResponse:
        """Receive a message: {"kind", …fields} → {"message": WAMessage}."""
        body = await _body(request)
        kind = str(body.pop("kind", "text"))
        message = await self.phone.inject_inbound(request.match_info["instance_id"], kind, **body)
        return web.json_response({"message": message})

    async def list_inbound(self, request: web.Request) -> web.StreamResponse:
        """List the messages injected as received."""
        inbound = self.state.instance(request.match_info["instance_id"]).inbound
        return web.json_response({"inbound": [m.as_dict() for m in inbound]})

    async def send_receipts(self, request: web.Request) -> web.StreamResponse:
        """Post receipts: {"message_id", "up_to"?} → {"deliveries": […]}."""
        body = await _body(request)
        deliveries = await self.phone.send_receipts(
            request.match_info["instance_id"], str(body["message_id"]), body.get("up_to", "read")
        )
        return web.json_response({"deliveries": [d._asdict() for d in deliveries]})

    async def list_sent(self, request: web.Request) -> web.StreamResponse:
        """List the messages the instance sent."""
        sent = self.state.instance(request.match_info["instance_id"]).sent
        return web.json_response({"sent": [m.as_dict() for m in sent]})

    async def qr(self, request: web.Request) -> web.StreamResponse:
        """Return the current QR: {"payload", "base64"} (both null when none is shown)."""
        instance_id = request.match_info["instance_id"]
        payload = self.state.qr_payload(instance_id)
        base64 = qr_data_uri(payload) if payload is not None else None
        return web.json_response({"payload": payload, "base64": base64})

    async def chats(self, request: web.Request) -> web.StreamResponse:
        """Return the instance's chats: what was sent to and received from each number or group."""
        instance = self.state.instance(request.match_info["instance_id"])
        chats: dict[str, list[JsonDict]] = {}
        for sent in instance.sent:
            entry = {"direction": "out", **sent.as_dict()}
            chats.setdefault(sent.to, []).append(entry)
        for received in instance.inbound:
            entry = {"direction": "in", **received.as_dict()}
            chats.setdefault(received.chat, []).append(entry)
        answer: list[JsonDict] = []
        for jid, messages in chats.items():
            group = instance.group(jid)
            messages.sort(key=lambda m: m["seq"])
            answer.append(
                {
                    "jid": jid,
                    "name": group.name if group else jid.split("@", 1)[0],
                    "messages": messages,
                }
            )
        answer.sort(key=lambda chat: chat["messages"][-1]["seq"], reverse=True)
        return web.json_response({"chats": answer})

    async def list_requests(self, request: web.Request) -> web.StreamResponse:
        """List recorded API requests, optionally filtered by ?endpoint= and ?instance_id=."""
        endpoint = request.query.get("endpoint")
        instance_id = request.query.get("instance_id")
        records = [
            r.as_dict()
            for r in self.requests
            if (endpoint is None or r.endpoint == endpoint)
            and (instance_id is None or r.instance_id == instance_id)
        ]
        return web.json_response({"requests": records})

    async def clear_requests(self, request: web.Request) -> web.StreamResponse:
        """Forget the recorded requests."""
        self.requests.clear()
        return web.json_response({"ok": True})

    async def list_deliveries(self, request: web.Request) -> web.StreamResponse:
        """List webhook delivery attempts."""
        deliveries = [d._asdict() for d in self.deliveries]
        return web.json_response({"deliveries": deliveries})
