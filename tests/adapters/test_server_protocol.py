"""The server's own HTTP/1.1: what it answers before the app sees a request, and how it uses connections."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from fake_leaf import FakeLeaf, ManualClock
from fake_leaf.adapters._server import LeafServer

USERS = "/services/usermanagement/api/users"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeLeaf, LeafServer]]:
    leaf = FakeLeaf()
    with leaf.server() as server:
        yield leaf, server


def _connect(server: LeafServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=5)


def _read_answer(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """One answer off the wire: its status line, its headers (lower-cased) and its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed before a whole head arrived: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += sock.recv(65536)
    return status, headers, body


def _ask(server: LeafServer, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with _connect(server) as sock:
        sock.sendall(request)
        return _read_answer(sock)


def test_curls_expect_100_continue_is_answered_before_the_body_is_sent(served: tuple[FakeLeaf, LeafServer]) -> None:
    leaf, server = served
    body = json.dumps({"name": "Ada " + "x" * 2000}).encode()  # curl asks first for bodies over 1 KB
    with _connect(server) as sock:
        sock.sendall(f"POST {USERS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {leaf.token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                     "Expect: 100-continue\r\n\r\n".encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, _, answer = _read_answer(sock)
    assert status.startswith("HTTP/1.1 201 ")
    assert json.loads(answer)["name"].startswith("Ada x")


def test_stopping_the_server_ends_its_idle_keep_alive_connections_at_once() -> None:
    leaf = FakeLeaf()
    server = leaf.server().start()
    sock = _connect(server)
    sock.sendall(f"GET {USERS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {leaf.token}\r\n\r\n".encode())
    assert _read_answer(sock)[0].startswith("HTTP/1.1 200 ")
    started = time.monotonic()
    server.stop()
    with sock:
        assert sock.recv(1) == b""  # not after the 10 s an idle connection is otherwise given
    assert time.monotonic() - started < 5


AUTH = "Host: x\r\nAuthorization: Bearer {token}\r\n"


# What waitress answers itself (its status and reason, in a problem body): the request never reaches the app.
MALFORMED = {
    "long-header-line": b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 300_000 + b"\r\n\r\n",
    "no-colon": b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    "nul-in-method": b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "lowercase-method": b"delete / HTTP/1.1\r\nHost: x\r\n\r\n",
    "cr-in-value": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
    "gzip-coding": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "bad-length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1_0\r\n\r\n0123456789",
}


@pytest.mark.parametrize("request_head", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_request_the_server_cannot_read_gets_a_problem_body_and_a_closed_connection(request_head: bytes) -> None:
    calls: list[str] = []

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        calls.append(str(environ["PATH_INFO"]))
        start_response("200 OK", [])
        return [b""]

    with LeafServer(app) as server, _connect(server) as sock:
        sock.sendall(request_head)
        status, headers, body = _read_answer(sock)
        assert status.split(" ")[1][0] in "45", status
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["detail"]
        assert headers["connection"] == "close"
    assert calls == []


@pytest.fixture
def fresh() -> Iterator[tuple[FakeLeaf, LeafServer, str]]:
    leaf = FakeLeaf()
    user = leaf.create_user()
    with leaf.server() as server:
        yield leaf, server, user.id


def test_a_request_smuggled_behind_a_length_and_chunked_body_is_never_run(
        fresh: tuple[FakeLeaf, LeafServer, str]) -> None:
    leaf, server, user_id = fresh
    smuggled = f"DELETE {USERS}/{user_id} HTTP/1.1\r\n{AUTH.format(token=leaf.token)}\r\n"
    body = f"0\r\n\r\n{smuggled}"
    with _connect(server) as sock:
        sock.sendall((f"GET {USERS} HTTP/1.1\r\n{AUTH.format(token=leaf.token)}Content-Length: {len(body)}\r\n"
                      f"Transfer-Encoding: chunked\r\n\r\n{body}").encode())
        status, headers, _ = _read_answer(sock)
        assert status.startswith("HTTP/1.1 200 ") and headers["connection"] == "close"  # RFC 9112 6.3
        assert sock.recv(65536) == b""
    assert [u.id for u in leaf.list_users()] == [user_id]


def test_an_answer_in_the_making_when_the_server_stops_is_given_and_closes_the_connection() -> None:
    leaf = FakeLeaf()
    leaf.inject("delay", seconds=0.5, times=1)
    server = leaf.server().start()
    with _connect(server) as sock:
        sock.sendall(f"GET {USERS} HTTP/1.1\r\n{AUTH.format(token=leaf.token)}\r\n".encode())
        time.sleep(0.2)  # the app holds the request
        server.stop()
        status, _, _ = _read_answer(sock)
        assert status.startswith("HTTP/1.1 200 ")
        assert sock.recv(65536) == b""  # then the connection closes


def test_stopped_servers_leave_no_thread_behind() -> None:
    before = threading.active_count()
    for _ in range(20):
        leaf = FakeLeaf()
        with leaf.server() as server, _connect(server) as sock:
            sock.sendall(f"GET {USERS} HTTP/1.1\r\n{AUTH.format(token=leaf.token)}\r\n".encode())
            _read_answer(sock)
    deadline = time.monotonic() + 10
    while threading.active_count() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # a connection's thread ends once it has seen its connection closed
    assert threading.active_count() <= before + 2


def test_clients_beyond_the_workers_are_all_answered_and_each_post_once() -> None:
    leaf = FakeLeaf()
    errors: list[str] = []
    answered: list[str] = []
    lock = threading.Lock()
    with leaf.server(max_connections=1) as server:  # one request at a time; eight kept-alive clients
        url = f"{server.user_management_url}/users"

        def client(n: int) -> None:
            with requests.Session() as session:
                for i in range(25):
                    try:
                        r = session.post(url, json={"name": f"c{n}-{i}"}, headers=leaf.headers, timeout=10)
                        with lock:
                            answered.append(r.json()["id"])
                    except requests.RequestException as e:
                        with lock:
                            errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert sorted(u.id for u in leaf.list_users()) == sorted(answered)  # none created without an answer


def test_stopping_ends_an_upload_half_sent_at_once(fresh: tuple[FakeLeaf, LeafServer, str]) -> None:
    leaf, server, _ = fresh
    with _connect(server) as sock:
        sock.sendall((f"POST {USERS} HTTP/1.1\r\n{AUTH.format(token=leaf.token)}Content-Length: 1000\r\n\r\n"
                      "{\"name\":").encode())
        time.sleep(0.1)  # the server is reading the body
        server.stop()
        sock.settimeout(3)  # the request deadline is 10 s: an answer within 3 s is the stop's
        try:
            assert sock.recv(65536) == b""
        except ConnectionResetError:
            pass
    assert len(leaf.list_users()) == 1


def test_a_client_pipelining_many_requests_lets_another_client_have_its_turn() -> None:
    leaf = FakeLeaf()
    leaf.inject("delay", seconds=0.02, times=30)  # the pipelining client's requests take a while each
    request = f"GET {USERS} HTTP/1.1\r\n{AUTH.format(token=leaf.token)}\r\n"
    with leaf.server(max_connections=1) as server, _connect(server) as busy, _connect(server) as other:
        busy.sendall((request * 30).encode())  # all read ahead by the server at once
        time.sleep(0.05)
        other.sendall(f"GET {USERS}?turn=other HTTP/1.1\r\n{AUTH.format(token=leaf.token)}\r\n".encode())
        assert _read_answer(other)[0].startswith("HTTP/1.1 200 ")
        answers = b""
        while answers.count(b"HTTP/1.1 200 ") < 30:  # the pipelined answers come back to back
            chunk = busy.recv(65536)
            assert chunk, "the pipelining client lost answers"
            answers += chunk
    queries = [e.query for e in leaf.journal()]
    assert queries.index("turn=other") < 29  # served between the pipelined ones, not after all of them


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open descriptors through /proc")
def test_stopping_servers_with_requests_queued_and_in_flight_leaks_no_descriptor() -> None:
    def open_fds() -> int:
        return len(list(Path("/proc/self/fd").iterdir()))

    before = open_fds()
    for _ in range(10):
        leaf = FakeLeaf()
        leaf.inject("delay", seconds=0.3, times=1)
        server = leaf.server(max_connections=1).start()
        clients = [_connect(server) for _ in range(3)]
        for sock in clients:  # one held by the delay, the others queued for the only worker
            sock.sendall(f"GET {USERS} HTTP/1.1\r\n{AUTH.format(token=leaf.token)}\r\n".encode())
        time.sleep(0.05)
        stoppers = [threading.Thread(target=server.stop) for _ in range(2)]  # twice, at once
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        for sock in clients:
            sock.close()
    deadline = time.monotonic() + 5
    while open_fds() > before and time.monotonic() < deadline:
        time.sleep(0.05)  # the held request is answered, then its connection closes
    assert open_fds() <= before


def test_a_fault_delay_works_in_a_process_with_over_1024_descriptors() -> None:
    import resource

    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2048:
        pytest.skip("needs a descriptor limit of 2048 or more")
    spare = [socket.socketpair() for _ in range(520)]  # 1,040 descriptors: the server's land above 1024
    try:
        leaf = FakeLeaf()
        leaf.inject("delay", seconds=0.01, times=1)
        with leaf.server() as server:
            r = requests.get(f"{server.user_management_url}/users", headers=leaf.headers, timeout=5)
        assert r.status_code == 200
    finally:
        for a, b in spare:
            a.close()
            b.close()


def test_a_stopped_server_says_at_once_that_it_cannot_start_again() -> None:
    server = FakeLeaf().server().start()
    assert server.start() is server  # starting a running server again changes nothing
    server.stop()
    with pytest.raises(RuntimeError, match="was stopped and cannot start again; make a new one"):
        server.start()


def _big_answer_app(size: int) -> object:
    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])  # type: ignore[operator]
        return [b"x" * size]
    return app


def test_an_answer_being_sent_when_the_server_stops_is_sent_whole() -> None:
    size = 8 * 1024 * 1024
    server = LeafServer(_big_answer_app(size)).start()  # type: ignore[arg-type]
    with _connect(server) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        received = sock.recv(65536)  # the answer is on its way, most of it not read yet
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        while chunk := sock.recv(1 << 20):
            received += chunk
        stopper.join()
    assert len(received.partition(b"\r\n\r\n")[2]) == size  # and then the connection closed


def test_an_answer_nobody_reads_is_cut_soon_after_stop_and_leaves_no_thread() -> None:
    before = threading.active_count()
    server = LeafServer(_big_answer_app(64 * 1024 * 1024)).start()  # type: ignore[arg-type]
    with _connect(server) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")  # and never read
        time.sleep(0.2)
        server.stop()
        deadline = time.monotonic() + 10  # a grace period, then the writer is cut (not the 30 s write timeout)
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.05)
    assert threading.active_count() <= before


def test_two_threads_starting_one_server_start_one_loop() -> None:
    server = FakeLeaf().server()
    starters = [threading.Thread(target=server.start) for _ in range(2)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    loops = [t for t in threading.enumerate() if t.name == f"fake-leaf {server.url}"]
    server.stop()
    assert len(loops) == 1


def test_the_servers_own_refusals_carry_a_date_from_the_fakes_clock() -> None:
    # a refusal from before the app (a request waitress cannot read, one cut short) dates itself as the app's
    # answers do, so a client comparing Date with another answer's sees one clock
    leaf = FakeLeaf(clock=ManualClock(dt.datetime(2026, 3, 1, 12, 0, 7, tzinfo=dt.timezone.utc)))
    with leaf.server() as server:
        for request, half_close in ((MALFORMED["bad-length"], False), (MALFORMED["no-colon"], False),
                                    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}", True)):
            with _connect(server) as sock:
                sock.sendall(request)
                if half_close:  # the client stops sending short of its Content-Length
                    sock.shutdown(socket.SHUT_WR)
                status, headers, _ = _read_answer(sock)
            assert status.split(" ")[1] == "400"
            assert headers["date"] == "Sun, 01 Mar 2026 12:00:07 GMT", request
