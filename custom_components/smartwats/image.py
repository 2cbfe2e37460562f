"""Image of the SmartWats integration: the QR code that links the instance to a phone."""

from __future__ import annotations

import asyncio

from homeassistant.components.image import ImageEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .api.responses import qr_image
from .const import QR_FETCH_WAIT
from .entity import SmartwatsLinkEntity
from .models import SmartwatsConfigEntry

# Read-only: the coordinator does all the talking to the gateway.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartwatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the instance's QR code image."""
    async_add_entities([SmartwatsQrCodeImage(hass, entry)])


class SmartwatsQrCodeImage(SmartwatsLinkEntity, ImageEntity):
    """The QR code to scan with WhatsApp while the instance is not linked.

    Unavailable while the instance is linked (there is no QR then). The state (the time the
    picture last changed) moves whenever the gateway rotates the QR, so the frontend fetches the
    new one; see `SmartwatsLinkCoordinator.async_qr_viewed` for how it is kept current.
    """

    _attr_content_type = "image/png"
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "qr_code"

    def __init__(self, hass: HomeAssistant, entry: SmartwatsConfigEntry) -> None:
        """Create the image of the entry's instance."""
        super().__init__(entry, "qr_code")
        ImageEntity.__init__(self, hass)
        self._qr_code: str | None = None
        self._image: bytes | None = None
        self._update_image()

    @property
    def available(self) -> bool:
        """Available while there is a QR code to show."""
        return super().available and self._image is not None

    @callback
    def _update_image(self) -> None:
        """Take the coordinator's QR; a new one moves `image_last_updated`."""
        qr_code = None if self.coordinator.data.linked else self.coordinator.data.qr_code
        if qr_code == self._qr_code:
            return
        self._qr_code = qr_code
        decoded = None if qr_code is None else qr_image(qr_code)
        if decoded is None:
            self._image = None
            return
        self._attr_content_type, self._image = decoded
        self._attr_image_last_updated = dt_util.utcnow()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Follow the link state."""
        self._update_image()
        super()._handle_coordinator_update()

    async def async_image(self) -> bytes | None:
        """Return the current QR code as PNG bytes (refreshed first when it has aged)."""
        coordinator = self.coordinator
        refresh = coordinator.config_entry.async_create_background_task(
            self.hass,
            coordinator.async_qr_viewed(),
            name=f"SmartWats QR refresh of {coordinator.config_entry.title}",
            eager_start=True,
        )
        # A slow gateway must not hold the picture up (the image view gives up after 10 s):
        # serve the QR there is; a newer one changes the state and is fetched in turn.
        await asyncio.wait([refresh], timeout=QR_FETCH_WAIT.total_seconds())
        return self._image
