"""What the engine keeps is bounded: released grants, alerts; a deleted credential leaves nothing due."""

from __future__ import annotations

import datetime as dt

import pytest

from fake_leaf import CredentialStatus, FakeLeaf, ManualClock
from fake_leaf.engine import _lifecycle, _upstream

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


def _post(leaf: FakeLeaf, user: str, token: str) -> None:
    leaf.create_john_deere_credentials(user, client_key=f"key-{token}", client_secret="s", refresh_token=token)


def test_released_grants_are_kept_for_a_new_post_up_to_the_bound_oldest_forgotten_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_upstream, "MAX_ORPHAN_GRANTS", 3)
    leaf = FakeLeaf(clock=ManualClock(START))
    user = leaf.create_user(name="grower").id
    for token in ("t0", "t1", "t2", "t3"):
        _post(leaf, user, token)
        leaf.john_deere.revoke_refresh_token(user)
        leaf.delete_john_deere_credentials(user)
    _post(leaf, user, "t3")  # released recently: John Deere still knows it revoked
    assert leaf.get_john_deere_credentials(user).status is CredentialStatus.UNAUTHENTICATED
    leaf.delete_john_deere_credentials(user)
    _post(leaf, user, "t0")  # the oldest released, forgotten with its client: a new grant
    assert leaf.get_john_deere_credentials(user).status is CredentialStatus.OK
    assert len(leaf._backend.upstreams["JohnDeere"]._grants) == 4  # three kept, one held


def test_a_deleted_credential_leaves_no_check_due() -> None:
    leaf = FakeLeaf(clock=ManualClock(START))
    users = [leaf.create_user(name=f"g{i}").id for i in range(100)]
    for i, user in enumerate(users):
        _post(leaf, user, f"r{i}")
        leaf.john_deere.set_status(user, "MISSING_PERMISSION")  # not settled: on the schedule
    for user in users:
        leaf.delete_user(user)
    assert len(leaf._backend._schedule) < 100 and not leaf._backend._live and not leaf._backend._deferred


def test_the_alert_log_keeps_the_newest_and_webhooks_still_get_every_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lifecycle, "MAX_ALERTS", 10)
    leaf = FakeLeaf(clock=ManualClock(START))
    user = leaf.create_user(name="grower").id
    _post(leaf, user, "r")
    backend = leaf._backend
    backend.webhooks.alert_payload = lambda alert: {"type": alert.type}
    backend.webhooks.register(leaf.username, {"name": "n", "url": "https://receiver.test/", "secret": "s",
                                              "events": ["credentialsLimitedPermission"]})
    sent = []
    for _ in range(30):
        leaf.john_deere.set_status(user, "MISSING_PERMISSION")
        sent += backend.webhooks.take_due()  # the webhooks read the log as alerts come
        leaf.john_deere.set_status(user, "OK")
    log = backend.alert_log()
    assert 10 <= len(log) <= 11 and log[-1].type == "credentialsLimitedPermission"
    assert len([p for p in sent if p.event == "credentialsLimitedPermission"]) == 30
