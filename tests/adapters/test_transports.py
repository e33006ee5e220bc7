"""One answer on every transport: in-process, WSGI and over the server agree for any method and body framing."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import requests

from fake_leaf import FakeLeaf, ManualClock
from fake_leaf.http._app import MAX_BODY

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
USERS = "/services/usermanagement/api/users"
LOGIN = "/api/authenticate"
BODY = b'{"name": "Ada Grower"}'

# how the body travels: its own length, chunked, or a Content-Length header as given (a lie or malformed)
Framing = str
# (leaf, method, path, headers, body, framing) -> (status, response headers, body)
Send = Callable[[FakeLeaf, str, str, dict[str, str], bytes, Framing], tuple[int, dict[str, str], bytes]]


def _pieces(body: bytes) -> Iterator[bytes]:
    yield body[:5]
    yield body[5:]


def in_process(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
               framing: Framing) -> tuple[int, dict[str, str], bytes]:
    data: Any = _pieces(body) if framing == "chunked" else body
    prepared = requests.Request(method, leaf.base_url + path, headers=headers, data=data).prepare()
    if framing not in ("length", "chunked"):
        prepared.headers["Content-Length"] = framing
    with leaf, requests.Session() as session:
        r = session.send(prepared, timeout=5)
        return r.status_code, dict(r.headers), r.content


def wsgi(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
         framing: Framing) -> tuple[int, dict[str, str], bytes]:
    transport = httpx.WSGITransport(app=leaf.wsgi_app())
    with httpx.Client(transport=transport, base_url=leaf.base_url) as client:
        request = client.build_request(method, path, headers=headers,
                                       content=_pieces(body) if framing == "chunked" else body)
        if framing not in ("length", "chunked"):
            request.headers["Content-Length"] = framing
        r = client.send(request)
        return r.status_code, dict(r.headers), r.content


def raw_http(url: str, request: bytes, *, half_close: bool = True, timeout: float = 5) -> bytes:
    """Send bytes as they are, then read the answer until the server closes."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        if half_close:  # the client has sent all it will send
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse_answer(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    if headers.get("Transfer-Encoding") == "chunked":
        raise AssertionError("the server is not expected to answer chunked")
    return int(status_line.split(" ")[1]), headers, body


def _encode(method: str, path: str, headers: dict[str, str], body: bytes, framing: Framing) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: fake-leaf.test", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    if framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in _pieces(body)) + b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body) if framing == 'length' else framing}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def over_the_server(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
                    framing: Framing) -> tuple[int, dict[str, str], bytes]:
    with leaf.server() as server:
        return parse_answer(raw_http(server.url, _encode(method, path, headers, body, framing)))


class CannotSendError(Exception):
    """The client library itself refuses to send such a request."""


def _httpx_send(client: httpx.Client, method: str, url: str, headers: dict[str, str], content: Any,
                framing: Framing) -> tuple[int, dict[str, str], bytes]:
    request = client.build_request(method, url, headers=headers, content=content)
    if framing not in ("length", "chunked"):
        request.headers["Content-Length"] = framing
    r = client.send(request)
    return r.status_code, dict(r.headers), r.content


def httpx_intercepted(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
                      framing: Framing) -> tuple[int, dict[str, str], bytes]:
    with leaf, httpx.Client() as client:  # a plain client: the active fake serves it
        return _httpx_send(client, method, leaf.base_url + path, headers,
                           _pieces(body) if framing == "chunked" else body, framing)


def httpx_transport(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
                    framing: Framing) -> tuple[int, dict[str, str], bytes]:
    with httpx.Client(transport=leaf.httpx_transport(), base_url=leaf.base_url) as client:
        return _httpx_send(client, method, path, headers, _pieces(body) if framing == "chunked" else body, framing)


async def _async_pieces(body: bytes) -> AsyncIterator[bytes]:
    for piece in _pieces(body):
        yield piece


async def _httpx_async_send(client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], body: bytes,
                            framing: Framing) -> tuple[int, dict[str, str], bytes]:
    request = client.build_request(method, url, headers=headers,
                                   content=_async_pieces(body) if framing == "chunked" else body)
    if framing not in ("length", "chunked"):
        request.headers["Content-Length"] = framing
    r = await client.send(request)
    return r.status_code, dict(r.headers), r.content


def httpx_async_intercepted(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
                            framing: Framing) -> tuple[int, dict[str, str], bytes]:
    async def send() -> tuple[int, dict[str, str], bytes]:
        async with httpx.AsyncClient() as client:
            return await _httpx_async_send(client, method, leaf.base_url + path, headers, body, framing)

    with leaf:
        return asyncio.run(send())


def httpx_async_transport(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
                          framing: Framing) -> tuple[int, dict[str, str], bytes]:
    async def send() -> tuple[int, dict[str, str], bytes]:
        async with httpx.AsyncClient(transport=leaf.httpx_async_transport(), base_url=leaf.base_url) as client:
            return await _httpx_async_send(client, method, path, headers, body, framing)

    return asyncio.run(send())


def asgi(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
         framing: Framing) -> tuple[int, dict[str, str], bytes]:
    async def send() -> tuple[int, dict[str, str], bytes]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=leaf.asgi_app()),
                                     base_url=leaf.base_url) as client:
            return await _httpx_async_send(client, method, path, headers, body, framing)

    return asyncio.run(send())


def aiohttp_intercepted(leaf: FakeLeaf, method: str, path: str, headers: dict[str, str], body: bytes,
                        framing: Framing) -> tuple[int, dict[str, str], bytes]:
    if framing not in ("length", "chunked") and not framing.isdigit():
        raise CannotSendError("aiohttp refuses to send a Content-Length that is not a number")

    async def send() -> tuple[int, dict[str, str], bytes]:
        sent = dict(headers)
        if framing not in ("length", "chunked"):
            sent["Content-Length"] = framing
        async with aiohttp.ClientSession() as session, session.request(
                method, leaf.base_url + path, headers=sent,
                data=_async_pieces(body) if framing == "chunked" else body) as r:
            return r.status, dict(r.headers), await r.read()

    with leaf:
        return asyncio.run(send())


TRANSPORTS: dict[str, Send] = {
    "in-process": in_process, "wsgi": wsgi, "server": over_the_server,
    "httpx": httpx_intercepted, "httpx-async": httpx_async_intercepted, "httpx-transport": httpx_transport,
    "httpx-async-transport": httpx_async_transport, "asgi": asgi, "aiohttp": aiohttp_intercepted,
}
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE", "PATCH", "PROPFIND", "FOO"]


def _answers(method: str, path: str, body: bytes, framing: Framing) -> dict[str, tuple[int, dict[str, str], bytes]]:
    answers = {}
    for name, send in TRANSPORTS.items():
        leaf = FakeLeaf(clock=ManualClock(START))
        headers = {**leaf.headers, "Content-Type": "application/json"}
        try:
            status, response_headers, response_body = send(leaf, method, path, headers, body, framing)
        except CannotSendError:
            continue
        lowered = {k.lower(): v for k, v in response_headers.items()}
        answers[name] = (status, lowered, UUID.sub(b"<uuid>", response_body))
    return answers


def _refused_alike(answers: dict[str, tuple[int, dict[str, str], bytes]]) -> tuple[int, dict[str, str], bytes]:
    """A body whose framing is malformed: the same answer in-process and through WSGI; over the server, waitress
    refuses it before the app sees it, with the same status in a problem body of its own words."""
    reference = _same_everywhere({k: v for k, v in answers.items() if k != "server"})
    status, headers, body = answers["server"]
    assert status == reference[0] and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status
    return reference


def _same_everywhere(answers: dict[str, tuple[int, dict[str, str], bytes]]) -> tuple[int, dict[str, str], bytes]:
    reference = answers["in-process"]
    for name, (status, _, body) in answers.items():
        assert (status, body) == (reference[0], reference[2]), f"{name} differs from in-process"
    return reference


@pytest.mark.parametrize("path", [USERS, LOGIN])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_gets_the_same_answer_in_process_through_wsgi_and_over_the_server(
        method: str, path: str) -> None:
    status, headers, body = _same_everywhere(_answers(method, path, BODY, "length"))
    if method == "HEAD":
        assert body == b""
    if method not in {"GET", "HEAD", "POST", "PUT"} or (path == LOGIN and method != "POST"):
        assert status == 405
        assert "allow" in headers
        if method != "HEAD":
            assert json.loads(body)["detail"].startswith(f"Request method '{method}' is not supported here")


@pytest.mark.parametrize("method", ["HEAD", "TRACE", "FOO"])
def test_an_odd_method_on_a_path_the_fake_does_not_implement_is_the_same_404_everywhere(method: str) -> None:
    status, _, body = _same_everywhere(_answers(method, "/services/usermanagement/api/nothing-here", b"", "length"))
    assert status == 404
    assert (body == b"") == (method == "HEAD")


def test_a_head_answer_has_the_get_headers_and_no_body_on_every_transport() -> None:
    for name, (status, headers, body) in _answers("HEAD", USERS, b"", "length").items():
        assert (status, body) == (200, b""), name
        assert headers["content-type"] == "application/json", name
        assert headers["content-length"] == "2", name  # the length of the GET's body, []
        assert "rel=\"first\"" in headers["link"], name


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_chunked_body_is_read_like_any_other(framing: Framing) -> None:
    status, _, body = _same_everywhere(_answers("POST", USERS, BODY, framing))
    assert status == 201
    assert json.loads(body)["name"] == "Ada Grower"


@pytest.mark.parametrize("declared", ["1_0", "+10", "-1", "abc", "0x10", "1e3", "10, 10"])
def test_a_malformed_content_length_is_a_400_on_every_transport(declared: str) -> None:
    status, _, body = _refused_alike(_answers("POST", USERS, b'{"name": 1}', declared))
    assert status == 400
    assert declared.strip() in json.loads(body)["detail"]


def test_a_head_whose_body_is_refused_has_the_gets_length_and_no_body_in_process_and_through_wsgi() -> None:
    get_status, _, get_body = _refused_alike(_answers("GET", USERS, b"x", "abc"))
    for name, (status, headers, body) in _answers("HEAD", USERS, b"x", "abc").items():
        if name == "server":  # refused by waitress before the app: its own answer
            continue
        assert (status, body) == (get_status, b""), name
        assert headers["content-length"] == str(len(get_body)), name  # RFC 9110 8.6: the GET's, or none


def test_a_body_shorter_than_its_content_length_is_a_400_on_every_transport() -> None:
    status, _, body = _refused_alike(_answers("POST", USERS, BODY, str(len(BODY) + 10)))
    assert status == 400
    detail = json.loads(body)["detail"]
    assert f"Content-Length of {len(BODY) + 10}" in detail and f"{len(BODY)} bytes" in detail


def test_a_refused_body_leaves_no_user_behind() -> None:
    for send in TRANSPORTS.values():
        leaf = FakeLeaf(clock=ManualClock(START))
        for framing in ["1_0", "+10", str(len(BODY) + 1)]:
            try:
                assert send(leaf, "POST", USERS, leaf.headers, BODY, framing)[0] == 400
            except CannotSendError:
                continue
        assert leaf.list_users() == []


def test_a_body_announced_over_the_limit_is_a_413_and_journaled_on_every_transport() -> None:
    declared = str(MAX_BODY + 10)  # the body sent is short of it: the announcement alone is refused
    for name, send in TRANSPORTS.items():
        leaf = FakeLeaf(clock=ManualClock(START))
        status, _, body = send(leaf, "POST", USERS, leaf.headers, BODY, declared)
        assert status == 413 and declared in json.loads(body)["detail"], name
        assert [(e.method, e.status, e.request_body) for e in leaf.journal()] == [("POST", 413, b"")], name
        assert leaf.list_users() == [], name


def test_an_empty_content_length_is_a_400_on_every_transport() -> None:
    answers = _answers("POST", USERS, BODY, "")
    assert {status for status, _, _ in answers.values()} == {400}
    for name in ("in-process",):  # WSGI cannot tell an empty CONTENT_LENGTH from none (PEP 3333); waitress refuses it
        assert "Content-Length is ''" in json.loads(answers[name][2])["detail"], name


# A wrong scheme with a name in it, as UTF-8 bytes: sent as they are by requests and httpx, and through ASGI.
# httpx's WSGITransport and aiohttp refuse to send such bytes themselves.
NON_ASCII_AUTHORIZATION = "Basic Zoë Åkerlund".encode()


@pytest.mark.parametrize("transport", ["in-process", "httpx", "httpx-async", "httpx-transport",
                                       "httpx-async-transport", "asgi"])
def test_an_authorization_header_beyond_ascii_is_a_401_not_an_exception(transport: str) -> None:
    leaf = FakeLeaf(clock=ManualClock(START))
    headers: Any = {"Authorization": NON_ASCII_AUTHORIZATION, "Content-Type": "application/json"}
    status, response_headers, body = TRANSPORTS[transport](leaf, "POST", USERS, headers, BODY, "length")
    assert (status, json.loads(body)["detail"]) == (401, "Not Authenticated")
    reason = {k.lower(): v for k, v in response_headers.items()}["x-fake-leaf-reason"]
    assert reason.startswith("the Authorization header must read 'Bearer <token>'")
    assert leaf.list_users() == []


def _twice(leaf: FakeLeaf, first_is_valid: bool) -> list[tuple[str, str]]:
    tokens = [leaf.headers["Authorization"], "Bearer not-a-token"]
    if not first_is_valid:
        tokens.reverse()
    return [("Content-Type", "application/json"), *(("Authorization", token) for token in tokens)]


def _post_with(transport: str, leaf: FakeLeaf, headers: list[tuple[str, str]]) -> int:
    """POST /users with these header lines, repeated names kept, on one transport; the status."""
    if transport == "server":
        head = "".join(f"{k}: {v}\r\n" for k, v in headers)
        with leaf.server() as server:
            request = (f"POST {USERS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{head}"
                       f"Content-Length: {len(BODY)}\r\n\r\n")
            return parse_answer(raw_http(server.url, request.encode() + BODY))[0]
    if transport == "httpx-transport":
        with httpx.Client(transport=leaf.httpx_transport(), base_url=leaf.base_url) as client:
            return client.post(USERS, headers=headers, content=BODY).status_code

    async def send() -> int:
        if transport == "asgi":
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=leaf.asgi_app()),
                                         base_url=leaf.base_url) as client:
                return (await client.post(USERS, headers=headers, content=BODY)).status_code
        async with aiohttp.ClientSession() as session, session.post(leaf.base_url + USERS, headers=headers,
                                                                    data=BODY) as r:
            return r.status

    with leaf:
        return asyncio.run(send())


@pytest.mark.parametrize("first_is_valid", [True, False], ids=["valid-first", "valid-last"])
@pytest.mark.parametrize("transport", ["server", "httpx-transport", "asgi", "aiohttp"])
def test_two_authorization_headers_are_one_401_on_every_transport(transport: str, first_is_valid: bool) -> None:
    # a server joins a repeated header's lines into one value (RFC 9110 5.3): no bearer token reads so, and no
    # transport may pick one of the two. (httpx's WSGITransport keeps only the last line: its own choice.)
    leaf = FakeLeaf(clock=ManualClock(START))
    assert _post_with(transport, leaf, _twice(leaf, first_is_valid)) == 401
    assert leaf.list_users() == []


@pytest.mark.parametrize("coding", ["chunked, chunked", "chunked,chunked", "identity", "gzip", "chunked, identity"])
def test_a_transfer_encoding_the_fake_refuses_in_process_is_refused_alike_by_the_server(coding: str) -> None:
    # RFC 9112 6.3: chunked applied twice, or not last, leaves the body's end unknown: 400, and nothing is run
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in _pieces(BODY)) + b"0\r\n\r\n"
    answers = {}
    for name in ("in-process", "server"):
        leaf = FakeLeaf(clock=ManualClock(START))
        if name == "server":
            head = (f"POST {USERS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {leaf.token}\r\n"
                    f"Content-Type: application/json\r\nTransfer-Encoding: {coding}\r\n\r\n")
            with leaf.server() as server:
                status, headers, body = parse_answer(raw_http(server.url, head.encode() + chunked))
        else:
            prepared = requests.Request("POST", leaf.base_url + USERS, headers=leaf.headers, data=chunked).prepare()
            del prepared.headers["Content-Length"]
            prepared.headers["Transfer-Encoding"] = coding
            with leaf, requests.Session() as session:
                r = session.send(prepared, timeout=5)
                status, headers, body = r.status_code, dict(r.headers), r.content
        assert leaf.list_users() == [], name
        assert headers.get("Content-Type") == "application/problem+json", name
        answers[name] = (status, json.loads(body)["detail"])
    assert answers["server"][0] == answers["in-process"][0] == 400
    assert coding in answers["server"][1]


def _asgi_get(leaf: FakeLeaf, scope_path: dict[str, Any]) -> dict[str, Any]:
    """GET through the ASGI app called as an ASGI server calls it, with this path in the scope: the problem body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "query_string": b"", **scope_path,
             "headers": [(b"authorization", leaf.headers["Authorization"].encode())]}
    asyncio.run(leaf.asgi_app()(scope, receive, send))
    return dict(json.loads(sent[1]["body"]))


@pytest.mark.parametrize("scope_path", [
    {"path": f"{USERS}/Zoë", "raw_path": f"{USERS}/Zoë".encode()},  # the bytes a client sent, not percent-encoded
    {"path": f"{USERS}/Zoë"},  # a server that gives no raw_path: the decoded path only
], ids=["raw-utf8", "no-raw-path"])
def test_a_path_beyond_ascii_reaches_the_asgi_app_as_it_reaches_the_others(scope_path: dict[str, Any]) -> None:
    leaf = FakeLeaf(clock=ManualClock(START))
    with leaf, requests.Session() as session:  # requests percent-encodes the UTF-8 bytes, as RFC 3986 says
        expected = session.get(f"{leaf.base_url}{USERS}/Zoë", headers=leaf.headers).json()
    problem = _asgi_get(leaf, scope_path)
    assert problem["status"] == 404 and "'Zoë'" in problem["detail"]
    assert problem == expected


@pytest.mark.parametrize("environ_path", [
    "/services/usermanagement/api/users/ZoÃ«",  # PEP 3333: the UTF-8 bytes the client sent, as Latin-1 text
    "/services/usermanagement/api/users/Zoë",  # a server that decoded them as UTF-8 (httpx's WSGITransport)
], ids=["pep-3333", "decoded-as-utf8"])
def test_a_path_beyond_ascii_reaches_the_wsgi_app_as_it_reaches_the_others(environ_path: str) -> None:
    leaf = FakeLeaf(clock=ManualClock(START))
    with leaf, requests.Session() as session:
        expected = session.get(f"{leaf.base_url}{USERS}/Zoë", headers=leaf.headers).json()
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": environ_path, "QUERY_STRING": "", "wsgi.input": io.BytesIO(),
               "HTTP_AUTHORIZATION": leaf.headers["Authorization"]}
    body = b"".join(leaf.wsgi_app()(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    assert statuses == ["404 Not Found"]
    assert json.loads(body) == expected


def _asgi_total(leaf: FakeLeaf, query: bytes) -> str:
    """X-Total-Count of GET /users?<query> through the ASGI app, called as an ASGI server calls it."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": USERS, "raw_path": USERS.encode(), "query_string": query,
             "headers": [(b"authorization", leaf.headers["Authorization"].encode())]}
    asyncio.run(leaf.asgi_app()(scope, receive, send))
    return str(dict(sent[0]["headers"])[b"x-total-count"].decode())


def _wsgi_total(leaf: FakeLeaf, query: str) -> str:
    """X-Total-Count of GET /users?<query> through the WSGI app, called as a WSGI server calls it."""
    answered: list[list[tuple[str, str]]] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": USERS, "QUERY_STRING": query, "wsgi.input": io.BytesIO(),
               "HTTP_AUTHORIZATION": leaf.headers["Authorization"]}
    b"".join(leaf.wsgi_app()(environ, lambda status, headers, exc_info=None: answered.append(headers)))
    return dict(answered[0])["X-Total-Count"]


def test_a_filter_sent_as_raw_utf8_bytes_finds_the_user_through_asgi_and_wsgi_servers() -> None:
    # curl sends `?email=zoë@x.io` as raw UTF-8 bytes; an ASGI server hands them over as they are, a PEP 3333
    # server as Latin-1 text. Either way the filter is the text the client typed, as when it is percent-encoded.
    raw = "email=zoë@x.io".encode()
    leaf = FakeLeaf(clock=ManualClock(START))
    leaf.create_user(name="Zoë", email="zoë@x.io")
    assert _asgi_total(leaf, raw) == "1"
    assert _wsgi_total(leaf, raw.decode("latin-1")) == "1"
