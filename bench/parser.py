"""The parser alone: microseconds per webhook body, for each kind of body the gateway posts."""

from __future__ import annotations

from collections.abc import Mapping
import gc
import time

from custom_components.smartwats.api.inbound import parse_webhook

from .bodies import Gateway, parser_bodies
from .stats import summarize

OWN_NUMBER = "966500000001"
GATEWAY = Gateway(
    instance_id="68DBB04FECCBA",
    own_jid=f"{OWN_NUMBER}@s.whatsapp.net",
    group="120363025246125888@g.us",
)


def _parse(body: Mapping[str, object]) -> object:
    return parse_webhook(body)


def time_body(body: Mapping[str, object], count: int) -> float:
    """Return the microseconds one parse of ``body`` takes, over ``count`` parses."""
    parse = _parse
    started = time.perf_counter_ns()
    for _ in range(count):
        parse(body)
    return (time.perf_counter_ns() - started) / count / 1000


def bench_parser(count: int, rounds: int) -> dict[str, object]:
    """Return µs per body for each kind (median of the rounds, after a warm-up)."""
    bodies = parser_bodies(GATEWAY)
    for name, body in bodies.items():
        parsed = parse_webhook(body)
        if not (parsed.messages or parsed.statuses):
            raise RuntimeError(f"the parser found nothing in the {name} body")
        time_body(body, max(count // 10, 1))
    samples: dict[str, list[float]] = {name: [] for name in bodies}
    gc.collect()
    for _ in range(rounds):
        for name, body in bodies.items():
            samples[name].append(time_body(body, count))
    figures = {name: summarize(values, "µs/body") for name, values in samples.items()}
    sizes = {name: len(str(body)) for name, body in bodies.items()}
    return {
        "parses_per_round": count,
        "figures": {name: figure.as_dict() for name, figure in figures.items()},
        "body_chars": sizes,
    }
