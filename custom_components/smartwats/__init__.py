"""The SmartWats integration: WhatsApp messages through the SmartWats gateway."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntryChange
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.typing import ConfigType

from .ask import AskWaiters
from .assist import SmartwatsAssist
from .compat import async_get_or_create_device
from .const import DOMAIN, LOGGER
from .coordinator import SmartwatsLinkCoordinator
from .entity import instance_device_info
from .llm_api import async_setup_llm_api
from .media import async_setup_media
from .migrate import async_migrate_entry
from .models import SmartwatsConfigEntry, SmartwatsRuntimeData, async_create_client
from .outbox import Outbox
from .repairs import async_delete_relogin_issue
from .sender import SmartwatsSender
from .services import async_setup_services
from .stats import MessageStats
from .webhook import (
    PostProcessor,
    async_register_webhook,
    async_setup_webhooks,
    async_unregister_webhook,
)
from .webhook_url import WebhookRegistration, async_remove_webhook_url

__all__ = ["async_migrate_entry"]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.NOTIFY,
    Platform.SENSOR,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the SmartWats integration (configured from the UI only) and its actions.

    Every entry's webhook gets its handler here, so that posts are kept while an entry is not
    loaded yet (see webhook.py).
    """
    async_setup_services(hass)
    async_setup_media(hass)
    async_setup_webhooks(hass)
    async_setup_llm_api(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SmartwatsConfigEntry) -> bool:
    """Set up a SmartWats instance from a config entry.

    The first probe of the link state doubles as the check that the entry still works: the
    coordinator raises `ConfigEntryAuthFailed` for a token the gateway no longer knows (which
    starts re-authentication), `ConfigEntryError` for an invalidated instance, and the first
    refresh turns a temporary failure into `ConfigEntryNotReady`.
    """
    # Posts that arrive from now until the entry is loaded wait in its inbox (an entry created
    # after start-up is registered here).
    inbox = async_register_webhook(hass, entry)
    # The relink is Home Assistant's re-authentication repair now, not an issue of ours.
    async_delete_relogin_issue(hass, entry)
    client = async_create_client(hass, entry.data, entry.options)
    coordinator = SmartwatsLinkCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    stats = MessageStats()
    outbox = Outbox(hass, entry.entry_id)
    await outbox.async_load()
    sender = SmartwatsSender(
        hass, entry, client, coordinator=coordinator, stats=stats, outbox=outbox
    )
    entry.async_on_unload(sender.async_stop)
    webhook = WebhookRegistration(hass, entry, client, coordinator)
    entry.async_on_unload(webhook.async_stop)
    asks = AskWaiters(hass)
    entry.async_on_unload(asks.async_stop)
    assist = SmartwatsAssist(hass, entry, sender)
    entry.runtime_data = SmartwatsRuntimeData(
        client=client,
        coordinator=coordinator,
        sender=sender,
        stats=stats,
        webhook=webhook,
        asks=asks,
        assist=assist,
    )
    # Recipients' devices link to the instance's device: it must exist before the platforms.
    async_get_or_create_device(hass, entry.entry_id, instance_device_info(entry))
    # Before the platforms: the event entities show whether the gateway has a URL.
    await webhook.async_start()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(_async_reload_on_recipient_change(hass, entry))
    # Last, once the counters are restored and the event entities listen: the posts that
    # waited, then the new ones.
    processor = PostProcessor(hass, entry, inbox, coordinator, stats, asks=asks, assist=assist)
    entry.async_on_unload(inbox.async_attach(processor))
    # And what waited in the outbox, once the gateway can take it.
    sender.async_start()
    return True


def _recipient_subentries(
    entry: SmartwatsConfigEntry,
) -> dict[str, tuple[str, dict[str, object]]]:
    return {
        subentry_id: (subentry.title, dict(subentry.data))
        for subentry_id, subentry in entry.subentries.items()
    }


def _async_reload_on_recipient_change(
    hass: HomeAssistant, entry: SmartwatsConfigEntry
) -> Callable[[], None]:
    """Reload the entry when a recipient is added, changed or removed.

    Each recipient has entities of its own. An update listener cannot do this: Home Assistant
    refuses one next to the options flow's automatic reload and the reauth flow's
    update-and-reload, so the entry's change signal is watched instead.
    """
    recipients = _recipient_subentries(entry)

    @callback
    def entry_changed(change: ConfigEntryChange, changed: SmartwatsConfigEntry) -> None:
        if (
            change is ConfigEntryChange.UPDATED
            and changed.entry_id == entry.entry_id
            and _recipient_subentries(changed) != recipients
        ):
            hass.config_entries.async_schedule_reload(entry.entry_id)

    return async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed)


async def async_unload_entry(hass: HomeAssistant, entry: SmartwatsConfigEntry) -> bool:
    """Unload a config entry (the coordinator stops polling when the entry unloads)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: SmartwatsConfigEntry) -> None:
    """Delete the cloudhook and turn the gateway's webhook off (best effort, never fails)."""
    async_delete_relogin_issue(hass, entry)
    async_unregister_webhook(hass, entry)
    await Outbox(hass, entry.entry_id).async_delete()
    try:
        client = async_create_client(hass, entry.data, entry.options)
    except ValueError as err:
        LOGGER.debug("Could not turn the webhook of %s off: %s", entry.title, err)
        return
    await async_remove_webhook_url(hass, entry, client)
