"""Smoke test of the benchmarks: each runs with tiny numbers and reports every figure.

A benchmark is not a test: nothing here looks at how fast anything was. The benchmarks run in a
subprocess (``python -m bench``), as ``scripts/bench`` runs them, with their own Home Assistant,
event loop and sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
FIGURE_KEYS = {"median", "min", "max", "q1", "q3", "rounds", "unit"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The results of one tiny run of every benchmark."""
    output = tmp_path_factory.mktemp("bench") / "results.json"
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--n-inbound",
            "20",
            "--n-outbound",
            "20",
            "--n-parser",
            "20",
            "--n-memory",
            "200",
            "--n-recovery",
            "20",
            "--rounds",
            "1",
            "--output",
            str(output),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "median of the rounds" in completed.stdout
    data: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return data


def check_figures(figures: dict[str, Any], names: set[str]) -> None:
    """Each named figure is there, with a median and a spread of one round."""
    assert names <= set(figures)
    for name in names:
        assert set(figures[name]) == FIGURE_KEYS, name
        assert figures[name]["rounds"] == 1
        assert figures[name]["min"] <= figures[name]["median"] <= figures[name]["max"]


def test_machine_and_settings(results: dict[str, Any]) -> None:
    """The machine the figures ran on and the numbers they ran with."""
    assert {"cpus", "cpu_model", "python", "home_assistant"} <= set(results["machine"])
    assert results["settings"]["n_inbound"] == 20
    assert results["settings"]["rounds"] == 1


def test_inbound(results: dict[str, Any]) -> None:
    """Posts per second of the three receivers, the ratios and the targets."""
    inbound = results["inbound"]
    assert inbound["posts_per_round"] == 20
    assert (
        inbound["messages_per_round"]
        + inbound["receipts_per_round"]
        + inbound["duplicates_per_round"]
        == 20
    )
    check_figures(
        inbound["figures"],
        {
            "floor",
            "smartwats",
            "telegram_bot",
            "ratio_to_floor",
            "ratio_to_telegram_bot",
            "extra_us_over_floor",
            "ha_state_write_us",
            "own_us_per_post",
        },
    )
    assert set(inbound["targets"]) == {"ratio_to_floor", "ratio_to_telegram_bot"}
    assert all(isinstance(target["met"], bool) for target in inbound["targets"].values())


def test_outbound(results: dict[str, Any]) -> None:
    """Microseconds per message both ways and their ratio."""
    outbound = results["outbound"]
    assert outbound["messages_per_round"] == 20
    check_figures(
        outbound["figures"],
        {"plain_aiohttp", "send_text", "ratio", "noop_action", "state_write", "plain_ha_session"},
    )
    assert isinstance(outbound["targets"]["ratio"]["met"], bool)


def test_parser(results: dict[str, Any]) -> None:
    """Microseconds per body for each kind."""
    figures = results["parser"]["figures"]
    assert {"text", "button_reply", "image", "receipt (messages.update)"} <= set(figures)
    check_figures(figures, set(figures))


def test_startup(results: dict[str, Any]) -> None:
    """Set-up and import times, and which on-demand modules set-up loads."""
    startup = results["startup"]
    check_figures(
        startup["figures"],
        {"setup_cold_ms", "setup_warm_ms", "import_alone_ms", "import_after_home_assistant_ms"},
    )
    assert startup["heaviest_imports_after_home_assistant"]
    assert isinstance(startup["on_demand_added_by_setup"], list)
    assert (
        "custom_components.smartwats.webhook" in startup["integration_modules_loaded_after_setup"]
    )


def test_memory(results: dict[str, Any]) -> None:
    """Resident memory growth of the integration and of the floor."""
    memory = results["memory"]
    assert memory["posts"] == 200
    assert isinstance(memory["smartwats_rss_growth_mb"], float)
    assert isinstance(memory["floor_rss_growth_mb"], float)
    assert memory["recent_ids_remembered"] <= memory["recent_ids_bound"]


def test_recovery(results: dict[str, Any]) -> None:
    """Messages queued during an outage are all delivered once the gateway is back, and timed."""
    recovery = results["recovery"]
    assert recovery["messages"] == 20
    assert recovery["seconds"] > 0
    assert recovery["messages_per_second"] > 0
