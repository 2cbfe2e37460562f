"""Where the gateway posts: the webhook URL given to it, kept current, and its repair issue.

The gateway posts each event once, unsigned and without retries, to one URL per instance, so the
URL (with the entry's random webhook id) is the only secret and is never logged. Which URL:

- the Home Assistant Cloud cloudhook when the user has an active subscription (created once,
  kept in the entry's data, deleted when the entry is removed);
- otherwise Home Assistant's own URL as the gateway can reach it (`urls.py`): an HTTPS external
  URL on a public host, or any URL when the gateway itself is on a local address;
- when there is none, the `webhook_unavailable` repair issue explains how to get one (sending
  keeps working).

The URL and the entry's allowed events are given to the gateway whenever the instance is linked
and either differs from what was given last in this run, and again after every relink. What the
posts hold is handled in `webhook.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
import logging
from typing import Literal

from homeassistant.components.webhook import async_generate_path, async_generate_url
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_WEBHOOK_ID, EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.util import dt as dt_util

from .api import DEFAULT_BASE_URL, SmartwatsClient, SmartwatsError, SmartwatsLoggedOutError
from .const import (
    CONF_ALLOWED_EVENTS,
    CONF_BASE_URL,
    CONF_CLOUDHOOK_URL,
    DEFAULT_ALLOWED_EVENTS,
    DOMAIN,
    LOGGER,
    WEBHOOK_RETRY_INTERVAL,
)
from .coordinator import SmartwatsLinkCoordinator
from .repairs import async_create_webhook_issue, async_delete_webhook_issue
from .urls import async_reachable_base_url, url_is_public

# Sent with enable=false when Home Assistant has no URL: the gateway only checks that it is one.
_PLACEHOLDER_WEBHOOK_URL = "https://webhook.invalid/smartwats-disabled"

type UrlKind = Literal["cloudhook", "external", "internal", "none"]
type SyncResult = Literal["ok", "failed", "logged_out"]


def allowed_events(entry: ConfigEntry) -> tuple[str, ...]:
    """Return the events the entry asks the gateway to post (none given: all of them).

    Entries of old releases may hold them as the gateway's comma-separated text.
    """
    events = entry.options.get(CONF_ALLOWED_EVENTS) or DEFAULT_ALLOWED_EVENTS
    if isinstance(events, str):
        events = events.split(",")
    return tuple(event.strip() for event in events if event.strip())


def signal_webhook_state(entry: ConfigEntry) -> str:
    """Return the dispatcher signal sent when the webhook gets or loses its URL."""
    return f"{DOMAIN}_{entry.entry_id}_webhook_state"


def _cloud_active(hass: HomeAssistant) -> bool:
    """Tell whether the user has an active Home Assistant Cloud subscription."""
    if "cloud" not in hass.config.components:
        return False
    from homeassistant.components import cloud  # noqa: PLC0415 - an optional after-dependency

    return cloud.async_active_subscription(hass)


class WebhookRegistration:
    """The webhook URL of one loaded config entry at the gateway, kept current."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: SmartwatsClient,
        coordinator: SmartwatsLinkCoordinator,
    ) -> None:
        """Prepare the registration of an entry being set up."""
        self.hass = hass
        self.entry = entry
        self._client = client
        self._coordinator = coordinator
        self.webhook_id: str = entry.data[CONF_WEBHOOK_ID]
        # The URL the gateway can post to (None: there is none), its kind, and what was last
        # given to the gateway.
        self.url: str | None = None
        self.url_kind: UrlKind = "none"
        self.sent: tuple[str, tuple[str, ...]] | None = None
        # The outcome of the last set_webhook call and when (for diagnostics).
        self.last_sync: SyncResult | None = None
        self.last_sync_at: datetime | None = None
        self._linked: bool | None = None
        self._lock = asyncio.Lock()
        self._retry: CALLBACK_TYPE | None = None
        self._failing = False
        self._unsubscribe: list[Callable[[], None]] = []

    async def async_start(self) -> None:
        """Give the webhook's URL to the gateway and follow what may change it."""
        self._linked = self._coordinator.data.linked
        self._unsubscribe.append(self._coordinator.async_add_listener(self._async_link_changed))
        self._unsubscribe.append(
            self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._async_config_changed)
        )
        if "cloud" in self.hass.config.components:
            from homeassistant.components import cloud  # noqa: PLC0415 - optional

            self._unsubscribe.append(
                cloud.async_listen_connection_change(self.hass, self._async_cloud_changed)
            )
        # The URL (and the repair) now; the gateway is told in the background, not delaying setup.
        async with self._lock:
            self._async_set_url(await self.async_get_url())
        self._async_schedule_sync()

    @callback
    def async_stop(self) -> None:
        """Stop following changes (the entry unloads)."""
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._retry is not None:
            self._retry()
            self._retry = None

    async def _async_cloudhook_url(self) -> str | None:
        """Return the entry's cloudhook URL, created the first time; None when Cloud cannot."""
        if url := self.entry.data.get(CONF_CLOUDHOOK_URL):
            return str(url)
        from homeassistant.components import cloud  # noqa: PLC0415 - optional

        try:
            url = await cloud.async_create_cloudhook(self.hass, self.webhook_id)
        except cloud.CloudNotAvailable as err:
            # Not connected yet: the connection listener tries again once it is.
            LOGGER.debug("No Home Assistant Cloud webhook for %s yet: %s", self.entry.title, err)
            return None
        except Exception as err:  # noqa: BLE001 - Cloud's own errors; never fail the setup
            LOGGER.warning(
                "Could not create a Home Assistant Cloud webhook for %s: %s", self.entry.title, err
            )
            return None
        self.hass.config_entries.async_update_entry(
            self.entry, data={**self.entry.data, CONF_CLOUDHOOK_URL: url}
        )
        return str(url)

    async def async_get_url(self) -> str | None:
        """Return the URL the gateway can post to, or None when Home Assistant has none."""
        if _cloud_active(self.hass) and (url := await self._async_cloudhook_url()):
            self.url_kind = "cloudhook"
            return url
        gateway = self.entry.data.get(CONF_BASE_URL) or DEFAULT_BASE_URL
        base = async_reachable_base_url(self.hass, gateway, allow_cloud=False)
        if base is None:
            self.url_kind = "none"
            return None
        self.url_kind = "external" if url_is_public(base) else "internal"
        return f"{base.rstrip('/')}{async_generate_path(self.webhook_id)}"

    async def async_sync(self, *, force: bool = False) -> None:
        """Give the URL and the allowed events to the gateway when they changed (or ``force``)."""
        async with self._lock:
            url = await self.async_get_url()
            self._async_set_url(url)
            coordinator = self._coordinator
            if url is None or not coordinator.data.linked:
                return
            wanted = (url, allowed_events(self.entry))
            if wanted == self.sent and not force:
                return
            if self._retry is not None:
                self._retry()
                self._retry = None
            try:
                await self._client.set_webhook(url, enable=True, allowed_events=wanted[1])
            except SmartwatsLoggedOutError:
                # Sent again after the relink.
                self._async_synced("logged_out")
                coordinator.async_set_logged_out()
                return
            except SmartwatsError as err:
                self._async_synced("failed")
                # Logged once per outage, then at debug level at each retry.
                LOGGER.log(
                    logging.DEBUG if self._failing else logging.WARNING,
                    "Could not give the webhook of %s to the gateway, retrying every %s: %s",
                    self.entry.title,
                    WEBHOOK_RETRY_INTERVAL,
                    err,
                )
                self._failing = True
                self._retry = async_call_later(self.hass, WEBHOOK_RETRY_INTERVAL, self._async_retry)
                return
            self._async_synced("ok")
            # Only a live session takes a webhook: evidence that the instance is linked.
            coordinator.async_set_linked()
            if self._failing:
                LOGGER.info("The gateway has the webhook of %s again", self.entry.title)
                self._failing = False
            elif self.sent is None or self.sent[0] != url:
                LOGGER.debug("The gateway posts the events of %s to a new URL", self.entry.title)
            self.sent = wanted

    @callback
    def _async_synced(self, result: SyncResult) -> None:
        self.last_sync = result
        self.last_sync_at = dt_util.utcnow()

    @callback
    def _async_set_url(self, url: str | None) -> None:
        """Keep the URL; open or close the repair issue and tell the event entities."""
        had_url = self.url is not None
        self.url = url
        if url is None:
            async_create_webhook_issue(self.hass, self.entry)
        else:
            async_delete_webhook_issue(self.hass, self.entry)
        if had_url != (url is not None):
            async_dispatcher_send(self.hass, signal_webhook_state(self.entry))

    @callback
    def _async_schedule_sync(self, *, force: bool = False) -> None:
        self.entry.async_create_task(
            self.hass, self.async_sync(force=force), f"{DOMAIN} webhook update"
        )

    @callback
    def _async_retry(self, _now: object) -> None:
        self._retry = None
        self._async_schedule_sync()

    @callback
    def _async_link_changed(self) -> None:
        """Give the webhook to the gateway again once the instance is linked again."""
        linked = self._coordinator.data.linked
        relinked = linked and self._linked is False
        self._linked = linked
        if relinked:
            self._async_schedule_sync(force=True)

    @callback
    def _async_config_changed(self, _event: Event) -> None:
        """Home Assistant's URLs may have changed."""
        self._async_schedule_sync()

    @callback
    def _async_cloud_changed(self, _state: object) -> None:
        """Home Assistant Cloud connected or disconnected: the cloudhook may be usable now."""
        self._async_schedule_sync()


async def async_remove_webhook_url(
    hass: HomeAssistant, entry: ConfigEntry, client: SmartwatsClient
) -> None:
    """Delete the entry's cloudhook and turn the gateway's webhook off (best effort)."""
    async_delete_webhook_issue(hass, entry)
    if entry.data.get(CONF_CLOUDHOOK_URL):
        from homeassistant.components import cloud  # noqa: PLC0415 - optional

        try:
            await cloud.async_delete_cloudhook(hass, entry.data[CONF_WEBHOOK_ID])
        except cloud.CloudNotAvailable as err:
            LOGGER.debug("Could not delete the cloudhook of %s: %s", entry.title, err)
    url = _PLACEHOLDER_WEBHOOK_URL
    if webhook_id := entry.data.get(CONF_WEBHOOK_ID):
        with suppress(NoURLAvailableError):
            url = async_generate_url(hass, webhook_id)
    try:
        await client.set_webhook(url, enable=False)
    except SmartwatsError as err:
        LOGGER.debug("Could not turn the webhook of %s off: %s", entry.title, err)
