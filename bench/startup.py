"""Start-up: setting a config entry up against the emulator, and importing the integration.

Setting up is measured in a fresh interpreter each round (``python -m bench.startup``), so that the
first set-up includes importing the integration and its platforms, as at Home Assistant's start:
Home Assistant's registries, `http` and `webhook` are ready before the clock starts; the clock
stops when the entry is loaded and Home Assistant is idle. The same process then unloads and sets
the entry up again (warm). Which modules are loaded once the entry is set up is checked against
modules that only some actions need.

Import time is Python's own ``-X importtime`` report of ``import custom_components.smartwats``, in
a fresh interpreter: alone (everything it pulls in, Home Assistant's core included) and after the
modules a running Home Assistant always has loaded (what the integration adds).
"""

from __future__ import annotations

import json
from pathlib import Path
import statistics
import subprocess
import sys
import time
from typing import Any

from .home import LINKED_PHONE, async_new_hass, free_port, run, smartwats_entry
from .stats import summarize

REPO = Path(__file__).resolve().parent.parent
# Loaded by Home Assistant before any integration: the baseline of the second import figure.
HA_PRELUDE = (
    "homeassistant.core",
    "homeassistant.config_entries",
    "homeassistant.helpers.config_validation",
    "homeassistant.helpers.entity_platform",
    "homeassistant.helpers.update_coordinator",
    "homeassistant.components.http",
    "homeassistant.components.webhook",
)
# Modules that only some actions (or no start-up path) need: none should be loaded by set-up.
ON_DEMAND = (
    "homeassistant.components.camera",
    "homeassistant.components.media_source",
    "homeassistant.components.cloud",
    "hass_nabucasa",
    "homeassistant.components.stream",
    "homeassistant.components.ffmpeg",
    "av",
    "PIL",
    "turbojpeg",
    "numpy",
    "homeassistant.components.diagnostics",
    "custom_components.smartwats.config_flow",
    "custom_components.smartwats.diagnostics",
    "custom_components.smartwats.repairs",
    "segno",
)
WARM_ROUNDS = 3


async def _async_child() -> dict[str, Any]:
    """Set the entry up once cold, then ``WARM_ROUNDS`` times warm; report times and modules."""
    import tempfile  # noqa: PLC0415

    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    from smartwats_emulator import Emulator  # noqa: PLC0415

    emulator = Emulator(allow_private_webhooks=True)
    await emulator.start("127.0.0.1", 0)
    token = emulator.state.add_account()
    instance_id = emulator.state.add_instance(token, linked=True, phone=LINKED_PHONE)
    with tempfile.TemporaryDirectory(prefix="smartwats-bench-") as directory:
        port = free_port()
        hass = await async_new_hass(directory, f"http://127.0.0.1:{port}")
        http = {"http": {"server_host": ["127.0.0.1"], "server_port": port}}
        for domain, config in (("http", http), ("webhook", {})):
            if not await async_setup_component(hass, domain, config):
                raise RuntimeError(f"{domain} did not set up")
        await hass.async_block_till_done()
        before = set(sys.modules)
        started = time.perf_counter()
        entry = smartwats_entry(emulator, token, instance_id)  # imports the integration
        await hass.config_entries.async_add(entry)
        await hass.async_block_till_done()
        cold = time.perf_counter() - started
        if entry.state.value != "loaded":
            raise RuntimeError(f"the entry did not load: {entry.state}")
        added = sorted(set(sys.modules) - before)
        warm = []
        for _ in range(WARM_ROUNDS):
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            started = time.perf_counter()
            await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            warm.append(time.perf_counter() - started)
        await hass.async_stop()
    await emulator.stop()
    ours = sorted(m for m in added if m.startswith("custom_components.smartwats"))
    return {
        "cold_s": cold,
        "warm_s": warm,
        "on_demand_loaded": [m for m in ON_DEMAND if m in sys.modules],
        "on_demand_added_by_setup": [m for m in ON_DEMAND if m in added],
        "integration_modules_loaded": ours,
        "modules_added_by_setup": len(added),
        "top_packages_added_by_setup": sorted({m.split(".")[0] for m in added}),
        "components_added_by_setup": sorted(
            {".".join(m.split(".")[:3]) for m in added if m.startswith("homeassistant.components.")}
        ),
    }


def _run_child() -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.startup"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def parse_importtime(report: str) -> list[tuple[int, int, int, str]]:
    """Return (level, self µs, cumulative µs, module) of each row of a ``-X importtime`` report."""
    rows = []
    for line in report.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative, name = line.removeprefix("import time:").split("|", 2)
        level = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((level, int(self_us), int(cumulative), name.strip()))
    return rows


def _importtime(prelude: tuple[str, ...]) -> list[tuple[int, int, int, str]]:
    """Return the rows of ``import custom_components.smartwats`` (after ``prelude``)."""
    code = "".join(f"import {module}\n" for module in prelude)
    code += "import custom_components.smartwats\n"
    report = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    rows = parse_importtime(report)
    # The rows of the last statement follow the last top-level row of the prelude.
    last_prelude = max(
        (i for i, row in enumerate(rows) if row[0] == 0 and row[3] in prelude), default=-1
    )
    return rows[last_prelude + 1 :]


def _heaviest(rows: list[tuple[int, int, int, str]], count: int = 8) -> list[dict[str, Any]]:
    """Return the imports directly under the statement that cost the most (cumulative)."""
    top = [row for row in rows if row[0] == 0 and row[3] != "custom_components.smartwats"]
    top += [row for row in rows if row[0] == 1]
    top.sort(key=lambda row: row[2], reverse=True)
    return [{"module": row[3], "cumulative_ms": row[2] / 1000} for row in top[:count]]


def bench_startup(rounds: int) -> dict[str, Any]:
    """Return set-up and import times (median of ``rounds`` fresh interpreters each)."""
    children = [_run_child() for _ in range(rounds)]
    cold = [child["cold_s"] * 1000 for child in children]
    warm = [statistics.median(child["warm_s"]) * 1000 for child in children]
    alone: list[float] = []
    added: list[float] = []
    rows_alone: list[tuple[int, int, int, str]] = []
    rows_added: list[tuple[int, int, int, str]] = []
    for _ in range(rounds):
        rows_alone = _importtime(())
        alone.append(sum(row[2] for row in rows_alone if row[0] == 0) / 1000)
        rows_added = _importtime(HA_PRELUDE)
        added.append(sum(row[2] for row in rows_added if row[0] == 0) / 1000)
    own = sum(row[1] for row in rows_added if row[3].startswith("custom_components")) / 1000
    last = children[-1]
    return {
        "figures": {
            "setup_cold_ms": summarize(cold, "ms").as_dict(),
            "setup_warm_ms": summarize(warm, "ms").as_dict(),
            "import_alone_ms": summarize(alone, "ms").as_dict(),
            "import_after_home_assistant_ms": summarize(added, "ms").as_dict(),
        },
        "own_modules_self_ms": own,
        "heaviest_imports_alone": _heaviest(rows_alone),
        "heaviest_imports_after_home_assistant": _heaviest(rows_added),
        "home_assistant_prelude": list(HA_PRELUDE),
        "on_demand_checked": list(ON_DEMAND),
        "on_demand_loaded_after_setup": last["on_demand_loaded"],
        "on_demand_added_by_setup": last["on_demand_added_by_setup"],
        "integration_modules_loaded_after_setup": last["integration_modules_loaded"],
        "components_added_by_setup": last["components_added_by_setup"],
        "top_packages_added_by_setup": last["top_packages_added_by_setup"],
        "modules_added_by_setup": last["modules_added_by_setup"],
    }


if __name__ == "__main__":
    print(json.dumps(run(_async_child)))
