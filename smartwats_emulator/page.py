"""The phone page at /: a stand-in for the phone, driven through the control endpoints."""

from __future__ import annotations

from importlib.resources import files

from aiohttp import web


async def index(request: web.Request) -> web.StreamResponse:
    """Serve the page (plain HTML with a little JavaScript, no external URLs)."""
    html = (
        files(__package__ or "smartwats_emulator").joinpath("static/index.html").read_text("utf-8")
    )
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


def page_routes() -> list[web.RouteDef]:
    """Return the page's routes."""
    return [web.get("/", index)]
