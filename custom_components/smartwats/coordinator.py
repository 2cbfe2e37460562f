"""The coordinator that tracks whether a SmartWats instance is linked to its phone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .api import (
    LinkState,
    LinkStatus,
    SmartwatsAuthError,
    SmartwatsClient,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsInstanceError,
    SmartwatsLoggedOutError,
    SmartwatsNotLinkedError,
)
from .const import (
    DOMAIN,
    LINKED_POLL_INTERVAL,
    LOGGER,
    QR_MAX_AGE,
    QR_WATCH_POLL_INTERVAL,
    QR_WATCH_WINDOW,
    UNLINKED_POLL_INTERVAL,
)
from .errors import translation_key

_NEVER = datetime.min.replace(tzinfo=UTC)
# The ids of the entries whose session is logged out, for this run of Home Assistant.
_LOGGED_OUT: HassKey[set[str]] = HassKey(f"{DOMAIN}_logged_out")


class SmartwatsLinkCoordinator(DataUpdateCoordinator[LinkState]):
    """Whether the instance is linked to a phone and, while it is not, its current QR code.

    The gateway reports the link state nowhere, so it is probed with the QR call: rarely while
    linked, often while a scan is awaited. Anything else that reveals the state (a send answered
    "relogin required", an inbound message) sets it at once with `async_set_logged_out` /
    `async_set_linked`.

    A config entry is only created for an instance that has been linked (the config flow links it
    first), so an instance that is not linked any more has been logged out by its phone: the
    status is then always `LinkStatus.LOGGED_OUT`, with the QR code the gateway meanwhile shows
    (scanning it links the instance again), until a probe or an inbound message shows it linked.
    While logged out, a repair issue is open and a re-authentication flow (the relink) is started.
    """

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, client: SmartwatsClient) -> None:
        """Set up the coordinator of one config entry."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"SmartWats link state of {entry.title}",
            update_interval=LINKED_POLL_INTERVAL,
            # Listeners only hear of a change: the same state (and the same QR) again is no news.
            always_update=False,
        )
        self.client = client
        # Whether the session is suspected dead: a call answered "relogin required" and nothing
        # has proved it alive since. The gateway's database may still call such a session linked,
        # so a "linked" probe is then confirmed with a call that needs the live session.
        self._suspect_dead = False
        self._probed_at = _NEVER
        self._qr_watched_until = _NEVER
        # False while the gateway cannot be reached (the link state is then the last known).
        self.reachable = True
        self._qr_lock = asyncio.Lock()

    async def _async_update_data(self) -> LinkState:
        """Probe the link state."""
        try:
            state = await self.client.get_link_state(verify=self._suspect_dead)
        except SmartwatsAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key=translation_key(err)
            ) from err
        except SmartwatsInstanceError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key=translation_key(err),
                translation_placeholders={"error": err.message},
            ) from err
        except SmartwatsConnectionError as err:
            return self._async_unreachable(err)
        except SmartwatsError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": err.message},
            ) from err
        if not self.reachable:
            LOGGER.info(
                "The SmartWats gateway of %s answers again: recovered", self.config_entry.title
            )
            self.reachable = True
            self.async_update_listeners()
        self._probed_at = dt_util.utcnow()
        if state.linked:
            self._suspect_dead = False
        return self._async_apply(state)

    def _async_unreachable(self, err: SmartwatsConnectionError) -> LinkState:
        """Keep the last link state through a gateway hiccup; look again soon.

        An unreachable gateway says nothing about the session, so the state is kept (with
        `reachable` false, which makes the link entities unavailable) and the next probe comes in
        30 s rather than 5 minutes. Logged once per outage, as a warning: a temporary failure of
        a service on the internet is no error of Home Assistant's.
        """
        if self.data is None:  # the first probe: setup is retried (ConfigEntryNotReady)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": err.message},
            ) from err
        self.update_interval = min(self._interval(self.data), UNLINKED_POLL_INTERVAL)
        if self.reachable:
            LOGGER.warning(
                "Cannot reach the SmartWats gateway of %s, trying again every %s: %s",
                self.config_entry.title,
                self.update_interval,
                err,
            )
            self.reachable = False
            # The state itself is unchanged, so listeners would not hear of it otherwise.
            self.async_update_listeners()
        return self.data

    @callback
    def async_set_linked(self, *, except_flow: str | None = None) -> None:
        """Record evidence of a live session.

        Evidence is a send, `set_webhook` or `get_groups` that succeeded, an inbound message, or
        a completed QR / pair-code link. It also ends a failed probe's unavailability at once.
        ``except_flow`` is a relink flow that reports its own success (not aborted as left
        behind).
        """
        self._suspect_dead = False
        if self.data is not None and self.data.linked and self.reachable:
            return
        self.reachable = True
        self.async_set_updated_data(self._async_apply(LinkState(LinkStatus.LINKED), except_flow))

    @callback
    def async_gateway_failed(self, err: SmartwatsError | ValueError) -> None:
        """Act on what a failed gateway call reveals about the entry.

        A revoked token starts re-authentication; a session that is not linked (any more) is
        recorded as logged out, which raises the relink repair.
        """
        if isinstance(err, SmartwatsAuthError):
            self.config_entry.async_start_reauth(self.hass)
        elif isinstance(err, SmartwatsLoggedOutError | SmartwatsNotLinkedError):
            self.async_set_logged_out()

    @callback
    def async_set_logged_out(self) -> None:
        """Record that the session is gone (a call answered "relogin required", or a logout).

        Until evidence of a live session arrives, a probe's "linked" is confirmed first.
        """
        self._suspect_dead = True
        if self.data is not None and self.data.status is LinkStatus.LOGGED_OUT:
            return
        # No QR yet: the next probe (at the faster pace set now) brings one.
        self._probed_at = _NEVER
        self.async_set_updated_data(self._async_apply(LinkState(LinkStatus.LOGGED_OUT)))

    async def async_qr_viewed(self) -> None:
        """Keep the QR current while someone is looking at it (the image entity was fetched).

        The gateway's QR rotates about every 20 s and an old one cannot be scanned, while the
        link state is probed only every 30 s when nobody watches (an unattended logged-out entry
        must not hammer the gateway). So fetching the image both refreshes a QR older than
        `QR_MAX_AGE` before it is served, and switches to probing every `QR_WATCH_POLL_INTERVAL`
        for `QR_WATCH_WINDOW`. Each new QR changes the image entity's state, which makes the
        frontend fetch the image again, which extends the window: the picture stays current as
        long as it is on screen, and polling slows down again a minute after it is closed.
        """
        if self.data is None or self.data.linked:
            return
        self._qr_watched_until = dt_util.utcnow() + QR_WATCH_WINDOW
        # One viewer at a time: who comes second finds the QR fresh and the pace set.
        async with self._qr_lock:
            if (
                self.update_interval == QR_WATCH_POLL_INTERVAL
                and dt_util.utcnow() - self._probed_at < QR_MAX_AGE
            ):
                return
            self.update_interval = QR_WATCH_POLL_INTERVAL
            # Also reschedules the next probe at the faster pace.
            await self.async_refresh()

    @callback
    def _async_apply(self, state: LinkState, except_flow: str | None = None) -> LinkState:
        """Act on a link state (log, relink flow, poll interval); return it to keep."""
        if not state.linked:
            # See the class docstring: not linked any more means logged out by the phone.
            state = LinkState(LinkStatus.LOGGED_OUT, state.qr_code)
        entry = self.config_entry
        # Entries logged out in this run: a reload in between is no news (logged once).
        logged_out = self.hass.data.setdefault(_LOGGED_OUT, set())
        if state.linked:
            if entry.entry_id in logged_out:
                logged_out.discard(entry.entry_id)
                LOGGER.info("The WhatsApp session of %s is linked again", entry.title)
            # A relink flow started when the session went has nothing left to do.
            flows = self.hass.config_entries.flow
            for flow in entry.async_get_active_flows(self.hass, {SOURCE_REAUTH}):
                if flow["flow_id"] != except_flow:
                    flows.async_abort(flow["flow_id"])
        else:
            if entry.entry_id not in logged_out:
                logged_out.add(entry.entry_id)
                LOGGER.warning(
                    "The WhatsApp session of %s is not linked any more; "
                    "link it again from Settings > Repairs",
                    entry.title,
                )
            # The relink: Home Assistant's re-authentication flow (one repair, "Reconfigure"
            # on the entry), which the config flow turns into the QR / pair-code steps. Asked
            # for at every probe while logged out: Home Assistant starts it only when none is in
            # progress, so one that was dismissed comes back.
            entry.async_start_reauth(self.hass)
        self.update_interval = self._interval(state)
        return state

    def _interval(self, state: LinkState | None) -> timedelta:
        if state is not None and state.linked:
            return LINKED_POLL_INTERVAL
        if dt_util.utcnow() < self._qr_watched_until:
            return QR_WATCH_POLL_INTERVAL
        return UNLINKED_POLL_INTERVAL
