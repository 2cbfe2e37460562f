"""Summaries of repeated measurements: the median of the rounds and their spread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import statistics


@dataclass(frozen=True, slots=True)
class Figure:
    """One reported figure: the median of the rounds, their minimum, maximum and quartiles."""

    median: float
    low: float
    high: float
    q1: float
    q3: float
    rounds: int
    unit: str

    def as_dict(self) -> dict[str, float | int | str]:
        """Return the figure as JSON-serialisable data."""
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "q1": self.q1,
            "q3": self.q3,
            "rounds": self.rounds,
            "unit": self.unit,
        }


def summarize(samples: Sequence[float], unit: str) -> Figure:
    """Return the median and spread of one sample per round."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    if len(ordered) >= 2:  # noqa: PLR2004 - quantiles need two points
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return Figure(
        median=statistics.median(ordered),
        low=ordered[0],
        high=ordered[-1],
        q1=q1,
        q3=q3,
        rounds=len(ordered),
        unit=unit,
    )
