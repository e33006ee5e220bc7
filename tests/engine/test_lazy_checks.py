"""A fake that leaves settled credentials' checks until they are read shows exactly what a fake that
runs every check in the catch-up that finds it due shows: statuses, tokens, events (ids, dates,
bodies, order), organizations, alerts, and the provider's side (grants, their last use, rotation)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fake_leaf import FakeLeaf, ManualClock
from tests.conftest import examples

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
USERS = 3
GUID = re.compile(r'"guid":\s*"[0-9a-f-]+"')  # John Deere's error bodies carry a fresh guid each

moves = st.one_of(
    st.integers(min_value=1, max_value=3 * 24 * 60).map(lambda minutes: dt.timedelta(minutes=minutes)),
    st.integers(min_value=5, max_value=70).map(lambda days: dt.timedelta(days=days)),
)
controls = st.tuples(st.sampled_from([
    "read", "read", "read", "events", "organizations", "revoke", "rotate", "withdraw", "restore", "disconnect",
    "connect", "add_organization", "outage", "end_outage", "rotation_on", "rotation_off", "run_check",
    "set_missing", "set_ok", "delete", "post_again", "post_shared", "alerts", "preview_new", "select_new",
    "own_preview", "delete_user",
]), st.integers(min_value=0, max_value=USERS - 1))
steps = st.lists(st.one_of(moves, controls), min_size=1, max_size=14)


def _fake(lazy: bool, check_interval: dt.timedelta, rotation: bool) -> tuple[FakeLeaf, ManualClock, list[str]]:
    clock = ManualClock(START)
    leaf = FakeLeaf(clock=clock, seed=7, check_interval=check_interval, refresh_token_rotation=rotation,
                    on_duplicate_credentials="replace")
    leaf._backend._lazy = lazy  # the eager reference: every check runs in the catch-up that finds it due
    leaf._backend._sync_later = lazy  # and syncs the organizations at once
    users = [leaf.create_user(name=f"grower {i}").id for i in range(USERS)]
    for i, user in enumerate(users):
        clock.advance(dt.timedelta(minutes=7 * i))  # checks at different times of the day
        _post(leaf, user, f"refresh-{i}")
    return leaf, clock, users


def _post(leaf: FakeLeaf, user: str, token: str) -> None:
    leaf.create_john_deere_credentials(user, client_key="key", client_secret="secret", refresh_token=token)


def _apply(leaf: FakeLeaf, clock: ManualClock, users: list[str], step: object) -> object:
    """Play one step; what it shows (a read's answer) is returned, to compare."""
    if isinstance(step, dt.timedelta):
        clock.advance(step)
        return None
    assert isinstance(step, tuple)
    action, index = step
    user, jd = users[index], leaf.john_deere
    try:
        actions: dict[str, Callable[[], object]] = {
            "read": lambda: leaf.get_john_deere_credentials(user),
            "events": lambda: leaf.john_deere_credential_events(user),
            "organizations": lambda: leaf.organizations("JohnDeere", user),
            "alerts": lambda: leaf._backend.alert_log(),
            "revoke": lambda: jd.revoke_refresh_token(user),
            "rotate": lambda: jd.rotate_client_secret(user),
            "withdraw": lambda: jd.withdraw_scope(user, "ag1"),
            "restore": lambda: jd.restore_scope(user, "ag1"),
            "disconnect": lambda: jd.disconnect_organization(user),
            "connect": lambda: jd.connect_organization(user),
            "add_organization": lambda: jd.add_organization(user, "North field"),
            "outage": lambda: jd.start_outage(503),
            "end_outage": lambda: jd.end_outage(),
            "rotation_on": lambda: setattr(jd, "refresh_token_rotation", True),
            "rotation_off": lambda: setattr(jd, "refresh_token_rotation", False),
            "run_check": lambda: jd.run_check(user),
            "set_missing": lambda: jd.set_status(user, "MISSING_PERMISSION"),
            "set_ok": lambda: jd.set_status(user, "OK"),
            "delete": lambda: leaf.delete_john_deere_credentials(user),
            "post_again": lambda: _post(leaf, user, f"refresh-{index}"),
            # the grant another user's credential carries: two credentials share it
            "post_shared": lambda: _post(leaf, user, f"refresh-{(index + 1) % USERS}"),
            # the setting a sync reads, for every user or this one (a new organization's first status)
            "preview_new": lambda: leaf._backend.update_owner_config(leaf.username,
                                                                     {"organizationDataSync": "SELECTED_ONLY"}),
            "select_new": lambda: leaf._backend.update_owner_config(leaf.username, {"organizationDataSync": "ALL"}),
            "own_preview": lambda: leaf._backend.create_user_config(leaf.username, user,
                                                                    {"organizationDataSync": "SELECTED_ONLY"}),
            "delete_user": lambda: leaf.delete_user(user),
        }
        return actions[action]()
    except Exception as error:  # a control on a credential that is gone, say: both fakes must refuse alike
        return type(error).__name__, GUID.sub("", str(error))


def _everything(leaf: FakeLeaf, users: list[str]) -> object:
    shown: list[object] = []
    for user in users:
        try:
            shown.append(leaf.get_john_deere_credentials(user))
            shown.append([(e.id, e.created_date, e.status_code, e.headers, GUID.sub("", e.body))
                          for e in leaf.john_deere_credential_events(user)])
            shown.append(leaf.organizations("JohnDeere", user))
        except Exception as error:
            shown.append(type(error).__name__)
    shown.append(leaf._backend.alert_log())
    upstream = leaf._backend.upstreams["JohnDeere"]
    shown.append(sorted((key, g.last_used, g.revoked, sorted(g.withdrawn), list(g.organizations.values()))
                        for key, g in upstream._grants.items()))
    return [GUID.sub("", repr(s)) for s in shown]


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
# two credentials due at the same instant, one of them deferred: their alerts keep the schedule's order
@example(steps=[("disconnect", 1), dt.timedelta(days=26), ("post_again", 1), ("rotate", 2), ("run_check", 2),
                dt.timedelta(days=61)], interval_hours=24, rotation=False)
# checks every 5 hours, a long jump: the refreshes the skipped checks made keep their times
@example(steps=[dt.timedelta(days=32), dt.timedelta(days=57), ("add_organization", 1), dt.timedelta(days=5),
                ("set_ok", 1), ("read", 2), ("disconnect", 1), dt.timedelta(days=1)], interval_hours=5, rotation=True)
@given(steps=steps, interval_hours=st.sampled_from([24, 24, 5, 13]), rotation=st.booleans())
def test_a_lazy_fake_shows_what_an_eager_one_does(steps: list[object], interval_hours: int, rotation: bool) -> None:
    interval = dt.timedelta(hours=interval_hours)
    lazy, lazy_clock, lazy_users = _fake(True, interval, rotation)
    eager, eager_clock, eager_users = _fake(False, interval, rotation)
    assert lazy_users == eager_users  # the same seed, the same ids
    for step in steps:
        shown = _apply(lazy, lazy_clock, lazy_users, step)
        expected = _apply(eager, eager_clock, eager_users, step)
        assert GUID.sub("", repr(shown)) == GUID.sub("", repr(expected)), step
    assert _everything(lazy, lazy_users) == _everything(eager, eager_users)


def test_a_month_over_settled_credentials_runs_no_check_until_one_is_read() -> None:
    leaf, clock, users = _fake(True, dt.timedelta(hours=24), False)
    clock.advance(dt.timedelta(days=30))
    leaf.alerts()  # a catch-up: nothing changed upstream, so every credential is left for its next read
    assert len(leaf._backend._deferred) == USERS
    events = leaf.john_deere_credential_events(users[0])
    assert len(events) == 60  # read: its month of daily checks (a refresh and a call each) is there
    assert len(leaf._backend._deferred) == USERS - 1


def test_a_user_deleted_days_after_its_credential_was_posted_is_deleted() -> None:
    # the credential's checks, left until it is read, run first: one syncs the account's organizations,
    # which reads the user's settings (it was a 500, a KeyError, once the user was gone first)
    leaf, clock, users = _fake(True, dt.timedelta(hours=24), False)
    clock.advance(dt.timedelta(days=3))
    leaf.delete_user(users[0])
    assert [u.id for u in leaf.list_users()] == users[1:]
    with leaf:
        r = requests.delete(f"{leaf.user_management_url}/users/{users[1]}", headers=leaf.headers)
    assert r.status_code == 204
    assert [u.id for u in leaf.list_users()] == users[2:]
