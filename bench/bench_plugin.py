"""Issue 13's plugin benchmarks: what having fake-leaf installed costs a pytest run, and what its fixtures cost a test.

(a) startup: a pytest run of one empty test, with fake-leaf's plugin and without it (``-p no:fake_leaf``),
    in fresh interpreters with no other plugin (autoload off), so everything the plugin brings in counts;
    faker's own plugin is measured the same way, for comparison.
(b) per test: ``fake_leaf + leaf_user + john_deere_credentials`` against an empty test and against
    pytest-httpx's ``httpx_mock`` with one response, the three alternating in one pytest session.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

TESTS = 300  # rounds of (empty, fake-leaf, httpx_mock) tests in the per-test session
WARM_UP = 10  # the first rounds pay the imports
FIXTURES_LIMIT_MS = 1.0
STARTUP_LIMIT_MS = 30.0
FIXTURES = "fake_leaf, leaf_user, john_deere_credentials"

# pip byte-compiles what it installs, so users import from .pyc files: measure that
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_BARE = {**_ENV, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _pytest_seconds(directory: str, *plugin_args: str) -> float:
    """Wall time of a fresh ``python -m pytest`` on the directory's one empty test."""
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir",
            directory, *plugin_args, directory]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=_BARE, cwd=directory)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(plugin_args)}: pytest failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds


def startup_extra_ms(rounds: int, plugin: str) -> tuple[float, float]:
    """Median extra ms of ``-p plugin`` over ``-p no:plugin``, A B A B ..., and the median ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_nothing.py").write_text("def test_nothing():\n    pass\n")
        with_it, without = ("-p", plugin), ("-p", f"no:{plugin}")
        _pytest_seconds(tmp, *with_it), _pytest_seconds(tmp, *without)  # warm up: writes the .pyc files
        diffs, ratios = [], []
        for _ in range(rounds):
            a = _pytest_seconds(tmp, *with_it)
            b = _pytest_seconds(tmp, *without)
            diffs.append((a - b) * 1e3)
            ratios.append(a / b)
    return statistics.median(diffs), statistics.median(ratios)


class _Durations:
    def __init__(self) -> None:
        self.by_test: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:  # setup + call + teardown
        self.by_test[report.nodeid] = self.by_test.get(report.nodeid, 0.0) + report.duration


def _test_source(with_httpx: bool) -> str:
    parts = ["import pytest\n\n"]
    for i in range(TESTS):
        parts.append(f"def test_empty_{i}():\n    pass\n\n")
        parts.append(f"def test_fake_{i}({FIXTURES}):\n    pass\n\n")
        if with_httpx:  # one response, registered and not requested (pytest-httpx would fail the test)
            parts.append(f"@pytest.mark.httpx_mock(assert_all_responses_were_requested=False)\n"
                         f"def test_httpx_{i}(httpx_mock):\n"
                         f"    httpx_mock.add_response(url='https://api.withleaf.io/x', json={{'id': '{i}'}})\n\n")
    return "".join(parts)


def fixtures_extra_ms() -> dict[str, list[float]]:
    """Per round, each kind of test's time minus the same round's empty test, in ms."""
    with_httpx = importlib.util.find_spec("pytest_httpx") is not None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test_overhead.py"
        path.write_text(_test_source(with_httpx))
        durations = _Durations()
        code = pytest.main([str(path), "-p", "no:terminal", "-p", "no:randomly", "-p", "no:cacheprovider",
                            "-p", "no:faker", "-p", "no:xdist", "-o", "addopts=", "--rootdir", tmp],
                           plugins=[durations])
        assert code == 0, f"the benchmark's tests failed ({code})"
    kinds = ["fake", "httpx"] if with_httpx else ["fake"]
    extra: dict[str, list[float]] = {kind: [] for kind in kinds}
    for i in range(WARM_UP, TESTS):
        empty = durations.by_test[f"{path.name}::test_empty_{i}"]
        for kind in kinds:
            extra[kind].append((durations.by_test[f"{path.name}::test_{kind}_{i}"] - empty) * 1e3)
    return extra


def main(rounds: int) -> bool:
    extra = fixtures_extra_ms()
    fake_ms = statistics.median(extra["fake"])
    fixtures_ok = fake_ms <= FIXTURES_LIMIT_MS
    print(f"{'a test using ' + FIXTURES + ': extra ms over an empty test':<58} {fake_ms:6.3f} ms "
          f"(limit {FIXTURES_LIMIT_MS}, {'ok' if fixtures_ok else 'OVER'}; median of {len(extra['fake'])} rounds)")
    if "httpx" in extra:
        httpx_ms = statistics.median(extra["httpx"])
        print(f"{'a test using httpx_mock with one response: the same':<58} {httpx_ms:6.3f} ms "
              f"(fake-leaf's three fixtures cost {fake_ms / httpx_ms:.2f}x httpx_mock)")
    else:
        print("pytest-httpx is not installed, so httpx_mock was not measured side by side: pip install pytest-httpx")

    startup_rounds = max(rounds, 25)  # two fresh interpreters a round: noisy, so more rounds
    plugin_ms, plugin_ratio = startup_extra_ms(startup_rounds, "fake_leaf")
    startup_ok = plugin_ms <= STARTUP_LIMIT_MS
    print(f"{'pytest startup: -p fake_leaf / -p no:fake_leaf (no other plugin)':<58} {plugin_ms:6.2f} ms extra "
          f"(limit {STARTUP_LIMIT_MS:.0f}, {'ok' if startup_ok else 'OVER'}; ratio {plugin_ratio:.3f})")
    if importlib.util.find_spec("faker") is not None:
        faker_ms, faker_ratio = startup_extra_ms(startup_rounds, "faker")
        print(f"{'for comparison, faker own plugin: -p faker / -p no:faker':<58} {faker_ms:6.2f} ms extra "
              f"(ratio {faker_ratio:.3f}; loaded by every pytest run where faker is installed)")
    return fixtures_ok and startup_ok


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(0 if main(15) else 1)
