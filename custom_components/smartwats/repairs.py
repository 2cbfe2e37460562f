"""The integration's repair issues (raised and cleared here only) and their fix flows.

- ``relogin_required_<entry>``: the phone logged the WhatsApp session out (fixable: the relink).
- ``webhook_unavailable_<entry>``: Home Assistant has no URL the gateway can post to.
"""

from __future__ import annotations

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, ISSUE_RELOGIN_REQUIRED, ISSUE_WEBHOOK_UNAVAILABLE


def relogin_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the entry's "relogin required" repair issue."""
    return f"{ISSUE_RELOGIN_REQUIRED}_{entry.entry_id}"


def webhook_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the entry's "webhook unavailable" repair issue."""
    return f"{ISSUE_WEBHOOK_UNAVAILABLE}_{entry.entry_id}"


@callback
def async_relogin_issue_open(hass: HomeAssistant, entry: ConfigEntry) -> bool | None:
    """Tell whether the relogin issue is there: open in this run, kept from an earlier one.

    True: open in this run; False: kept from an earlier run (inactive); None: not there.
    """
    issue = ir.async_get(hass).async_get_issue(DOMAIN, relogin_issue_id(entry))
    return None if issue is None else issue.active


@callback
def async_create_relogin_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Open (or keep open) the entry's relogin repair."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        relogin_issue_id(entry),
        data={"entry_id": entry.entry_id},
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_RELOGIN_REQUIRED,
        translation_placeholders={"name": entry.title},
    )


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
    """Close the entry's relogin repair."""
    ir.async_delete_issue(hass, DOMAIN, relogin_issue_id(entry))


@callback
def async_delete_webhook_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Close the entry's "webhook unavailable" repair."""
    ir.async_delete_issue(hass, DOMAIN, webhook_issue_id(entry))


class ReloginRepairFlow(RepairsFlow):
    """The phone logged the WhatsApp session out: start the relink of the config entry.

    The entry's re-authentication flow (which the config flow turns into the QR / pair-code
    steps for a logged-out session) does the actual work; this flow only opens it.
    """

    def __init__(self, entry_id: str | None) -> None:
        """Remember which config entry the issue is about."""
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Start with the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Explain, then start the re-authentication (relink) flow of the entry."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id) if self._entry_id else None
        if entry is None:
            return self.async_abort(reason="entry_not_found")
        if user_input is not None:
            entry.async_start_reauth(self.hass)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm", description_placeholders={"name": entry.title}
        )


async def async_create_fix_flow(
    hass: HomeAssistant,
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Create the fix flow of a repair issue (only "relogin required" is fixable)."""
    entry_id = (data or {}).get("entry_id")
    return ReloginRepairFlow(entry_id if isinstance(entry_id, str) else None)
