"""The integration's repair issues, raised and cleared here only.

- ``webhook_unavailable_<entry>``: Home Assistant has no URL the gateway can post to.

A session that is not linked any more is not an issue of ours: the coordinator starts Home
Assistant's re-authentication flow, whose one repair leads to the relink (QR / pair-code steps).
Earlier releases raised a ``relogin_required_<entry>`` issue of their own: it is deleted.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, ISSUE_RELOGIN_REQUIRED, ISSUE_WEBHOOK_UNAVAILABLE


def relogin_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the "relogin required" issue of earlier releases."""
    return f"{ISSUE_RELOGIN_REQUIRED}_{entry.entry_id}"


def webhook_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the entry's "webhook unavailable" repair issue."""
    return f"{ISSUE_WEBHOOK_UNAVAILABLE}_{entry.entry_id}"


@callback
def async_create_webhook_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Open (or keep open) the entry's "webhook unavailable" repair."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        webhook_issue_id(entry),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_WEBHOOK_UNAVAILABLE,
        translation_placeholders={"name": entry.title},
    )


@callback
def async_delete_relogin_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Delete the "relogin required" issue earlier releases raised (the reauth flow's now)."""
    ir.async_delete_issue(hass, DOMAIN, relogin_issue_id(entry))


@callback
def async_delete_webhook_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Close the entry's "webhook unavailable" repair."""
    ir.async_delete_issue(hass, DOMAIN, webhook_issue_id(entry))
