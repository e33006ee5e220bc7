"""Issue 13's state-scaling benchmarks: what users combine (a filtered, sorted page; a POST; a page of
events) against a static stub or a small state, interleaved in one run."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable

import requests
import responses

from bench._harness import Result, interleave
from fake_leaf import FakeLeaf, ManualClock

ROUND = 100  # requests a round


def _fake(users: int, **options: object) -> FakeLeaf:
    leaf = FakeLeaf(clock=ManualClock(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)), **options)  # type: ignore[arg-type]
    for i in range(users):
        leaf.create_user(name=f"grower {i % 50}", email=f"g{i}@example.com", externalId=f"farm-{i}")
    return leaf


def sorted_page(rounds: int) -> Result:
    """GET /users?name=...&sort=email,desc&page=1&size=20: 100,000 users / 10 users."""
    big, small = _fake(100_000), _fake(10)
    session = requests.Session()
    query = {"name": "grower 7", "sort": "email,desc", "page": "0", "size": "20"}
    unfiltered = {"sort": "externalId,asc", "page": "2", "size": "20"}

    def pages(leaf: FakeLeaf) -> Callable[[], None]:
        def run() -> None:
            session.headers.update(leaf.headers)
            with leaf:
                for i in range(ROUND):
                    r = session.get(f"{leaf.user_management_url}/users", params=query if i % 2 else unfiltered)
                    assert r.status_code == 200
        return run

    return interleave("page of /users (filter, sort): 100,000 users / 10", pages(big), pages(small),
                      rounds=rounds, limit=1.5)


def _stub_vs_fake(name: str, method: str, path: Callable[[FakeLeaf, str], str], body: object,
                  prepare: Callable[[FakeLeaf, str], None], rounds: int, limit: float) -> Result:
    # each measured POST makes a new credential: replacing the last one, as that documented option does
    leaf = _fake(1, on_duplicate_credentials="replace")
    user_id = leaf.list_users()[0].id
    prepare(leaf, user_id)
    url = path(leaf, user_id)
    session = requests.Session()
    session.headers.update(leaf.headers)
    with leaf:
        answer = session.request(method, url, json=body)
    status, payload = answer.status_code, answer.json()

    def through_fake() -> None:
        with leaf:
            for _ in range(ROUND):
                assert session.request(method, url, json=body).status_code == status

    def static_stub() -> None:
        with responses.RequestsMock() as rsps:
            rsps.add(method, url, json=payload, status=status)
            for _ in range(ROUND):
                assert session.request(method, url, json=body).status_code == status

    return interleave(name, through_fake, static_stub, rounds=rounds, limit=limit)


def post_credentials(rounds: int) -> Result:
    body = {"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"}

    def prepare(leaf: FakeLeaf, user_id: str) -> None:
        pass

    return _stub_vs_fake("POST credentials: FakeLeaf / static stub", "POST",
                         lambda leaf, uid: f"{leaf.user_management_url}/users/{uid}/john-deere-credentials",
                         body, prepare, rounds, 1.15)


def get_events(rounds: int) -> Result:
    def prepare(leaf: FakeLeaf, user_id: str) -> None:
        leaf.create_john_deere_credentials(user_id, client_key="k", client_secret="s", refresh_token="r")
        clock = leaf.clock
        assert isinstance(clock, ManualClock)
        for _ in range(14):  # a check a day, two calls each: 2 + 28 = 30 events
            clock.advance(dt.timedelta(days=1))
            leaf.get_john_deere_credentials(user_id)
        assert len(leaf.john_deere_credential_events(user_id)) == 30

    # one page of 30 (the default page is 20): the page is sliced, formatted and counted for X-Total-Count
    return _stub_vs_fake("GET 30 events: FakeLeaf / static stub", "GET",
                         lambda leaf, uid: f"{leaf.user_management_url}/users/{uid}/john-deere-credentials/events"
                                           "?size=30",
                         None, prepare, rounds, 1.15)


def list_users_linear(rounds: int) -> Result:
    """FakeLeaf.list_users(): 10,000 users / 1,000 users, divided by 10 (1.0 is linear)."""
    big, small = _fake(10_000), _fake(1_000)
    return interleave("list_users(): 10,000 users / (10 x 1,000 users)",
                      lambda: [big.list_users() for _ in range(20)],
                      lambda: [small.list_users() for _ in range(200)], rounds=rounds, limit=1.5)


def main(rounds: int = 15) -> bool:
    started = time.perf_counter()
    results = [sorted_page(rounds), post_credentials(rounds), get_events(rounds), list_users_linear(rounds)]
    for r in results:
        print(r.line())
    print(f"(scaling benchmarks took {time.perf_counter() - started:.1f} s)")
    return all(r.ok for r in results)


if __name__ == "__main__":
    sys.exit(0 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 15) else 1)
