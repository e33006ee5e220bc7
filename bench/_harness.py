"""Interleaved A/B timing: A B A B ..., the median of the pairwise ratios (shared, noisy machines)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    ratio: float  # median of time(A) / time(B) over the rounds
    limit: float
    a_seconds: float
    b_seconds: float

    @property
    def ok(self) -> bool:
        return self.ratio <= self.limit

    def line(self) -> str:
        verdict = "ok" if self.ok else "OVER"
        return (f"{self.name:<58} ratio {self.ratio:6.3f}  (limit {self.limit:.2f}, {verdict}; "
                f"median A {self.a_seconds * 1e3:8.2f} ms, B {self.b_seconds * 1e3:8.2f} ms)")


def interleave(name: str, a: Callable[[], object], b: Callable[[], object], *, rounds: int, limit: float) -> Result:
    """Run a and b alternately ``rounds`` times each; report the median of the ratios a/b."""
    a()  # warm up both
    b()
    ratios, a_times, b_times = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        a_times.append(t1 - t0)
        b_times.append(t2 - t1)
        ratios.append((t1 - t0) / (t2 - t1))
    return Result(name, statistics.median(ratios), limit, statistics.median(a_times), statistics.median(b_times))
