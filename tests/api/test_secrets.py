"""The access token never shows in exceptions, their chains, repr or logs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging
import socket
import traceback

import aiohttp
import pytest
from yarl import URL

from custom_components.smartwats.api import SmartwatsClient, SmartwatsError

from .conftest import INSTANCE_ID, TOKEN, ClientFactory, Reply, ScriptedGateway


def assert_no_token(error: BaseException) -> None:
    """Check the exception, its whole chain and its formatted traceback."""
    seen: set[int] = set()
    current: BaseException | None = error
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        assert TOKEN not in str(current)
        assert TOKEN not in repr(current)
        assert TOKEN not in repr(current.args)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert TOKEN not in "".join(traceback.format_exception(error))


async def expect_failure(call: Callable[[], Awaitable[object]]) -> SmartwatsError:
    """Run a call that must fail with a SmartwatsError and check the token is nowhere in it."""
    with pytest.raises(SmartwatsError) as caught:
        await call()
    assert_no_token(caught.value)
    assert TOKEN not in caught.value.message
    return caught.value


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Capture every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    """No log line holds the token, and the client did log."""
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    assert any(r.name.startswith("custom_components.smartwats.api") for r in caplog.records)


async def test_gateway_answers(
    make_client: ClientFactory, gateway: ScriptedGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Error texts, 5xx pages and HTML pages: even an echoed token is redacted."""
    gateway.reply(
        "send",
        {"status": "error", "message": f"Access token {TOKEN} does not exist"},
        Reply({"status": "error", "message": f"crash at /api/send?access_token={TOKEN}"}, 500),
        Reply(f"<html>502 for /api/send?access_token={TOKEN}</html>", status=502),
        Reply(f"<br />Warning: /api/send?access_token={TOKEN}"),
    )
    client = make_client(retry_attempts=0)
    errors = [await expect_failure(lambda: client.send_text("966501234567", "Hi")) for _ in "1234"]
    assert errors[0].message == "Access token **REDACTED** does not exist"
    assert "**REDACTED**" in errors[1].message
    assert repr(client).count(TOKEN) == 0
    assert_logs_clean(caplog)


async def test_short_tokens_are_not_redacted(
    make_client: ClientFactory, gateway: ScriptedGateway
) -> None:
    """A token too short to be real would garble every message: it is left alone."""
    gateway.reply("send", {"status": "error", "message": "Error"})
    client = make_client(access_token="Err")  # noqa: S106 - too short to redact
    with pytest.raises(SmartwatsError, match=r"^Error$"):
        await client.send_text("966501234567", "Hi")


async def test_timeouts_and_resets(
    make_client: ClientFactory, gateway: ScriptedGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Timeouts and resets, on sends and reads."""
    gateway.reply("send", Reply(delay=5))
    gateway.reply("get_groups", Reply(delay=5))
    gateway.reply("send_audio", Reply(reset=True))
    gateway.reply("check_phone", Reply(reset=True))
    client = make_client(request_timeout=0.1, retry_attempts=1)
    await expect_failure(lambda: client.send_text("966501234567", "Hi"))
    await expect_failure(client.get_groups)
    await expect_failure(lambda: client.send_audio("966501234567", "https://x/a.mp3"))
    await expect_failure(lambda: client.check_phone("966501234567"))
    assert_logs_clean(caplog)


async def test_connection_refused(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SmartwatsClient(
        session, TOKEN, INSTANCE_ID, base_url=f"http://127.0.0.1:{port}/", retry_backoff=0
    )
    await expect_failure(lambda: client.send_text("966501234567", "Hi"))
    await expect_failure(client.get_qr_code)
    assert TOKEN not in repr(client)
    assert_logs_clean(caplog)


async def test_connect_timeout(gateway: ScriptedGateway, caplog: pytest.LogCaptureFixture) -> None:
    """The connect timeout names the full URL, query included: it must not leak."""
    gateway.reply("get_groups", Reply(delay=5))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        hog = asyncio.create_task(
            SmartwatsClient(session, TOKEN, INSTANCE_ID, base_url=gateway.url).get_groups()
        )
        await asyncio.sleep(0.1)
        client = SmartwatsClient(
            session, TOKEN, INSTANCE_ID, base_url=gateway.url, request_timeout=0.2, retry_attempts=0
        )
        await expect_failure(lambda: client.send_text("966501234567", "Hi"))
        hog.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hog
    assert_logs_clean(caplog)


async def test_invalid_url(make_client: ClientFactory, caplog: pytest.LogCaptureFixture) -> None:
    """Invalid-URL errors repeat the URL with its query: they must not leak."""
    client = make_client()
    client._base_url = URL("relative/api/")
    error = await expect_failure(lambda: client.send_text("966501234567", "Hi"))
    assert "Invalid SmartWats gateway URL" in error.message
    assert_logs_clean(caplog)
