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
    EmulatorServer,
    HarnessError,
    HomeAssistantClient,
    HomeAssistantServer,
    wait_for_webhook,
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
            await fill_in_the_gateway(page, hass_server.url, token, instance_id, emu.api_url)
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


# Text the frontend shows for a translation it could not render, or a key it found no text for.
_UNTRANSLATED = re.compile(r"Translation error|MALFORMED_ARGUMENT|component\.smartwats\.")


async def expect_translated(page: Page, where: str) -> None:
    """Fail when the page shows an untranslated key or a broken translation."""
    # The dialogs live in shadow roots: innerText of the body does not reach them, Playwright's
    # text engine does.
    shown = await page.locator("body").evaluate(
        """body => {
            const texts = [];
            const walk = root => {
                for (const el of root.querySelectorAll('*')) {
                    if (el.shadowRoot) walk(el.shadowRoot);
                }
                texts.push(root.textContent || '');
            };
            walk(document);
            return texts.join('\\n');
        }"""
    )
    found = _UNTRANSLATED.search(shown)
    assert found is None, f"{where}: the page shows {found.group(0)!r}"


async def fill_in_the_gateway(page: Page, url: str, token: str, instance_id: str, api: str) -> None:
    """Open "Add integration" for SmartWats and submit the gateway's details (to the link menu)."""
    await page.goto(url + "/config/integrations/dashboard/add?domain=smartwats")
    await page.get_by_role("button", name="OK").click()  # "Do you want to set up …?"
    await page.locator("input[name=access_token]").fill(token)
    await page.locator("input[name=instance_id]").fill(instance_id)
    await page.get_by_text("Advanced settings").click()
    await page.locator("input[name=base_url]").fill(api)
    await expect_translated(page, "the first form")
    await page.get_by_role("button", name="Submit").click()


async def scan_the_qr_code(page: Page, emu: EmulatorClient, instance_id: str, phone: str) -> None:
    """Choose the QR code in the link menu, and let the phone scan it once it shows."""
    await page.get_by_text("Scan a QR code").click()
    await page.locator("img[src^='data:image/png;base64,']").wait_for()
    await expect_translated(page, "the QR step")
    await emu.link(instance_id, phone=phone)


async def add_recipient(
    page: Page, url: str, name: str, number: str, *, assist: bool = False
) -> None:
    """Add a recipient from the integration's page (of the only SmartWats entry)."""
    await page.goto(url + "/config/integrations/integration/smartwats")
    await page.get_by_role("button", name="Add recipient").first.click()
    await page.get_by_text("Add a recipient").wait_for()
    await page.locator("input[name=name]").fill(name)
    await page.locator("input[name=target]").fill(number)
    if assist:
        await page.locator("ha-switch").click()  # the only one: Let this chat talk to Assist
        await page.get_by_role("switch").and_(page.locator(":checked")).wait_for()
    await expect_translated(page, "the recipient form")
    if assist:
        png = await page.screenshot(animations="disabled")  # the switch as it ends up
        keep_artifact(png, ARTIFACTS / "recipient-assist.png")
    await page.get_by_role("button", name="Submit").click()
    await page.get_by_role("button", name="Finish").click()


async def send_and_receive(
    ha: HomeAssistantClient, emu: EmulatorClient, instance_id: str, number: str
) -> None:
    """Send a text to `number` and have it answer: the answer fires the event automations use."""
    await wait_for_webhook(emu, instance_id, ha.base_url)
    await ha.post(
        "/api/services/smartwats/send_text",
        {"target": "+" + number, "message": "The garage is open"},
    )
    sent = await emu.sent(instance_id)
    assert [(m["to"], m["payload"]["message"]) for m in sent] == [
        (f"{number}@s.whatsapp.net", "The garage is open")
    ], sent
    async with ha.events("smartwats_message_received") as events:
        reply = await emu.inject(instance_id, "text", text="Closing it", from_number=number)
        event = await events.wait_for(
            lambda e: e.data.get("message_id") == reply["key"]["id"], "for the reply"
        )
    assert (event.data["sender"], event.data["text"]) == (number, "Closing it")


async def relink_through_the_repair(
    page: Page, url: str, emu: EmulatorClient, instance_id: str, *, title: str, phone: str
) -> None:
    """Open the entry's repair, link again by QR code, and see the repair gone."""
    await page.goto(url + "/config/repairs")
    repair = page.get_by_text(title)
    await repair.first.wait_for()
    assert await repair.count() == 1  # one problem, one repair
    await expect_translated(page, "the repairs")
    keep_artifact(await page.screenshot(), ARTIFACTS / "relink-repair.png")
    await repair.first.click()

    await page.get_by_text("Link WhatsApp again").wait_for()
    await expect_translated(page, "the relink menu")
    await scan_the_qr_code(page, emu, instance_id, phone)
    await page.get_by_text("Re-authentication was successful").wait_for()
    await expect_translated(page, "the end of the relink")
    await page.locator("ha-dialog-footer").get_by_role("button", name="Close").click()

    await page.goto(url + "/config/repairs")
    await page.get_by_text(title).wait_for(state="detached")


@pytest.mark.usefixtures("debian_chromium")
async def test_a_newcomer_links_sends_receives_and_relinks_through_the_repair(
    hass_server: HomeAssistantServer,
    emu: EmulatorClient,
    ha: HomeAssistantClient,
    e2e_workdir: Path,
) -> None:
    """The first hour in the browser: add, link by QR, name, add a recipient, send, receive.

    Then the phone logs the session out. The next send fails and Home Assistant's
    re-authentication repair appears, the only one for the problem; its flow shows the link menu
    and the QR code, the phone scans it, and the repair is gone. No screen shows an untranslated
    key or a broken translation.
    """
    token, instance_id = await emu.create_instance(linked=False)
    phone = "966500000199"
    mum = "966501234588"
    url = hass_server.url

    async with chromium(e2e_workdir) as context:
        page = context.pages[0] if context.pages else await context.new_page()
        try:
            await log_in(page, url)
            await fill_in_the_gateway(page, url, token, instance_id, emu.api_url)
            await scan_the_qr_code(page, emu, instance_id, phone)
            await page.get_by_text("Name this WhatsApp number").wait_for()
            await page.locator("input[name=name]").fill("Home alerts")
            await page.locator("input[name=phone]").fill("+966 50 000 0199")
            await expect_translated(page, "the naming step")
            await page.get_by_role("button", name="Submit").click()
            # Home Assistant's own last step: the device, named after the entry, and its area.
            await page.get_by_text("Name and assign").wait_for()
            await expect_translated(page, "the success step")
            await page.get_by_role("button", name="Skip and finish").click()
            (entry_id,) = [
                e["entry_id"] for e in await ha.entries("smartwats") if e["title"] == "Home alerts"
            ]
            await ha.wait_entry_state(entry_id, "loaded")

            await add_recipient(page, url, "Mum", "+" + mum)
            await ha.wait_entry_state(entry_id, "loaded")
            await send_and_receive(ha, emu, instance_id, mum)

            # The phone logs the session out; the next send finds it out.
            await emu.post(f"/_emulator/instances/{instance_id}/logout_from_phone")
            with contextlib.suppress(HarnessError):  # the send fails: not linked
                await ha.post(
                    "/api/services/smartwats/send_text",
                    {"target": mum, "message": "Still there?", "valid_for": 0},
                )
            await relink_through_the_repair(
                page, url, emu, instance_id, title="Home alerts", phone=phone
            )
            await ha.wait_entry_state(entry_id, "loaded")
        except BaseException:
            with contextlib.suppress(Exception):
                (ARTIFACTS / "e2e").mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=ARTIFACTS / "e2e" / "newcomer-failure.png")
            raise
    await ha.delete(f"/api/config/config_entries/entry/{entry_id}")


@pytest.mark.usefixtures("debian_chromium")
async def test_a_bad_api_address_is_shown_with_its_field(
    hass_server: HomeAssistantServer, emu: EmulatorClient, e2e_workdir: Path
) -> None:
    """An address that is no URL: the error shows at the top, the section stays open to fix it.

    Home Assistant's sections show no field errors, so the error is the form's own and names the
    field; the section holding the address is open with what was typed, and fixing it goes on.
    """
    token, instance_id = await emu.create_instance(linked=True)
    url = hass_server.url

    async with chromium(e2e_workdir) as context:
        page = context.pages[0] if context.pages else await context.new_page()
        try:
            await log_in(page, url)
            await page.goto(url + "/config/integrations/dashboard/add?domain=smartwats")
            await page.get_by_role("button", name="OK").click()
            await page.locator("input[name=access_token]").fill(token)
            await page.locator("input[name=instance_id]").fill(instance_id)
            advanced = page.get_by_text("Advanced settings")
            await advanced.click()
            await page.locator("input[name=base_url]").fill("gateway.example?x=1")
            await advanced.click()  # closed again: the error must open it
            await page.locator("input[name=base_url]").wait_for(state="hidden")
            await page.get_by_role("button", name="Submit").click()
            await page.get_by_text("API address (under Advanced settings): enter an").wait_for()
            address = page.locator("input[name=base_url]")
            assert await address.is_visible()  # the section opened by itself
            assert await address.input_value() == "gateway.example?x=1"
            await expect_translated(page, "the address error")
            keep_artifact(await page.screenshot(), ARTIFACTS / "address-error.png")

            await address.fill(emu.api_url)
            await page.get_by_role("button", name="Submit").click()
            await page.get_by_text("Name this WhatsApp number").wait_for()  # linked already
        except BaseException:
            with contextlib.suppress(Exception):
                (ARTIFACTS / "e2e").mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=ARTIFACTS / "e2e" / "address-failure.png")
            raise


@pytest.mark.usefixtures("debian_chromium")
async def test_assist_from_the_phone_turns_on_the_porch_light(
    hass_server: HomeAssistantServer,
    emu: EmulatorClient,
    ha: HomeAssistantClient,
    e2e_workdir: Path,
    emulator_server: EmulatorServer,
) -> None:
    """A recipient with Assist on: on the phone page, Mum asks for the light, and it turns on.

    The recipient is added in the browser with the box ticked; the phone page's message goes to
    Home Assistant's own agent, which turns the light on and answers in Mum's chat on the page.
    """
    token, instance_id = await emu.create_instance(linked=True, phone="966500000177")
    mum = "966501234599"
    url = hass_server.url
    flow_id = (await ha.start_flow("smartwats"))["flow_id"]
    result = await ha.flow_step(
        flow_id,
        {"access_token": token, "instance_id": instance_id, "advanced": {"base_url": emu.api_url}},
    )
    result = await ha.flow_step(flow_id, {"name": "Assist home"})
    entry_id = result["result"]["entry_id"]
    await ha.wait_entry_state(entry_id, "loaded")

    async with chromium(e2e_workdir) as context:
        page = context.pages[0] if context.pages else await context.new_page()
        phone = await context.new_page()
        try:
            await log_in(page, url)
            await add_recipient(page, url, "Mum", "+" + mum, assist=True)
            await ha.wait_entry_state(entry_id, "loaded")
            await wait_for_webhook(emu, instance_id, ha.base_url)
            assert (await ha.get("/api/states/light.porch_light"))["state"] != "on"

            await phone.goto(emulator_server.url)
            await phone.get_by_text(f"instance_id: {instance_id}").click()
            await phone.locator("#from").fill(mum)
            await phone.locator("#text").fill("Turn on the porch light")
            await phone.get_by_role("button", name="Receive").click()
            await phone.locator("#messages").get_by_text("Turned on").wait_for()
            keep_artifact(await phone.screenshot(), ARTIFACTS / "assist-phone.png")
            assert (await ha.get("/api/states/light.porch_light"))["state"] == "on"
        except BaseException:
            with contextlib.suppress(Exception):
                (ARTIFACTS / "e2e").mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=ARTIFACTS / "e2e" / "assist-failure.png")
                await phone.screenshot(path=ARTIFACTS / "e2e" / "assist-phone-failure.png")
            raise
    await ha.delete(f"/api/config/config_entries/entry/{entry_id}")
