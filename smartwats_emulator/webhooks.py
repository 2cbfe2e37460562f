"""Webhook delivery as the gateway does it: one unsigned POST, no retries, errors swallowed.

Bodies are `{"instance_id": …, "data": {"event": …, "data": …}}` for Baileys pass-through events and
`{"instance_id": …, "data": {"event": "received_message", "message": …}}` for the digested one.
An event is sent only when the instance's `allowed_events` string contains its name (substring
match, as the gateway's `includes`), or when that string is empty.
"""

from __future__ import annotations

import asyncio
from collections import deque
import ipaddress
from typing import NamedTuple
from urllib.parse import urlsplit

import aiohttp

from .jsontypes import JsonDict
from .state import LOG_LIMIT, Instance

_TIMEOUT = aiohttp.ClientTimeout(total=10)


class WebhookDelivery(NamedTuple):
    """One delivery attempt: event, URL, body and the HTTP status or the error's text."""

    event: str
    url: str
    body: JsonDict
    result: int | str


def webhook_url_is_valid(url: str, *, allow_private: bool) -> bool:
    """Validate a webhook URL like the docs say: HTTPS, not localhost, not a private address.

    With `allow_private` any http(s) URL with a host passes (tests and local development).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or not host:
        return False
    if allow_private:
        return True
    if parts.scheme != "https" or host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host  # a public name: the gateway does not resolve it to check
    return address.is_global


def event_allowed(allowed_events: str, event: str) -> bool:
    """Tell whether the stored allowed-events string lets `event` through."""
    return not allowed_events or event in allowed_events


def webhook_body(instance_id: str, event: str, payload: object) -> JsonDict:
    """Return the POST body of an event."""
    if event == "received_message":
        return {"instance_id": instance_id, "data": {"event": event, "message": payload}}
    return {"instance_id": instance_id, "data": {"event": event, "data": payload}}


class WebhookDispatcher:
    """Posts events to instances' webhooks and records every attempt."""

    def __init__(self) -> None:
        """Create a dispatcher; `start` opens its HTTP session."""
        # The newest LOG_LIMIT attempts, oldest first.
        self.deliveries: deque[WebhookDelivery] = deque(maxlen=LOG_LIMIT)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the HTTP session used for deliveries."""
        if self._session is None:
            # The threaded resolver: no resolver threads or channels outlive the session.
            connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
            self._session = aiohttp.ClientSession(connector=connector, timeout=_TIMEOUT)

    async def deliver(
        self, instance: Instance, event: str, payload: object
    ) -> WebhookDelivery | None:
        """Post one event now; return the record, or None when nothing was sent."""
        url = instance.webhook_url
        if (
            not url
            or not instance.webhook_enabled
            or not event_allowed(instance.allowed_events, event)
        ):
            return None
        if self._session is None:
            raise RuntimeError("the webhook dispatcher is not started")
        body = webhook_body(instance.instance_id, event, payload)
        result: int | str
        try:
            async with self._session.post(url, json=body) as response:
                await response.read()
                result = response.status
        except (aiohttp.ClientError, TimeoutError, OSError, RuntimeError) as err:
            # The gateway swallows delivery errors; the emulator keeps them for tests to see.
            result = f"{type(err).__name__}: {err}"
        delivery = WebhookDelivery(event, url, body, result)
        self.deliveries.append(delivery)
        return delivery

    def deliver_later(
        self, instance: Instance, event: str, payloads: list[object], delay: float
    ) -> None:
        """Post events in the background after `delay` seconds (the echo of a send)."""

        async def run() -> None:
            await asyncio.sleep(delay)
            for payload in payloads:
                await self.deliver(instance, event, payload)

        task = asyncio.get_running_loop().create_task(run(), name="smartwats-emulator-webhook")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until the background deliveries scheduled so far are done."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel pending deliveries and close the session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
