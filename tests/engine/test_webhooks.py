"""The alerts service as state: what is due when, without HTTP or sending."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from fake_leaf import ManualClock
from fake_leaf.engine import CredentialStatus, LeafBackend
from fake_leaf.engine._webhooks import Outcome

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
OWNER = "owner@test"
JOHN_DEERE_BODY = {"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"}
HOOK = {"name": "n", "url": "https://receiver.test/", "secret": "s", "events": ["credentialsLimitedPermission"]}


def backend() -> tuple[LeafBackend, ManualClock]:
    clock = ManualClock(START)
    b = LeafBackend(clock=clock)
    b.add_api_owner(OWNER, "pw")
    b.webhooks.alert_payload = lambda alert: {"type": alert.type}
    return b, clock


def test_the_confirmation_is_due_at_registration_and_taken_once() -> None:
    b, _ = backend()
    b.webhooks.register(OWNER, HOOK)
    due = b.webhooks.take_due()
    assert [(p.attempt, p.event, p.due) for p in due] == [(1, None, START)]
    assert b.webhooks.take_due() == []  # taken for sending: another sender never sends it twice


def test_a_failure_schedules_the_next_attempt_from_the_first_failure() -> None:
    b, clock = backend()
    b.webhooks.register(OWNER, HOOK)
    (pending,) = b.webhooks.take_due()
    b.webhooks.record(pending, Outcome(connection_error="refused"))
    clock.advance(dt.timedelta(hours=5))
    dues = []
    while due := b.webhooks.take_due():
        (retry,) = due
        dues.append(retry.due - START)
        b.webhooks.record(retry, Outcome(status=500, response="no"))
    assert dues == [dt.timedelta(minutes=m) for m in (1, 30, 60, 240)]
    assert len(b.webhooks.failed_calls(OWNER)) == 5
    assert [d.attempt for d in b.webhooks.deliveries()] == [1, 2, 3, 4, 5]


def test_an_alert_waits_in_the_log_until_the_router_says_how_it_reads() -> None:
    b, _ = backend()
    b.webhooks.alert_payload = None
    b.webhooks.register(OWNER, HOOK)
    b.webhooks.take_due()
    user = b.create_user(OWNER, {})
    b.create_credentials(OWNER, user.id, "JohnDeere", JOHN_DEERE_BODY)
    b.set_status(OWNER, user.id, "JohnDeere", CredentialStatus.MISSING_PERMISSION)
    assert b.webhooks.take_due() == []
    b.webhooks.alert_payload = lambda alert: {"type": alert.type}
    assert [p.event for p in b.webhooks.take_due()] == ["credentialsLimitedPermission"]


def test_an_alert_of_a_user_deleted_since_still_reaches_its_owners_webhook() -> None:
    b, _ = backend()
    b.webhooks.register(OWNER, HOOK)
    b.webhooks.take_due()
    user = b.create_user(OWNER, {})
    b.create_credentials(OWNER, user.id, "JohnDeere", JOHN_DEERE_BODY)
    b.set_status(OWNER, user.id, "JohnDeere", CredentialStatus.MISSING_PERMISSION)
    b.delete_user(OWNER, user.id)
    assert [(p.api_owner, p.body) for p in b.webhooks.take_due()] == [
        (OWNER, b'{"type": "credentialsLimitedPermission"}')]


def test_clearing_forgets_webhooks_and_reads_the_new_log_from_its_start() -> None:
    b, _ = backend()
    b.webhooks.register(OWNER, HOOK)
    b.webhooks.take_due()
    b.clear()
    assert b.webhooks.list_webhooks(OWNER) == [] and b.webhooks.deliveries() == []
    b.webhooks.register(OWNER, HOOK)
    b.webhooks.take_due()
    user = b.create_user(OWNER, {})
    b.create_credentials(OWNER, user.id, "JohnDeere", JOHN_DEERE_BODY)
    b.set_status(OWNER, user.id, "JohnDeere", CredentialStatus.MISSING_PERMISSION)
    assert len(b.webhooks.take_due()) == 1


def test_a_fake_that_registers_no_webhook_never_loads_the_alerts_service() -> None:
    # the alerts service costs import time: a test that does not use it must not pay for it
    code = ("import sys, requests, fake_leaf\n"
            "leaf = fake_leaf.FakeLeaf()\n"
            "with leaf:\n"
            "    assert requests.get(leaf.user_management_url + '/users', headers=leaf.headers).ok\n"
            "leaf.reset()\n"
            "print('fake_leaf.engine._webhooks' in sys.modules, fake_leaf.verify_signature.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "verify_signature"]  # and the public name still loads it on demand
