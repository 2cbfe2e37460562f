"""Asynchronous client of the SmartWats WhatsApp gateway's HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
import functools
import json
import logging
import math
from typing import Any, Final

import aiohttp
import orjson
from yarl import URL

from .exceptions import (
    SmartwatsAlreadyLinkedError,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsInstanceError,
    SmartwatsLoggedOutError,
    SmartwatsNotReadyError,
    SmartwatsOutcomeUnknownError,
    SmartwatsRequestError,
)
from .models import (
    MAX_ALBUM_ITEMS,
    MAX_CAROUSEL_CARDS,
    MIN_ALBUM_ITEMS,
    AlbumItem,
    CarouselCard,
    Group,
    LinkState,
    LinkStatus,
    PhoneCheck,
    SendResult,
)
from .phone import is_group_jid, normalize_phone, to_group_jid, to_user_jid
from .responses import (
    error_for_message,
    error_message,
    is_success,
    parse_groups,
    parse_instance_id,
    parse_message_id,
    parse_pair_code,
    parse_phone_check,
    parse_phone_checks,
    parse_qr_code,
    qr_data_uri,
    says_already_linked,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://app.smartwats.com/api/"
CHECK_PHONES_BATCH_SIZE: Final = 50
CAROUSEL_FIELDS: Final = ("cards", "templateCarousel")

_HEADERS: Final = {"Accept": "application/json"}
_REDACTED: Final = "**REDACTED**"
# Shorter tokens would be replaced inside unrelated words; real tokens have 13 characters.
_MIN_REDACTED_LENGTH: Final = 4


class _ConnectFailedError(SmartwatsConnectionError):
    """The request never left: the connection could not be made (safe to retry even a send)."""


class SmartwatsClient:
    """Client of one SmartWats account (access token) and, for most calls, one instance.

    The access token and the instance id travel in the query string of every request; the token
    never appears in exceptions, ``repr`` or log lines. Reads are retried on temporary failures
    with exponential backoff (``retry_attempts`` retries after the first attempt, waiting
    ``retry_backoff``, then twice as long each time). A send is retried only when the connection
    could not be made at all; once the request may have reached the gateway, a failure raises
    `SmartwatsOutcomeUnknownError` and nothing is sent again.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        access_token: str,
        instance_id: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = 15.0,
        qr_timeout: float = 45.0,
        retry_attempts: int = 3,
        retry_backoff: float = 1.0,
        send_retry_attempts: int | None = None,
        default_country_code: str | None = None,
    ) -> None:
        """Set up the client; ``base_url`` may end with a slash or not (white-label gateways)."""
        if not isinstance(access_token, str) or not access_token.strip():
            raise ValueError("The access token must be a non-empty string")
        if request_timeout <= 0 or qr_timeout <= 0:
            raise ValueError("Timeouts must be positive")
        if retry_attempts < 0 or retry_backoff < 0:
            raise ValueError("retry_attempts and retry_backoff must not be negative")
        self._session = session
        self._access_token = access_token.strip()
        self.instance_id = instance_id
        self._base_url = _parse_base_url(base_url)
        # The URL of each endpoint called, made once.
        self._urls: dict[str, URL] = {}
        self._request_timeout = request_timeout
        self._qr_timeout = qr_timeout
        self._retry_attempts = retry_attempts
        # A send that could not connect is retried this often (by default like reads); a
        # caller that keeps its own queue of messages to retry later asks for 0.
        self._send_retry_attempts = (
            retry_attempts if send_retry_attempts is None else max(send_retry_attempts, 0)
        )
        self._retry_backoff = retry_backoff
        self._default_country_code = default_country_code

    def __repr__(self) -> str:
        """Describe the client without its access token."""
        return f"SmartwatsClient(base_url='{self._base_url}', instance_id={self.instance_id!r})"

    @property
    def base_url(self) -> str:
        """The API base URL, ending with a slash."""
        return str(self._base_url)

    # Instance management

    async def create_instance(self) -> str:
        """Create an instance of the account and return its id (not made the client's instance)."""
        return await self._call(
            "create_instance",
            method="POST",
            form={},
            needs_instance=False,
            idempotent=False,
            parse=_instance_id,
        )

    async def get_qr_code(self) -> str:
        """Return the QR code to link the instance, as a ``data:image/png;base64,...`` URI.

        The URI is rebuilt from the image's bytes (a JPEG gives ``data:image/jpeg;...``), so it is
        safe to put in markdown. Raises `SmartwatsAlreadyLinkedError` once the instance is linked,
        `SmartwatsNotReadyError` while the gateway is still generating the code (after the
        retries) and `SmartwatsRequestError` when the answer holds no PNG or JPEG image.
        """
        return await self._call("get_qrcode", time_limit=self._qr_timeout, parse=_qr_code)

    async def get_link_state(self, *, verify: bool = False) -> LinkState:
        """Return whether the instance is linked, with the current QR code while it is not.

        The gateway reports the link state nowhere; asking for a QR code reveals it: "already
        linked" means linked, a QR code (or one still being generated) means waiting for a scan.

        That answer comes from the gateway's database, which keeps calling a session linked after
        the session itself died (sends then answer "relogin required"). With ``verify``, a
        "linked" answer is confirmed with a call that needs the live session (`get_groups`), and
        a session found dead is reported `LinkStatus.LOGGED_OUT`; `logout` clears it so that a
        new QR code can be asked for.
        """
        try:
            qr_code = await self.get_qr_code()
        except SmartwatsAlreadyLinkedError:
            if verify:
                try:
                    await self.get_groups()
                except SmartwatsLoggedOutError:
                    return LinkState(LinkStatus.LOGGED_OUT)
            return LinkState(LinkStatus.LINKED)
        except SmartwatsLoggedOutError:
            return LinkState(LinkStatus.LOGGED_OUT)
        except SmartwatsNotReadyError:
            return LinkState(LinkStatus.WAITING)
        return LinkState(LinkStatus.WAITING, qr_code)

    async def get_pair_code(self, phone: str) -> str:
        """Return a pairing code (such as ``ABCD-EFGH``) to link the instance to ``phone``."""
        number = self._number(phone)
        return await self._call(
            "get_paircode",
            method="POST",
            query={"phone": number},
            form={"phone": number},
            time_limit=self._qr_timeout,
            parse=_pair_code,
        )

    async def logout(self) -> None:
        """End the WhatsApp session of the instance; an instance logged out already is fine."""
        try:
            await self._call("logout", method="POST", form={}, parse=_ignore)
        except SmartwatsLoggedOutError as err:
            _LOGGER.debug("logout: the instance was logged out already (%s)", err)

    async def set_webhook(
        self, url: str, *, enable: bool = True, allowed_events: Sequence[str] | None = None
    ) -> None:
        """Point the instance's webhook at ``url``; ``allowed_events`` empty or ``None`` = all."""
        _require_text("Webhook URL", url)
        form = {"webhook_url": url, "enable": "true" if enable else "false"}
        if allowed_events is not None:
            if isinstance(allowed_events, str):
                allowed_events = allowed_events.split(",")
            form["allowed_events"] = ",".join(e.strip() for e in allowed_events if e.strip())
        await self._call("set_webhook", method="POST", form=form, parse=_ignore)

    # Sending

    async def send_text(self, number: str, message: str) -> SendResult:
        """Send a text message to a number, or to a group (``<digits>@g.us``)."""
        if is_group_jid(number):
            return await self.send_group_text(number, message)
        _require_text("Message", message)
        return await self._send(
            "send", {"number": self._number(number), "type": "text", "message": message}
        )

    async def send_media(
        self,
        number: str,
        media_url: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
    ) -> SendResult:
        """Send a picture, video or document from a URL the gateway can fetch (group ids too)."""
        if is_group_jid(number):
            return await self.send_group_media(
                number, media_url, caption=caption, filename=filename
            )
        body = {"number": self._number(number), "type": "media"} | _media(
            media_url, caption, filename
        )
        return await self._send("send", body)

    async def send_location(
        self,
        number: str,
        latitude: float,
        longitude: float,
        *,
        name: str | None = None,
        address: str | None = None,
    ) -> SendResult:
        """Send a location."""
        _require_coordinate("Latitude", latitude, 90)
        _require_coordinate("Longitude", longitude, 180)
        body: dict[str, Any] = {
            "number": self._number(number),
            "latitude": float(latitude),
            "longitude": float(longitude),
        }
        _add_optional(body, name=name, address=address)
        return await self._send("send_location", body)

    async def send_contact(self, number: str, contact_name: str, contact_phone: str) -> SendResult:
        """Send a contact card."""
        _require_text("Contact name", contact_name)
        body = {
            "number": self._number(number),
            "contact_name": contact_name,
            "contact_phone": self._number(contact_phone),
        }
        return await self._send("send_contact", body)

    async def send_audio(self, number: str, audio_url: str, *, ptt: bool = True) -> SendResult:
        """Send an audio file from a URL, as a voice note when ``ptt`` is true."""
        _require_text("Audio URL", audio_url)
        body = {"number": self._number(number), "audio_url": audio_url, "ptt": bool(ptt)}
        return await self._send("send_audio", body)

    async def send_album(
        self, number: str, items: Sequence[AlbumItem], *, caption: str | None = None
    ) -> SendResult:
        """Send 2 to 10 pictures and videos as one album with one caption."""
        if not MIN_ALBUM_ITEMS <= len(items) <= MAX_ALBUM_ITEMS:
            raise ValueError(
                f"An album holds {MIN_ALBUM_ITEMS} to {MAX_ALBUM_ITEMS} items, not {len(items)}"
            )
        for item in items:
            if not isinstance(item, AlbumItem):
                raise TypeError(f"Album items must be AlbumItem, not {type(item).__name__}")
        body: dict[str, Any] = {
            "number": self._number(number),
            "album": [item.as_dict() for item in items],
        }
        _add_optional(body, caption=caption)
        return await self._send("send_album", body)

    async def send_carousel(
        self,
        number: str,
        cards: Sequence[CarouselCard],
        *,
        text: str | None = None,
        title: str | None = None,
        footer: str | None = None,
        field: str = "cards",
    ) -> SendResult:
        """Send a carousel of cards with buttons; the number travels as a full chat id (JID)."""
        if field not in CAROUSEL_FIELDS:
            raise ValueError(f"field must be one of {CAROUSEL_FIELDS}, not {field!r}")
        if not 1 <= len(cards) <= MAX_CAROUSEL_CARDS:
            raise ValueError(f"A carousel holds 1 to {MAX_CAROUSEL_CARDS} cards, not {len(cards)}")
        for card in cards:
            if not isinstance(card, CarouselCard):
                raise TypeError(f"Carousel cards must be CarouselCard, not {type(card).__name__}")
        body: dict[str, Any] = {"number": to_user_jid(self._number(number))}
        _add_optional(body, text=text, title=title, footer=footer)
        body[field] = [card.as_dict() for card in cards]
        return await self._send("send_carousel", body)

    # Groups

    async def get_groups(self) -> list[Group]:
        """Return the groups the linked account belongs to (may be incomplete after a restart)."""
        return await self._call("get_groups", parse=parse_groups)

    async def send_group_text(self, group_id: str, message: str) -> SendResult:
        """Send a text message to a group (``<digits>@g.us``)."""
        _require_text("Message", message)
        body = {"group_id": to_group_jid(group_id), "type": "text", "message": message}
        return await self._send("send_group", body)

    async def send_group_media(
        self,
        group_id: str,
        media_url: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
    ) -> SendResult:
        """Send a picture, video or document from a URL to a group."""
        body = {"group_id": to_group_jid(group_id), "type": "media"} | _media(
            media_url, caption, filename
        )
        return await self._send("send_group", body)

    # Numbers

    async def check_phone(self, phone: str) -> PhoneCheck:
        """Return whether ``phone`` is on WhatsApp."""
        number = self._number(phone)
        return await self._call(
            "check_phone",
            query={"phone": number},
            parse=lambda payload: parse_phone_check(payload, number),
        )

    async def check_phones(self, phones: Sequence[str]) -> list[PhoneCheck]:
        """Return whether each number is on WhatsApp, in the order given (asked in batches)."""
        numbers = [self._number(phone) for phone in phones]
        checks: list[PhoneCheck] = []
        for start in range(0, len(numbers), CHECK_PHONES_BATCH_SIZE):
            chunk = numbers[start : start + CHECK_PHONES_BATCH_SIZE]
            checks += await self._call(
                "check_phones_batch",
                method="POST",
                json_body={"phones": chunk},
                parse=functools.partial(parse_phone_checks, phones=chunk),
            )
        return checks

    # Transport

    def _number(self, value: str) -> str:
        return normalize_phone(value, self._default_country_code)

    async def _send(self, endpoint: str, body: Mapping[str, Any]) -> SendResult:
        return await self._call(
            endpoint,
            method="POST",
            json_body=body,
            idempotent=False,
            retry_attempts=self._send_retry_attempts,
            parse=_send_result,
        )

    async def _call[T](
        self,
        endpoint: str,
        *,
        parse: Callable[[Any], T],
        method: str = "GET",
        query: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        time_limit: float | None = None,
        needs_instance: bool = True,
        idempotent: bool = True,
        retry_attempts: int | None = None,
    ) -> T:
        """Call ``endpoint`` (with retries) and return ``parse`` of its successful answer."""
        attempts = self._retry_attempts if retry_attempts is None else retry_attempts
        params = {"access_token": self._access_token}
        if self.instance_id:
            params["instance_id"] = self.instance_id
        elif needs_instance:
            raise SmartwatsInstanceError("Instance ID is required")
        params |= query or {}
        retries = 0
        while True:
            try:
                return await self._attempt(
                    endpoint,
                    method=method,
                    params=params,
                    form=form,
                    json_body=json_body,
                    time_limit=time_limit or self._request_timeout,
                    parse=parse,
                )
            except _ConnectFailedError as err:
                failure: SmartwatsConnectionError = err
            except SmartwatsConnectionError as err:
                if not idempotent:
                    raise
                failure = err
            if retries >= attempts:
                break
            delay = self._retry_backoff * 2**retries
            retries += 1
            _LOGGER.debug(
                "%s: %s, retry %d of %d in %.2f s",
                endpoint,
                type(failure).__name__,
                retries,
                attempts,
                delay,
            )
            await asyncio.sleep(delay)
        if type(failure) in {_ConnectFailedError, SmartwatsOutcomeUnknownError}:
            # A read has no outcome to be unsure of; callers see the public class only.
            failure = SmartwatsConnectionError(failure.message)
        raise failure

    async def _attempt[T](
        self,
        endpoint: str,
        *,
        method: str,
        params: Mapping[str, str],
        form: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        time_limit: float,
        parse: Callable[[Any], T],
    ) -> T:
        """Make one request; every exception is raised outside ``except`` so none chains the URL."""
        _LOGGER.debug("Calling %s", endpoint)
        host = self._base_url.host
        failure: SmartwatsError
        try:
            if (url := self._urls.get(endpoint)) is None:
                url = self._urls[endpoint] = self._base_url.joinpath(endpoint)
            async with self._session.request(
                method,
                url,
                params=params,
                data=form,
                json=json_body,
                headers=_HEADERS,
                timeout=_timeout(time_limit),
                allow_redirects=False,
            ) as response:
                status = response.status
                content_type = response.content_type
                body = await response.read()
        except aiohttp.ClientConnectorError as err:
            failure = _ConnectFailedError(
                f"Cannot connect to the SmartWats gateway at {host} ({type(err).__name__})"
            )
        except aiohttp.ConnectionTimeoutError:
            failure = _ConnectFailedError(
                f"Timed out connecting to the SmartWats gateway at {host}"
            )
        except TimeoutError:
            failure = SmartwatsOutcomeUnknownError(
                f"No answer from the SmartWats gateway within {time_limit:g} s"
            )
        except aiohttp.InvalidURL:
            failure = SmartwatsRequestError(f"Invalid SmartWats gateway URL {self._base_url}")
        except (aiohttp.ClientError, OSError) as err:
            failure = SmartwatsOutcomeUnknownError(
                f"The connection to the SmartWats gateway failed ({type(err).__name__})"
            )
        else:
            _LOGGER.debug("%s answered HTTP %s", endpoint, status)
            return parse(self._payload(endpoint, status, content_type, body))
        raise failure

    def _payload(self, endpoint: str, status: int, content_type: str, body: bytes) -> object:
        """Decode an answer; raise the matching exception unless it reports success."""
        if 300 <= status < 400:  # noqa: PLR2004
            raise SmartwatsRequestError(
                f"The gateway redirected {endpoint} (HTTP {status}): check the API base URL"
            )
        try:
            payload = _json_loads(body)
        except ValueError:
            payload = None
            decoded = False
        else:
            decoded = True
        if status >= 500:  # noqa: PLR2004
            detail = error_message(payload, "")
            raise SmartwatsOutcomeUnknownError(
                self._redact(f"The gateway failed (HTTP {status}) {detail}".strip())
            )
        if not decoded:
            raise SmartwatsOutcomeUnknownError(
                f"The gateway's answer to {endpoint} is not JSON (HTTP {status}, {content_type})"
            )
        if isinstance(payload, dict) and "status" in payload:
            if is_success(payload["status"]) and status < 400:  # noqa: PLR2004
                return payload
        elif status < 400:  # noqa: PLR2004
            return payload
        default = "Error" if status < 400 else f"Error (HTTP {status})"  # noqa: PLR2004
        raise error_for_message(self._redact(error_message(payload, default)))

    def _redact(self, text: str) -> str:
        if len(self._access_token) < _MIN_REDACTED_LENGTH:
            return text
        return text.replace(self._access_token, _REDACTED)


@functools.lru_cache(maxsize=8)
def _timeout(time_limit: float) -> aiohttp.ClientTimeout:
    """Return the timeout of a request (immutable, so made once per limit).

    The connection must be made in half the time: a timeout of the whole request therefore
    always means that the request may have been sent.
    """
    return aiohttp.ClientTimeout(total=time_limit, connect=time_limit / 2)


def _json_loads(body: bytes) -> Any:  # noqa: ANN401 - any JSON value
    """Decode JSON as `json.loads` does, with orjson (faster) for what it reads the same way.

    orjson refuses what is not strict UTF-8 JSON (another encoding, a BOM, NaN, lone
    surrogates, integers beyond 64 bits), which `json.loads` then decides on.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _parse_base_url(base_url: str) -> URL:
    try:
        url = URL(base_url.strip())
    except (TypeError, ValueError) as err:
        problem = str(err)
    else:
        problem = ""
    if problem:
        raise ValueError(f"Invalid API base URL {base_url!r}: {problem}")
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(f"Invalid API base URL {base_url!r}: expected http(s)://host/path/")
    if url.query_string or url.fragment:
        raise ValueError(f"Invalid API base URL {base_url!r}: no query or fragment allowed")
    return url.with_path(url.path.rstrip("/") + "/")


def _require_text(what: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")


def _require_coordinate(what: str, value: float, limit: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, not {value!r}")
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueError(f"{what} must be between -{limit} and {limit}, not {value!r}")


def _add_optional(body: dict[str, Any], **fields: str | None) -> None:
    body.update({key: value for key, value in fields.items() if value is not None})


def _media(media_url: str, caption: str | None, filename: str | None) -> dict[str, Any]:
    _require_text("Media URL", media_url)
    body: dict[str, Any] = {"media_url": media_url}
    _add_optional(body, message=caption, filename=filename)
    return body


def _ignore(payload: object) -> None:
    """Accept any successful answer."""


def _send_result(payload: object) -> SendResult:
    return SendResult(message_id=parse_message_id(payload), raw=payload)


def _instance_id(payload: object) -> str:
    if (instance_id := parse_instance_id(payload)) is None:
        raise SmartwatsRequestError("The gateway's answer holds no instance id")
    return instance_id


def _qr_code(payload: object) -> str:
    raw = parse_qr_code(payload)
    if raw is None:
        if says_already_linked(payload):
            raise SmartwatsAlreadyLinkedError(error_message(payload))
        raise SmartwatsNotReadyError("The gateway's answer holds no QR code yet")
    if (uri := qr_data_uri(raw)) is None:
        raise SmartwatsRequestError("The gateway's QR code is not an image")
    return uri


def _pair_code(payload: object) -> str:
    if (code := parse_pair_code(payload)) is None:
        if says_already_linked(payload):
            raise SmartwatsAlreadyLinkedError(error_message(payload))
        raise SmartwatsNotReadyError("The gateway's answer holds no pair code yet")
    return code
