"""The server's own HTTP/1.1: what it answers before the app sees a request, and how it uses connections."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from fake_leaf import FakeLeaf
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


@pytest.mark.parametrize(("request_head", "status", "detail"), [
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", "414", "Request-URI Too Long"),
    (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", "431", "Line too long"),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n", "431",
     "Too many headers"),
    (b"GET / HTTP/2.0\r\n\r\n", "505", "Invalid HTTP version (2.0)"),
    (b"GET / HTTP/one\r\n\r\n", "400", "Bad request version ('HTTP/one')"),
    (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", "400", "Bad header line ('no colon here')"),
    (b"GET / HTTP/1.1\r\nX-Bad : 1\r\n\r\n", "400", "Bad header line"),
])
def test_a_request_the_server_cannot_read_gets_a_problem_that_says_why_and_a_closed_connection(
        served: tuple[FakeLeaf, LeafServer], request_head: bytes, status: str, detail: str) -> None:
    _, server = served
    line, headers, body = _ask(server, request_head)
    assert line.split(" ")[1] == status
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == int(status) and detail in problem["detail"]


def test_a_head_cut_off_by_the_client_closing_its_side_gets_a_400_that_says_so(
        served: tuple[FakeLeaf, LeafServer]) -> None:
    _, server = served
    with _connect(server) as sock:
        sock.sendall(f"GET {USERS} HTTP/1.1\r\nHost: x".encode())
        sock.shutdown(socket.SHUT_WR)  # no blank line will ever come
        status, _, body = _read_answer(sock)
    assert status.startswith("HTTP/1.1 400 ")
    assert "ended before the blank line" in json.loads(body)["detail"]


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


def test_a_folded_header_line_continues_the_field_before_it(served: tuple[FakeLeaf, LeafServer]) -> None:
    leaf, server = served
    token_a, token_b = leaf.token[:20], leaf.token[20:]
    status, _, _ = _ask(server, f"GET {USERS} HTTP/1.1\r\nAuthorization: Bearer\r\n {token_a}{token_b}\r\n"
                                "Connection: close\r\n\r\n".encode())
    assert status.startswith("HTTP/1.1 200 ")


def test_http_1_0_closes_after_the_answer_unless_it_asks_to_keep_alive(served: tuple[FakeLeaf, LeafServer]) -> None:
    leaf, server = served
    request = f"GET {USERS} HTTP/1.0\r\nAuthorization: Bearer {leaf.token}\r\n"
    with _connect(server) as sock:
        sock.sendall(f"{request}\r\n".encode())
        _, headers, _ = _read_answer(sock)
        assert headers["connection"] == "close" and sock.recv(1) == b""
    with _connect(server) as sock:
        for _ in range(2):  # the same connection carries a second request
            sock.sendall(f"{request}Connection: keep-alive\r\n\r\n".encode())
            status, headers, _ = _read_answer(sock)
            assert status.startswith("HTTP/1.1 200 ") and "connection" not in headers


def test_stopping_the_server_ends_its_idle_keep_alive_connections_at_once() -> None:
    leaf = FakeLeaf()
    server = leaf.server().start()
    sock = _connect(server)
    sock.sendall(f"GET {USERS} HTTP/1.1\r\nAuthorization: Bearer {leaf.token}\r\n\r\n".encode())
    assert _read_answer(sock)[0].startswith("HTTP/1.1 200 ")
    started = time.monotonic()
    server.stop()
    with sock:
        assert sock.recv(1) == b""  # not after the 10 s an idle connection is otherwise given
    assert time.monotonic() - started < 5

