"""Tests of the message event entities: one per instance, one per recipient."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.const import CONF_NAME, STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.smartwats.api.inbound import MESSAGE_TYPES, InboundMessage
from custom_components.smartwats.const import CONF_TARGET, DOMAIN, SUBENTRY_RECIPIENT
from custom_components.smartwats.urls import async_reachable_base_url
from custom_components.smartwats.webhook import message_in_chat
from smartwats_emulator.wamessages import build_inbound
from smartwats_emulator.webhooks import webhook_body

from .conftest import LINKED_PHONE, WEBHOOK_ID

INSTANCE_EVENT = f"event.{LINKED_PHONE}_message"
MUM_EVENT = "event.mum_message"
FAMILY_EVENT = "event.family_message"
LID_EVENT = "event.neighbour_message"
MUM = "966501234567"
GROUP = "120363025246125486@g.us"
LID = "123456789012345@lid"
URL = f"/api/webhook/{WEBHOOK_ID}"


@pytest.fixture
def instance_id(fixed_instance_id: str) -> str:
    """The instance has a fixed id, so that snapshots do not change."""
    return fixed_instance_id


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the event platform."""
    return [Platform.EVENT]


def _recipient(subentry_id: str, name: str, target: str) -> ConfigSubentryDataWithId:
    return ConfigSubentryDataWithId(
        data={CONF_NAME: name, CONF_TARGET: target},
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_RECIPIENT,
        title=name,
        unique_id=target,
    )


@pytest.fixture
def mock_config_entry(mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry with three recipients: a number, a group and a LID."""
    return MockConfigEntry(
        domain=mock_config_entry.domain,
        entry_id="01SMARTWATSENTRY000000000",
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        version=1,
        data=mock_config_entry.data,
        options=mock_config_entry.options,
        subentries_data=[
            _recipient("01RECIPIENTMUM00000000000", "Mum", MUM),
            _recipient("01RECIPIENTFAMILY00000000", "Family", GROUP),
            _recipient("01RECIPIENTNEIGHBOUR00000", "Neighbour", LID),
        ],
    )


@pytest.fixture
async def client(
    hass_client_no_auth: ClientSessionGenerator, init_integration_platforms: MockConfigEntry
) -> TestClient:
    """An HTTP client of Home Assistant, with the entry set up."""
    return await hass_client_no_auth()


async def post_message(
    hass: HomeAssistant, client: TestClient, instance_id: str, kind: str, **fields: Any
) -> dict[str, Any]:
    """Post one message as messages.upsert; return its WAMessage."""
    fields.setdefault("timestamp", 1718000000)
    message = build_inbound(
        kind, fields, own_jid=f"{LINKED_PHONE}@s.whatsapp.net", default_group=GROUP
    )
    body = webhook_body(instance_id, "messages.upsert", {"type": "notify", "messages": [message]})
    response = await client.post(URL, json=body)
    assert response.status == 200
    await hass.async_block_till_done()
    return message


async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration_platforms: MockConfigEntry,
) -> None:
    """The instance's event entity and one per recipient: registry entries and states."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration_platforms.entry_id)


async def test_fired_state(
    hass: HomeAssistant,
    client: TestClient,
    instance_id: str,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
) -> None:
    """The state after a message: the time it fired, its type and the event's fields."""
    freezer.move_to("2024-06-10T06:13:21+00:00")
    await post_message(
        hass,
        client,
        instance_id,
        "location",
        name="Home",
        latitude=24.5,
        longitude=46.25,
        message_id="3A0123456789ABCDEF01",
    )
    assert hass.states.get(INSTANCE_EVENT) == snapshot(name="instance")
    assert hass.states.get(MUM_EVENT) == snapshot(name="mum")


async def test_other_subentry_types_get_no_entity(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    mock_config_entry: MockConfigEntry,
    platforms: list[Platform],
) -> None:
    """Only recipients have event entities."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=mock_config_entry.unique_id,
        title=mock_config_entry.title,
        data=mock_config_entry.data,
        options=mock_config_entry.options,
        subentries_data=[
            ConfigSubentryDataWithId(
                data={}, subentry_id="01OTHER", subentry_type="other", title="x", unique_id=None
            )
        ],
    )
    entry.add_to_hass(hass)
    with patch("custom_components.smartwats.PLATFORMS", platforms):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert [
        e.entity_id for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    ] == [INSTANCE_EVENT]


async def test_recipient_entities_on_their_devices(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    init_integration_platforms: MockConfigEntry,
    instance_id: str,
) -> None:
    """Each recipient's entity is on the recipient's device, under its subentry."""
    for entity_id, subentry_id in (
        (MUM_EVENT, "01RECIPIENTMUM00000000000"),
        (FAMILY_EVENT, "01RECIPIENTFAMILY00000000"),
    ):
        registered = entity_registry.async_get(entity_id)
        assert registered is not None
        assert registered.config_subentry_id == subentry_id
        device = device_registry.async_get(registered.device_id)
        assert device is not None
        # Keyed on the subentry: a new number keeps the device.
        assert device.identifiers == {(DOMAIN, f"{instance_id}_{subentry_id}")}
    instance = entity_registry.async_get(INSTANCE_EVENT)
    assert instance is not None
    assert instance.config_subentry_id is None
    state = hass.states.get(INSTANCE_EVENT)
    assert state is not None
    assert state.state == STATE_UNKNOWN
    assert state.attributes["event_types"] == list(MESSAGE_TYPES)


async def test_message_fires_the_entities(
    hass: HomeAssistant,
    client: TestClient,
    init_integration_platforms: MockConfigEntry,
    instance_id: str,
) -> None:
    """A message from Mum fires the instance's and Mum's entities, with the event's fields."""
    message = await post_message(
        hass, client, instance_id, "button_reply", button_id="disarm", display_text="Disarm"
    )
    state = hass.states.get(INSTANCE_EVENT)
    assert state is not None
    assert state.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    assert state.attributes["event_type"] == "button_reply"
    assert state.attributes["button_id"] == "disarm"
    assert state.attributes["text"] == "Disarm"
    assert state.attributes["message_id"] == message["key"]["id"]
    assert state.attributes["config_entry_id"] == init_integration_platforms.entry_id
    assert state.attributes["sender"] == MUM

    mum = hass.states.get(MUM_EVENT)
    assert mum is not None
    assert mum.attributes["event_type"] == "button_reply"
    assert mum.attributes["button_id"] == "disarm"
    for other in (FAMILY_EVENT, LID_EVENT):
        state = hass.states.get(other)
        assert state is not None
        assert state.state == STATE_UNKNOWN


async def test_group_message_fires_the_group(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """A message in the group fires the group's entity, not the sender's."""
    await post_message(hass, client, instance_id, "image", group=GROUP, from_number=MUM)
    family = hass.states.get(FAMILY_EVENT)
    assert family is not None
    assert family.attributes["event_type"] == "image"
    assert family.attributes["group_id"] == GROUP
    mum = hass.states.get(MUM_EVENT)
    assert mum is not None
    assert mum.state == STATE_UNKNOWN


async def test_lid_chats_match_number_and_lid_recipients(
    hass: HomeAssistant, client: TestClient, instance_id: str
) -> None:
    """A LID chat fires the LID's recipient, and the number's when the phone is known."""
    await post_message(hass, client, instance_id, "text", lid="123456789012345", text="hi")
    for entity_id in (LID_EVENT, MUM_EVENT, INSTANCE_EVENT):
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.attributes["event_type"] == "text"
        assert state.attributes["chat_id"] == LID


def _message(**fields: Any) -> InboundMessage:
    base: dict[str, Any] = {
        "message_id": "X",
        "chat_id": f"{MUM}@s.whatsapp.net",
        "sender": MUM,
        "sender_jid": f"{MUM}@s.whatsapp.net",
        "sender_name": None,
        "is_group": False,
        "group_id": None,
        "type": "text",
        "chat_number": MUM,
    }
    return InboundMessage(**(base | fields))


@pytest.mark.parametrize(
    ("target", "message", "expected"),
    [
        (MUM, _message(), True),
        (f"{MUM}@s.whatsapp.net", _message(), True),
        ("966500000009", _message(), False),
        (MUM, _message(from_me=True, sender=LINKED_PHONE), True),
        (MUM, _message(chat_id=LID, chat_number=None), False),
        (LID, _message(chat_id=LID, chat_number=None), True),
        (GROUP, _message(is_group=True, group_id=GROUP, chat_id=GROUP, chat_number=None), True),
        (MUM, _message(is_group=True, group_id=GROUP, chat_id=GROUP, chat_number=None), False),
    ],
)
def test_message_in_chat(target: str, message: InboundMessage, expected: bool) -> None:
    """Which recipient a message belongs to: its chat (own messages in it too)."""
    assert message_in_chat(target, message) is expected


@pytest.fixture
def no_url() -> Generator[None]:
    """Home Assistant has no URL the gateway can reach (the gateway is on the internet)."""

    def reachable(hass: HomeAssistant, _gateway: str, *, allow_cloud: bool) -> str | None:
        return async_reachable_base_url(hass, "https://app.smartwats.com/api/", allow_cloud=False)

    with patch("custom_components.smartwats.webhook_url.async_reachable_base_url", reachable):
        yield


@pytest.mark.usefixtures("no_url")
async def test_unavailable_without_a_url(
    hass: HomeAssistant, init_integration_platforms: MockConfigEntry
) -> None:
    """Without a URL no message can arrive: the entities are unavailable until there is one."""
    for entity_id in (INSTANCE_EVENT, MUM_EVENT):
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == STATE_UNAVAILABLE
    await hass.config.async_update(external_url="https://home.example.com")
    await hass.async_block_till_done()
    for entity_id in (INSTANCE_EVENT, MUM_EVENT):
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == STATE_UNKNOWN
    await hass.config.async_update(external_url=None)
    await hass.async_block_till_done()
    state = hass.states.get(INSTANCE_EVENT)
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
