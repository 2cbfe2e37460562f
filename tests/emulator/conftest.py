"""Fixtures for the emulator's tests: an HTTP client, a linked instance, a webhook receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from smartwats_emulator import Emulator


@dataclass
class Answer:
    """An API answer: HTTP status, Content-Type and the body decoded as JSON (None if not JSON)."""

    status: int
    content_type: str
    text: str
    body: Any

    @property
    def message(self) -> Any:
        """Return the envelope's `message`."""
        return self.body["message"]


@dataclass
class Gateway:
    """A client of the emulator's API, with a linked instance ready to use."""

    emu: Emulator
    session: aiohttp.ClientSession
    token: str
    instance_id: str

    @property
    def creds(self) -> dict[str, str]:
        """Return the credentials as parameters."""
        return {"access_token": self.token, "instance_id": self.instance_id}

    async def call(
        self,
        endpoint: str,
        *,
        method: str = "POST",
        query: dict[str, str] | None = None,
        form: dict[str, str] | list[tuple[str, str]] | None = None,
        json_body: Any = None,
        creds: bool = True,
    ) -> Answer:
        """Call an endpoint; credentials go in the query string unless `creds` is False."""
        params = {**(self.creds if creds else {}), **(query or {})}
        async with self.session.request(
            method, self.emu.api_url + endpoint, params=params, data=form, json=json_body
        ) as response:
            text = await response.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            return Answer(response.status, response.content_type, text, body)


@dataclass
class WebhookReceiver:
    """A small web server on 127.0.0.1 that keeps what is posted to it."""

    url: str = ""
    bodies: list[Any] = field(default_factory=list)
    status: int = 200

    def events(self, name: str) -> list[Any]:
        """Return the bodies of one event."""
        return [b for b in self.bodies if b["data"]["event"] == name]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """An HTTP client session."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def gateway(emulator: Emulator, session: aiohttp.ClientSession) -> Gateway:
    """An account with a linked instance on the emulator."""
    token = emulator.state.add_account()
    instance_id = emulator.state.add_instance(token, linked=True)
    return Gateway(emulator, session, token, instance_id)


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncGenerator[WebhookReceiver]:
    """A webhook receiver listening on 127.0.0.1."""
    result = WebhookReceiver()

    async def handle(request: web.Request) -> web.Response:
        result.bodies.append(await request.json())
        return web.Response(status=result.status, text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    result.url = f"http://{host}:{port}/hook"
    try:
        yield result
    finally:
        await runner.cleanup()


async def settle() -> None:
    """Let the event loop run pending callbacks once."""
    await asyncio.sleep(0)
