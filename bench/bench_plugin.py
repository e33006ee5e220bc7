"""Issue 13's plugin benchmarks: what having fake-leaf installed costs a pytest run, and what its fixtures cost a test.

(a) startup: a pytest run of one empty test, with fake-leaf's plugin and without it, in fresh
    interpreters with no other plugin (autoload off), so everything the plugin brings in counts;
    faker's own plugin is measured the same way, for comparison.
(b) per test: ``fake_leaf + leaf_user + john_deere_credentials`` against an empty test and against
    pytest-httpx's ``httpx_mock`` with one response, the three alternating in one pytest session;
    then the same two each making one GET (the credentials with ``requests`` through the fake, the
    mocked response with ``httpx``), each on a client shared by the module's tests.
(c) the steps under (b), in a session of their own: ``fake_leaf`` alone, with ``leaf_user``, with the
    credentials too, and ``fake_leaf`` alone making one GET (an empty list of users), each against
    ``httpx_mock`` with or without its GET: how much of ``httpx_mock``'s cost the fake spends before
    any user or credentials exist.
(d) the httpx client fixtures (``leaf_httpx_client``, ``leaf_async_client``) over ``fake_leaf`` alone.
(e) memory: a pytest session of 3,000 tests that use the three fixtures and make five httpx GETs each, against
    one of as many empty tests, each in a fresh interpreter: RSS growth from the 100th test to the last.

Both are judged on CPU time (the process's own, or the child's), with wall time printed beside it:
on a machine shared by several busy processes, wall time mostly measures the others. (b) is judged
with only pytest, fake-leaf's plugin and pytest-httpx loaded, and printed again with every plugin
installed.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

TESTS = 300  # rounds of (empty, fake-leaf, three trivial fixtures, httpx_mock ...) tests in the per-test session
WARM_UP = 10  # the first rounds pay the imports
FIXTURES_LIMIT_MS = 1.0
STARTUP_LIMIT_MS = 30.0
FIXTURES = "fake_leaf, leaf_user, john_deere_credentials"

# pip byte-compiles what it installs, so users import from .pyc files: measure that
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_BARE = {**_ENV, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


@dataclass
class Extra:
    """Median extra milliseconds of A over B, in CPU time and in wall time, over the rounds."""

    cpu_ms: float
    wall_ms: float
    rounds: int

    def text(self, limit_ms: float | None = None) -> str:
        verdict = "" if limit_ms is None else f" (limit {limit_ms:g}, {'ok' if self.ok(limit_ms) else 'OVER'})"
        return f"{self.cpu_ms:7.3f} ms CPU{verdict}; wall {self.wall_ms:.3f} ms; median of {self.rounds} rounds"

    def ok(self, limit_ms: float) -> bool:
        return self.cpu_ms <= limit_ms


def _median_extra(pairs: list[tuple[float, float, float, float]]) -> Extra:
    """From (cpu A, wall A, cpu B, wall B) in seconds per round."""
    return Extra(statistics.median((ca - cb) * 1e3 for ca, _, cb, _ in pairs),
                 statistics.median((wa - wb) * 1e3 for _, wa, _, wb in pairs), len(pairs))


# -- (a) startup ---------------------------------------------------------------------------------


def _pytest_run(directory: str, *plugin_args: str) -> tuple[float, float]:
    """CPU and wall seconds of a fresh ``python -m pytest`` on the directory's one empty test."""
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir",
            directory, *plugin_args, directory]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=_BARE, cwd=directory)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(plugin_args)}: pytest failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def _plugin_module(entry_point_name: str) -> str | None:
    """The module an installed pytest plugin's entry point loads (None if it is not installed)."""
    found = metadata.entry_points(group="pytest11", name=entry_point_name)
    return next(iter(found)).value if found else None


def startup_extra(rounds: int, module: str) -> Extra:
    """What ``-p module`` adds to a pytest run with no plugin at all, A B A B ...

    The plugin is named by its module, not its entry point: with autoloading off, ``-p <entry point>``
    would make pytest scan every installed distribution's metadata, a cost that a normal run (autoload
    on) pays whether or not fake-leaf is installed.
    """
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_nothing.py").write_text("def test_nothing():\n    pass\n")
        _pytest_run(tmp, "-p", module), _pytest_run(tmp)  # warm up: writes the .pyc files
        pairs = [(*_pytest_run(tmp, "-p", module), *_pytest_run(tmp)) for _ in range(rounds)]
    return _median_extra(pairs)


# -- (b) per test --------------------------------------------------------------------------------


class _Timer:
    """CPU and wall time of each test's whole protocol (setup, call, teardown, reports)."""

    def __init__(self) -> None:
        self.by_test: dict[str, tuple[float, float]] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, Any, None]:
        cpu, wall = time.process_time(), time.perf_counter()
        yield
        self.by_test[item.name] = (time.process_time() - cpu, time.perf_counter() - wall)


_CLIENTS = """import pytest
import requests


# three fixtures that do nothing, shaped like fake-leaf's (one yields, two depend on it): pytest's own cost
@pytest.fixture
def trivial_fake():
    yield object()


@pytest.fixture
def trivial_user(trivial_fake):
    return {"id": "1"}


@pytest.fixture
def trivial_credentials(trivial_fake, trivial_user):
    return {"id": "2"}


SESSION = requests.Session()
try:
    import httpx
except ImportError:
    CLIENT = None
else:
    CLIENT = httpx.Client()

"""
_ONE_GET_FAKE = """    url = f"{fake_leaf.user_management_url}/users/{leaf_user['id']}/john-deere-credentials"
    assert SESSION.get(url, headers=fake_leaf.headers).json()["id"] == john_deere_credentials["id"]
"""
_ONE_GET_FAKE_HTTPX = """    url = f"{fake_leaf.user_management_url}/users/{leaf_user['id']}/john-deere-credentials"
    assert CLIENT.get(url, headers=fake_leaf.headers).json()["id"] == john_deere_credentials["id"]
"""


def _httpx_mock_tests(i: int) -> tuple[str, str]:
    """Round ``i``'s two ``httpx_mock`` tests: one response registered and not requested (pytest-httpx would fail
    the test without the marker), and one response with one ``httpx`` GET of it."""
    return (f"@pytest.mark.httpx_mock(assert_all_responses_were_requested=False)\n"
            f"def test_httpx_{i}(httpx_mock):\n"
            f"    httpx_mock.add_response(url='https://api.withleaf.io/x', json={{'id': '{i}'}})\n\n",
            f"def test_httpxget_{i}(httpx_mock):\n"
            f"    httpx_mock.add_response(url='https://api.withleaf.io/x', json={{'id': '{i}'}})\n"
            f"    assert CLIENT.get('https://api.withleaf.io/x').json() == {{'id': '{i}'}}\n\n")


_PASS = "    pass\n"


def _rounds(tests: list[tuple[str, str, str]], *, httpx_mock: bool = False) -> str:
    """A test module of TESTS rounds, each an empty test, then one test per ``(kind, fixtures, body)``, in order (then
    the round's two ``httpx_mock`` tests): ``test_{kind}_{round}``."""
    parts = [_CLIENTS]
    for i in range(TESTS):
        parts.append(f"def test_empty_{i}():\n{_PASS}\n")
        parts.extend(f"def test_{kind}_{i}({fixtures}):\n{body}\n" for kind, fixtures, body in tests)
        if httpx_mock:
            parts.extend(_httpx_mock_tests(i))
    return "".join(parts)


def _test_source(with_httpx: bool) -> str:
    tests = [("fake", FIXTURES, _PASS), ("trivial", "trivial_fake, trivial_user, trivial_credentials", _PASS),
             ("fakeget", FIXTURES, _ONE_GET_FAKE)]
    if with_httpx:
        tests.append(("fakehttpxget", FIXTURES, _ONE_GET_FAKE_HTTPX))
    return _rounds(tests, httpx_mock=with_httpx)


_FAKE_ALONE_GET = """    url = f"{fake_leaf.user_management_url}/users"
    assert CLIENT.get(url, headers=fake_leaf.headers).json() == []
"""


def _floor_source() -> str:
    """The steps under the three fixtures, each its own kind of test: the fake alone, with a Leaf user, with the
    credentials; the fake alone making one GET (an empty list of users); ``httpx_mock`` with and without its GET."""
    return _rounds([("fakealone", "fake_leaf", _PASS), ("fakeuser", "fake_leaf, leaf_user", _PASS),
                    ("fake", FIXTURES, _PASS), ("fakealoneget", "fake_leaf", _FAKE_ALONE_GET)], httpx_mock=True)


def _session_extra(name: str, source: str, kinds: list[str], only_these_plugins: bool) -> dict[str, Extra]:
    """Run the tests of ``source`` in one pytest session; for each kind, what it costs over the same round's empty test.

    ``only_these_plugins``: load no plugin but fake-leaf's and pytest-httpx (a project with just
    these two); otherwise every plugin installed here, some of which hook every fixture's setup.
    """
    with_httpx = importlib.util.find_spec("pytest_httpx") is not None
    plugins: list[str] = []
    if only_these_plugins:
        module = _plugin_module("fake_leaf")
        assert module is not None, "fake-leaf's pytest plugin is not installed (pip install -e .)"
        plugins = ["-p", module] + (["-p", "pytest_httpx"] if with_httpx else [])
    else:
        plugins = ["-p", "no:randomly", "-p", "no:faker", "-p", "no:xdist"]
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.py"
        path.write_text(source)
        timer = _Timer()
        if only_these_plugins:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        try:
            code = pytest.main([str(path), "-p", "no:terminal", "-p", "no:cacheprovider", *plugins,
                                "-o", "addopts=", "--rootdir", tmp], plugins=[timer])
        finally:
            if autoload is None:
                os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
            else:
                os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
        assert code == 0, f"the benchmark's tests failed ({code})"
    return {kind: _median_extra([(*timer.by_test[f"test_{kind}_{i}"], *timer.by_test[f"test_empty_{i}"])
                                 for i in range(WARM_UP, TESTS)])
            for kind in kinds}


def fixtures_extra(only_these_plugins: bool) -> dict[str, Extra]:
    """For each kind of test (``fake``, ``httpx``...), what it costs over the same round's empty test."""
    with_httpx = importlib.util.find_spec("pytest_httpx") is not None
    kinds = ["fake", "trivial", "fakeget"] + (["httpx", "httpxget", "fakehttpxget"] if with_httpx else [])
    name = "test_fixture_cost_alone" if only_these_plugins else "test_fixture_cost"
    return _session_extra(name, _test_source(with_httpx), kinds, only_these_plugins)


def floor_extra() -> dict[str, Extra]:
    """The steps under the fixtures, in a session of their own (so the figures above keep their mix of tests)."""
    kinds = ["fakealone", "fakeuser", "fake", "fakealoneget", "httpx", "httpxget"]
    return _session_extra("test_fixture_floor", _floor_source(), kinds, only_these_plugins=True)


def _client_source() -> str:
    return _rounds([("fakealone", "fake_leaf", _PASS), ("httpxclient", "leaf_httpx_client", _PASS),
                    ("asyncclient", "leaf_async_client", _PASS)])


def _print_clients() -> None:
    """The httpx client fixtures over the fake alone (a session of their own: building a client churns enough to
    move the other figures): httpx would load certifi's certificates for each client; they share one context."""
    extra = _session_extra("test_client_fixtures", _client_source(), ["fakealone", "httpxclient", "asyncclient"],
                           only_these_plugins=True)
    alone = extra["fakealone"].cpu_ms
    print("the httpx client fixtures (a session of their own; each over an empty test, CPU):")
    for kind, what in (("fakealone", "fake_leaf alone"), ("httpxclient", "leaf_httpx_client"),
                       ("asyncclient", "leaf_async_client")):
        print(f"{'  ' + what:<66} {extra[kind].cpu_ms:7.3f} ms" + ("" if kind == "fakealone" else
                                                                    f": {extra[kind].cpu_ms - alone:+.3f} ms"))


def _print_floor() -> None:
    """Where the fake's cost per test sits against ``httpx_mock``'s: each fixture's step; the fake alone with a GET."""
    extra = floor_extra()
    httpx, httpx_get = extra["httpx"].cpu_ms, extra["httpxget"].cpu_ms
    print("the steps under the fixtures (a session of their own; each over an empty test, CPU, and / httpx_mock):")
    for kind, what in (("fakealone", "fake_leaf alone"), ("fakeuser", "fake_leaf + leaf_user"),
                       ("fake", "fake_leaf + leaf_user + john_deere_credentials")):
        print(f"{'  ' + what:<66} {extra[kind].cpu_ms:7.3f} ms: {extra[kind].cpu_ms / httpx:5.2f}x")
    print(f"{'  httpx_mock, one response':<66} {httpx:7.3f} ms")
    alone_get = extra["fakealoneget"].cpu_ms
    print(f"{'  fake_leaf alone + one httpx GET of its empty /users':<66} {alone_get:7.3f} ms: "
          f"{alone_get / httpx_get:5.2f}x of httpx_mock + its GET ({httpx_get:.3f} ms)")


SESSION_TESTS = 3000
SESSION_LIMIT_MB = 20.0
_SESSION_CONFTEST = """import gc


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


_DONE = [0]


def pytest_runtest_logfinish(nodeid, location):
    _DONE[0] += 1
    if _DONE[0] in (100, {last}):
        gc.collect()
        with open("rss.txt", "a") as f:
            f.write(f"{{_rss_mb()}}\\n")
"""
_SESSION_TESTS = {
    "fake": """import httpx
import pytest

CLIENT = httpx.Client()


@pytest.mark.parametrize("i", range({tests}))
def test_fixtures_and_gets(i, fake_leaf, leaf_user, john_deere_credentials):
    url = f"{{fake_leaf.user_management_url}}/users/{{leaf_user['id']}}/john-deere-credentials"
    for _ in range(5):
        assert CLIENT.get(url, headers=fake_leaf.headers).json()["id"] == john_deere_credentials["id"]
""",
    "empty": """import pytest


@pytest.mark.parametrize("i", range({tests}))
def test_nothing(i):
    pass
""",
}


def session_growth() -> dict[str, float]:
    """RSS growth (MB) of a pytest session from its 100th test to its last: tests that use the three fixtures and
    make five httpx GETs, and as many empty tests; each session in a fresh interpreter (Linux: /proc)."""
    growth = {}
    for kind, source in _SESSION_TESTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "conftest.py").write_text(_SESSION_CONFTEST.format(last=SESSION_TESTS))
            Path(tmp, "test_session.py").write_text(source.format(tests=SESSION_TESTS))
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                                   "-o", "addopts=", "--rootdir", tmp, tmp], capture_output=True, text=True, env=_ENV,
                                  cwd=tmp)
            if done.returncode != 0:
                raise AssertionError(f"the {kind} session failed ({done.returncode}):\n{done.stdout[-3000:]}")
            first, last = (float(line) for line in Path(tmp, "rss.txt").read_text().split())
            growth[kind] = last - first
    return growth


def main(rounds: int) -> bool:
    fixtures_ok = True
    for alone in (True, False):
        extra = fixtures_extra(alone)
        where = "pytest + fake-leaf + pytest-httpx only" if alone else "every plugin installed here"
        fake = extra["fake"]
        # the limit is judged where only the plugins measured are loaded: others' hooks are not fake-leaf's cost
        limit = FIXTURES_LIMIT_MS if alone else None
        print(f"{'per test (' + where + '): ' + FIXTURES + ' / empty':<66} {fake.text(limit)}")
        fixtures_ok = fixtures_ok and (fake.ok(FIXTURES_LIMIT_MS) or not alone)
        print(f"{'  the same, one GET of the credentials (requests)':<66} {extra['fakeget'].text()}")
        print(f"{'  pytest alone: three fixtures that do nothing / empty':<66} {extra['trivial'].text()}")
        if "httpx" in extra:
            httpx = extra["httpx"]
            print(f"{'per test (' + where + '): httpx_mock, one response / empty':<66} {httpx.text()}")
            print(f"{'  the same, one GET of it (httpx)':<66} {extra['httpxget'].text()}")
            print(f"{'  fake-leaf fixtures / httpx_mock (CPU)':<66} {fake.cpu_ms / httpx.cpu_ms:7.2f}x")
            print(f"{'  with one GET: fake-leaf (requests) / httpx_mock (httpx) (CPU)':<66} "
                  f"{extra['fakeget'].cpu_ms / extra['httpxget'].cpu_ms:7.2f}x")
            print(f"{'  fake-leaf fixtures, one GET with httpx through the fake':<66} {extra['fakehttpxget'].text()}")
            print(f"{'  with one GET: fake-leaf (httpx) / httpx_mock (httpx) (CPU)':<66} "
                  f"{extra['fakehttpxget'].cpu_ms / extra['httpxget'].cpu_ms:7.2f}x")
        else:
            print("pytest-httpx is not installed, so httpx_mock was not measured side by side: "
                  "pip install pytest-httpx")
    if importlib.util.find_spec("pytest_httpx") is not None:
        _print_floor()
    if importlib.util.find_spec("httpx") is not None:
        _print_clients()

    sessions_ok = True
    if Path("/proc/self/status").exists():
        growth = session_growth()
        extra_mb = growth["fake"] - growth["empty"]
        sessions_ok = extra_mb <= SESSION_LIMIT_MB
        what = f"a session of {SESSION_TESTS:,} tests (three fixtures, five GETs) / empty ones, RSS"
        print(f"{what:<66} "
              f"+{growth['fake']:.1f} MB / +{growth['empty']:.1f} MB: {extra_mb:+.1f} MB "
              f"(limit {SESSION_LIMIT_MB:g}, {'ok' if sessions_ok else 'OVER'})")

    startup_rounds = max(rounds, 25)  # two fresh interpreters a round: noisy, so more rounds
    module = _plugin_module("fake_leaf")
    assert module is not None, "fake-leaf's pytest plugin is not installed (pip install -e .)"
    startup = startup_extra(startup_rounds, module)
    print(f"{'pytest startup: with fake-leaf plugin / with none (autoload off)':<66} {startup.text(STARTUP_LIMIT_MS)}")
    faker_module = _plugin_module("faker")
    if faker_module is not None:
        print(f"{'  for comparison, faker own plugin / none':<66} {startup_extra(startup_rounds, faker_module).text()}")
    return fixtures_ok and sessions_ok and startup.ok(STARTUP_LIMIT_MS)


if __name__ == "__main__":
    sys.exit(0 if main(15) else 1)
