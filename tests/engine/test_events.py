"""The credential's log: newest first, kept 30 days, freed after."""

from __future__ import annotations

import datetime as dt
import json

import requests
from freezegun import freeze_time

from fake_leaf import FakeLeaf, ManualClock

UTC = dt.timezone.utc


def test_events_are_listed_newest_first_in_leafs_shape(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user()
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    now = leaf.now()
    leaf.add_john_deere_credential_event(user.id, status_code=200, body='{"ok":1}',
                                         created_date=now - dt.timedelta(hours=2))
    leaf.add_john_deere_credential_event(user.id, status_code=400, body='{"error":"invalid_grant"}',
                                         headers={"Content-Type": "application/json"})
    leaf.add_john_deere_credential_event(user.id, status_code=503, body="down",
                                         created_date=now - dt.timedelta(hours=1))
    events = http.get(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials/events").json()
    dates = [e["createdDate"] for e in events]
    assert dates == sorted(dates, reverse=True)
    seeded = [e["body"] for e in events if e["body"] in ('{"ok":1}', '{"error":"invalid_grant"}', "down")]
    assert seeded == ['{"error":"invalid_grant"}', "down", '{"ok":1}']
    assert set(events[0]) == {"id", "createdDate", "statusCode", "headers", "body"}
    assert isinstance(events[0]["headers"], str)
    assert json.loads(events[0]["headers"]) == {"Content-Type": "application/json"}
    assert events[0]["body"] == '{"error":"invalid_grant"}'


def test_an_event_is_gone_at_exactly_30_days() -> None:
    with freeze_time("2026-03-01T00:00:00Z") as frozen:
        leaf = FakeLeaf(check_interval=dt.timedelta(days=365))  # no check inside the 30 days
        user = leaf.create_user()
        leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
        leaf.add_john_deere_credential_event(user.id, status_code=200, body="{}")
        with leaf:
            url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials/events"
            frozen.tick(dt.timedelta(days=30) - dt.timedelta(microseconds=1))
            assert len(requests.get(url, headers=leaf.headers).json()) == 3  # 2 from the creation check
            frozen.tick(dt.timedelta(microseconds=1))
            assert requests.get(url, headers=leaf.headers).json() == []


def test_expired_events_are_freed_not_just_hidden() -> None:
    clock = ManualClock(dt.datetime(2026, 3, 1, tzinfo=UTC))
    leaf = FakeLeaf(clock=clock, check_interval=dt.timedelta(days=365))
    user = leaf.create_user()
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    for day in range(45):
        leaf.add_john_deere_credential_event(user.id, status_code=200, body=str(day))
        clock.advance(dt.timedelta(days=1))
    events = leaf.john_deere_credential_events(user.id)
    assert [e.body for e in events] == [str(d) for d in range(44, 15, -1)]  # day 15 is exactly 30 days old: gone
    record = leaf._backend._credentials(leaf.username, user.id, "JohnDeere")  # noqa: SLF001 (memory freed)
    assert len(record.events) == 29


def test_deleting_the_credential_takes_its_events(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user()
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    leaf.add_john_deere_credential_event(user.id, status_code=200, body="{}")
    base = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
    assert http.delete(base).status_code == 204
    assert http.get(f"{base}/events").status_code == 404
