"""Issue 3's benchmark: what the ``fake_leaf`` fixture adds to a test (setup + call + teardown)."""

from __future__ import annotations

import statistics
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

TESTS = 300
LIMIT_MS = 2.0


class _Durations:
    def __init__(self) -> None:
        self.by_test: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.by_test[report.nodeid] = self.by_test.get(report.nodeid, 0.0) + report.duration


def fixture_overhead_ms() -> float:
    """Median over pairs (empty test, fake_leaf test) run alternately in one pytest session."""
    source = "".join(f"def test_empty_{i}():\n    pass\n\ndef test_fake_{i}(fake_leaf):\n    pass\n\n"
                     for i in range(TESTS))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test_overhead.py"
        path.write_text(textwrap.dedent(source))
        durations = _Durations()
        code = pytest.main([str(path), "-p", "no:terminal", "-p", "no:randomly", "-p", "no:cacheprovider",
                            "-o", "addopts=", "--rootdir", tmp], plugins=[durations])
        assert code == 0, f"the benchmark's tests failed ({code})"
    diffs = []
    for i in range(10, TESTS):  # the first pairs warm up imports
        empty = durations.by_test[f"{path.name}::test_empty_{i}"]
        fake = durations.by_test[f"{path.name}::test_fake_{i}"]
        diffs.append((fake - empty) * 1e3)
    return statistics.median(diffs)


def main(rounds: int) -> bool:
    extra = fixture_overhead_ms()
    ok = extra <= LIMIT_MS
    print(f"{'a test using fake_leaf: extra ms over an empty test':<58} {extra:6.3f} ms (limit {LIMIT_MS}, "
          f"{'ok' if ok else 'OVER'})")
    return ok
