"""Fixtures of the API client's tests: an HTTP session, a scripted gateway and client factories."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
import contextlib
from dataclasses import dataclass, field
import json
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
import pytest

from custom_components.smartwats.api import SmartwatsClient

TOKEN = "68d9d5b40d8e2"  # noqa: S105 - a made-up token to look for in errors
INSTANCE_ID = "68DBB04FECCBA"

type ClientFactory = Callable[..., SmartwatsClient]


@dataclass(slots=True)
class Reply:
    """One scripted answer: a body (JSON-encoded unless bytes/str), a status, a delay or a reset."""

    body: Any = None
    status: int = 200
    content_type: str = "text/html"
    delay: float = 0.0
    reset: bool = False


@dataclass(slots=True)
class SeenRequest:
    """A request the scripted gateway received."""

    endpoint: str
    method: str
    query: dict[str, str]
    content_type: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        """Return the body decoded as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """Return the body decoded as a form."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass(slots=True)
class ScriptedGateway:
    """A real HTTP server on 127.0.0.1 answering each endpoint with prepared replies.

    Replies for an endpoint are used in order; the last one is repeated.
    """

    url: str = ""
    replies: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[SeenRequest] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def reply(self, endpoint: str, *replies: Reply | Any) -> None:
        """Queue replies (a `Reply`, or a JSON body answered with HTTP 200)."""
        self.replies.setdefault(endpoint, []).extend(
            item if isinstance(item, Reply) else Reply(item) for item in replies
        )

    def seen(self, endpoint: str) -> list[SeenRequest]:
        """Return the requests made to `endpoint`."""
        return [request for request in self.requests if request.endpoint == endpoint]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Record the request and answer with the next reply."""
        endpoint = request.match_info["endpoint"]
        self.requests.append(
            SeenRequest(
                endpoint=endpoint,
                method=request.method,
                query=dict(request.query),
                content_type=request.content_type,
                body=await request.read(),
                headers=dict(request.headers),
            )
        )
        queue = self.replies.get(endpoint) or [Reply({"status": "success", "message": "Success"})]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), reply.delay)
        if reply.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        body = reply.body
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        return web.Response(body=body, status=reply.status, content_type=reply.content_type)


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """An HTTP session (loopback sockets allowed), closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def gateway(socket_enabled: None) -> AsyncGenerator[ScriptedGateway]:
    """A scripted gateway on a free loopback port."""
    scripted = ScriptedGateway()
    app = web.Application()
    app.router.add_route("*", "/api/{endpoint}", scripted.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    scripted.url = f"http://{host}:{port}/api/"
    yield scripted
    scripted.stopping.set()
    await runner.cleanup()


@pytest.fixture
def client_base_url(gateway: ScriptedGateway) -> str:
    """Where `make_client`'s clients go: the scripted gateway (a module may override it)."""
    return gateway.url


@pytest.fixture
def make_client(session: aiohttp.ClientSession, client_base_url: str) -> ClientFactory:
    """Build a client of `client_base_url`, with fast retries unless told otherwise."""

    def factory(
        access_token: str = TOKEN, instance_id: str | None = INSTANCE_ID, **kwargs: Any
    ) -> SmartwatsClient:
        options: dict[str, Any] = {
            "base_url": client_base_url,
            "request_timeout": 2.0,
            "qr_timeout": 2.0,
            "retry_attempts": 2,
            "retry_backoff": 0.001,
        }
        options.update(kwargs)
        return SmartwatsClient(session, access_token, instance_id, **options)

    return factory
