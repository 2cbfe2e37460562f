"""Diagnostics of the SmartWats integration (secrets and personal data redacted)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final, cast

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_NAME, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import CONF_CLOUDHOOK_URL, CONF_INSTANCE_ID, CONF_PHONE, CONF_TARGET
from .models import SmartwatsConfigEntry
from .webhook import WEBHOOK_INBOXES

# Shorter values would be replaced inside unrelated words.
_MIN_SECRET_LENGTH: Final = 4

# Keys redacted at any depth: secrets, ids that grant access, phone numbers (a title is often the
# linked number, a subentry's unique id its target), recipients' names and the QR, which would
# link a phone.
TO_REDACT = {
    CONF_ACCESS_TOKEN,
    CONF_NAME,
    CONF_WEBHOOK_ID,
    CONF_CLOUDHOOK_URL,
    CONF_INSTANCE_ID,
    CONF_PHONE,
    CONF_TARGET,
    "title",
    "unique_id",
    "qr_code",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartwatsConfigEntry
) -> dict[str, Any]:
    """Return the diagnostics of a config entry."""
    coordinator = entry.runtime_data.coordinator
    state = coordinator.data
    interval = coordinator.update_interval
    diagnostics: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "version": entry.version,
            "minor_version": entry.minor_version,
            "data": dict(entry.data),
            "options": dict(entry.options),
            "subentries": [
                {
                    "subentry_type": subentry.subentry_type,
                    "title": subentry.title,
                    "unique_id": subentry.unique_id,
                    "data": dict(subentry.data),
                }
                for subentry in entry.subentries.values()
            ],
        },
        "link_state": {
            "status": state.status.value,
            "linked": state.linked,
            "qr_code": state.qr_code,
        },
        "coordinator": {
            "last_update_success": coordinator.last_update_success,
            "update_interval": None if interval is None else interval.total_seconds(),
        },
        "webhook": _webhook(hass, entry),
        "outbox": _outbox(entry),
    }
    return _scrub(async_redact_data(diagnostics, TO_REDACT), _secrets(entry))


def _webhook(hass: HomeAssistant, entry: SmartwatsConfigEntry) -> dict[str, Any]:
    """Where the gateway posts (the kind of URL, not the URL) and what waits in the inbox."""
    registration = entry.runtime_data.webhook
    inbox = hass.data[WEBHOOK_INBOXES].get(entry.data[CONF_WEBHOOK_ID])
    last_sync_at = None if registration is None else registration.last_sync_at
    return {
        "url_kind": None if registration is None else registration.url_kind,
        "last_sync": None if registration is None else registration.last_sync,
        "last_sync_at": None if last_sync_at is None else last_sync_at.isoformat(),
        "inbox": None
        if inbox is None
        else {
            "pending": len(inbox.pending),
            "dropped": inbox.dropped,
            "recent_ids": len(inbox.recent_ids),
        },
    }


def _outbox(entry: SmartwatsConfigEntry) -> dict[str, Any]:
    """Describe what waits in the outbox: counts, ages and types (never targets or contents)."""
    sender = entry.runtime_data.sender
    now = dt_util.utcnow().timestamp()
    items = list(sender.outbox)
    return {
        "waiting": len(items),
        "types": dict(Counter(item.message.type for item in items)),
        "oldest_age": round(now - items[0].queued_at) if items else None,
        "circuit_open": sender.next_attempt is not None,
    }


def _secrets(entry: SmartwatsConfigEntry) -> set[str]:
    """Values that must not appear anywhere, even inside other text (a URL, a message)."""
    values = {entry.data.get(key) for key in (CONF_ACCESS_TOKEN, CONF_WEBHOOK_ID, CONF_INSTANCE_ID)}
    values |= {entry.data.get(CONF_PHONE), entry.title, entry.unique_id}
    values |= {subentry.data.get(CONF_TARGET) for subentry in entry.subentries.values()}
    return {
        value for value in values if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH
    }


def _scrub[T](value: T, secrets: set[str]) -> T:
    """Replace every secret inside any string of ``value`` (recursively)."""
    scrubbed: Any = value
    if isinstance(value, str):
        for secret in secrets:
            scrubbed = scrubbed.replace(secret, REDACTED)
    elif isinstance(value, dict):
        scrubbed = {key: _scrub(item, secrets) for key, item in value.items()}
    elif isinstance(value, list):
        scrubbed = [_scrub(item, secrets) for item in value]
    return cast("T", scrubbed)
