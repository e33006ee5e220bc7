"""The server holds against slow, vanishing and numerous clients, and never stalls on its own output."""

from __future__ import annotations

import json
import select
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from fake_leaf import FakeLeaf

USERS = "/services/usermanagement/api/users"


def _connect(url: str, timeout: float = 5) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _answered(sock: socket.socket, within: float) -> bool:
    return bool(select.select([sock], [], [], within)[0])


def test_a_client_trickling_its_request_is_cut_off_at_the_request_deadline() -> None:
    leaf = FakeLeaf()
    with leaf.server(request_timeout=0.5) as server, _connect(server.url) as sock:
        sock.sendall(b"GET /services/usermanagement/api/users HTTP/1.1\r\n")
        sent = 0
        while sent < 30 and not _answered(sock, 0.1):  # one header byte every 0.1 s: 3 s if never cut
            sock.sendall(b"X")
            sent += 1
        answer = _read_all(sock)
    assert sent < 30, "the server let a trickling client hold its connection"
    assert answer.startswith(b"HTTP/1.1 408 ")
    problem = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert problem["status"] == 408 and "within 0.5 s" in problem["detail"]


def test_a_body_that_stops_short_and_goes_silent_gets_a_408_problem_at_the_deadline() -> None:
    leaf = FakeLeaf()
    with leaf.server(request_timeout=0.5) as server, _connect(server.url) as sock:
        sock.sendall(f"POST {USERS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {leaf.token}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":".encode())
        answer = _read_all(sock)  # the client keeps its side open: only the deadline ends the wait
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert "did not arrive whole within 0.5 s" in json.loads(answer.split(b"\r\n\r\n")[1])["detail"]
    assert leaf.list_users() == []


def test_connections_beyond_the_limit_wait_while_every_one_is_busy() -> None:
    leaf = FakeLeaf()
    leaf.inject("delay", seconds=1.0, times=2)  # two requests the app takes a second to answer
    request = f"GET {USERS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {leaf.token}\r\nConnection: close\r\n\r\n"
    with leaf.server(max_connections=2) as server:
        busy = [_connect(server.url), _connect(server.url)]
        for sock in busy:
            sock.sendall(request.encode())
        with _connect(server.url) as waiting:
            waiting.sendall(request.encode())
            assert not _answered(waiting, 0.3), "a third connection was served while two requests held every slot"
            answers = [_read_all(sock) for sock in busy]
            assert _read_all(waiting).startswith(b"HTTP/1.1 200 ")
        for sock in busy:
            sock.close()
    assert all(a.startswith(b"HTTP/1.1 200 ") for a in answers)


def test_a_waiting_client_takes_the_slot_of_a_connection_that_is_only_kept_alive() -> None:
    leaf = FakeLeaf()
    with leaf.server(max_connections=2, request_timeout=30) as server:
        url = f"{server.user_management_url}/users"
        pooled = [requests.Session(), requests.Session()]
        for session in pooled:  # each keeps its connection open, idle, in its pool
            assert session.get(url, headers=leaf.headers).status_code == 200
        assert requests.get(url, headers=leaf.headers, timeout=5).status_code == 200  # not after 30 s
        assert [s.get(url, headers=leaf.headers, timeout=5).status_code for s in pooled] == [200, 200]
        for session in pooled:
            session.close()


def test_connections_queue_in_a_deep_backlog_while_every_slot_is_busy() -> None:
    leaf = FakeLeaf()
    request = f"GET {USERS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {leaf.token}\r\nConnection: close\r\n\r\n"
    with leaf.server(max_connections=1) as server:
        with _connect(server.url):  # holds the only slot: the others wait, unaccepted
            queued = []
            for _ in range(60):  # a backlog of 5 would drop most of these connection attempts
                sock = _connect(server.url, timeout=1.5)
                sock.sendall(request.encode())
                queued.append(sock)
        answers = []
        for sock in queued:
            sock.settimeout(10)
            with sock:
                answers.append(_read_all(sock).split(b"\r\n", 1)[0])
    assert answers == [b"HTTP/1.1 200 OK"] * 60


def _linger_reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # with a zero linger: a reset, not a FIN


def test_a_timed_out_or_reset_connection_prints_nothing_when_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    leaf = FakeLeaf()
    with leaf.server(request_timeout=0.3) as server:
        with _connect(server.url) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost:")
            assert _read_all(slow).startswith(b"HTTP/1.1 408 ")
        reset = _connect(server.url)
        reset.sendall(b"POST /api/authenticate HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
        _linger_reset(reset)
        vanished = _connect(server.url)
        vanished.sendall(b"GET /services/usermanagement/api/users HTTP/1.1\r\n")
        _linger_reset(vanished)
        assert requests.get(f"{server.user_management_url}/users", headers=leaf.headers).status_code == 200
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_a_server_whose_stderr_nobody_reads_keeps_answering() -> None:
    # not --quiet: one log line per request, each over 8 KB, onto a pipe nobody reads (it holds 64 KB)
    with subprocess.Popen([sys.executable, "-m", "fake_leaf", "serve", "--port", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:  # closes its pipes
        try:
            assert process.stdout is not None
            url = process.stdout.readline().rsplit(" ", 1)[1].strip()
            long_target = "/_fake-leaf/clock?padding=" + "x" * 8192
            with requests.Session() as session:
                statuses = {session.get(url + long_target, timeout=5).status_code for _ in range(40)}
            assert statuses == {200}
            threads = Path(f"/proc/{process.pid}/task")
            if threads.exists():  # Linux: no thread is left hanging on a write to the full pipe
                assert len(list(threads.iterdir())) < 64 + 10  # the 64 workers, the loop, the log writer
        finally:
            process.kill()
            process.wait(timeout=5)


def test_connections_that_never_send_a_request_are_closed_at_the_deadline() -> None:
    leaf = FakeLeaf()
    with leaf.server(max_connections=4, request_timeout=0.5) as server:
        silent = [_connect(server.url) for _ in range(3)]  # connect, then send nothing
        assert requests.get(f"{server.user_management_url}/users", headers=leaf.headers, timeout=5).ok
        for sock in silent:
            with sock:
                assert sock.recv(1) == b""  # closed by the server, without an answer
