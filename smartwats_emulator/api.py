"""The gateway's endpoints under /api/, answering the way the real gateway does.

Every answer is HTTP 200 with a JSON body served as text/html (PHP's default), errors included:
`{"status": "error", "message": "<text>"}`. Checks run in the gateway's order: access token,
instance, link state, then the endpoint's own fields.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import contextlib
import json
import time

from aiohttp import web

from . import errors as msg
from .faults import Fault
from .ids import new_message_id
from .jsontypes import JsonDict
from .outbound import (
    album_item_content,
    audio_content,
    carousel_content,
    contact_content,
    location_content,
    media_content,
    media_kind,
    text_content,
    wamessage,
)
from .params import RecordedRequest, RequestParams, read_params
from .qr import qr_data_uri
from .state import GatewayState, Instance, InstanceState, SentMessage, digits, phone_jid
from .webhooks import WebhookDispatcher, webhook_url_is_valid

_PHP_FATAL = (
    "<br />\n<b>Fatal error</b>:  Uncaught Error: Call to a member function row() on bool in "
    "/var/www/html/app/Core/Model.php:118\nStack trace:\n#0 {main}\n  thrown in "
    "<b>/var/www/html/app/Core/Model.php</b> on line <b>118</b><br />\n"
)
_PROXY_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_MAX_ALBUM = 10


class GatewayError(Exception):
    """An error the gateway reports as `{"status": "error", "message": …}`."""


def php_json(body: object) -> str:
    """Encode like PHP's json_encode: ASCII only, slashes escaped."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")


def gateway_response(body: object, status: int = 200) -> web.Response:
    """Return a JSON body the way the gateway serves it: as text/html."""
    return web.Response(text=php_json(body), status=status, content_type="text/html")


def error_response(message: str) -> web.Response:
    """Return the gateway's error envelope (HTTP 200)."""
    return gateway_response({"status": "error", "message": message})


type Handler = Callable[[RequestParams], Awaitable[JsonDict]]


class GatewayApi:
    """The /api/ endpoints over a GatewayState."""

    def __init__(
        self,
        state: GatewayState,
        webhooks: WebhookDispatcher,
        log: deque[RecordedRequest],
        stopping: asyncio.Event,
        *,
        allow_private_webhooks: bool,
        echo_delay: float,
    ) -> None:
        """Serve `state`, recording requests in `log`; `stopping` ends stalls at shutdown."""
        self.state = state
        self.webhooks = webhooks
        self.log = log
        self.stopping = stopping
        self.allow_private_webhooks = allow_private_webhooks
        self.echo_delay = echo_delay
        self.handlers: dict[str, Handler] = {
            "create_instance": self.create_instance,
            "get_qrcode": self.get_qrcode,
            "get_paircode": self.get_paircode,
            "logout": self.logout,
            "set_webhook": self.set_webhook,
            "send": self.send,
            "send_group": self.send_group,
            "send_location": self.send_location,
            "send_contact": self.send_contact,
            "send_audio": self.send_audio,
            "send_album": self.send_album,
            "send_carousel": self.send_carousel,
            "get_groups": self.get_groups,
            "check_phone": self.check_phone,
            "check_phones_batch": self.check_phones_batch,
        }

    def routes(self) -> list[web.RouteDef]:
        """Return the routes: every endpoint, with or without a trailing slash, any method."""
        return [
            web.route("*", "/api/{endpoint}", self.handle),
            web.route("*", "/api/{endpoint}/", self.handle),
        ]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one API request, applying the instance's fault if it has one."""
        endpoint = request.match_info["endpoint"]
        handler = self.handlers.get(endpoint)
        if handler is None:
            return web.Response(text="<h1>404 Not Found</h1>", status=404, content_type="text/html")
        params, record = await read_params(request, endpoint)
        self.log.append(record)
        fault = self.state.take_fault(record.instance_id, endpoint)
        if fault is not None:
            early = await self._apply_fault(fault, request, endpoint, params)
            if early is not None:
                return early
        try:
            body = await handler(params)
        except GatewayError as err:
            response = error_response(str(err))
        else:
            response = gateway_response(body)
        if fault is not None and fault.kind == "timeout_after_send":
            # The gateway acted (send recorded, echo scheduled) but answers too late for the client.
            await self.stall(fault.delay)
        return response

    async def _apply_fault(
        self, fault: Fault, request: web.Request, endpoint: str, params: RequestParams
    ) -> web.StreamResponse | None:
        """Apply a fault before the endpoint runs; return the answer that replaces it, if any."""
        pages = {"http_500": (500, _PHP_FATAL), "html": (502, _PROXY_502)}
        errors = {
            "quota": msg.QUOTA_EXCEEDED,
            "outage": msg.CANNOT_CONNECT,
            "qr_not_ready": msg.QR_NOT_READY if endpoint == "get_qrcode" else msg.PAIR_NOT_READY,
        }
        response: web.StreamResponse | None = None
        if fault.kind == "latency":
            await self.stall(fault.delay)
        elif fault.kind in pages:
            status, text = pages[fault.kind]
            response = web.Response(text=text, status=status, content_type="text/html")
        elif fault.kind in errors:
            response = error_response(errors[fault.kind])
        elif fault.kind == "stale_session":
            response = error_response(self._stale_session_error(params))
        elif fault.kind == "reset":
            # Drop the connection: the client sees a disconnect and no answer at all.
            if request.transport is not None:
                request.transport.abort()
            response = web.Response()
        return response

    async def stall(self, delay: float) -> None:
        """Wait `delay` seconds, or less if the emulator is stopping (so shutdown is never slow)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)

    # -- checks ---------------------------------------------------------------------------------

    def _token(self, params: RequestParams) -> str:
        token = params.text("access_token")
        if not token:
            raise GatewayError(msg.ACCESS_TOKEN_REQUIRED)
        if token not in self.state.accounts:
            raise GatewayError(msg.ACCESS_TOKEN_UNKNOWN)
        return token

    def _instance(self, params: RequestParams) -> Instance:
        token = self._token(params)
        instance_id = params.text("instance_id")
        if not instance_id:
            raise GatewayError(msg.INSTANCE_REQUIRED)
        instance = self.state.instances.get(instance_id)
        if instance is None or instance.token != token:
            raise GatewayError(msg.INSTANCE_UNKNOWN)
        if instance.invalidated:
            raise GatewayError(msg.INSTANCE_INVALIDATED)
        self.state.refresh(instance)
        return instance

    def _linked(self, params: RequestParams) -> Instance:
        instance = self._instance(params)
        if instance.state is not InstanceState.LINKED:
            raise GatewayError(msg.RELOGIN_REQUIRED if instance.ever_linked else msg.NOT_ACTIVATED)
        return instance

    def _stale_session_error(self, params: RequestParams) -> str:
        """Return the answer of a session endpoint while the session is dead.

        The token, instance and link checks still come first, as on the gateway: only a request
        that would otherwise have been served learns that the account must log in again.
        """
        try:
            self._linked(params)
        except GatewayError as err:
            return str(err)
        return msg.RELOGIN_REQUIRED

    @staticmethod
    def _recipient(params: RequestParams, name: str = "number") -> str:
        """Return the recipient's JID: digits get `@s.whatsapp.net`, a full JID is kept."""
        number = params.text(name)
        if "@" in number:
            return number
        if not digits(number):
            raise GatewayError(msg.RECIPIENT_REQUIRED)
        return phone_jid(number)

    def _check_reachable(self, instance: Instance, jid: str) -> None:
        """Fail like the engine does when the recipient cannot be messaged."""
        if jid.endswith("@g.us"):
            if instance.group(jid) is None:
                raise GatewayError(msg.SEND_FAILED)
        elif jid.endswith("@s.whatsapp.net") and not self.state.on_whatsapp(jid.split("@", 1)[0]):
            raise GatewayError(msg.SEND_FAILED)

    def _record_send(
        self,
        instance: Instance,
        kind: str,
        jid: str,
        payload: JsonDict,
        contents: list[JsonDict],
    ) -> JsonDict:
        """Record a send, schedule its fromMe echo(s), and return the WAMessage to answer with."""
        timestamp = int(time.time())
        messages = [
            wamessage(jid, new_message_id(rng=self.state.rng), content, timestamp)
            for content in contents
        ]
        answered = messages[-1]  # an album is answered with one of its items only
        instance.sent.append(
            SentMessage(
                instance_id=instance.instance_id,
                message_id=answered["key"]["id"],
                type=kind,
                to=jid,
                payload=payload,
                wamessage=answered,
                timestamp=timestamp,
                item_ids=[m["key"]["id"] for m in messages],
            )
        )
        echoes: list[object] = [{"type": "append", "messages": [m]} for m in messages]
        self.webhooks.deliver_later(instance, "messages.upsert", echoes, self.echo_delay)
        return answered

    @staticmethod
    def _sent(answered: JsonDict) -> JsonDict:
        return {"status": "success", "message": answered}

    # -- instance management --------------------------------------------------------------------

    async def create_instance(self, params: RequestParams) -> JsonDict:
        """Create an instance, or hand out again one that was never linked."""
        token = self._token(params)
        reusable = self.state.reusable_instance(token)
        if reusable is not None:
            instance_id = reusable.instance_id
        else:
            instance_id = self.state.add_instance(token)
        return {"status": "success", "message": msg.INSTANCE_CREATED, "instance_id": instance_id}

    async def get_qrcode(self, params: RequestParams) -> JsonDict:
        """Return the current QR as a PNG data URI, starting the wait for a scan."""
        instance = self._instance(params)
        if instance.state is InstanceState.LINKED:
            raise GatewayError(msg.ALREADY_LINKED_QR)
        payload = self.state.start_waiting(instance)
        return {"status": "success", "message": msg.SUCCESS, "base64": qr_data_uri(payload)}

    async def get_paircode(self, params: RequestParams) -> JsonDict:
        """Return a pairing code for the phone number."""
        instance = self._instance(params)
        if instance.state is InstanceState.LINKED:
            raise GatewayError(msg.ALREADY_LINKED_PAIR)
        phone = digits(params.text("phone"))
        if not phone:
            raise GatewayError(msg.PHONE_REQUIRED)
        code = self.state.new_pair_code(instance, phone)
        return {"status": "success", "message": msg.SUCCESS, "code": code}

    async def logout(self, params: RequestParams) -> JsonDict:
        """Log the linked session out."""
        instance = self._instance(params)
        if instance.state is not InstanceState.LINKED:
            raise GatewayError(msg.ALREADY_LOGGED_OUT)
        self.state.unlink(instance.instance_id)
        return {"status": "success", "message": msg.SUCCESS}

    async def set_webhook(self, params: RequestParams) -> JsonDict:
        """Save the webhook URL, its enabled flag and the allowed events."""
        instance = self._linked(params)
        url = params.text("webhook_url")
        if not url:
            raise GatewayError(msg.WEBHOOK_URL_REQUIRED)
        if not webhook_url_is_valid(url, allow_private=self.allow_private_webhooks):
            raise GatewayError(msg.WEBHOOK_URL_INVALID)
        enable = params.text("enable")
        if not enable:
            raise GatewayError(msg.ENABLE_REQUIRED)
        instance.webhook_url = url
        # Compared with the string "true" only: "1" disables, whatever the docs say.
        instance.webhook_enabled = enable == "true"
        # A list (allowed_events[]=…) is joined; a string is stored as sent; matched by substring.
        instance.allowed_events = params.text("allowed_events")
        return {"status": "success", "message": msg.WEBHOOK_SAVED}

    # -- sending --------------------------------------------------------------------------------

    async def _send_to(self, params: RequestParams, jid_field: str) -> JsonDict:
        """Send a text or media message to `number` or `group_id` (send / send_group)."""
        instance = self._linked(params)
        if jid_field == "group_id":
            group = params.text("group_id")
            if not group:
                raise GatewayError(msg.RECIPIENT_REQUIRED)
            jid = group if "@" in group else f"{digits(group)}@g.us"
        else:
            jid = self._recipient(params)
        message = params.text("message")
        media_url = params.text("media_url")
        kind = params.text("type") or ("media" if media_url else "text")
        if kind == "media":
            if not media_url:
                raise GatewayError(msg.MEDIA_OR_MESSAGE_REQUIRED)
        elif not message:
            raise GatewayError(msg.MEDIA_OR_MESSAGE_REQUIRED)
        self._check_reachable(instance, jid)
        if kind == "media":
            filename = params.text("filename")
            content = media_content(media_url, message, filename)
            payload: JsonDict = {
                "media_url": media_url,
                "caption": message,
                "filename": filename,
                "media_kind": media_kind(media_url),
            }
        else:
            # button / list / poll in groups: the emulator sends their text (bodies not public).
            content = text_content(message)
            payload = {"message": message, "requested_type": kind}
        return self._sent(self._record_send(instance, kind, jid, payload, [content]))

    async def send(self, params: RequestParams) -> JsonDict:
        """Send a text or media message to a number."""
        return await self._send_to(params, "number")

    async def send_group(self, params: RequestParams) -> JsonDict:
        """Send a message to a group the phone is in."""
        return await self._send_to(params, "group_id")

    async def send_location(self, params: RequestParams) -> JsonDict:
        """Send a location."""
        instance = self._linked(params)
        jid = self._recipient(params)
        try:
            latitude = float(params.text("latitude"))
            longitude = float(params.text("longitude"))
        except ValueError:
            raise GatewayError(msg.LOCATION_REQUIRED) from None
        self._check_reachable(instance, jid)
        name, address = params.text("name"), params.text("address")
        content = location_content(latitude, longitude, name, address)
        payload = {"latitude": latitude, "longitude": longitude, "name": name, "address": address}
        return self._sent(self._record_send(instance, "location", jid, payload, [content]))

    async def send_contact(self, params: RequestParams) -> JsonDict:
        """Send a contact card."""
        instance = self._linked(params)
        jid = self._recipient(params)
        name, phone = params.text("contact_name"), params.text("contact_phone")
        if not name or not phone:
            raise GatewayError(msg.CONTACT_REQUIRED)
        self._check_reachable(instance, jid)
        content = contact_content(name, phone)
        payload = {"contact_name": name, "contact_phone": phone}
        return self._sent(self._record_send(instance, "contact", jid, payload, [content]))

    async def send_audio(self, params: RequestParams) -> JsonDict:
        """Send audio, as a voice note unless `ptt` is false."""
        instance = self._linked(params)
        jid = self._recipient(params)
        audio_url = params.text("audio_url")
        if not audio_url:
            raise GatewayError(msg.MEDIA_OR_MESSAGE_REQUIRED)
        self._check_reachable(instance, jid)
        ptt = params.text("ptt").lower() not in {"false", "0", "no", "off"}
        payload = {"audio_url": audio_url, "ptt": ptt}
        return self._sent(self._record_send(instance, "audio", jid, payload, [audio_content(ptt)]))

    async def send_album(self, params: RequestParams) -> JsonDict:
        """Send up to 10 images and videos as an album (answered with its last item only)."""
        instance = self._linked(params)
        jid = self._recipient(params)
        items = [
            item for item in params.items("album") if isinstance(item, dict) and item.get("url")
        ]
        if not items:
            raise GatewayError(msg.MEDIA_OR_MESSAGE_REQUIRED)
        if len(items) > _MAX_ALBUM:
            raise GatewayError(msg.ALBUM_TOO_LARGE)
        self._check_reachable(instance, jid)
        caption = params.text("caption")
        normalised = []
        for item in items:
            kind = str(item.get("type") or "")
            if kind not in {"image", "video"}:
                kind = "video" if media_kind(str(item["url"])) == "video" else "image"
            normalised.append({"type": kind, "url": str(item["url"])})
        # WhatsApp shows the album's one caption on its first item.
        contents = [
            album_item_content(item["type"], caption if index == 0 else "")
            for index, item in enumerate(normalised)
        ]
        payload = {"caption": caption, "album": normalised}
        return self._sent(self._record_send(instance, "album", jid, payload, contents))

    async def send_carousel(self, params: RequestParams) -> JsonDict:
        """Send a carousel of cards with buttons (`cards` or `templateCarousel`)."""
        instance = self._linked(params)
        jid = self._recipient(params)
        cards = [card for card in params.items("cards") if isinstance(card, dict)] or [
            card for card in params.items("templateCarousel") if isinstance(card, dict)
        ]
        if not cards:
            raise GatewayError(msg.CARDS_REQUIRED)
        self._check_reachable(instance, jid)
        text, title, footer = params.text("text"), params.text("title"), params.text("footer")
        content = carousel_content(text, title, footer, cards)
        payload = {"text": text, "title": title, "footer": footer, "cards": cards}
        return self._sent(self._record_send(instance, "carousel", jid, payload, [content]))

    # -- groups and numbers ---------------------------------------------------------------------

    async def get_groups(self, params: RequestParams) -> JsonDict:
        """List the groups the phone is in."""
        instance = self._linked(params)
        groups = [group.as_gateway_dict() for group in instance.groups]
        return {"status": "success", "message": msg.SUCCESS, "data": groups}

    def _on_whatsapp(self, numbers: list[str]) -> list[JsonDict]:
        """Answer like Baileys' onWhatsApp: only the numbers that exist, each with its JID."""
        return [
            {"jid": phone_jid(number), "exists": True}
            for number in numbers
            if self.state.on_whatsapp(number)
        ]

    async def check_phone(self, params: RequestParams) -> JsonDict:
        """Check whether one number is on WhatsApp."""
        self._linked(params)
        phone = digits(params.text("phone"))
        if not phone:
            raise GatewayError(msg.PHONE_REQUIRED)
        return {"status": "success", "message": msg.SUCCESS, "data": self._on_whatsapp([phone])}

    async def check_phones_batch(self, params: RequestParams) -> JsonDict:
        """Check many numbers; those not on WhatsApp are left out of the answer."""
        self._linked(params)
        phones = [digits(str(item)) for item in params.items("phones")]
        if not phones:  # also accept a comma-separated string
            phones = [digits(part) for part in params.text("phones").split(",")]
        phones = [phone for phone in phones if phone]
        if not phones:
            raise GatewayError(msg.PHONE_REQUIRED)
        return {"status": "success", "message": msg.SUCCESS, "data": self._on_whatsapp(phones)}
