"""Deliveries over fake-leaf's server: real HTTP POSTs, bounded by a timeout, never under the lock."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fake_leaf import FakeLeaf, ManualClock, WebhookDelivery, verify_signature
from fake_leaf.adapters._receiver import HttpReceiver

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
HOOKS = "/services/alerts/api/alerts/webhooks"


def register(base: str, leaf: FakeLeaf, url: str) -> requests.Response:
    return requests.post(f"{base}{HOOKS}", headers=leaf.headers, timeout=30,
                         json={"name": "n", "url": url, "secret": "s3cret", "events": ["credentialsUnauthenticated"]})


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


def test_a_webhook_registered_over_the_server_gets_real_signed_posts(receiver: HttpReceiver) -> None:
    clock = ManualClock(START)
    leaf = FakeLeaf(clock=clock)
    with leaf.server() as server:
        assert register(server.url, leaf, receiver.url).status_code == 201
        # the confirmation goes out after the registration's answer: reading the deliveries waits for it, so
        # the failure asked for below meets the alert, not the confirmation
        assert len(requests.get(f"{server.url}/_fake-leaf/webhook-deliveries").json()) == 1
        user = requests.post(f"{server.user_management_url}/users", json={}, headers=leaf.headers).json()
        requests.post(f"{server.user_management_url}/users/{user['id']}/john-deere-credentials", headers=leaf.headers,
                      json={"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"})
        leaf.john_deere.revoke_refresh_token(user["id"])
        receiver.fail_next(1)
        clock.advance(dt.timedelta(days=1))
        requests.get(f"{server.url}/_fake-leaf/clock")  # any request runs what fell due
        clock.advance(dt.timedelta(minutes=1))
        deliveries = requests.get(f"{server.url}/_fake-leaf/webhook-deliveries").json()
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 200), (1, 500), (2, 200)]
    arrived = receiver.received
    assert [r.json()["type"] for r in arrived[1:]] == ["credentialsUnauthenticated"] * 2
    for r in arrived:
        assert verify_signature(r.body, "s3cret", r.header("X-Leaf-Signature"))
        assert r.header("Content-Type") == "application/json"


def test_a_receiver_that_hangs_is_a_connection_error_after_the_timeout() -> None:
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(1)  # accepts connections, never answers
    leaf = FakeLeaf(webhook_timeout=0.3)
    try:
        with leaf.server() as server:
            r = register(server.url, leaf, f"http://127.0.0.1:{hanging.getsockname()[1]}/hook")
            assert r.status_code == 201
            delivery = leaf.webhook_deliveries()[0]
    finally:
        hanging.close()
    assert delivery.status is None
    assert delivery.connection_error is not None and f"from {delivery.url} within 0.3 s" in delivery.connection_error


def test_a_refused_connection_is_a_failed_call_with_connection_error() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    leaf = FakeLeaf()
    with leaf.server() as server:
        register(server.url, leaf, f"http://127.0.0.1:{port}/hook")
        failed = requests.get(f"{server.url}{HOOKS}/failed-calls", headers=leaf.headers).json()["items"]
    assert len(failed) == 1 and "Connection refused" in failed[0]["connectionError"]
    assert "status" not in failed[0]


def test_a_receiver_calling_back_into_the_server_does_not_deadlock() -> None:
    leaf = FakeLeaf()
    answers: list[int] = []
    with leaf.server() as server:
        class CallsBack(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                answers.append(requests.get(f"{server.url}{HOOKS}", headers=leaf.headers, timeout=5).status_code)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        callback_server = ThreadingHTTPServer(("127.0.0.1", 0), CallsBack)
        thread = threading.Thread(target=callback_server.serve_forever, daemon=True)
        thread.start()
        try:
            r = register(server.url, leaf, f"http://127.0.0.1:{callback_server.server_address[1]}/")
            leaf.webhook_deliveries()  # the delivery goes out after the answer: wait for it
        finally:
            callback_server.shutdown()
            callback_server.server_close()
    assert r.status_code == 201
    assert answers == [200]
    assert [d.status for d in leaf.webhook_deliveries()] == [204]
    assert json.loads(leaf.webhook_deliveries()[0].body) == {"message": "confirmation of webhook upon registration"}


def _receiver(handler: Callable[[BaseHTTPRequestHandler], object], port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            handler(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def test_a_webhook_to_the_fakes_own_address_is_refused_and_resets_nothing() -> None:
    leaf = FakeLeaf()
    with leaf.server() as server:
        user = requests.post(f"{server.user_management_url}/users", json={"name": "Ada"}, headers=leaf.headers)
        for host in ("127.0.0.1", "localhost"):
            r = requests.post(f"{server.url}{HOOKS}", headers=leaf.headers, timeout=30, json={
                "name": "n", "url": f"http://{host}:{server.port}/_fake-leaf/reset", "secret": "s",
                "events": ["credentialsUnauthenticated" if host == "localhost" else "credentialsLimitedPermission"]})
            assert r.status_code == 201
        failed = requests.get(f"{server.url}{HOOKS}/failed-calls", headers=leaf.headers).json()["items"]
        assert requests.get(f"{server.user_management_url}/users/{user.json()['id']}", headers=leaf.headers).ok
    assert len(failed) == 2 and all("its own address" in f["connectionError"] for f in failed)


def test_a_port_the_fakes_stopped_server_freed_is_no_longer_its_own() -> None:
    # a fake kept for a whole session may start a server in each test: a port one of them freed is anybody's
    # next (a receiver's), and was refused as the fake's own address; the fake also kept every port it had had
    def record(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(204)
        handler.end_headers()

    leaf = FakeLeaf()
    with leaf.server() as first:
        freed = first.port
    receiver = _receiver(record, port=freed)
    try:
        with leaf.server() as server:
            assert register(server.url, leaf, f"http://127.0.0.1:{freed}/hook").status_code == 201
            [delivery] = leaf.webhook_deliveries()
            own = requests.post(f"{server.url}{HOOKS}", headers=leaf.headers, timeout=30, json={
                "name": "own", "url": f"{server.url}/hook", "secret": "s", "events": ["credentialsLimitedPermission"]})
            assert own.status_code == 201
            refused = leaf.webhook_deliveries()[-1]
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert delivery.connection_error is None and delivery.status == 204
    assert refused.connection_error is not None and "its own address" in refused.connection_error  # still refused


@pytest.fixture
def recorded() -> Iterator[tuple[int, list[str]]]:
    """A loopback receiver that answers 204: its port, and the paths posted to it."""
    seen: list[str] = []

    def record(handler: BaseHTTPRequestHandler) -> None:
        seen.append(handler.path)
        handler.send_response(204)
        handler.end_headers()

    receiver = _receiver(record)
    try:
        yield receiver.server_address[1], seen
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_deliveries_go_to_loopback_only_unless_allowed_and_never_elsewhere_when_exposed(
        recorded: tuple[int, list[str]]) -> None:
    port, seen = recorded
    leaf = FakeLeaf()
    with leaf.server() as server:  # loopback: loopback receivers get deliveries by default
        register(server.url, leaf, f"http://127.0.0.1:{port}/a")
        assert [d.status for d in leaf.webhook_deliveries()] == [204]
        requests.delete(f"{server.url}{HOOKS}/{leaf.webhook_deliveries()[0].webhook_id}", headers=leaf.headers)
    other = FakeLeaf()
    with other.server(webhook_allow=[f"127.0.0.1:{port + 1}"]) as server:  # a list: only what it names
        register(server.url, other, f"http://127.0.0.1:{port}/b")
        [refused] = other.webhook_deliveries()
    assert refused.connection_error is not None and "not in the allowed webhook destinations" in (
        refused.connection_error)
    assert seen == ["/a"]


def test_a_fake_refuses_deliveries_as_exposed_or_allowed_only_while_that_server_runs(
        recorded: tuple[int, list[str]]) -> None:
    port, seen = recorded
    events = iter(["credentialsUnauthenticated", "credentialsLimitedPermission", "providerOrganizationCreated"])

    def hook(base: str, path: str) -> WebhookDelivery:
        assert requests.post(f"{base}{HOOKS}", headers=leaf.headers, timeout=30, json={
            "name": path, "url": f"http://127.0.0.1:{port}{path}", "secret": "s3cret",
            "events": [next(events)]}).status_code == 201
        return leaf.webhook_deliveries()[-1]

    leaf = FakeLeaf()
    with leaf.server(host="0.0.0.0", control_token="t") as server:  # listening beyond loopback: nowhere
        exposed = hook(f"http://127.0.0.1:{server.port}", "/exposed")
    with leaf.server(webhook_allow=[f"127.0.0.1:{port + 1}"]) as server:  # a list: only what it names
        unlisted = hook(server.url, "/unlisted")
    with leaf.server() as server:  # neither applies once its server has stopped: loopback, as by default
        delivered = hook(server.url, "/delivered")
    assert exposed.connection_error is not None and "non-loopback" in exposed.connection_error
    assert unlisted.connection_error is not None and "not in the allowed" in unlisted.connection_error
    assert delivered.connection_error is None and delivered.status == 204
    assert seen == ["/delivered"]


def test_a_trickling_receiver_is_a_failed_call_at_the_timeout_and_the_client_is_answered_first() -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        for _ in range(100):  # a byte every 0.05 s: 5 s in all, past the 0.5 s timeout
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.05)

    receiver = _receiver(trickle)
    leaf = FakeLeaf(webhook_timeout=0.5)
    try:
        with leaf.server() as server:
            started = time.monotonic()
            assert register(server.url, leaf, f"http://127.0.0.1:{receiver.server_address[1]}/").status_code == 201
            answered = time.monotonic() - started
            [delivery] = leaf.webhook_deliveries()
            settled = time.monotonic() - started
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert answered < 0.4  # the client's answer did not wait for the delivery
    assert settled < 2
    assert not delivery.ok and "within 0.5 s (timeout)" in (delivery.connection_error or "")


def test_what_failed_calls_echo_of_a_receivers_answer_is_capped() -> None:
    def talkative(h: BaseHTTPRequestHandler) -> None:
        body = b"secret-ish error page " * 10_000
        h.send_response(500)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    receiver = _receiver(talkative)
    leaf = FakeLeaf()
    try:
        with leaf.server() as server:
            register(server.url, leaf, f"http://127.0.0.1:{receiver.server_address[1]}/")
            failed = requests.get(f"{server.url}{HOOKS}/failed-calls", headers=leaf.headers).json()["items"]
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert failed[0]["status"] == 500 and 0 < len(failed[0]["response"]) <= 1_000
