"""Constants of the SmartWats integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "smartwats"

DEFAULT_BASE_URL: Final = "https://app.smartwats.com/api/"
