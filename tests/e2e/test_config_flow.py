"""The config flow over Home Assistant's REST API, as the frontend drives it, with the emulator."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image
import zxingcpp

from .conftest import DOMAIN
from .harness import EmulatorClient, HomeAssistantClient

PHONE = "966500000021"
_QR_IMAGE = re.compile(r"!\[[^\]]*\]\((data:image/png;base64,([A-Za-z0-9+/=]+))\)")


def decode_qr_png(png: bytes) -> list[str]:
    """Return the texts of the QR codes in a PNG image."""
    with Image.open(io.BytesIO(png)) as image:
        return [
            result.text
            for result in zxingcpp.read_barcodes(image.convert("L"))
            if result.format == zxingcpp.BarcodeFormat.QRCode
        ]


async def test_config_flow_links_by_qr_and_creates_the_entry(
    ha: HomeAssistantClient, emu: EmulatorClient
) -> None:
    """Credentials → link menu → QR step → the phone scans → it moves on → name → loaded entry."""
    token, instance_id = await emu.create_instance(linked=False)

    result = await ha.start_flow(DOMAIN)
    assert result["type"] == "form"
    assert result["step_id"] == "user"
    flow_id = result["flow_id"]
    assert [field["name"] for field in result["data_schema"]] == [
        "access_token",
        "instance_id",
        "advanced",
    ]

    result = await ha.flow_step(
        flow_id,
        {
            "access_token": token,
            "instance_id": instance_id,
            "advanced": {"base_url": emu.api_url},
        },
    )
    assert result["type"] == "menu"
    assert result["step_id"] == "link"
    assert set(result["menu_options"]) == {"qr", "pair_code"}

    # The QR step is a progress step: nothing to submit, it waits for the phone.
    result = await ha.flow_step(flow_id, {"next_step_id": "qr"})
    assert result["type"] == "progress", result
    assert result["step_id"] == "qr"
    assert result["progress_action"] == "wait_for_qr_scan"
    placeholders = result["description_placeholders"]
    shown = _QR_IMAGE.search(placeholders["qr_code"])
    assert shown is not None, placeholders
    current = await emu.qr(instance_id)
    # The image the user sees is the gateway's current code, and it encodes the current payload.
    assert shown.group(1) == current["base64"]
    assert decode_qr_png(base64.b64decode(shown.group(2))) == [current["payload"]]

    # A submit (from a client that knows the step as the form it once was) before the phone has
    # scanned the code changes nothing: the same code, still waiting.
    result = await ha.flow_step(flow_id, {})
    assert result["type"] == "progress", result
    assert result["step_id"] == "qr"
    assert result["description_placeholders"] == placeholders

    # The phone scans the code: the step moves on by itself, and Home Assistant tells the
    # frontend (which then loads the flow again), as it does for any progress step.
    async with ha.events("data_entry_flow_progressed") as events:
        await emu.link(instance_id, PHONE)
        await events.wait_for(
            lambda event: event.data.get("flow_id") == flow_id, "of the flow moving on"
        )
    result = await ha.flow(flow_id)
    assert result["type"] == "form", result
    assert result["step_id"] == "finish"
    # Scanning does not tell the phone's number: the last step asks for it (optional), and a name.
    assert [field["name"] for field in result["data_schema"]] == ["phone", "name"]
    default_name = f"WhatsApp {instance_id[-4:]}"
    assert result["description_placeholders"] == {
        "instance_id": instance_id,
        "default_name": default_name,
    }

    # Both left empty: the entry gets the default name.
    result = await ha.flow_step(flow_id, {})
    assert result["type"] == "create_entry", result
    entry_id = result["result"]["entry_id"]
    assert result["result"]["title"] == default_name

    entry = await ha.wait_entry_state(entry_id, "loaded")
    assert entry["domain"] == DOMAIN
    assert entry["title"] == default_name
    assert entry in await ha.entries(DOMAIN)

    # The instance's device, named after the entry, reports the link: its "Linked" binary sensor
    # is on.
    entity_ids = await ha.entity_ids(entry_id)
    linked = [e for e in entity_ids if e.startswith("binary_sensor.") and e.endswith("_linked")]
    assert linked == [f"binary_sensor.whatsapp_{instance_id[-4:].lower()}_linked"], entity_ids
    assert (await ha.get(f"/api/states/{linked[0]}"))["state"] == "on"

    await ha.delete(f"/api/config/config_entries/entry/{entry_id}")
    assert await ha.entry(entry_id) is None
