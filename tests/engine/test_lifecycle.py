"""Background processing against the simulated John Deere: every transition a user can cause."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import time_machine
from freezegun import freeze_time

from fake_leaf import CredentialStatus, FakeLeaf, ManualClock

DAY = dt.timedelta(days=1)
START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def leaf(clock: ManualClock) -> Iterator[FakeLeaf]:
    with FakeLeaf(clock=clock) as fake:
        yield fake


def _credential(leaf: FakeLeaf) -> tuple[str, str]:
    user = leaf.create_user(name="Grower")
    url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
    r = requests.post(url, json={"clientKey": "app-key", "clientSecret": "app-secret", "refreshToken": "grower-rt",
                                 "clientEnvironment": "STAGE"},
                      headers=leaf.headers)
    assert r.status_code == 201
    return user.id, url


def _get(leaf: FakeLeaf, url: str) -> Any:
    return requests.get(url, headers=leaf.headers).json()


def test_a_revoked_refresh_token_makes_the_credential_unauthenticated(leaf: FakeLeaf, clock: ManualClock) -> None:
    user_id, url = _credential(leaf)
    credential_id = _get(leaf, url)["id"]
    leaf.john_deere.revoke_refresh_token(user_id)
    clock.advance(DAY - dt.timedelta(seconds=1))
    assert _get(leaf, url)["status"] == "OK"  # the next check is not due yet
    clock.advance(dt.timedelta(seconds=1))
    assert _get(leaf, url)["status"] == "UNAUTHENTICATED"
    newest = _get(leaf, f"{url}/events")[0]
    assert newest["statusCode"] == 400
    assert json.loads(newest["body"]) == {"error": "invalid_grant",
                                          "error_description": "The refresh token is invalid or expired."}
    assert newest["createdDate"] == (START + DAY).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    alerts = leaf.alerts()
    assert len(alerts) == 1
    assert alerts[0].type == "credentialsUnauthenticated"
    assert alerts[0].status is CredentialStatus.UNAUTHENTICATED
    assert alerts[0].credential == "app-key"
    assert alerts[0].provider == "JohnDeere"
    assert alerts[0].credential_id == credential_id
    assert "invalid_grant" in alerts[0].message


def test_a_rotated_client_secret_gives_invalid_client(leaf: FakeLeaf, clock: ManualClock) -> None:
    user_id, url = _credential(leaf)
    new_secret = leaf.john_deere.rotate_client_secret(user_id)
    assert new_secret != "app-secret"
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "UNAUTHENTICATED"
    newest = _get(leaf, f"{url}/events")[0]
    assert newest["statusCode"] == 401
    assert json.loads(newest["body"])["error"] == "invalid_client"


def test_a_withdrawn_scope_is_missing_permission_until_restored(leaf: FakeLeaf, clock: ManualClock) -> None:
    user_id, url = _credential(leaf)
    leaf.john_deere.withdraw_scope(user_id, "ag1")
    clock.advance(DAY)
    body = _get(leaf, url)
    assert body["status"] == "MISSING_PERMISSION"
    assert "ag1" not in body["tokenMetadata"]["scopes"]
    newest = _get(leaf, f"{url}/events")[0]
    assert newest["statusCode"] == 403
    assert json.loads(newest["body"])["@type"] == "Errors"
    assert [a.type for a in leaf.alerts()] == ["credentialsLimitedPermission"]
    leaf.john_deere.restore_scope(user_id, "ag1")
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "OK"


def test_a_disconnected_organization_is_missing_permission(leaf: FakeLeaf, clock: ManualClock) -> None:
    user_id, url = _credential(leaf)
    leaf.john_deere.disconnect_organization(user_id)
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "MISSING_PERMISSION"
    leaf.john_deere.connect_organization(user_id)
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "OK"


@pytest.mark.parametrize("status_code", [503, 500, 429])
def test_an_outage_is_temporarily_unavailable_then_ok(leaf: FakeLeaf, clock: ManualClock, status_code: int) -> None:
    _, url = _credential(leaf)
    leaf.john_deere.start_outage(status_code)
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "TEMPORARILY_UNAVAILABLE"
    assert _get(leaf, f"{url}/events")[0]["statusCode"] == status_code
    leaf.john_deere.end_outage()
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "OK"
    assert leaf.alerts() == []  # Leaf alerts on UNAUTHENTICATED and MISSING_PERMISSION only


def test_an_outage_of_one_environment_spares_the_other(leaf: FakeLeaf, clock: ManualClock) -> None:
    _, url = _credential(leaf)  # STAGE
    leaf.john_deere.start_outage(503, environment="PRODUCTION")
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "OK"


def test_a_post_during_an_outage_starts_temporarily_unavailable(leaf: FakeLeaf) -> None:
    leaf.john_deere.start_outage()
    user = leaf.create_user()
    r = requests.post(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials",
                      json={"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"},
                      headers=leaf.headers)
    assert r.json()["status"] == "TEMPORARILY_UNAVAILABLE"


def test_unauthenticated_stays_until_delete_and_a_new_post(leaf: FakeLeaf, clock: ManualClock) -> None:
    user_id, url = _credential(leaf)
    leaf.john_deere.revoke_refresh_token(user_id)
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "UNAUTHENTICATED"
    events_then = _get(leaf, f"{url}/events")
    clock.advance(10 * DAY)
    assert _get(leaf, url)["status"] == "UNAUTHENTICATED"
    assert _get(leaf, f"{url}/events") == events_then  # no more checks
    assert leaf.run_john_deere_check(user_id).status is CredentialStatus.UNAUTHENTICATED
    assert requests.delete(url, headers=leaf.headers).status_code == 204
    r = requests.post(url, json={"clientKey": "app-key", "clientSecret": "app-secret", "refreshToken": "new-rt",
                                 "clientEnvironment": "STAGE"},
                      headers=leaf.headers)
    assert r.json()["status"] == "OK"
    events = _get(leaf, f"{url}/events")
    assert not {e["id"] for e in events} & {e["id"] for e in events_then}
    assert all(e["createdDate"] == r.json()["createdTime"] for e in events)


def test_the_access_token_changes_at_each_refresh_the_refresh_token_does_not(leaf: FakeLeaf,
                                                                            clock: ManualClock) -> None:
    _, url = _credential(leaf)
    seen = [_get(leaf, url)]
    for _ in range(3):
        clock.advance(DAY)
        seen.append(_get(leaf, url))
    assert len({c["accessToken"] for c in seen}) == 4
    assert {c["refreshToken"] for c in seen} == {"grower-rt"}


def test_with_rotation_on_the_refresh_token_changes_too(leaf: FakeLeaf, clock: ManualClock) -> None:
    leaf.john_deere.refresh_token_rotation = True
    user_id, url = _credential(leaf)
    seen = [_get(leaf, url)]
    for _ in range(3):
        clock.advance(DAY)
        seen.append(_get(leaf, url))
    assert len({c["refreshToken"] for c in seen}) == 4
    assert all(c["status"] == "OK" for c in seen)
    leaf.john_deere.revoke_refresh_token(user_id)  # revokes the current, rotated token
    clock.advance(DAY)
    assert _get(leaf, url)["status"] == "UNAUTHENTICATED"


def test_a_refresh_token_unused_for_a_year_is_invalid_grant(clock: ManualClock) -> None:
    with FakeLeaf(clock=clock, check_interval=dt.timedelta(days=366)) as leaf:
        _, url = _credential(leaf)
        clock.advance(dt.timedelta(days=366))
        assert _get(leaf, url)["status"] == "UNAUTHENTICATED"
        assert json.loads(_get(leaf, f"{url}/events")[0]["body"])["error"] == "invalid_grant"


def test_a_credential_of_45_days_lists_only_the_last_30(leaf: FakeLeaf, clock: ManualClock) -> None:
    user_id, url = _credential(leaf)
    clock.advance(45 * DAY)
    events = _get(leaf, f"{url}/events?size=100")
    dates = [dt.datetime.strptime(e["createdDate"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
             for e in events]
    now = START + 45 * DAY
    assert all(now - d < dt.timedelta(days=30) for d in dates)
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == now and dates[-1] == now - 29 * DAY  # a check a day, 2 calls each
    assert len(events) == 60
    record = leaf._backend._credentials(leaf.username, user_id, "JohnDeere")
    assert len(record.events) == 60  # the older ones are freed, not hidden


def test_run_a_check_now_and_set_a_status_directly(leaf: FakeLeaf) -> None:
    user_id, url = _credential(leaf)
    leaf.john_deere.start_outage()
    assert leaf.run_john_deere_check(user_id).status is CredentialStatus.TEMPORARILY_UNAVAILABLE
    assert _get(leaf, url)["status"] == "TEMPORARILY_UNAVAILABLE"
    leaf.set_john_deere_credentials_status(user_id, "MISSING_PERMISSION")
    assert _get(leaf, url)["status"] == "MISSING_PERMISSION"
    assert [a.type for a in leaf.alerts()] == ["credentialsLimitedPermission"]
    with pytest.raises(ValueError):
        leaf.set_john_deere_credentials_status(user_id, "BROKEN")


def test_freezegun_tick_move_to_and_auto_tick() -> None:
    with freeze_time("2026-03-01T00:00:00Z") as frozen, FakeLeaf() as leaf:
        user_id, url = _credential(leaf)
        leaf.john_deere.revoke_refresh_token(user_id)
        frozen.move_to("2026-03-02T00:00:00Z")
        assert _get(leaf, url)["status"] == "UNAUTHENTICATED"
    with freeze_time("2026-03-01T00:00:00Z", auto_tick_seconds=3600), FakeLeaf() as leaf:
        user_id, url = _credential(leaf)
        leaf.john_deere.start_outage()
        for _ in range(30):  # every read of the clock moves it an hour
            leaf.now()
        assert _get(leaf, url)["status"] == "TEMPORARILY_UNAVAILABLE"


def test_time_machine_moves_it_too() -> None:
    with time_machine.travel(START, tick=False) as traveller, FakeLeaf() as leaf:
        user_id, url = _credential(leaf)
        leaf.john_deere.withdraw_scope(user_id, "files")
        traveller.shift(DAY)
        assert _get(leaf, url)["status"] == "MISSING_PERMISSION"


def test_a_jump_of_ten_years_equals_a_walk_of_ten_years() -> None:
    walked, jumped = ManualClock(START), ManualClock(START)
    leaves = [FakeLeaf(clock=walked), FakeLeaf(clock=jumped)]
    for leaf in leaves:
        leaf.create_user(name="x")
        user = leaf.list_users()[0]
        leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    for _ in range(3650):
        walked.advance(DAY)
        leaves[0].now() and leaves[0].list_users()
    jumped.advance(3650 * DAY)
    views = []
    for leaf in leaves:
        user_id = leaf.list_users()[0].id
        events = leaf.john_deere_credential_events(user_id)
        views.append((leaf.get_john_deere_credentials(user_id).status,
                      [(e.created_date, e.status_code) for e in events]))
    assert views[0] == views[1]


def test_the_fakes_timing_says_when_it_checks_expires_tokens_and_forgets_events(clock: ManualClock) -> None:
    second = dt.timedelta(seconds=1)
    with FakeLeaf(clock=clock, check_interval=dt.timedelta(hours=6)) as leaf:
        timing = leaf.timing
        assert timing.check_interval == dt.timedelta(hours=6)  # the option, as given
        user_id, _ = _credential(leaf)
        first = leaf.john_deere_credential_events(user_id)
        refresh = json.loads(next(e.body for e in first if "access_token" in e.body))
        assert dt.timedelta(seconds=refresh["expires_in"]) == timing.access_token_lifetime
        clock.advance(timing.check_interval - second)
        assert len(leaf.john_deere_credential_events(user_id)) == len(first)
        clock.advance(second)
        assert len(leaf.john_deere_credential_events(user_id)) > len(first)  # the next check, right then
        clock.set(first[-1].created_date + timing.events_window - second)
        assert first[-1].id in [e.id for e in leaf.john_deere_credential_events(user_id)]
        clock.advance(second)
        assert first[-1].id not in [e.id for e in leaf.john_deere_credential_events(user_id)]
        for remember_me, lifetime in ((False, timing.leaf_token_lifetime), (True, timing.remember_me_token_lifetime)):
            token = leaf.login(remember_me=remember_me)
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            assert claims["exp"] == int((leaf.now() + lifetime).timestamp())
