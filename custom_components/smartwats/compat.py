"""What differs between the supported Home Assistant releases, from 2026.7 (hacs.json) on.

`scripts/test --ha-matrix` runs the tests on the oldest supported release and on the pinned one
(whose API mypy checks), and the end-to-end tests on the newest. Where they differ:

- A device links to another by the other's device id (`via_device_id`, with
  `async_get_device_id_by_identifier`) from 2026.8 on; before, by its identifier (`via_device`),
  which later releases report as deprecated. `linked_device_info` links as the release wants.
- A `DeviceInfo` is a TypedDict up to 2026.10, passed to `async_get_or_create` as keyword arguments,
  and a dataclass from 2026.11 on, which `async_get_or_create_from_info` takes whole.
  `async_get_or_create_device` registers it either way.
- `BinarySensorDeviceClass` and `NotifyEntityFeature` live in their integrations' `const` modules
  from 2026.10 on, and are exported by the integrations' packages on every release, though the
  pinned release's do not declare it, which mypy needs. The platform files type them from `const`
  and import them from the package (there, as a platform file may import its own integration).
- An LLM tool returns a `ToolResult` from 2026.10 on (a plain JSON object is reported as
  deprecated) and declares `ToolAnnotations`; before, it returns the JSON object and has no
  annotations. `tool_result` and `tool_annotations` serve either.
"""

from __future__ import annotations

from typing import Any, Unpack, cast

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, llm
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util.json import JsonObjectType


def linked_device_info(
    hass: HomeAssistant,
    via: tuple[str, str],
    *,
    config_entry_id: str,
    **fields: Unpack[DeviceInfo],
) -> DeviceInfo:
    """Return the `DeviceInfo` of `fields`, linked to the entry's device with the identifier `via`.

    From 2026.8 on, by that device's id (it must be registered already); before, by `via` itself.
    """
    get_device_id: Any = getattr(dr, "async_get_device_id_by_identifier", None)
    if get_device_id is None:
        info = DeviceInfo(**fields)
        cast("dict[str, Any]", info)["via_device"] = via  # before 2026.8 a DeviceInfo is a dict
        return info
    device_id: str = get_device_id(hass, via, config_entry_id=config_entry_id)
    return DeviceInfo(**fields, via_device_id=device_id)


def async_get_or_create_device(
    hass: HomeAssistant, config_entry_id: str, device_info: DeviceInfo
) -> dr.DeviceEntry:
    """Register the device `device_info` describes for the config entry (or get it)."""
    registry = dr.async_get(hass)
    from_info: Any = getattr(registry, "async_get_or_create_from_info", None)
    if from_info is not None:
        device: dr.DeviceEntry = from_info(config_entry_id=config_entry_id, device_info=device_info)
        return device
    return registry.async_get_or_create(config_entry_id=config_entry_id, **device_info)


def tool_result(data: JsonObjectType) -> llm.ToolResult:
    """Return a tool's result as the release wants it: a `ToolResult` from 2026.10 on, else data."""
    tool_result: Any = getattr(llm, "ToolResult", None)
    return cast("llm.ToolResult", data if tool_result is None else tool_result(data=data))


def tool_annotations(**hints: bool) -> llm.ToolAnnotations:
    """Return a tool's `ToolAnnotations` (from 2026.10 on; before, None, which nothing reads)."""
    annotations: Any = getattr(llm, "ToolAnnotations", None)
    return cast("llm.ToolAnnotations", None if annotations is None else annotations(**hints))
