"""Run the benchmarks, print the table and write the results (``scripts/bench --help``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
import os
from pathlib import Path
import platform
import sys
import time
from typing import Any

from .home import Home, async_start_home, run
from .inbound import InboundBench, async_bench_inbound
from .memory import async_bench_memory
from .outbound import OutboundBench, async_bench_outbound
from .parser import bench_parser
from .recovery import async_bench_recovery
from .startup import bench_startup
from .telegram import async_start_telegram

BENCHMARKS = ("inbound", "outbound", "parser", "startup", "memory", "recovery")
RESULTS = Path(__file__).resolve().parent / "results.json"
QUICK = {
    "n_inbound": 500,
    "n_outbound": 200,
    "n_parser": 1000,
    "n_memory": 5000,
    "n_recovery": 200,
    "rounds": 2,
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line; ``--quick`` fills in what was not given with small numbers."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--n-inbound", type=int, help="webhook posts per round (5000)")
    parser.add_argument("--n-outbound", type=int, help="messages sent per round (1000)")
    parser.add_argument("--n-parser", type=int, help="parses of each body per round (10000)")
    parser.add_argument("--n-memory", type=int, help="posts of the memory figure (50000)")
    parser.add_argument(
        "--n-recovery", type=int, help="messages queued during the outage figure (1000)"
    )
    parser.add_argument("--rounds", type=int, help="measured rounds after the warm-up (5)")
    parser.add_argument("--quick", action="store_true", help="small numbers, 2 rounds (< 1 min)")
    parser.add_argument(
        "--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS), help="benchmarks to run"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument(
        "--profile", type=Path, help="also profile one inbound and one outbound round into DIR"
    )
    args = parser.parse_args(argv)
    defaults = {
        "n_inbound": 5000,
        "n_outbound": 1000,
        "n_parser": 10000,
        "n_memory": 50000,
        "n_recovery": 1000,
    }
    defaults["rounds"] = 5
    for name, value in (QUICK if args.quick else defaults).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def machine() -> dict[str, Any]:
    """Describe what the figures ran on."""
    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "home_assistant": ha_version,
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
    }


async def _async_profile(home: Home, directory: Path, count: int) -> None:
    """Profile one inbound round and one outbound round of the integration (pyinstrument)."""
    from pyinstrument import Profiler  # noqa: PLC0415

    from .bodies import smartwats_bodies  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before profiling
    inbound = InboundBench(home)
    for receiver in ("smartwats", "floor"):
        bodies = smartwats_bodies(home.gateway, count)
        with Profiler(async_mode="disabled", interval=0.0002) as profiler:
            await inbound.async_run(receiver, bodies)
        (directory / f"inbound-{receiver}.txt").write_text(profiler.output_text(), encoding="utf-8")
    outbound = OutboundBench(home)
    for how in ("send_text", "plain_aiohttp"):
        with Profiler(async_mode="disabled", interval=0.0002) as profiler:
            await outbound.async_run(how, count // 5)
        (directory / f"outbound-{how}.txt").write_text(profiler.output_text(), encoding="utf-8")


async def _async_in_home(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmarks that need a running Home Assistant, in one."""
    results: dict[str, Any] = {}
    home = await async_start_home(with_peer=async_start_telegram)
    try:
        if "inbound" in args.only:
            results["inbound"] = await async_bench_inbound(home, args.n_inbound, args.rounds)
        if "outbound" in args.only:
            results["outbound"] = await async_bench_outbound(home, args.n_outbound, args.rounds)
        if args.profile is not None:
            await _async_profile(home, args.profile, args.n_inbound)
        if "memory" in args.only:
            results["memory"] = await async_bench_memory(home, args.n_memory)
        if "recovery" in args.only:
            results["recovery"] = await async_bench_recovery(home, args.n_recovery)
    finally:
        await home.stop()
    return results


def _line(label: str, figure: dict[str, Any], digits: int = 0, note: str = "") -> str:
    value = f"{figure['median']:,.{digits}f} {figure['unit']}"
    spread = f"[{figure['min']:,.{digits}f}-{figure['max']:,.{digits}f}]"
    return f"  {label:<32}{value:>20}  {spread:<24}{note}"


def _target(result: dict[str, Any], name: str) -> str:
    target = result["targets"][name]
    return f"target {target['target']}: {'met' if target['met'] else 'MISSED'}"


def table(results: dict[str, Any]) -> str:
    """Return the results as the table printed at the end."""
    lines = ["", "median of the rounds [min-max]"]
    if inbound := results.get("inbound"):
        f = inbound["figures"]
        lines += [
            "",
            (
                f"Inbound: {inbound['posts_per_round']} posts per round "
                f"({inbound['messages_per_round']} messages, "
                f"{inbound['receipts_per_round']} receipts, "
                f"{inbound['duplicates_per_round']} duplicates), "
                f"{inbound['concurrency']} at a time"
            ),
            _line("floor (webhook + one event)", f["floor"]),
            _line("smartwats", f["smartwats"]),
            _line("telegram_bot (webhooks)", f["telegram_bot"]),
            _line("smartwats / floor", f["ratio_to_floor"], 2, _target(inbound, "ratio_to_floor")),
            _line(
                "smartwats / telegram_bot",
                f["ratio_to_telegram_bot"],
                2,
                _target(inbound, "ratio_to_telegram_bot"),
            ),
            _line("smartwats cost over the floor", f["extra_us_over_floor"], 1),
            _line("  state writes per post", f["state_writes_per_post"], 2),
            _line("  HA: one state write", f["ha_state_write_us"], 1),
            _line("  HA: entity updates per post", f["ha_entity_updates_us_per_post"], 1),
            _line("  the integration's own", f["own_us_per_post"], 1),
        ]
    if outbound := results.get("outbound"):
        f = outbound["figures"]
        lines += [
            "",
            f"Outbound: {outbound['messages_per_round']} messages per round, one at a time",
            _line("plain aiohttp POST", f["plain_aiohttp"], 1),
            _line("smartwats.send_text", f["send_text"], 1),
            _line("send_text / plain", f["ratio"], 2, _target(outbound, "ratio")),
            _line("send_text cost over plain", f["extra_us_over_plain"], 1),
            _line("  HA: a no-op action call", f["noop_action"], 1),
            _line("  HA: the counter's state write", f["state_write"], 1),
            _line("  plain POST, HA's shared session", f["plain_ha_session"], 1),
            _line("  the integration's own", f["own_us_per_message"], 1),
        ]
    if recovery := results.get("recovery"):
        lines += [
            "",
            f"Outage recovery: {recovery['messages']} messages queued while the gateway was down",
            f"  {'from its return to the last delivered':<32}{recovery['seconds']:>18.2f} s",
            f"  {'delivered':<32}{recovery['messages_per_second']:>14,.0f} msg/s",
        ]
    if parser := results.get("parser"):
        lines += ["", f"Parser alone: {parser['parses_per_round']} parses of each body per round"]
        lines += [_line(name, figure, 2) for name, figure in parser["figures"].items()]
    if startup := results.get("startup"):
        f = startup["figures"]
        loaded = startup["on_demand_added_by_setup"]
        lines += [
            "",
            "Start-up (fresh interpreter each round)",
            _line("entry set-up, first (cold)", f["setup_cold_ms"], 1),
            _line("entry set-up, again (warm)", f["setup_warm_ms"], 1),
            _line("import, alone", f["import_alone_ms"], 1),
            _line("import, after Home Assistant", f["import_after_home_assistant_ms"], 1),
            "  heaviest imports after Home Assistant: "
            + ", ".join(
                f"{row['module']} {row['cumulative_ms']:.1f} ms"
                for row in startup["heaviest_imports_after_home_assistant"][:4]
            ),
            "  on-demand modules loaded by set-up: " + (", ".join(loaded) or "none"),
        ]
    if memory := results.get("memory"):
        lines += [
            "",
            f"Memory: resident set growth after {memory['posts']:,} posts",
            (
                f"  {'smartwats':<32}{memory['smartwats_rss_growth_mb']:>17.2f} MB  "
                f"{_target(memory, 'smartwats_rss_growth_mb')}"
            ),
            f"  {'floor':<32}{memory['floor_rss_growth_mb']:>17.2f} MB",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks asked for; print the table; write the JSON."""
    args = parse_args(argv)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            "n_inbound": args.n_inbound,
            "n_outbound": args.n_outbound,
            "n_parser": args.n_parser,
            "n_memory": args.n_memory,
            "rounds": args.rounds,
            "quick": args.quick,
        },
    }
    if "parser" in args.only:
        print("parser…", file=sys.stderr)
        results["parser"] = bench_parser(args.n_parser, args.rounds)
    if "startup" in args.only:
        print("start-up…", file=sys.stderr)
        results["startup"] = bench_startup(args.rounds)
    if {"inbound", "outbound", "memory", "recovery"} & set(args.only):
        print("inbound, outbound, memory…", file=sys.stderr)
        results |= run(lambda: _async_in_home(args))
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    results["duration_s"] = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(table(results))
    print(f"\n{args.output} written in {results['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
