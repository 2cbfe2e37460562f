"""A person's view: Home Assistant's frontend in headless Chromium shows a scannable QR code.

The QR step is a progress step: the dialog moves on to the last step by itself once the phone
has scanned the code.

Chromium is Debian's package (scripts/toolchain installs it); Playwright drives it and never
downloads a browser of its own. The screenshot is kept as artifacts/qr-step.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
import io
import os
from pathlib import Path
import re
import tempfile

from PIL import Image
from playwright.async_api import BrowserContext, Page, Route, async_playwright
import pytest
import zxingcpp

from .harness import (
    ARTIFACTS,
    DEV_PASSWORD,
    DEV_USER,
    EmulatorClient,
    HomeAssistantServer,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
]
SCREENSHOT = ARTIFACTS / "qr-step.png"
TIMEOUT_MS = 30_000


@contextlib.asynccontextmanager
async def chromium(workdir: Path) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium, headless, with a new empty profile under the run's folder."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=workdir)
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            locale="en-US",
            timezone_id="UTC",
            viewport={"width": 1280, "height": 900},
            device_scale_factor=1,
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            # Nothing but this machine: requests elsewhere (brand images, …) fail at once.
            await context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/])"), _abort)
            yield context
        finally:
            await context.close()


async def _abort(route: Route) -> None:
    await route.abort("blockedbyclient")


def decode_qr_codes(png: bytes) -> list[str]:
    """Return the texts of the QR codes a reader finds in a PNG image."""
    with Image.open(io.BytesIO(png)) as image:
        return [
            result.text
            for result in zxingcpp.read_barcodes(image.convert("L"))
            if result.format == zxingcpp.BarcodeFormat.QRCode
        ]


def keep_artifact(data: bytes, path: Path) -> None:
    """Write a file under artifacts/ at once (a concurrent run never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(path)


async def log_in(page: Page, url: str) -> None:
    """Log in on Home Assistant's login page, as a person does."""
    await page.goto(url + "/")
    await page.locator("input[name=username]").fill(DEV_USER)
    await page.locator("input[name=password]").fill(DEV_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    # The frontend trades the code for tokens on "/?auth_callback=1…", keeps them (the "Keep me
    # logged in" box is ticked) and moves on to the dashboard, with the sidebar.
    await page.wait_for_url(
        lambda address: "/auth" not in address and "auth_callback" not in address
    )
    await page.locator("ha-sidebar").wait_for()


@pytest.fixture
def debian_chromium() -> Path:
    """Debian's Chromium, which scripts/toolchain installs in its root file system."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run the tests with scripts/test, which installs it")
    return CHROMIUM


@pytest.mark.usefixtures("debian_chromium")
async def test_the_qr_step_shows_the_gateways_current_code(
    hass_server: HomeAssistantServer, emu: EmulatorClient, e2e_workdir: Path
) -> None:
    """Log in, add SmartWats, choose the QR code: the screenshot decodes to the current payload.

    Then the phone scans it: with nothing submitted, the dialog moves on to the naming step.
    """
    token, instance_id = await emu.create_instance(linked=False)

    async with chromium(e2e_workdir) as context:
        page = context.pages[0] if context.pages else await context.new_page()
        try:
            await log_in(page, hass_server.url)
            await page.goto(hass_server.url + "/config/integrations/dashboard/add?domain=smartwats")
            await page.get_by_role("button", name="OK").click()  # "Do you want to set up …?"

            await page.locator("input[name=access_token]").fill(token)
            await page.locator("input[name=instance_id]").fill(instance_id)
            await page.get_by_text("Advanced settings").click()
            await page.locator("input[name=base_url]").fill(emu.api_url)
            await page.get_by_role("button", name="Submit").click()

            await page.get_by_text("Scan a QR code").click()
            await page.get_by_text("Scan the QR code").wait_for()
            image = page.locator("img[src^='data:image/png;base64,']")
            await image.wait_for()
            await image.evaluate(
                "img => img.complete && img.naturalWidth > 0"
                " || new Promise(done => img.addEventListener('load', done, {once: true}))"
            )
            png = await page.screenshot()
            current = await emu.qr(instance_id)  # before linking, which ends the QR codes

            # Nothing to submit: once the phone has scanned the code, the dialog moves on by itself.
            assert await page.get_by_role("button", name="Submit").count() == 0
            await emu.link(instance_id)
            await page.get_by_text("Name this WhatsApp number").wait_for()
            await page.locator("input[name=name]").wait_for()
        except BaseException:
            with contextlib.suppress(Exception):
                (ARTIFACTS / "e2e").mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=ARTIFACTS / "e2e" / "browser-failure.png")
            raise

    keep_artifact(png, SCREENSHOT)
    assert current["payload"] is not None
    assert decode_qr_codes(png) == [current["payload"]]
