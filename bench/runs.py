"""What a measured window counted, and how a figure is set against its limit.

Baseline A (threads, psycopg2) and the gRPC phases (aio tasks) count into the same
`Run`, so the report treats every figure and every limit alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from machine import Cpu


@dataclass
class Run:
    """One measured window (or several, merged): completed calls and their latencies."""

    calls: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    cpu: Cpu = field(default_factory=Cpu)
    windows: list[float] = field(default_factory=list)  # the rate of each merged window

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def merge(self, other: Run) -> None:
        self.calls += other.calls
        self.seconds += other.seconds
        self.latencies.extend(other.latencies)
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error
        self.cpu.add(other.cpu)
        self.windows.extend(other.windows or [other.rate])


def paired_ratios(figure: Run, limit: Run) -> list[float]:
    """The ratio of each round's window to its limit's window measured next to it."""
    pairs = zip(figure.windows, limit.windows, strict=True)
    return [mine / theirs if theirs else 0.0 for mine, theirs in pairs]
