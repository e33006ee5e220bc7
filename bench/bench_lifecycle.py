"""Issue 4's benchmark: catching up ten years for 1,000 credentials vs catching up 30 days."""

from __future__ import annotations

import datetime as dt

from bench._harness import Result, interleave
from fake_leaf import FakeLeaf, ManualClock

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
CREDENTIALS = 1_000


def _catch_up(days: int) -> None:
    clock = ManualClock(START)
    leaf = FakeLeaf(clock=clock)
    for i in range(CREDENTIALS):
        user = leaf.create_user()
        leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token=f"r{i}")
    clock.advance(dt.timedelta(days=days))
    leaf.now()
    leaf.alerts()  # any read catches the state up; this one touches no user


def ten_years_vs_30_days(rounds: int) -> Result:
    # both sides include the same setup (1,000 credentials created, about 5% of the time): a
    # catch-up consumes its state, so each round builds a fresh one
    return interleave("catch up 1,000 credentials: 10 years / 30 days", lambda: _catch_up(3650),
                      lambda: _catch_up(30), rounds=rounds, limit=3.0)


def main(rounds: int) -> bool:
    result = ten_years_vs_30_days(max(3, rounds // 3))
    print(result.line())
    return result.ok
