"""Issue 22's benchmarks: a clock jump costs what changes, not what exists; memory stays flat.

- 30-day jump, then one read, over 1,000 John Deere credentials / over 10 (interleaved, median of ratios).
- The same over 100,000 credentials in a fresh interpreter: seconds and RSS growth of the jump and read,
  and the RSS of the fake at rest once seeded with 100,000 users and credentials.
- RSS growth after 2,000 create/delete cycles of a credential with 200 KB of fields.
- RSS growth after 20,000 GETs of a credential inside one in-process (``responses``) FakeLeaf.
- RSS growth over 24,000 alerts a webhook's receiver refuses while the clock never moves (each leaves a retry
  waiting), after 12,000 that fill every bounded store.

``python -m bench.bench_jump [ROUNDS]`` runs them alone (from the repository root; Linux, it reads /proc).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench._harness import Result, interleave
from fake_leaf import FakeLeaf, ManualClock

ROOT = Path(__file__).resolve().parent.parent
JUMP = dt.timedelta(days=30)
BIG_SECONDS, BIG_MB, AT_REST_MB, CYCLES_MB, GETS_MB, RETRIES_MB = 1.0, 150.0, 400.0, 20.0, 20.0, 20.0


def _seeded(credentials: int) -> tuple[FakeLeaf, ManualClock, list[str]]:
    clock = ManualClock(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))
    leaf = FakeLeaf(clock=clock)
    users = []
    for i in range(credentials):
        user = leaf.create_user(name=f"grower {i}").id
        leaf.create_john_deere_credentials(user, client_key="key", client_secret="secret", refresh_token=f"r-{i}")
        users.append(user)
    return leaf, clock, users


def jump_1000_vs_10(rounds: int) -> Result:
    big, small = _seeded(1_000), _seeded(10)

    def jump(seeded: tuple[FakeLeaf, ManualClock, list[str]]) -> Callable[[], None]:
        leaf, clock, users = seeded
        turn = iter(range(10**9))

        def run() -> None:
            clock.advance(JUMP)
            user = users[next(turn) % len(users)]
            assert len(leaf.john_deere_credential_events(user)) == 60  # a month of checks: refresh + call
        return run

    return interleave("30-day jump + one read: 1,000 credentials / 10", jump(big), jump(small),
                      rounds=rounds, limit=1.2)


_CHILD = """
import datetime as dt, sys, time
sys.path.insert(0, sys.argv[2])
from bench.bench_jump import _seeded, _rss_mb, JUMP
leaf, clock, users = _seeded(int(sys.argv[1]))
print("rest", _rss_mb(), flush=True)
for i in range(5):
    before = _rss_mb()
    started = time.perf_counter()
    clock.advance(JUMP)
    events = leaf.john_deere_credential_events(users[i * 7919 % len(users)])
    assert len(events) == 60, len(events)
    print("jump", time.perf_counter() - started, _rss_mb() - before, flush=True)
"""


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def jump_100000() -> tuple[float, float, float, float]:
    """(RSS of a bare interpreter with fake_leaf imported, RSS at rest with 100,000 users and credentials,
    median seconds of a 30-day jump + one read, largest RSS growth of one) in a fresh interpreter."""
    bare = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "from bench.bench_jump import _rss_mb; print(_rss_mb())", str(ROOT)],
                          capture_output=True, text=True, check=True)
    out = subprocess.run([sys.executable, "-c", _CHILD, "100000", str(ROOT)], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    rest = next(float(line.split()[1]) for line in out if line.startswith("rest"))
    jumps = [(float(line.split()[1]), float(line.split()[2])) for line in out if line.startswith("jump")]
    return float(bare.stdout), rest, statistics.median(s for s, _ in jumps), max(mb for _, mb in jumps)


def create_delete_cycles(cycles: int = 2_000) -> float:
    """RSS growth in MB after ``cycles`` create/delete cycles of a credential with 200 KB of fields."""
    leaf = FakeLeaf(clock=ManualClock(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)))
    user = leaf.create_user(name="grower").id

    def cycle(i: int) -> None:
        big = os.urandom(50_000).hex()  # 100,000 characters, twice: 200 KB of fields each time
        leaf.create_john_deere_credentials(user, client_key=f"k{i}{big}", client_secret="s",
                                           refresh_token=f"r{i}{big}")
        leaf.delete_john_deere_credentials(user)

    for i in range(50):  # warm up
        cycle(i)
    before = _rss_mb()
    for i in range(50, 50 + cycles):
        cycle(i)
    return _rss_mb() - before


def inprocess_gets(gets: int = 20_000) -> float:
    """RSS growth in MB after ``gets`` GETs of a credential (``requests``) inside one active FakeLeaf.

    The fake's journal keeps the last 10,000 requests (at most 8 MiB of bodies): it fills during the run.
    """
    import requests

    with FakeLeaf() as leaf, requests.Session() as session:
        user = leaf.create_user(name="grower").id
        leaf.create_john_deere_credentials(user, client_key="key", client_secret="secret", refresh_token="r")
        url = f"{leaf.user_management_url}/users/{user}/john-deere-credentials"
        session.headers.update(leaf.headers)
        for _ in range(200):  # warm up
            assert session.get(url).status_code == 200
        before = _rss_mb()
        for _ in range(gets):
            session.get(url)
        return _rss_mb() - before


def refused_alerts(alerts: int = 24_000, fill: int = 12_000) -> float:
    """RSS growth in MB over ``alerts`` alerts whose deliveries the receiver refuses on a clock that never moves,
    after ``fill`` that fill the alert log, the deliveries, the failed calls and the waiting retries (without
    their bound, the retries alone grew by about 1.1 KB an alert).

    The webhook is registered over HTTP; then each alert's delivery runs as after a request, through a sender
    that refuses at once (a real one starts a thread and a requests session per delivery, and keeps nothing).
    """
    import requests

    from fake_leaf.engine._webhooks import Outcome

    receiver = "https://receiver.bench.test/hook"
    leaf = FakeLeaf(clock=ManualClock(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)))
    with leaf:
        r = requests.post(f"{leaf.base_url}/services/alerts/api/alerts/webhooks", headers=leaf.headers, json={
            "name": "b", "url": receiver, "secret": "s", "events": ["credentialsLimitedPermission"]})
        assert r.status_code == 201, r.text
    deliveries = leaf._app.deliveries
    deliveries.senders["in-process"] = lambda pending, timeout: Outcome(status=500, response="refused")
    user = leaf.create_user(name="grower").id
    leaf.create_john_deere_credentials(user, client_key="key", client_secret="secret", refresh_token="r")

    def refused() -> None:
        leaf.john_deere.set_status(user, "MISSING_PERMISSION")  # an alert
        deliveries.run_due()  # as after a request: its delivery is refused, and its retry waits
        leaf.john_deere.set_status(user, "OK")

    for _ in range(fill):  # fill every bounded store
        refused()
    before = _rss_mb()
    for _ in range(alerts):
        refused()
    grown = _rss_mb() - before
    assert len(leaf.webhook_deliveries()) > 1_000, "no delivery was attempted"
    return grown


def main(rounds: int = 9) -> bool:
    if not Path("/proc/self/status").exists():
        print("jump and memory benchmarks: skipped (they need Linux's /proc)")
        return True
    started = time.perf_counter()
    ratio = jump_1000_vs_10(rounds)
    print(ratio.line())
    bare, rest, seconds, growth = jump_100000()
    jump_ok = seconds <= BIG_SECONDS and growth <= BIG_MB
    rest_ok = rest <= AT_REST_MB
    print(f"{'30-day jump + one read, 100,000 credentials':<58} {seconds:6.3f} s, +{growth:.1f} MB "
          f"(limits {BIG_SECONDS:.0f} s, {BIG_MB:.0f} MB, {'ok' if jump_ok else 'OVER'})")
    print(f"{'RSS at rest, 100,000 users + John Deere credentials':<58} {rest:6.1f} MB "
          f"(bare interpreter with fake_leaf: {bare:.1f} MB; limit {AT_REST_MB:.0f} MB, {'ok' if rest_ok else 'OVER'})")
    cycles = create_delete_cycles()
    cycles_ok = cycles <= CYCLES_MB
    print(f"{'RSS growth, 2,000 create/delete of 200 KB credentials':<58} {cycles:6.1f} MB "
          f"(limit {CYCLES_MB:.0f} MB, {'ok' if cycles_ok else 'OVER'})")
    gets = inprocess_gets()
    gets_ok = gets <= GETS_MB
    print(f"{'RSS growth, 20,000 in-process GETs (responses)':<58} {gets:6.1f} MB "
          f"(limit {GETS_MB:.0f} MB, {'ok' if gets_ok else 'OVER'})")
    retries = refused_alerts()
    retries_ok = retries <= RETRIES_MB
    print(f"{'RSS growth, 24,000 refused alerts, a clock that never moves':<58} {retries:6.1f} MB "
          f"(limit {RETRIES_MB:.0f} MB, {'ok' if retries_ok else 'OVER'})")
    print(f"(jump and memory benchmarks took {time.perf_counter() - started:.1f} s)")
    return ratio.ok and jump_ok and rest_ok and cycles_ok and gets_ok and retries_ok


if __name__ == "__main__":
    sys.exit(0 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 9) else 1)
