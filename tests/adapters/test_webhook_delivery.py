"""Deliveries over fake-leaf's server: real HTTP POSTs, bounded by a timeout, never under the lock."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fake_leaf import FakeLeaf, ManualClock, verify_signature
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
    assert delivery.connection_error == f"no answer from {delivery.url} within 0.3 s"


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
        finally:
            callback_server.shutdown()
            callback_server.server_close()
    assert r.status_code == 201
    assert answers == [200]
    assert [d.status for d in leaf.webhook_deliveries()] == [204]
    assert json.loads(leaf.webhook_deliveries()[0].body) == {"message": "confirmation of webhook upon registration"}
