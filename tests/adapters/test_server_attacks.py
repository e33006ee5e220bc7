"""Issue 24's attacks on the server, each small and quick (the heavy versions are in bench/bench_load.py).

Slow senders and silent connections cost their own time, not other clients'; freezegun and
time-machine never govern the server's deadlines; a read_timeout fault holds for its own time.
"""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
import requests
import time_machine
from freezegun import freeze_time

from fake_leaf import FakeLeaf
from fake_leaf.adapters._server import LeafServer

USERS = "/services/usermanagement/api/users"


def _connect(server: LeafServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=5)


def test_slow_senders_and_silent_connections_do_not_hold_the_request_threads() -> None:
    leaf = FakeLeaf()
    with leaf.server(max_connections=2) as server:  # two threads: the old server gave each slow sender one
        silent = [_connect(server) for _ in range(40)]
        slow = [_connect(server) for _ in range(6)]
        for sock in slow:
            sock.sendall(b"GET /services/usermanagement/api/users HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        started = time.monotonic()
        for _ in range(5):
            with requests.Session() as session:  # a new connection each time
                assert session.get(server.user_management_url + "/users", headers=leaf.headers,
                                   timeout=5).status_code == 200
        assert time.monotonic() - started < 2  # not the request timeout (10 s) of a slow sender per answer
        for sock in [*slow, *silent]:
            sock.close()


def test_the_server_started_inside_freeze_time_answers_and_ticks_move_only_the_fake() -> None:
    with freeze_time("2026-03-01") as frozen:
        leaf = FakeLeaf()
        with leaf.server() as server, requests.Session() as session:
            url = server.user_management_url + "/users"
            assert session.post(url, json={"name": "Ada"}, headers=leaf.headers, timeout=5).status_code == 201
            frozen.tick(dt.timedelta(days=3))  # past any deadline, were it read from this clock
            assert session.get(url, headers=leaf.headers, timeout=5).status_code == 200
            assert requests.get(url, headers=leaf.headers, timeout=5).json()[0]["name"] == "Ada"


@pytest.mark.filterwarnings("ignore::fake_leaf.ClockWentBackWarning")  # leaving the freeze moves the clock back
def test_the_server_started_before_freeze_time_answers_inside_it_and_after() -> None:
    leaf = FakeLeaf()
    with leaf.server() as server, requests.Session() as session:
        url = server.user_management_url + "/users"
        assert session.get(url, headers=leaf.headers, timeout=5).status_code == 200
        with freeze_time(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)) as frozen:
            assert session.post(url, json={"name": "Ada"}, headers=leaf.headers, timeout=5).status_code == 201
            frozen.tick(dt.timedelta(days=2))
            assert session.get(url, headers=leaf.headers, timeout=5).status_code == 200
        assert session.get(url, headers=leaf.headers, timeout=5).status_code == 200


def test_the_server_answers_under_time_machine_too() -> None:
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), tick=False) as traveller:
        leaf = FakeLeaf()
        with leaf.server() as server:
            url = server.user_management_url + "/users"
            assert requests.get(url, headers=leaf.headers, timeout=5).status_code == 200
            traveller.shift(dt.timedelta(days=3))
            assert requests.get(url, headers=leaf.headers, timeout=5).status_code == 200


def test_the_leaf_server_fixture_works_inside_and_around_freeze_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_frozen="""
        import datetime as dt

        import pytest
        import requests
        from freezegun import freeze_time


        @pytest.fixture
        def frozen():
            with freeze_time("2026-03-01") as frozen:
                yield frozen


        @pytest.fixture
        def fake_leaf(frozen, fake_leaf):  # the README's pattern: the freeze first
            return fake_leaf


        def test_frozen_first(frozen, fake_leaf, leaf_server, leaf_user):
            url = f"{leaf_server.user_management_url}/users/{leaf_user['id']}"
            assert requests.get(url, headers=fake_leaf.headers, timeout=5).status_code == 200
            frozen.tick(dt.timedelta(days=1))
            assert requests.get(url, headers=fake_leaf.headers, timeout=5).status_code == 200
    """)
    pytester.makepyfile(test_server_first="""
        import datetime as dt

        import requests
        from freezegun import freeze_time


        def test_server_first(fake_leaf, leaf_server, leaf_user):
            url = f"{leaf_server.user_management_url}/users/{leaf_user['id']}"
            later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
            with freeze_time(later) as frozen:
                assert requests.get(url, headers=fake_leaf.headers, timeout=5).status_code == 200
                frozen.tick(dt.timedelta(hours=1))
                assert requests.get(url, headers=fake_leaf.headers, timeout=5).status_code == 200
    """)
    result = pytester.runpytest("-p", "no:randomly", "-n", "0")
    result.assert_outcomes(passed=2)


def test_a_read_timeout_fault_holds_for_its_own_time_then_closes_unanswered() -> None:
    leaf = FakeLeaf()
    with leaf.server() as server:
        url = server.user_management_url + "/users"
        leaf.inject("read_timeout", seconds=0.3, times=1)
        started = time.monotonic()
        with pytest.raises(requests.ConnectionError):  # closed unanswered, long before the client's 30 s
            requests.get(url, headers=leaf.headers, timeout=30)
        assert 0.3 <= time.monotonic() - started < 5
        leaf.inject("read_timeout", times=1)  # 2 s by default: a client that waits less sees its timeout
        with pytest.raises(requests.ReadTimeout):
            requests.get(url, headers=leaf.headers, timeout=0.2)
        assert requests.get(url, headers=leaf.headers, timeout=5).status_code == 200
