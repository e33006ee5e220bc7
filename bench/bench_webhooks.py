"""The alerts service's cost to every request: looking for due deliveries, with and without webhooks."""

from __future__ import annotations

import time

import requests
import responses

from bench._harness import Result, interleave
from fake_leaf import FakeLeaf

REQUESTS_PER_ROUND = 200
RECEIVER = "https://receiver.bench.test/hook"


def _fake(with_webhook: bool, deliveries: bool = True) -> tuple[FakeLeaf, responses.RequestsMock, str]:
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.add("POST", RECEIVER, status=200)
    leaf = FakeLeaf(requests_mock=mock)
    user = leaf.create_user(name="measured")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    if with_webhook:
        with mock, leaf:
            r = requests.post(f"{leaf.base_url}/services/alerts/api/alerts/webhooks", headers=leaf.headers,
                              json={"name": "b", "url": RECEIVER, "secret": "s",
                                    "events": ["credentialsUnauthenticated"]})
            assert r.status_code == 201
    if not deliveries:
        leaf._app.deliveries.senders.clear()  # the router then never looks for due deliveries
    return leaf, mock, f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"


def _gets(leaf: FakeLeaf, mock: responses.RequestsMock, session: requests.Session, url: str) -> None:
    with mock, leaf:
        for _ in range(REQUESTS_PER_ROUND):
            assert session.get(url).status_code == 200


def _compare(name: str, a: tuple[FakeLeaf, responses.RequestsMock, str],
             b: tuple[FakeLeaf, responses.RequestsMock, str], rounds: int, limit: float) -> Result:
    sa, sb = requests.Session(), requests.Session()
    sa.headers.update(a[0].headers)
    sb.headers.update(b[0].headers)
    return interleave(name, lambda: _gets(a[0], a[1], sa, a[2]), lambda: _gets(b[0], b[1], sb, b[2]),
                      rounds=rounds, limit=limit)


def main(rounds: int = 15) -> bool:
    started = time.perf_counter()
    results = [
        _compare("GET credentials, no webhook: deliveries on / off", _fake(False), _fake(False, deliveries=False),
                 rounds, 1.1),
        _compare("GET credentials: one webhook / none", _fake(True), _fake(False), rounds, 1.2),
    ]
    for r in results:
        print(r.line())
    print(f"(webhook benchmarks took {time.perf_counter() - started:.1f} s)")
    return all(r.ok for r in results)

