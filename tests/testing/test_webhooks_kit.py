"""The machine plays Leaf's alerts webhook to a client's receiver: deliveries when the fake makes them, Leaf's
retries, duplicates, late and forged deliveries, a receiver down; it catches a receiver that acts on a forgery,
acts twice, refuses a duplicate or trusts the order of arrival; a client without a receiver still polls."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
import requests
from hypothesis import HealthCheck, settings

from fake_leaf import PROVIDERS
from fake_leaf.testing.state_machine import ClientMismatchError, LeafClientStateMachine, LeafRules, _Change
from tests.reference_client import LeafClient
from tests.testing.reference_machine import WebhookReferenceClientMachine

M = TypeVar("M", bound=LeafClientStateMachine)
_UNPATCHED_SEND = requests.adapters.HTTPAdapter.send


@contextmanager
def started(cls: type[M]) -> Iterator[M]:
    machine = cls()
    try:
        machine.start()
        machine.check_alerts()
        yield machine
    finally:
        machine.teardown()


def revoke(machine: LeafClientStateMachine) -> None:
    """The grower's grant revoked, and Leaf's next check: a credentialsUnauthenticated alert."""
    machine.provider_transition(_Change("revoke_refresh_token", machine.users[0]), "the next check and a sync")


def arrivals(machine: LeafClientStateMachine) -> list[str]:
    receiver = machine.alerts_receiver
    assert receiver is not None
    return [f"{a.how}: {a.status}" for a in receiver.arrivals]


# -- the planted bugs ------------------------------------------------------------------------------

class _SkipsTheSignature(LeafClient):
    def receive_alert(self, body: bytes, headers: Mapping[str, str]) -> int:
        import base64
        import hashlib
        import hmac

        good = base64.b64encode(hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()).decode()
        return super().receive_alert(body, {**headers, "X-Leaf-Signature": good})


class _ActsOnEveryDelivery(LeafClient):
    def receive_alert(self, body: bytes, headers: Mapping[str, str]) -> int:
        self.alerts_seen.clear()
        return super().receive_alert(body, headers)


class _RefusesADuplicate(LeafClient):
    def receive_alert(self, body: bytes, headers: Mapping[str, str]) -> int:
        before = len(self.alerts_seen)
        status = super().receive_alert(body, headers)
        return 503 if b'"type": "credentials' in body and len(self.alerts_seen) == before else status


class _LastArrivalWins(LeafClient):
    def act_on_alert(self, payload: dict[str, Any]) -> None:
        self.alerts_acted_on.append(payload)
        self.newest_alerts[payload["credentialId"]] = payload


def machine_for(client: type[LeafClient]) -> type[WebhookReferenceClientMachine]:
    return type(f"{client.__name__}Machine", (WebhookReferenceClientMachine,), {"client_class": client})


# -- the reference receiver passes; deliveries come when the fake makes them -----------------------------

def test_the_machine_registers_the_clients_webhook_and_its_confirmation_arrives_signed() -> None:
    with started(WebhookReferenceClientMachine) as machine:
        assert arrivals(machine) == ["Leaf's delivery: 200"]
        assert machine.client.alerts_acted_on == []  # a confirmation is no alert


def test_an_alert_from_a_check_reaches_the_receiver_and_the_client_acts_on_it_once() -> None:
    with started(WebhookReferenceClientMachine) as machine:
        revoke(machine)
        machine.check_alerts()
        assert arrivals(machine)[-1] == "Leaf's delivery: 200"
        credential = machine.truth_credentials(machine.users[0])
        assert credential is not None
        assert [a["type"] for a in machine.client.alerts_acted_on] == ["credentialsUnauthenticated"]
        assert machine.client.alert_decisions() == {credential.id: "reconnect"}


def test_a_receiver_down_gets_the_alert_on_leafs_retry() -> None:
    with started(WebhookReferenceClientMachine) as machine:
        machine.receiver_trouble("down for 2 deliveries")
        revoke(machine)
        machine.check_alerts()
        assert machine.client.alerts_acted_on == []
        for _ in range(2):  # 1 minute, then 30 minutes after the first failure
            machine.leaf_retries_delivery()
            machine.check_alerts()
        attempts = [(d.attempt, d.ok) for d in machine.leaf.webhook_deliveries() if d.event is not None]
        assert attempts == [(1, False), (2, False), (3, True)]
        assert len(machine.client.alerts_acted_on) == 1


def test_an_answer_lost_on_the_way_back_makes_leaf_deliver_again_and_the_client_acts_once() -> None:
    with started(WebhookReferenceClientMachine) as machine:
        machine.receiver_trouble("the next answer lost")
        revoke(machine)
        machine.check_alerts()
        machine.leaf_retries_delivery()
        machine.check_alerts()
        assert arrivals(machine)[1:] == ["Leaf's delivery: 200", "Leaf's retry: 200"]
        assert len(machine.client.alerts_acted_on) == 1


def test_a_late_alert_reaches_the_client_after_the_credentials_next_one() -> None:
    with started(WebhookReferenceClientMachine) as machine:
        machine.deliveries_out_of_order("a permission flaps")
        machine.check_alerts()
        assert arrivals(machine)[1:] == ["Leaf's delivery: 200", "late: after a newer alert: 200"]
        stamps = [a["timestamp"] for a in machine.client.alerts_acted_on]
        assert stamps == sorted(stamps, reverse=True)  # the newer arrived first
        newest = machine.client_alert_view()
        assert [a["timestamp"] for a in newest.values()] == [max(stamps)]


@pytest.mark.parametrize("how", ["wrong signature", "body changed after signing"])
def test_the_reference_receiver_refuses_a_forged_delivery(how: str) -> None:
    with started(WebhookReferenceClientMachine) as machine:
        machine.forged_delivery(how)
        machine.check_alerts()
        assert arrivals(machine)[-1] == f"forged: {how}: 401"
        assert machine.client.alerts_acted_on == []


# -- each planted bug is caught by the play that shows it -------------------------------------------------

@pytest.mark.parametrize("how", ["wrong signature", "body changed after signing"])
def test_a_receiver_that_skips_the_signature_is_caught_acting_on_a_forgery(how: str) -> None:
    with started(machine_for(_SkipsTheSignature)) as machine:
        machine.forged_delivery(how)
        with pytest.raises(ClientMismatchError, match="reported an alert Leaf never sent"):
            machine.check_alerts()


def test_a_receiver_that_acts_on_every_delivery_is_caught_by_a_duplicate() -> None:
    with started(machine_for(_ActsOnEveryDelivery)) as machine:
        revoke(machine)
        machine.check_alerts()
        machine.duplicate_delivery()
        with pytest.raises(ClientMismatchError, match=re.escape("reported 2 actions for alert")):
            machine.check_alerts()


def test_a_receiver_that_acts_on_every_delivery_is_caught_by_leafs_retry_after_a_lost_answer() -> None:
    with started(machine_for(_ActsOnEveryDelivery)) as machine:
        machine.receiver_trouble("the next answer lost")
        revoke(machine)
        machine.check_alerts()  # acted once; Leaf saw no answer
        machine.leaf_retries_delivery()
        with pytest.raises(ClientMismatchError, match=re.escape("reported 2 actions for alert")):
            machine.check_alerts()


def test_a_receiver_that_refuses_a_duplicate_it_handled_is_caught() -> None:
    with started(machine_for(_RefusesADuplicate)) as machine:
        revoke(machine)
        machine.check_alerts()
        machine.duplicate_delivery()
        with pytest.raises(ClientMismatchError, match=re.escape("answered 503 to a genuine delivery")
                           + ".*already handled"):
            machine.check_alerts()


def test_a_client_that_trusts_the_order_of_arrival_is_caught_by_a_late_alert() -> None:
    with started(machine_for(_LastArrivalWins)) as machine:
        machine.deliveries_out_of_order("a permission flaps")
        with pytest.raises(ClientMismatchError, match="the alert's timestamp says which is newest"):
            machine.check_alerts()


# -- hooks are optional, and checked -----------------------------------------------------------------------

def test_a_client_without_a_receiver_polls_and_no_webhook_is_registered() -> None:
    with started(LeafClientStateMachine) as machine:
        revoke(machine)
        assert machine.alerts_receiver is None
        assert machine.leaf.webhook_deliveries() == []
    # nor are the webhook rules drawn: a polling machine's examples are what they were
    assert not hasattr(LeafClientStateMachine, "forged_delivery")
    assert hasattr(WebhookReferenceClientMachine, "forged_delivery")


def test_a_receiver_without_its_view_hooks_is_refused_by_name() -> None:
    class OnlyAReceiver(LeafClientStateMachine):
        def client_receive_alert(self, body: bytes, headers: dict[str, str]) -> int:
            return 200

    with pytest.raises(TypeError, match="client_alerts_acted_on and client_alert_view"):
        OnlyAReceiver()
    assert requests.adapters.HTTPAdapter.send is _UNPATCHED_SEND  # refused before the fake patched anything


class _AsyncReceiver(WebhookReferenceClientMachine):
    async def client_receive_alert(self, body: bytes, headers: dict[str, str]) -> int:  # type: ignore[override]
        return self.client.receive_alert(body, headers)


def test_an_async_receiver_is_awaited() -> None:
    with started(_AsyncReceiver) as machine:
        revoke(machine)
        machine.check_alerts()
        assert len(machine.client.alerts_acted_on) == 1


class _PlaysSwitchedOff(WebhookReferenceClientMachine):
    leaf_rules = LeafRules(webhook_plays=False)


def test_webhook_plays_switched_off_leave_leafs_own_deliveries_and_retries() -> None:
    with started(_PlaysSwitchedOff) as machine:
        assert not machine.plays_webhooks()
        revoke(machine)
        machine.check_alerts()
        assert len(machine.client.alerts_acted_on) == 1


TestWebhookReferenceClient = WebhookReferenceClientMachine.TestCase
TestWebhookReferenceClient.settings = settings(max_examples=5, stateful_step_count=10, deadline=None, database=None,
                                               suppress_health_check=[HealthCheck.too_slow])


class _MinimalReceiver(LeafClientStateMachine):
    """A user's receiver on the default client: the machine's registration and secret, fake_leaf's own check."""

    def __init__(self) -> None:
        super().__init__()
        self.acted: list[dict[str, Any]] = []
        self.newest: dict[str, dict[str, Any]] = {}

    def client_receive_alert(self, body: bytes, headers: dict[str, str]) -> int:
        import json

        from fake_leaf import verify_signature

        if not verify_signature(body, self.webhook_secret, headers.get("X-Leaf-Signature")):
            return 401
        alert = json.loads(body)
        if "type" in alert and alert not in self.acted:
            self.acted.append(alert)
            held = self.newest.get(alert["credentialId"])
            if held is None or alert["timestamp"] > held["timestamp"]:  # one format: text order is time order
                self.newest[alert["credentialId"]] = alert
        return 200

    def client_alerts_acted_on(self) -> list[dict[str, Any]]:
        return self.acted

    def client_alert_view(self) -> dict[str, dict[str, Any]]:
        return self.newest


def test_a_receiver_on_the_default_client_uses_the_machines_registration_and_secret() -> None:
    with started(_MinimalReceiver) as machine:
        machine.forged_delivery("body changed after signing")
        revoke(machine)
        machine.duplicate_delivery()
        machine.check_alerts()
        assert [a["type"] for a in machine.acted] == ["credentialsUnauthenticated"]


TestMinimalReceiver = _MinimalReceiver.TestCase
TestMinimalReceiver.settings = TestWebhookReferenceClient.settings


class _MinimalReceiverOfAnotherProvider(_MinimalReceiver):
    provider = PROVIDERS[1]


def test_another_providers_permission_flaps_through_its_own_upstream() -> None:
    with started(_MinimalReceiverOfAnotherProvider) as machine:
        machine.deliveries_out_of_order("a permission flaps")
        machine.check_alerts()
        assert [a["provider"] for a in machine.acted] == [PROVIDERS[1].name] * 2


TestMinimalReceiverOfAnotherProvider = _MinimalReceiverOfAnotherProvider.TestCase
TestMinimalReceiverOfAnotherProvider.settings = TestWebhookReferenceClient.settings
