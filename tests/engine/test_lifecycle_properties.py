"""Whatever way time moves and John Deere changes: the log and the status stay consistent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_leaf import CredentialStatus, FakeLeaf, ManualClock
from tests.conftest import examples

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
RETENTION = dt.timedelta(days=30)
STATUS_OF_NEWEST = {200: CredentialStatus.OK, 400: CredentialStatus.UNAUTHENTICATED,
                    401: CredentialStatus.UNAUTHENTICATED, 403: CredentialStatus.MISSING_PERMISSION}

moves = st.one_of(
    st.integers(min_value=0, max_value=60 * 24 * 60).map(lambda minutes: dt.timedelta(minutes=minutes)),
    st.integers(min_value=31, max_value=4000).map(lambda days: dt.timedelta(days=days)),  # jumps of years
)
john_deere_events = st.sampled_from([
    "revoke", "rotate", "withdraw", "restore", "disconnect", "connect", "outage", "outage_429", "end_outage",
])
steps = st.lists(st.one_of(moves, john_deere_events), max_size=12)


def _apply(leaf: FakeLeaf, user_id: str, event: str) -> None:
    jd = leaf.john_deere
    actions: dict[str, Callable[[], object]] = {
        "revoke": lambda: jd.revoke_refresh_token(user_id),
        "rotate": lambda: jd.rotate_client_secret(user_id),
        "withdraw": lambda: jd.withdraw_scope(user_id, "ag1"),
        "restore": lambda: jd.restore_scope(user_id, "ag1"),
        "disconnect": lambda: jd.disconnect_organization(user_id),
        "connect": lambda: jd.connect_organization(user_id),
        "outage": lambda: jd.start_outage(503),
        "outage_429": lambda: jd.start_outage(429),
        "end_outage": lambda: jd.end_outage(),
    }
    actions[event]()


def _check_invariants(leaf: FakeLeaf, user_id: str) -> None:
    now = leaf.now()
    events = leaf.john_deere_credential_events(user_id)
    dates = [e.created_date for e in events]
    assert dates == sorted(dates, reverse=True), "events are not newest first"
    # sorted, so the newest and the oldest stand for all: this runs at every stride of every example
    assert not dates or dates[0] <= now, "an event is dated in the future"
    assert not dates or now - dates[-1] < RETENTION, "an event of 30 days or more is listed"
    status = leaf.get_john_deere_credentials(user_id).status
    if events:
        assert status is STATUS_OF_NEWEST.get(events[0].status_code, CredentialStatus.TEMPORARILY_UNAVAILABLE)


@pytest.mark.slow
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_walking_or_jumping_through_time_gives_the_same_log_and_status(steps: list[object]) -> None:
    clocks = [ManualClock(START), ManualClock(START)]
    leaves = [FakeLeaf(clock=c) for c in clocks]
    users = []
    for leaf in leaves:
        user = leaf.create_user()
        leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
        users.append(user.id)
    walker, jumper = leaves
    for step in steps:
        if isinstance(step, dt.timedelta):
            remaining = step
            stride_limit = dt.timedelta(hours=6) if step < dt.timedelta(days=31) else dt.timedelta(days=1)
            while remaining > dt.timedelta(0):  # the walker reads the state at least once a check
                stride = min(remaining, stride_limit)
                clocks[0].advance(stride)
                remaining -= stride
                _check_invariants(walker, users[0])
            clocks[1].advance(step)
        else:
            for leaf, user_id in zip(leaves, users, strict=True):
                _apply(leaf, user_id, str(step))
        _check_invariants(jumper, users[1])
    views = []
    for leaf, user_id in zip(leaves, users, strict=True):
        views.append((leaf.get_john_deere_credentials(user_id).status,
                      [(e.created_date, e.status_code) for e in leaf.john_deere_credential_events(user_id)]))
    assert views[0] == views[1]
