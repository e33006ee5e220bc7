"""The same fake over real HTTP: every transport answers alike; the server survives bad clients."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests

from fake_leaf import FakeLeaf, ManualClock, NotFoundError

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
Send = Callable[[str, str, Any, str | None], tuple[int, Any]]


def _scenario(send: Send, leaf: FakeLeaf) -> list[tuple[int, Any]]:
    """Login, a user, credentials, events, errors, delete: every answer, ids and tokens masked."""
    out = []
    status, body = send("POST", "/api/authenticate", {"username": leaf.username, "password": leaf.password}, None)
    token = body["id_token"]
    out.append((status, sorted(body)))
    status, user = send("POST", "/services/usermanagement/api/users/", {"name": "Ada"}, token)
    out.append((status, user))
    creds = f"/services/usermanagement/api/users/{user['id']}/john-deere-credentials"
    jd = {"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"}
    for method, path, payload in [("POST", creds, jd),
                                  ("GET", creds, None), ("GET", f"{creds}/events", None),
                                  ("POST", creds, {"clientKey": "", "clientEnvironment": "stage"}),
                                  ("PATCH", creds, None), ("DELETE", creds, None), ("GET", creds, None),
                                  ("GET", "/services/usermanagement/api/users?sort=name,desc", None)]:
        out.append(send(method, path, payload, token))
    out.append(send("GET", "/services/usermanagement/api/users", None, "not-a-token"))
    masked = json.dumps(out)
    for secret in [token, *re.findall(r'"accessToken": "([^"]+)"', masked)]:
        masked = masked.replace(secret, "<token>")
    masked = UUID.sub("<uuid>", masked)
    return list(json.loads(masked))


def _decode(status: int, text: str) -> tuple[int, Any]:
    return status, json.loads(text) if text else None


def _requests_send(base: str) -> Send:
    def send(method: str, path: str, payload: Any, token: str | None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = requests.request(method, base + path, json=payload, headers=headers)
        return _decode(r.status_code, r.text)
    return send


def _httpx_send(client: httpx.Client) -> Send:
    def send(method: str, path: str, payload: Any, token: str | None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = client.request(method, path, json=payload, headers=headers)
        return _decode(r.status_code, r.text)
    return send


def _curl_send(base: str) -> Send:
    def send(method: str, path: str, payload: Any, token: str | None) -> tuple[int, Any]:
        args = ["curl", "-s", "-X", method, "-w", "\n%{http_code}", base + path]
        if token:
            args += ["-H", f"Authorization: Bearer {token}"]
        if payload is not None:
            args += ["-H", "Content-Type: application/json", "-d", json.dumps(payload)]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        text, _, code = out.rpartition("\n")
        return _decode(int(code), text)
    return send


def _fresh() -> FakeLeaf:
    return FakeLeaf(clock=ManualClock(START), seed=1)  # the same seed: the same made values (organization ids)


def test_every_transport_gets_the_same_statuses_and_bodies() -> None:
    transcripts = {}
    leaf = _fresh()
    with leaf:
        transcripts["requests in-process"] = _scenario(_requests_send(leaf.base_url), leaf)
    leaf = _fresh()
    with leaf.server() as server:
        transcripts["requests server"] = _scenario(_requests_send(server.url), leaf)
    leaf = _fresh()
    with httpx.Client(transport=httpx.WSGITransport(app=leaf.wsgi_app()), base_url=leaf.base_url) as client:
        transcripts["httpx WSGI"] = _scenario(_httpx_send(client), leaf)
    leaf = _fresh()
    with leaf.server() as server, httpx.Client(base_url=server.url) as client:
        transcripts["httpx server"] = _scenario(_httpx_send(client), leaf)
    leaf = _fresh()
    with leaf.server() as server:
        transcripts["curl"] = _scenario(_curl_send(server.url), leaf)
    reference = transcripts["requests in-process"]
    assert [s for s, _ in reference] == [200, 201, 201, 200, 200, 400, 405, 204, 404, 200, 401]
    for name, transcript in transcripts.items():
        assert transcript == reference, name


def test_a_server_that_cannot_listen_says_where_and_why() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1:{port}: .*in use"):
            _fresh().server(port=port)


def test_links_and_locations_name_the_server_a_client_reached() -> None:
    leaf = _fresh()
    with leaf.server() as server:
        r = requests.post(f"{server.user_management_url}/users", json={}, headers=leaf.headers)
        assert r.headers["Location"].startswith(f"{server.url}/services/usermanagement/api/users/")
        link = requests.get(f"{server.user_management_url}/users", headers=leaf.headers).headers["Link"]
        assert link.startswith(f"<{server.url}/services/usermanagement/api/users?page=0")


@contextlib.contextmanager
def _fake_leaf_serve(*options: str, lines: int) -> Iterator[list[str]]:
    """``fake-leaf serve --quiet *options`` in a subprocess; yields the first ``lines`` lines it prints.

    On a free port unless the options name one: serve's default port may be taken on a shared machine.
    """
    with subprocess.Popen([sys.executable, "-m", "fake_leaf", "serve", "--quiet", "--port", "0", *options],
                          stdout=subprocess.PIPE, text=True) as process:  # closes its pipe
        try:
            assert process.stdout is not None
            yield [process.stdout.readline() for _ in range(lines)]
        finally:
            process.terminate()
            process.wait(timeout=5)


def test_fake_leaf_serve_prints_a_url_a_login_and_a_curl_that_works() -> None:
    with _fake_leaf_serve("--port", "0", lines=5) as lines:
        assert lines[0].startswith("fake-leaf serving the Leaf API at http://127.0.0.1:")
        assert '"username": "api-owner@fake-leaf.test"' in lines[1]
        curl = lines[3].split("try:", 1)[1].strip()
        out = subprocess.run(curl + " -s -w '\n%{http_code}'", shell=True, capture_output=True, text=True)
        assert out.stdout.rsplit("\n", 1) == ["[]", "200"]


def test_fake_leaf_serve_can_turn_on_leafs_rate_limit() -> None:
    with _fake_leaf_serve("--rate-limit-per-minute", "2", lines=3) as lines:
        url = lines[0].rsplit(" ", 1)[1].strip()
        token = lines[2].split("token:", 1)[1].strip()
        statuses = [requests.get(f"{url}/services/usermanagement/api/users",
                                 headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


def test_an_injected_connection_error_drops_the_connection_over_http() -> None:
    leaf = _fresh()
    leaf.inject("connection_error", times=1)
    with leaf.server() as server:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.user_management_url}/users", headers=leaf.headers)
        assert requests.get(f"{server.user_management_url}/users", headers=leaf.headers).status_code == 200


def _raw(server_url: str, data: bytes, close: bool = True) -> tuple[bytes, socket.socket]:
    host, port = server_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(data)
    if not close:
        return b"", sock
    sock.shutdown(socket.SHUT_WR)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks), sock


def test_bad_clients_get_a_clean_4xx_or_are_dropped_and_others_are_served() -> None:
    leaf = _fresh()
    with leaf.server() as server:
        users = f"{server.user_management_url}/users"
        # an unparseable request line: a 400 problem body
        answer, _ = _raw(server.url, b"THIS IS NOT HTTP\r\n\r\n")
        assert answer.startswith(b"HTTP/1.0 400 ") and b"Start line is invalid" in answer
        _, half = _raw(server.url, b"POST /api/authenticate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
                       close=False)  # half a request, then silence
        big = requests.post(users, data=b"x" * (10 * 1024 * 1024), headers=leaf.headers)
        assert big.status_code == 413
        assert requests.get(users, headers=leaf.headers).status_code == 200  # others are still served
        half.close()
        assert leaf.list_users() == []


@pytest.mark.slow
def test_eight_threads_of_mixed_requests_lose_nothing() -> None:
    leaf = _fresh()
    errors: list[str] = []
    created: list[str] = []
    deleted: list[str] = []
    lock = threading.Lock()
    with leaf.server() as server:
        base = server.user_management_url

        def worker(n: int) -> None:
            with requests.Session() as s:
                s.headers.update(leaf.headers)
                for i in range(100):
                    try:
                        if i % 5 == 0:
                            r = s.post(f"{base}/users", json={"name": f"t{n}-{i}"})
                            assert r.status_code == 201, r.text
                            with lock:
                                created.append(r.json()["id"])
                        elif i % 5 == 1 and created:
                            user_id = created[-1]
                            r = s.post(f"{base}/users/{user_id}/john-deere-credentials",
                                       json={"clientKey": "k", "clientSecret": "s", "refreshToken": f"r{n}{i}",
                                             "clientEnvironment": "STAGE"})
                            assert r.status_code in (201, 400, 404), r.text
                        elif i % 25 == 2:
                            with lock:
                                victim = created[n * 10 % len(created)]
                                if victim in deleted:
                                    continue
                                deleted.append(victim)
                            assert s.delete(f"{base}/users/{victim}").status_code == 204
                        else:  # a page of users, while others are created and deleted, is whole
                            r = s.get(f"{base}/users", params={"size": 20})
                            assert r.status_code == 200, r.text
                    except Exception as e:  # collected, so one thread's failure is reported with the rest
                        with lock:
                            errors.append(f"thread {n} request {i}: {e!r}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(created) == 8 * 20  # every fifth of 100 requests a thread made
    assert deleted
    assert sorted(u.id for u in leaf.list_users()) == sorted(set(created) - set(deleted))  # no lost write
    for user in leaf.list_users():  # at most one credential each, and its log in order
        try:
            events = leaf.john_deere_credential_events(user.id)
        except NotFoundError:
            continue
        dates = [e.created_date for e in events]
        assert dates == sorted(dates, reverse=True)
