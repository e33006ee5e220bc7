"""Leaf's alerts service: webhooks CRUD, owner scoping, refusals, signed deliveries, retries, failed calls."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
import time_machine
from freezegun import freeze_time

from fake_leaf import FakeLeaf, ManualClock, Provider, verify_signature
from fake_leaf.engine import PROVIDERS
from fake_leaf.http._serialize import alert_json
from tests.conftest import CREDENTIALS_BODY

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
RECEIVER = "https://receiver.example/leaf"
CONFIRMATION = {"message": "confirmation of webhook upon registration"}


def hook(url: Any = RECEIVER, events: tuple[str, ...] = ("credentialsUnauthenticated",),
         **extra: Any) -> dict[str, Any]:
    return {"name": "my webhook", "url": url, "secret": "s3cret", "events": list(events), **extra}


class Receiver:
    """A `responses` callback that records each delivery and answers what it is told."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.statuses = statuses or []

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = request.body
        self.bodies.append(body if isinstance(body, bytes) else str(body).encode())
        self.headers.append(dict(request.headers))
        return (self.statuses.pop(0) if self.statuses else 200), {}, "thanks"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def fake(clock: ManualClock, rsps: responses.RequestsMock) -> Iterator[FakeLeaf]:
    with FakeLeaf(clock=clock, requests_mock=rsps) as leaf:
        yield leaf


@pytest.fixture
def receiver(rsps: responses.RequestsMock) -> Receiver:
    r = Receiver()
    rsps.add_callback("POST", RECEIVER, callback=r)
    return r


def alerts_url(leaf: FakeLeaf) -> str:
    return f"{leaf.base_url}/services/alerts/api/alerts/webhooks"


def register(leaf: FakeLeaf, body: dict[str, Any], token: str | None = None) -> requests.Response:
    return requests.post(alerts_url(leaf), json=body, headers={"Authorization": f"Bearer {token or leaf.token}"})


def unauthenticated_user(leaf: FakeLeaf) -> str:
    """A user whose John Deere credentials turn UNAUTHENTICATED at the next check, a day from now."""
    user = leaf.create_user(name="Ada")
    leaf.create_john_deere_credentials(user.id, client_key=CREDENTIALS_BODY["clientKey"],
                                       client_secret="secret", refresh_token="refresh")
    leaf.john_deere.revoke_refresh_token(user.id)
    return user.id


# -- registration, reading, deleting -------------------------------------------------------------


def test_registering_echoes_the_webhook_with_its_location(fake: FakeLeaf, receiver: Receiver) -> None:
    r = register(fake, hook())
    assert r.status_code == 201
    body = r.json()
    assert {k: body[k] for k in ("events", "name", "secret", "url")} == hook()
    assert r.headers["Location"] == f"{alerts_url(fake)}/{body['id']}"
    assert requests.get(r.headers["Location"], headers=fake.headers).json() == body
    assert requests.get(alerts_url(fake), headers=fake.headers).json() == [body]


def test_deleting_a_webhook_makes_it_a_404(fake: FakeLeaf, receiver: Receiver) -> None:
    webhook_id = register(fake, hook()).json()["id"]
    assert requests.delete(f"{alerts_url(fake)}/{webhook_id}", headers=fake.headers).status_code == 204
    gone = requests.get(f"{alerts_url(fake)}/{webhook_id}", headers=fake.headers)
    assert gone.status_code == 404 and webhook_id in gone.json()["detail"]
    assert requests.delete(f"{alerts_url(fake)}/{webhook_id}", headers=fake.headers).status_code == 404
    assert requests.get(alerts_url(fake), headers=fake.headers).json() == []


def test_another_owners_webhook_is_answered_as_missing(fake: FakeLeaf, receiver: Receiver) -> None:
    webhook_id = register(fake, hook()).json()["id"]
    other = fake.add_api_owner("other@owner.test", "pw")
    headers = {"Authorization": f"Bearer {other}"}
    assert requests.get(f"{alerts_url(fake)}/{webhook_id}", headers=headers).status_code == 404
    assert requests.delete(f"{alerts_url(fake)}/{webhook_id}", headers=headers).status_code == 404
    assert requests.get(alerts_url(fake), headers=headers).json() == []
    # the same events are free for another owner
    assert register(fake, hook(), token=other).status_code == 201
    assert requests.get(f"{alerts_url(fake)}/{webhook_id}", headers=fake.headers).status_code == 200


def test_the_alerts_service_needs_a_token(fake: FakeLeaf) -> None:
    r = requests.get(alerts_url(fake))
    assert r.status_code == 401 and r.json()["detail"] == "Not Authenticated"


def test_failed_calls_is_a_route_not_a_webhook_id(fake: FakeLeaf) -> None:
    r = requests.get(f"{alerts_url(fake)}/failed-calls", headers=fake.headers)
    assert (r.status_code, r.json()) == (200, {"items": []})
    assert requests.delete(f"{alerts_url(fake)}/failed-calls", headers=fake.headers).status_code == 405


# -- refusals ----------------------------------------------------------------------------------


def test_an_event_registered_twice_is_refused_naming_it_and_the_other_webhook(fake: FakeLeaf,
                                                                             receiver: Receiver) -> None:
    first = register(fake, hook(events=("credentialsUnauthenticated",))).json()
    r = register(fake, hook(events=("credentialsLimitedPermission", "credentialsUnauthenticated")))
    assert r.status_code == 400
    problem = r.json()
    assert problem["errorKey"] == "eventRegisteredTwice"
    assert problem["message"] == "error.eventRegisteredTwice"
    assert problem["type"] == "https://www.jhipster.tech/problem/problem-with-message"
    assert "credentialsUnauthenticated" in problem["detail"] and first["id"] in problem["detail"]
    assert r.headers["Content-Type"] == "application/problem+json"
    assert [w["id"] for w in requests.get(alerts_url(fake), headers=fake.headers).json()] == [first["id"]]


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"name": "n", "secret": "s", "events": ["credentialsUnauthenticated"]}, "url", "is required"),
    (hook(secret=None), "secret", "is required"),
    (hook(name="  "), "name", "must not be blank"),
    (hook(events=()), "events", "non-empty list"),
    (hook(events=("credentialsExpired",)), "events", "'credentialsExpired' is not an event"),
    (hook(url="ftp://receiver.example/x"), "url", "http:// or https://"),
    (hook(url="https://"), "url", "must name a host"),
    (hook(url="https://receiver.example/a b"), "url", "without spaces"),
    (hook(url="https://receiver.example:99999/"), "url", "port from 1 to 65535"),
    (hook(url=42), "url", "must be a string, got a number"),
    ({**hook(), "events": "credentialsUnauthenticated"}, "events", "got a string"),
])
def test_a_bad_registration_is_a_400_naming_the_field_and_stores_nothing(fake: FakeLeaf, body: dict[str, Any],
                                                                          field: str, says: str) -> None:
    r = register(fake, body)
    assert r.status_code == 400
    problem = r.json()
    assert problem["message"] == "error.validation"
    assert field in [e["field"] for e in problem["fieldErrors"]]
    assert says in problem["detail"]
    assert requests.get(alerts_url(fake), headers=fake.headers).json() == []
    assert fake.webhook_deliveries() == []


def test_a_body_that_is_not_json_is_a_400(fake: FakeLeaf) -> None:
    r = requests.post(alerts_url(fake), data=b"{not json", headers=fake.headers)
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]


# -- deliveries --------------------------------------------------------------------------------


def test_registration_sends_the_signed_confirmation_at_once(fake: FakeLeaf, receiver: Receiver) -> None:
    register(fake, hook())
    assert [json.loads(b) for b in receiver.bodies] == [CONFIRMATION]
    assert receiver.bodies[0] == b'{"message": "confirmation of webhook upon registration"}'
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert verify_signature(receiver.bodies[0], "s3cret", receiver.headers[0]["X-Leaf-Signature"])


def test_an_alert_goes_to_the_webhook_of_its_event_only(fake: FakeLeaf, clock: ManualClock, receiver: Receiver,
                                                        rsps: responses.RequestsMock) -> None:
    limited = Receiver()
    rsps.add_callback("POST", "https://limited.example/", callback=limited)
    register(fake, hook())
    register(fake, hook(url="https://limited.example/", events=("credentialsLimitedPermission",)))
    unauthenticated_user(fake)
    clock.advance(dt.timedelta(days=1))
    deliveries = fake.webhook_deliveries()
    assert [json.loads(b) for b in receiver.bodies] == [CONFIRMATION, *map(alert_json, fake.alerts())]
    assert [json.loads(b) for b in limited.bodies] == [CONFIRMATION]
    alert = deliveries[-1]
    assert (alert.event, alert.attempt, alert.status, alert.url) == ("credentialsUnauthenticated", 1, 200, RECEIVER)
    assert alert.sent_at == START + dt.timedelta(days=1)  # dated at the check that raised it


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.slug)
def test_an_alert_of_every_provider_is_delivered_naming_it(fake: FakeLeaf, clock: ManualClock, receiver: Receiver,
                                                           provider: Provider) -> None:
    register(fake, hook(events=("credentialsLimitedPermission",)))
    user = fake.create_user(name="Ada")
    fake.create_credentials(provider, user.id, **{f.name: f.choices[0] if f.choices else f"{f.name}-value"
                                                  for f in provider.body_fields if f.required})
    fake.upstream(provider).withdraw_permission(user.id)
    clock.advance(dt.timedelta(days=1))
    fake.webhook_deliveries()
    delivered = json.loads(receiver.bodies[-1])
    assert (delivered["type"], delivered["provider"]) == ("credentialsLimitedPermission", provider.name)


def test_an_alert_for_another_owners_user_is_not_delivered(fake: FakeLeaf, clock: ManualClock,
                                                           receiver: Receiver) -> None:
    register(fake, hook())
    fake.add_api_owner("other@owner.test", "pw")
    user = fake.create_user(api_owner="other@owner.test")
    fake.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r",
                                       api_owner="other@owner.test")
    fake.set_john_deere_credentials_status(user.id, "UNAUTHENTICATED", api_owner="other@owner.test")
    fake.webhook_deliveries()
    assert [json.loads(b) for b in receiver.bodies] == [CONFIRMATION]


def test_alerts_raised_before_a_webhook_existed_are_not_sent_to_it(fake: FakeLeaf, receiver: Receiver) -> None:
    user_id = unauthenticated_user(fake)
    fake.set_john_deere_credentials_status(user_id, "UNAUTHENTICATED")
    register(fake, hook())
    assert [json.loads(b) for b in receiver.bodies] == [CONFIRMATION]


def _docs_recipe(raw_body: bytes, secret: str, header: str) -> bool:
    """Leaf's documented check: base64-decode the header, HMAC-SHA256 the raw bytes, constant-time compare."""
    expected = hmac.digest(key=secret.encode("utf-8"), msg=raw_body, digest="sha256")
    return hmac.compare_digest(expected, base64.b64decode(header))


def _like_java(raw_body: bytes, secret: str, header: str) -> bool:
    """Mac.getInstance("HmacSHA256") keyed with secret.getBytes(UTF_8), Base64.getEncoder(), String.equals."""
    mac = hmac.new(bytes(secret, "utf-8"), digestmod=hashlib.sha256)
    mac.update(raw_body)
    return base64.standard_b64encode(mac.digest()).decode("ascii") == header


def test_every_delivery_verifies_by_the_docs_recipe_the_java_way_and_after_reserialising(
        fake: FakeLeaf, clock: ManualClock, rsps: responses.RequestsMock) -> None:
    receiver = Receiver()
    rsps.add_callback("POST", RECEIVER, callback=receiver)
    secret = "sécret-ключ-秘密"  # the secret is keyed as UTF-8, never ASCII only
    register(fake, hook(secret=secret))
    user = fake.create_user(name="Zoë")
    fake.create_john_deere_credentials(user.id, client_key="clé-キー", client_secret="s", refresh_token="r")
    fake.john_deere.revoke_refresh_token(user.id)
    clock.advance(dt.timedelta(days=1))
    fake.webhook_deliveries()
    assert len(receiver.bodies) == 2
    for body, headers in zip(receiver.bodies, receiver.headers, strict=True):
        signature = headers["X-Leaf-Signature"]
        assert b"\n" not in body
        assert _docs_recipe(body, secret, signature)
        assert _like_java(body, secret, signature)
        # the docs' older Python sample signs json.dumps(parsed) instead of the raw bytes: it must agree
        assert _docs_recipe(json.dumps(json.loads(body)).encode("utf-8"), secret, signature)
        assert verify_signature(body, secret, signature)
        assert not verify_signature(body, "wrong", signature)
        assert not verify_signature(body + b" ", secret, signature)
    assert json.loads(receiver.bodies[1])["credential"] == "clé-キー"


@pytest.mark.parametrize("header", [None, "", "not base64!", "AAAA", 42])
def test_verify_signature_says_false_to_a_malformed_header(header: Any) -> None:
    assert verify_signature(b"{}", "secret", header) is False


# -- failures and retries ------------------------------------------------------------------------


def test_failures_are_retried_1_30_60_and_240_minutes_after_the_first_then_given_up(
        fake: FakeLeaf, clock: ManualClock, rsps: responses.RequestsMock) -> None:
    rsps.add("POST", RECEIVER, status=500, body="down")
    register(fake, hook())
    first = START
    for minutes, attempts in [(0, 1), (0.5, 1), (1, 2), (29, 2), (30, 3), (60, 4), (239, 4), (240, 5), (10_000, 5)]:
        clock.set(first + dt.timedelta(minutes=minutes))
        assert len(fake.webhook_deliveries()) == attempts, f"at {minutes} minutes"
    deliveries = fake.webhook_deliveries()
    assert [d.attempt for d in deliveries] == [1, 2, 3, 4, 5]
    assert [d.sent_at - first for d in deliveries] == [dt.timedelta(minutes=m) for m in (0, 1, 30, 60, 240)]
    assert {d.delivery_id for d in deliveries} == {deliveries[0].delivery_id}
    failed = requests.get(f"{alerts_url(fake)}/failed-calls", headers=fake.headers).json()["items"]
    assert [f["createdAt"] for f in failed] == ["2026-03-01T00:00:00Z", "2026-03-01T00:01:00Z",
                                                "2026-03-01T00:30:00Z", "2026-03-01T01:00:00Z",
                                                "2026-03-01T04:00:00Z"]
    assert failed[0] == {"apiOwner": fake.username, "createdAt": "2026-03-01T00:00:00Z", "url": RECEIVER,
                         "requestBody": json.dumps(CONFIRMATION), "status": 500, "response": "down"}


def test_a_jump_in_time_runs_the_retries_in_order_each_at_its_own_time(fake: FakeLeaf, clock: ManualClock,
                                                                        rsps: responses.RequestsMock) -> None:
    receiver = Receiver(statuses=[503, 503, 503])
    rsps.add_callback("POST", RECEIVER, callback=receiver)
    register(fake, hook())
    clock.advance(dt.timedelta(days=3))
    deliveries = fake.webhook_deliveries()
    assert [(d.attempt, d.status) for d in deliveries] == [(1, 503), (2, 503), (3, 503), (4, 200)]
    assert [d.sent_at for d in deliveries] == [START + dt.timedelta(minutes=m) for m in (0, 1, 30, 60)]


def test_a_redirect_is_a_failed_call_and_is_not_followed(fake: FakeLeaf, rsps: responses.RequestsMock) -> None:
    rsps.add("POST", RECEIVER, status=302, headers={"Location": "https://elsewhere.example/"})
    elsewhere = rsps.add("POST", "https://elsewhere.example/", status=200)
    register(fake, hook())
    failed = requests.get(f"{alerts_url(fake)}/failed-calls", headers=fake.headers).json()["items"]
    assert [f["status"] for f in failed] == [302]
    assert elsewhere.call_count == 0


def test_a_url_nobody_mocked_is_a_connection_error_not_a_network_call(clock: ManualClock) -> None:
    with FakeLeaf(clock=clock) as leaf:  # the fake's own mock passes every other URL on: not deliveries
        register(leaf, hook(url="https://nobody-mocked-this.example/hook"))
        delivery = leaf.webhook_deliveries()[0]
        assert delivery.status is None and "no mock answered" in (delivery.connection_error or "")
        failed = requests.get(f"{alerts_url(leaf)}/failed-calls", headers=leaf.headers).json()["items"]
        assert set(failed[0]) == {"apiOwner", "createdAt", "url", "requestBody", "connectionError"}


def test_a_receiver_that_raises_is_a_failed_call_not_an_error_in_the_test(fake: FakeLeaf,
                                                                          rsps: responses.RequestsMock) -> None:
    rsps.add("POST", RECEIVER, body=requests.ReadTimeout("took too long"))
    assert register(fake, hook()).status_code == 201
    assert "ReadTimeout" in (fake.webhook_deliveries()[0].connection_error or "")


def test_a_receiver_that_hangs_is_a_failed_call_after_the_timeout(clock: ManualClock,
                                                                 rsps: responses.RequestsMock) -> None:
    release = threading.Event()

    def hang(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        release.wait(5)
        return 200, {}, ""

    rsps.add_callback("POST", RECEIVER, callback=hang)
    try:
        with FakeLeaf(clock=clock, requests_mock=rsps, webhook_timeout=0.2) as leaf:
            assert register(leaf, hook()).status_code == 201
            delivery = leaf.webhook_deliveries()[0]
    finally:
        release.set()
    assert delivery.connection_error == f"no answer from {RECEIVER} within 0.2 s"


def test_deleting_a_webhook_cancels_its_retries(fake: FakeLeaf, clock: ManualClock,
                                               rsps: responses.RequestsMock) -> None:
    rsps.add("POST", RECEIVER, status=500)
    webhook_id = register(fake, hook()).json()["id"]
    requests.delete(f"{alerts_url(fake)}/{webhook_id}", headers=fake.headers)
    clock.advance(dt.timedelta(days=1))
    assert len(fake.webhook_deliveries()) == 1


def test_freezegun_moves_the_retries(rsps: responses.RequestsMock) -> None:
    receiver = Receiver(statuses=[500])
    rsps.add_callback("POST", RECEIVER, callback=receiver)
    with freeze_time("2026-03-01") as frozen, FakeLeaf(requests_mock=rsps) as leaf:
        register(leaf, hook())
        assert len(receiver.bodies) == 1
        frozen.tick(dt.timedelta(seconds=59))
        requests.get(alerts_url(leaf), headers=leaf.headers)  # any request runs what is due
        assert len(receiver.bodies) == 1
        frozen.tick(dt.timedelta(seconds=1))
        requests.get(alerts_url(leaf), headers=leaf.headers)
        assert len(receiver.bodies) == 2


def test_time_machine_moves_the_retries(rsps: responses.RequestsMock) -> None:
    receiver = Receiver(statuses=[500, 500])
    rsps.add_callback("POST", RECEIVER, callback=receiver)
    with time_machine.travel(START, tick=False) as traveller, FakeLeaf(requests_mock=rsps) as leaf:
        register(leaf, hook())
        traveller.shift(dt.timedelta(minutes=30))
        assert [d.status for d in leaf.webhook_deliveries()] == [500, 500, 200]


# -- never under the lock --------------------------------------------------------------------------


def test_a_receiver_calling_back_into_the_fake_from_another_thread_does_not_deadlock(
        fake: FakeLeaf, clock: ManualClock, rsps: responses.RequestsMock) -> None:
    user_id = unauthenticated_user(fake)
    seen: list[int] = []

    def receive(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        # a receiver that hands the work to a worker thread and waits: were the engine's lock held
        # by the delivering thread, the worker would wait for it forever
        url = f"{fake.user_management_url}/users/{user_id}/john-deere-credentials"
        worker = threading.Thread(target=lambda: seen.append(requests.get(url, headers=fake.headers).status_code))
        worker.start()
        worker.join(timeout=5)
        return (200 if seen else 504), {}, ""

    rsps.add_callback("POST", RECEIVER, callback=receive)
    register(fake, hook())
    clock.advance(dt.timedelta(days=1))
    assert [d.status for d in fake.webhook_deliveries()] == [200, 200]
    assert seen == [200, 200]


def test_a_receiver_that_registers_another_webhook_gets_it_delivered_too(fake: FakeLeaf,
                                                                         rsps: responses.RequestsMock) -> None:
    second = Receiver()
    rsps.add_callback("POST", "https://second.example/", callback=second)

    def receive(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if len(fake.webhook_deliveries()) == 0:  # reading from inside a delivery must not recurse
            register(fake, hook(url="https://second.example/", events=("fieldCreated",)))
        return 200, {}, ""

    rsps.add_callback("POST", RECEIVER, callback=receive)
    register(fake, hook())
    assert [json.loads(b) for b in second.bodies] == [CONFIRMATION]
    assert len(fake.webhook_deliveries()) == 2


# -- the rest of the HTTP surface applies --------------------------------------------------------


def test_faults_and_the_journal_cover_the_alerts_service(fake: FakeLeaf, receiver: Receiver) -> None:
    fake.inject("http_error", status=503, times=1, method="POST", path="/services/alerts/api/alerts/webhooks")
    assert register(fake, hook()).status_code == 503
    assert requests.get(alerts_url(fake), headers=fake.headers).json() == []
    assert receiver.bodies == []
    assert register(fake, hook()).status_code == 201
    assert [e.status for e in fake.journal(method="POST", path="/services/alerts/api/alerts/webhooks")] == [503, 201]


def test_the_control_plane_lists_deliveries_and_reset_forgets_webhooks(fake: FakeLeaf, receiver: Receiver) -> None:
    register(fake, hook())
    listed = requests.get(f"{fake.base_url}/_fake-leaf/webhook-deliveries").json()
    assert [(d["attempt"], d["status"], d["event"], json.loads(d["body"])) for d in listed] == [
        (1, 200, None, CONFIRMATION)]
    assert verify_signature(listed[0]["body"], "s3cret", listed[0]["headers"]["X-Leaf-Signature"])
    requests.post(f"{fake.base_url}/_fake-leaf/reset")
    assert requests.get(alerts_url(fake), headers=fake.headers).json() == []
    assert requests.get(f"{fake.base_url}/_fake-leaf/webhook-deliveries").json() == []
