"""What the engine keeps is bounded: released grants, alerts; a deleted credential leaves nothing due."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fake_leaf import CredentialStatus, FakeLeaf, ManualClock
from fake_leaf.engine import _lifecycle, _upstream, _webhooks
from fake_leaf.engine._webhooks import Outcome

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


def _alerting_credentials(leaf: FakeLeaf, user: str, key_length: int, cycles: int) -> None:
    """Credentials with a long client key, each raising an alert, then deleted: only their alerts hold the key."""
    for i in range(cycles):
        leaf.create_john_deere_credentials(user, client_key=f"{i}-" + "k" * key_length, client_secret="s",
                                           refresh_token=f"r{i}")
        leaf.john_deere.set_status(user, "MISSING_PERMISSION")
        leaf.delete_john_deere_credentials(user)


def test_the_alert_log_keeps_at_most_its_bound_of_text_the_newest_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lifecycle, "MAX_ALERT_TEXT", 100_000)
    leaf = FakeLeaf(clock=ManualClock(START))
    user = leaf.create_user(name="grower").id
    _alerting_credentials(leaf, user, key_length=10_000, cycles=40)  # 400,000 characters of keys alone
    log = leaf.alerts()
    assert sum(len(a.credential) + len(a.message) for a in log) <= 100_000
    assert 5 <= len(log) < 40 and log[-1].credential.startswith("39-")  # the oldest went first


def test_an_alert_longer_than_the_bound_is_still_kept_until_a_newer_one_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lifecycle, "MAX_ALERT_TEXT", 1_000)
    leaf = FakeLeaf(clock=ManualClock(START))
    user = leaf.create_user(name="grower").id
    _alerting_credentials(leaf, user, key_length=5_000, cycles=2)
    assert [a.credential[:2] for a in leaf.alerts()] == ["1-"]


def _failing_deliveries(monkeypatch: pytest.MonkeyPatch, kept_bytes: int, cycles: int) -> FakeLeaf:
    monkeypatch.setattr(_webhooks, "KEPT_BYTES", kept_bytes)
    leaf = FakeLeaf(clock=ManualClock(START))
    user = leaf.create_user(name="grower").id
    hooks = leaf._backend.webhooks
    hooks.alert_payload = lambda alert: {"type": alert.type, "credential": getattr(alert, "credential", "")}
    hooks.register(leaf.username, {"name": "n", "url": "https://receiver.test/", "secret": "s",
                                   "events": ["credentialsLimitedPermission"]})
    for i in range(cycles):
        _alerting_credentials(leaf, user, key_length=2_000, cycles=1)
        for pending in hooks.take_due():
            hooks.record(pending, Outcome(status=500, response=f"{i}:" + "e" * 998))
    return leaf


def test_webhook_deliveries_and_failed_calls_keep_at_most_their_bound_of_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    leaf = _failing_deliveries(monkeypatch, kept_bytes=30_000, cycles=40)  # about 3,000 bytes an attempt
    hooks = leaf._backend.webhooks
    deliveries, failed = hooks.deliveries(), hooks.failed_calls(leaf.username)
    assert sum(len(d.body) + len(d.url) + len(d.response or "") for d in deliveries) <= 30_000
    assert sum(len(f.request_body) + len(f.url) + len(f.response or "") for f in failed) <= 30_000
    assert 5 <= len(deliveries) < 40 and 5 <= len(failed) < 40
    assert deliveries[-1].response is not None and deliveries[-1].response.startswith("39:")  # the newest stays
    assert failed[-1].response is not None and failed[-1].response.startswith("39:")


def test_webhook_deliveries_and_failed_calls_keep_at_most_their_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_webhooks, "KEPT_ATTEMPTS", 7)
    leaf = _failing_deliveries(monkeypatch, kept_bytes=10**9, cycles=20)
    hooks = leaf._backend.webhooks
    assert len(hooks.deliveries()) == 7 and len(hooks.failed_calls(leaf.username)) == 7


def _waiting_retries(monkeypatch: pytest.MonkeyPatch, kept_bytes: int, cycles: int) -> FakeLeaf:
    """A receiver that fails every alert of ``cycles`` credentials (client keys "0-kkk...", "1-kkk", ...) while
    the clock never moves: each failed delivery leaves a retry waiting."""
    leaf = _failing_deliveries(monkeypatch, kept_bytes, cycles=0)
    hooks = leaf._backend.webhooks
    for pending in hooks.take_due():  # the confirmation, answered
        hooks.record(pending, Outcome(status=200))
    user = leaf.create_user(name="another grower").id
    for i in range(cycles):
        leaf.create_john_deere_credentials(user, client_key=f"{i}-" + "k" * 2_000, client_secret="s",
                                           refresh_token=f"r{i}")
        leaf.john_deere.set_status(user, "MISSING_PERMISSION")
        leaf.delete_john_deere_credentials(user)
        for pending in hooks.take_due():
            hooks.record(pending, Outcome(status=500))
    return leaf


def _retries_sent_after_a_minute(leaf: FakeLeaf) -> list[str]:
    """Move the clock past the first retry's delay and take what goes out: each one's client key prefix."""
    assert isinstance(leaf.clock, ManualClock)
    leaf.clock.advance(dt.timedelta(minutes=2))
    return [str(json.loads(pending.body)["credential"]).split("-")[0] for pending in leaf._backend.webhooks.take_due()]


def test_retries_waiting_for_their_time_keep_at_most_their_count_the_newest_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_webhooks, "KEPT_WAITING", 5)
    leaf = _waiting_retries(monkeypatch, kept_bytes=10**9, cycles=20)
    hooks = leaf._backend.webhooks
    assert len(hooks._queue) <= 5
    sent = _retries_sent_after_a_minute(leaf)
    assert sent == ["15", "16", "17", "18", "19"]  # those that failed first were dropped, never sent
    assert [d.attempt for d in hooks.deliveries()][-20:] == [1] * 20  # nothing was sent when dropped


def test_deleting_a_webhook_drops_its_waiting_retries_and_their_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    leaf = _waiting_retries(monkeypatch, kept_bytes=10**9, cycles=3)
    hooks = leaf._backend.webhooks
    assert len(hooks._queue) == 3 and hooks._queued_bytes > 6_000
    hooks.delete_webhook(leaf.username, hooks.list_webhooks(leaf.username)[0].id)
    assert hooks._queue == [] and hooks._queued_bytes == 0


def test_retries_waiting_for_their_time_keep_at_most_their_bound_of_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    leaf = _waiting_retries(monkeypatch, kept_bytes=20_000, cycles=30)  # bodies of about 2,100 bytes
    hooks = leaf._backend.webhooks
    queued = [item[2] for item in hooks._queue]
    assert sum(len(p.body) + len(p.url) for p in queued) <= 20_000 and 5 <= len(queued) < 30
    assert hooks._queued_bytes == sum(len(p.body) + len(p.url) for p in queued)
    sent = _retries_sent_after_a_minute(leaf)
    assert sent[-1] == "29" and sent == [str(i) for i in range(30 - len(sent), 30)]  # the newest, in order
    assert hooks._queued_bytes == 0


def test_reading_an_unknown_owners_webhooks_keeps_nothing_for_it() -> None:
    hooks = FakeLeaf(clock=ManualClock(START))._backend.webhooks
    for i in range(100):
        assert hooks.failed_calls(f"nobody-{i}") == [] and hooks.list_webhooks(f"nobody-{i}") == []
    assert not hooks._owners
