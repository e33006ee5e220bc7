"""Issue 2's benchmarks: GET through FakeLeaf vs a static stub, import cost, flat cost in users."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import requests
import responses

from bench._harness import Result, interleave
from fake_leaf import FakeLeaf

REQUESTS_PER_ROUND = 200


def _fake_with_users(n: int) -> tuple[FakeLeaf, str]:
    leaf = FakeLeaf()
    for i in range(n - 1):
        leaf.create_user(name=f"user {i}")
    user = leaf.create_user(name="measured")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    return leaf, f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"


def _gets(session: requests.Session, url: str, n: int = REQUESTS_PER_ROUND) -> None:
    for _ in range(n):
        r = session.get(url)
        assert r.status_code == 200


def get_vs_static_stub(rounds: int) -> Result:
    leaf, url = _fake_with_users(1)
    payload = requests.Session()
    with leaf:
        body = payload.get(url, headers=leaf.headers).json()
    session = requests.Session()
    session.headers.update(leaf.headers)

    def through_fake() -> None:
        with leaf:
            _gets(session, url)

    def static_stub() -> None:
        with responses.RequestsMock() as rsps:
            rsps.get(url, json=body)
            _gets(session, url)

    return interleave("GET credentials: FakeLeaf / static responses stub", through_fake, static_stub,
                      rounds=rounds, limit=1.2)


def flat_in_users(rounds: int) -> Result:
    small, small_url = _fake_with_users(10)
    big, big_url = _fake_with_users(100_000)
    session = requests.Session()

    def run(leaf: FakeLeaf, url: str) -> None:
        session.headers.update(leaf.headers)
        with leaf:
            _gets(session, url)

    return interleave("GET credentials: 100,000 users / 10 users", lambda: run(big, big_url),
                      lambda: run(small, small_url), rounds=rounds, limit=1.1)


_IMPORT = "import time, sys; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t, {check})"
_HEAVY = "[m for m in ('hypothesis', 'faker', 'freezegun', 'httpx', 'aiohttp') if m in sys.modules]"


# pip byte-compiles what it installs, so users import from .pyc files: measure that, even where
# PYTHONDONTWRITEBYTECODE is set (it would make fake-leaf, installed editable, compile at every import)
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _import_seconds(mod: str) -> float:
    out = subprocess.run([sys.executable, "-c", _IMPORT.format(mod=mod, check=_HEAVY)],
                         capture_output=True, text=True, check=True, env=_ENV)
    seconds, heavy = out.stdout.split(" ", 1)
    if mod == "fake_leaf" and heavy.strip() != "[]":
        raise AssertionError(f"import fake_leaf pulled in {heavy.strip()}")
    return float(seconds)


def import_cost(rounds: int) -> float:
    """Median extra milliseconds of ``import fake_leaf`` over ``import responses`` (interleaved)."""
    _import_seconds("fake_leaf"), _import_seconds("responses")  # warm up: writes the .pyc files
    diffs = []
    for _ in range(rounds):
        a = _import_seconds("fake_leaf")
        b = _import_seconds("responses")
        diffs.append((a - b) * 1e3)
    diffs.sort()
    return diffs[len(diffs) // 2]


def main(rounds: int = 15) -> bool:
    started = time.perf_counter()
    results = [get_vs_static_stub(rounds), flat_in_users(rounds)]
    for r in results:
        print(r.line())
    extra_ms = import_cost(max(rounds, 25))  # two fresh interpreters a round: noisy, so more rounds
    import_ok = extra_ms <= 30
    print(f"{'import fake_leaf: extra ms over import responses':<58} {extra_ms:6.2f} ms (limit 30, "
          f"{'ok' if import_ok else 'OVER'}; hypothesis, faker, freezegun, httpx, aiohttp not imported)")
    print(f"(core benchmarks took {time.perf_counter() - started:.1f} s)")
    return all(r.ok for r in results) and import_ok
