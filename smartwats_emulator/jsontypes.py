"""The JSON type used across the emulator."""

from __future__ import annotations

from typing import Any

# Bodies are plain dicts: their shapes are documented by the builders that make them.
type JsonDict = dict[str, Any]
