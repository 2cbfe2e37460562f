"""Repair flows of the SmartWats integration."""

from __future__ import annotations

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant


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
