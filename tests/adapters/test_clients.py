"""httpx (sync and async) and aiohttp, unchanged, served by an active fake; other hosts keep their mocks."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import requests
import respx
from aioresponses import aioresponses
from pytest_httpx import HTTPXMock

from fake_leaf import FakeLeaf, ManualClock, RateLimit

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
USERS = "/services/usermanagement/api/users"
JOHN_DEERE_BODY = {"clientKey": "key", "clientSecret": "secret", "refreshToken": "refresh",
                   "clientEnvironment": "STAGE"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiohttp runs on asyncio only


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every name lookup and every socket connect fails loudly, and is recorded."""
    attempts: list[str] = []

    def refuse_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(f"getaddrinfo {host}")
        raise OSError(f"the test forbids DNS; looked up {host!r}")

    def refuse_connect(self: socket.socket, address: Any) -> Any:
        attempts.append(f"connect {address}")
        raise OSError(f"the test forbids connections; tried {address!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
    yield attempts
    assert attempts == []


def test_httpx_clients_of_every_kind_are_served_with_no_lookup_and_no_socket(no_network: list[str]) -> None:
    made_before = httpx.Client(base_url="https://api.withleaf.io")  # made before the fake started
    with FakeLeaf() as leaf:
        assert made_before.post(USERS, json={"name": "Ada"}, headers=leaf.headers).status_code == 201
        with httpx.Client(http2=True, headers=leaf.headers) as http2:
            assert [u["name"] for u in http2.get(f"{leaf.user_management_url}/users").json()] == ["Ada"]
        assert httpx.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code == 200
    made_before.close()


def test_another_scheme_or_port_of_the_fakes_host_is_refused_by_every_client(no_network: list[str]) -> None:
    async def aiohttp_get(url: str) -> None:
        async with aiohttp.ClientSession() as session, session.get(url):
            pass

    with FakeLeaf():
        with pytest.raises(httpx.ConnectError, match="the scheme is http, but fake-leaf serves"):
            httpx.get(f"http://api.withleaf.io{USERS}")
        with pytest.raises(aiohttp.ClientConnectionError, match="port 8443 is not the port"):
            asyncio.run(aiohttp_get(f"https://api.withleaf.io:8443{USERS}"))


def test_after_the_fake_stops_httpx_goes_back_to_its_own_transport(no_network: list[str]) -> None:
    with FakeLeaf():
        pass
    with pytest.raises(httpx.ConnectError):  # the real transport: it tries to resolve the name
        httpx.get(f"https://api.withleaf.io{USERS}")
    assert no_network == ["getaddrinfo api.withleaf.io"]
    no_network.clear()


def test_pytest_httpx_mocks_other_hosts_beside_the_fake(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://deere.test/organizations", json={"values": []})
    with FakeLeaf() as leaf, httpx.Client(headers=leaf.headers) as client:
        assert client.get("https://deere.test/organizations").json() == {"values": []}
        assert client.post(f"{leaf.user_management_url}/users", json={"name": "Ada"}).status_code == 201
    assert [str(r.url) for r in httpx_mock.get_requests()] == ["https://deere.test/organizations"]


@pytest.mark.parametrize("respx_first", [True, False])
def test_respx_mocks_other_hosts_beside_the_fake_whichever_started_first(respx_first: bool) -> None:
    leaf = FakeLeaf()
    with respx.mock(assert_all_called=True) if respx_first else leaf as outer, \
            leaf if respx_first else respx.mock(assert_all_called=True) as inner:
        router = outer if respx_first else inner
        assert isinstance(router, respx.MockRouter)
        route = router.get("https://deere.test/organizations").respond(json={"values": []})
        with httpx.Client(headers=leaf.headers) as client:
            assert client.get("https://deere.test/organizations").json() == {"values": []}
            assert client.post(f"{leaf.user_management_url}/users", json={"name": "Ada"}).status_code == 201
        assert route.call_count == 1
    assert [u.name for u in leaf.list_users()] == ["Ada"]


@pytest.mark.anyio
async def test_aioresponses_mocks_other_hosts_beside_the_fake() -> None:
    with FakeLeaf() as leaf, aioresponses(passthrough=[leaf.base_url]) as mocked:
        mocked.get("https://deere.test/organizations", payload={"values": []})
        async with aiohttp.ClientSession(headers=leaf.headers) as session:
            async with session.get("https://deere.test/organizations") as r:
                assert await r.json() == {"values": []}
            async with session.post(f"{leaf.user_management_url}/users", json={"name": "Ada"}) as r:
                assert r.status == 201
    assert [u.name for u in leaf.list_users()] == ["Ada"]


@pytest.mark.anyio
async def test_a_delay_lets_other_tasks_run_on_httpx_and_aiohttp() -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(5):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    with FakeLeaf() as leaf:
        leaf.inject("delay", seconds=0.3, times=2)
        async with httpx.AsyncClient(headers=leaf.headers) as client, \
                aiohttp.ClientSession(headers=leaf.headers) as session:
            async def via_aiohttp() -> int:
                async with session.get(f"{leaf.user_management_url}/users") as r:
                    return r.status

            started = time.monotonic()
            statuses = await asyncio.gather(client.get(f"{leaf.user_management_url}/users"), via_aiohttp(), ticker())
    assert statuses[0].status_code == 200 and statuses[1] == 200
    assert len(ticks) == 5 and ticks[-1] - started < 0.3  # the ticker ran while both requests waited
    assert time.monotonic() - started >= 0.3


@pytest.mark.anyio
async def test_read_timeouts_and_dropped_connections_are_the_client_librarys_own_exceptions() -> None:
    with FakeLeaf() as leaf:
        user = leaf.create_user(name="Ada")
        url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
        async with httpx.AsyncClient(headers=leaf.headers) as client, \
                aiohttp.ClientSession(headers=leaf.headers) as session:
            leaf.inject("delay", seconds=5, times=1)
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"{leaf.user_management_url}/users", timeout=httpx.Timeout(5, read=0.05))
            leaf.inject("delay", seconds=5, times=1)
            with pytest.raises(aiohttp.ServerTimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(sock_read=0.05)):
                    pass
            leaf.inject("read_timeout", times=2)
            with pytest.raises(httpx.ReadTimeout):
                await client.post(url, json=JOHN_DEERE_BODY)
            with pytest.raises(aiohttp.ServerTimeoutError):
                async with session.post(url, json=JOHN_DEERE_BODY):
                    pass
            leaf.inject("connection_error", times=2)
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post(url, json=JOHN_DEERE_BODY)
            with pytest.raises(aiohttp.ServerDisconnectedError):
                async with session.post(url, json=JOHN_DEERE_BODY):
                    pass
            async with session.post(url, json=JOHN_DEERE_BODY) as r:  # the connection pool recovers
                assert r.status == 201
    faults = [e.fault for e in leaf.journal()]
    assert faults == ["delay", "delay", "read_timeout", "read_timeout", "connection_error", "connection_error", None]


@pytest.mark.anyio
async def test_the_rate_limit_and_a_429_answer_async_clients_as_sync_ones() -> None:
    with FakeLeaf(rate_limit=RateLimit(2, retry_after=True)) as leaf:
        async with httpx.AsyncClient(headers=leaf.headers) as client, \
                aiohttp.ClientSession(headers=leaf.headers) as session:
            assert (await client.get(f"{leaf.user_management_url}/users")).status_code == 200
            async with session.get(f"{leaf.user_management_url}/users") as r:
                assert r.status == 200
            refused = await client.get(f"{leaf.user_management_url}/users")
            async with session.get(f"{leaf.user_management_url}/users") as r:
                assert (r.status, await r.json()) == (429, refused.json())
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


@pytest.mark.anyio
async def test_hundreds_of_concurrent_requests_on_one_fake_lose_nothing() -> None:
    with FakeLeaf() as leaf:
        async with httpx.AsyncClient(headers=leaf.headers) as client, \
                aiohttp.ClientSession(headers=leaf.headers) as session:
            async def via_aiohttp(i: int) -> int:
                async with session.post(f"{leaf.user_management_url}/users", json={"name": f"aiohttp {i}"}) as r:
                    return r.status

            answers = await asyncio.gather(
                *(client.post(f"{leaf.user_management_url}/users", json={"name": f"httpx {i}"}) for i in range(200)),
                *(via_aiohttp(i) for i in range(200)))
    assert [a.status_code if isinstance(a, httpx.Response) else a for a in answers] == [201] * 400
    names = {u.name for u in leaf.list_users()}
    assert names == {f"httpx {i}" for i in range(200)} | {f"aiohttp {i}" for i in range(200)}
    assert len(leaf.journal(method="POST", path="/users")) == 400


def _dates(leaf: FakeLeaf) -> dict[str, str]:
    """The Date header each transport answers a GET with."""
    url = f"{leaf.user_management_url}/users"

    async def async_dates() -> dict[str, str]:
        found = {}
        async with httpx.AsyncClient(headers=leaf.headers) as client:
            found["httpx-async"] = (await client.get(url)).headers["Date"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=leaf.asgi_app()), headers=leaf.headers) as c:
            found["asgi"] = (await c.get(url)).headers["Date"]
        async with aiohttp.ClientSession(headers=leaf.headers) as session, session.get(url) as r:
            found["aiohttp"] = r.headers["Date"]
        return found

    with leaf:
        dates = {"requests": requests.get(url, headers=leaf.headers).headers["Date"],
                 "httpx": httpx.get(url, headers=leaf.headers).headers["Date"],
                 **asyncio.run(async_dates())}
    with httpx.Client(transport=httpx.WSGITransport(app=leaf.wsgi_app()), headers=leaf.headers) as client:
        dates["wsgi"] = client.get(url).headers["Date"]
    with httpx.Client(transport=leaf.httpx_transport(), headers=leaf.headers) as client:
        dates["httpx-transport"] = client.get(url).headers["Date"]
    with leaf.server() as server:  # over real HTTP too: the server keeps the app's Date
        answer = requests.get(f"{server.user_management_url}/users", headers=leaf.headers)
        dates["server"] = answer.headers["Date"]
        assert answer.raw.headers.getlist("Date") == [dates["server"]]  # one Date, never two
    return dates


def test_every_transport_answers_with_a_date_from_the_fakes_clock() -> None:
    clock = ManualClock(START)
    leaf = FakeLeaf(clock=clock)
    clock.advance(dt.timedelta(days=3, seconds=7))
    dates = _dates(leaf)
    assert len(dates) == 8
    assert set(dates.values()) == {"Wed, 04 Mar 2026 00:00:07 GMT"}


def test_two_fakes_with_their_own_clocks_each_answer_their_own_date() -> None:
    # the text of the last second written is kept for the process: each fake's answer still reads its own clock
    late = ManualClock(START + dt.timedelta(microseconds=999_999))  # the last instant of 00:00:00
    # the same instant as START, given at +05:00: a Date is always GMT
    elsewhere = ManualClock(dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))))
    a, b = FakeLeaf(clock=late), FakeLeaf(clock=elsewhere, base_url="https://b.leaf.test")

    def date(leaf: FakeLeaf) -> str:
        with leaf:
            return str(requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).headers["Date"])

    assert [date(a), date(b)] == ["Sun, 01 Mar 2026 00:00:00 GMT"] * 2
    late.advance(dt.timedelta(microseconds=1))  # the next second, for a only
    assert [date(a), date(b), date(a)] == ["Sun, 01 Mar 2026 00:00:01 GMT", "Sun, 01 Mar 2026 00:00:00 GMT",
                                           "Sun, 01 Mar 2026 00:00:01 GMT"]
    late.set(START - dt.timedelta(microseconds=1))  # back, to the second before
    assert date(a) == "Sat, 28 Feb 2026 23:59:59 GMT"


@pytest.mark.anyio
async def test_an_http_date_retry_after_is_read_against_the_fakes_date_after_a_clock_move() -> None:
    clock = ManualClock(START)
    with FakeLeaf(clock=clock) as leaf:
        clock.advance(dt.timedelta(days=3))
        retry_at = email.utils.format_datetime(leaf.now() + dt.timedelta(seconds=90), usegmt=True)
        leaf.inject("http_error", status=429, headers={"Retry-After": retry_at}, times=2)
        async with httpx.AsyncClient(headers=leaf.headers) as client, \
                aiohttp.ClientSession(headers=leaf.headers) as session:
            answer = await client.get(f"{leaf.user_management_url}/users")
            async with session.get(f"{leaf.user_management_url}/users") as r:
                aiohttp_headers = dict(r.headers)
    for headers in (answer.headers, aiohttp_headers):
        wait = (email.utils.parsedate_to_datetime(headers["Retry-After"])
                - email.utils.parsedate_to_datetime(headers["Date"]))
        assert wait == dt.timedelta(seconds=90)


def test_webhooks_registered_through_any_client_reach_the_tests_mocks_and_never_the_network(
        no_network: list[str]) -> None:
    hooks = "/services/alerts/api/alerts/webhooks"
    leaf = FakeLeaf()
    aiohttp_received: list[Any] = []
    # one API owner per webhook: an owner listens to an event through one webhook only
    owners = iter([{"Authorization": f"Bearer {leaf.add_api_owner(f'owner{i}@x.test', 'pw')}"} for i in range(4)])

    def registration(name: str, url: str) -> dict[str, Any]:
        return {"name": name, "url": url, "secret": "s", "events": ["credentialsUnauthenticated"]}

    async def register_with_aiohttp(body: dict[str, Any]) -> int:
        async with aiohttp.ClientSession(headers=next(owners)) as session, \
                session.post(f"{leaf.base_url}{hooks}", json=body) as r:
            return r.status

    with leaf, respx.mock(assert_all_called=True) as router, \
            aioresponses(passthrough=[leaf.base_url]) as mocked:
        respx_route = router.post("https://hooks.test/respx").respond(204)
        mocked.post("https://hooks.test/aioresponses", callback=lambda url, **kw: aiohttp_received.append(kw),
                    repeat=True)
        leaf.requests_mock.post("https://hooks.test/responses", status=200)
        with httpx.Client(headers=next(owners)) as client:  # intercepted
            assert client.post(f"{leaf.base_url}{hooks}", json=registration("a", "https://hooks.test/respx")
                               ).status_code == 201
        with httpx.Client(transport=httpx.WSGITransport(app=leaf.wsgi_app()), base_url=leaf.base_url,
                          headers=next(owners)) as client:
            assert client.post(hooks, json=registration("b", "https://hooks.test/responses")).status_code == 201
        assert asyncio.run(register_with_aiohttp(registration("c", "https://hooks.test/aioresponses"))) == 201
        with httpx.Client(transport=leaf.httpx_transport(), base_url=leaf.base_url, headers=next(owners)) as client:
            assert client.post(hooks, json=registration("d", "https://nobody-mocked.test/hook")).status_code == 201
        deliveries = {d.url: d for d in leaf.webhook_deliveries()}
        assert respx_route.call_count == 1
    assert deliveries["https://hooks.test/respx"].status == 204
    assert deliveries["https://hooks.test/responses"].status == 200
    assert deliveries["https://hooks.test/aioresponses"].status == 200 and len(aiohttp_received) == 1
    unmocked = deliveries["https://nobody-mocked.test/hook"]
    assert unmocked.status is None and "no mock answered" in (unmocked.connection_error or "")


@pytest.mark.anyio
async def test_the_async_fixtures_an_authenticated_client_and_a_sleep_on_the_fakes_clock(
        fake_leaf: FakeLeaf, leaf_async_client: httpx.AsyncClient, leaf_httpx_client: httpx.Client,
        leaf_async_sleep: Any) -> None:
    started = fake_leaf.now()
    assert (await leaf_async_client.post(USERS, json={"name": "Ada"})).status_code == 201
    await leaf_async_sleep(31 * 24 * 3600)  # past a token's 30-day life: the clients' auth sends a fresh one
    assert dt.timedelta(days=31) <= fake_leaf.now() - started < dt.timedelta(days=31, minutes=1)
    assert [u["name"] for u in (await leaf_async_client.get(USERS)).json()] == ["Ada"]
    assert leaf_httpx_client.get(USERS).status_code == 200


@pytest.mark.anyio
async def test_an_aiohttp_session_kept_after_the_fake_stops_goes_back_to_the_network(no_network: list[str]) -> None:
    async with aiohttp.ClientSession() as session:
        with FakeLeaf() as leaf:
            async with session.get(f"{leaf.user_management_url}/users", headers=leaf.headers) as r:
                assert r.status == 200
        with pytest.raises(aiohttp.ClientConnectorError):  # its pooled in-memory connection went with the fake
            async with session.get(f"{leaf.user_management_url}/users"):
                pass
    assert no_network == ["getaddrinfo api.withleaf.io"]
    no_network.clear()


def test_a_delivery_nobody_mocked_beside_pytest_httpx_is_a_failed_call_not_an_unexpected_request(
        httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://hooks.test/mocked", status_code=202)
    with FakeLeaf() as leaf, httpx.Client(base_url=leaf.base_url, headers=leaf.headers) as client:
        for url, event in (("https://hooks.test/mocked", "credentialsUnauthenticated"),
                           ("https://hooks.test/nobody", "credentialsLimitedPermission")):
            r = client.post("/services/alerts/api/alerts/webhooks",
                            json={"name": event, "url": url, "secret": "s", "events": [event]})
            assert r.status_code == 201
        deliveries = {d.url: d for d in leaf.webhook_deliveries()}
    assert deliveries["https://hooks.test/mocked"].status == 202
    unmocked = deliveries["https://hooks.test/nobody"]
    assert unmocked.status is None and "no mock answered" in (unmocked.connection_error or "")
    # and pytest-httpx's teardown finds no unexpected request: it was never sent through httpx_mock


def test_respx_httpx_mocker_beside_the_fake_never_sends_the_fakes_host_to_the_network(no_network: list[str]) -> None:
    # respx's httpx mocker patches where the fake does: started first it is below the fake (the fake's
    # host never reaches it); started inside the fake it sees every request, and passes the fake's host on
    leaf = FakeLeaf()
    with respx.mock(using="httpx") as router, leaf:
        router.get("https://deere.test/organizations").respond(json={"values": []})
        assert httpx.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code == 200
        assert httpx.get("https://deere.test/organizations").json() == {"values": []}
    with leaf, respx.mock(using="httpx") as router:
        router.route(host="api.withleaf.io").pass_through()
        assert httpx.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code == 200


def test_fake_leaf_never_imports_httpx_or_aiohttp_and_serves_them_once_imported_even_inside_the_fake() -> None:
    code = """if True:
        import socket
        import sys

        def refuse(*args, **kwargs):
            raise OSError("no DNS in this test")

        socket.getaddrinfo = refuse
        import fake_leaf
        import requests

        with fake_leaf.FakeLeaf() as leaf:
            assert requests.get(leaf.user_management_url + "/users", headers=leaf.headers).status_code == 200
            assert [m for m in ("httpx", "aiohttp") if m in sys.modules] == [], "imported by fake-leaf"
            import httpx  # imported inside the fake: served from the moment its import ends

            assert httpx.get(leaf.user_management_url + "/users", headers=leaf.headers).status_code == 200
        assert "aiohttp" not in sys.modules
        assert [f for f in sys.meta_path if type(f).__name__ == "_ServeOnImport"] == []
        with fake_leaf.FakeLeaf() as leaf:  # imported before this fake started
            assert httpx.get(leaf.user_management_url + "/users", headers=leaf.headers).status_code == 200
        print("ok")
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.anyio
async def test_the_asgi_app_awaits_a_delay_and_drops_a_faulted_connection() -> None:
    from fake_leaf.adapters._asgi import InjectedFaultError

    leaf = FakeLeaf()
    ticks: list[int] = []

    async def ticker() -> None:
        for i in range(5):
            ticks.append(i)
            await asyncio.sleep(0.02)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=leaf.asgi_app()), base_url=leaf.base_url,
                                 headers=leaf.headers) as client:
        leaf.inject("delay", seconds=0.2, times=1)
        answer, _ = await asyncio.gather(client.get(USERS), ticker())
        assert answer.status_code == 200 and len(ticks) == 5
        leaf.inject("connection_error", times=1, method="POST")
        with pytest.raises(InjectedFaultError):
            await client.post(USERS, json={"name": "Ada"})
    assert leaf.list_users() == []


def test_httpx_headers_reach_the_fake_as_httpx_gives_them_repeated_names_joined_and_utf8_decoded() -> None:
    sent = [(b"X-Tag", b"a"), (b"x-tag", b"b"), (b"X-Farm", "Ferme du Chêne".encode())]
    with FakeLeaf() as leaf, httpx.Client() as client:
        # plain ASCII; a repeated name; a value in UTF-8; both
        for headers in (sent[:1], sent[:2], sent[2:], sent):
            assert client.post(f"{leaf.base_url}/_fake-leaf/receivers/r", headers=headers, content=b"{}").is_success
        received = [r["headers"] for r in client.get(f"{leaf.base_url}/_fake-leaf/receivers/r").json()]
    assert [{k: v for k, v in h.items() if k.startswith("x-")} for h in received] == [
        {"x-tag": "a"}, {"x-tag": "a, b"}, {"x-farm": "Ferme du Chêne"}, {"x-tag": "a, b", "x-farm": "Ferme du Chêne"}]
    assert all(h["content-length"] == "2" and h["host"] == "api.withleaf.io" for h in received)


async def _aiohttp_post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(
            url + USERS, headers=headers, data=body, timeout=aiohttp.ClientTimeout(total=5)) as r:
        return r.status, json.loads(await r.read())


PRE_CHUNKED = {  # bodies a client chunked itself (aiohttp sends them as they are, and adds a Content-Length)
    "whole": b'c\r\n{"name":"x"}\r\n0\r\n\r\n',
    "extension-and-trailer": b'c;ext=1\r\n{"name":"x"}\r\n0\r\nX-Trailer: 1\r\n\r\n',
    "size-not-hex": b"zz\r\n{}\r\n0\r\n\r\n",
    "size-with-sign": b"-2\r\n{}\r\n0\r\n\r\n",
    "size-0x": b"0x2\r\n{}\r\n0\r\n\r\n",
    "size-after-space": b" 2\r\n{}\r\n0\r\n\r\n",
    "chunk-not-ended": b"2\r\n{}XX0\r\n\r\n",
}


@pytest.mark.anyio
@pytest.mark.parametrize("body", PRE_CHUNKED.values(), ids=PRE_CHUNKED.keys())
async def test_a_body_aiohttp_sends_chunked_by_hand_is_answered_as_over_the_server(body: bytes) -> None:
    answers = []
    for over_the_server in (True, False):
        leaf = FakeLeaf(clock=ManualClock(START))
        headers = {**leaf.headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        if over_the_server:
            with leaf.server() as server:
                status, problem = await _aiohttp_post(server.url, headers, body)
        else:
            with leaf:
                status, problem = await _aiohttp_post(leaf.base_url, headers, body)
        answers.append(status)
        assert len(leaf.list_users()) == (status == 201)
        if status != 201:
            assert "Content-Length" not in problem["detail"]  # the client's length is not what a chunked body reads
    assert answers[0] == answers[1]


@pytest.mark.anyio
async def test_a_chunked_body_aiohttp_leaves_unfinished_is_a_400_not_a_user() -> None:
    with FakeLeaf(clock=ManualClock(START)) as leaf:
        headers = {**leaf.headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        for unfinished in (b'c\r\n{"name":"x"}\r\n', b'c\r\n{"name"', b"c\r\n"):
            status, problem = await _aiohttp_post(leaf.base_url, headers, unfinished)
            assert status == 400 and "chunk" in problem["detail"]
        assert leaf.list_users() == []


@pytest.mark.anyio
async def test_a_chunk_announced_past_the_body_limit_is_a_413_at_once_not_a_hang() -> None:
    with FakeLeaf(clock=ManualClock(START)) as leaf:
        headers = {**leaf.headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        status, problem = await _aiohttp_post(leaf.base_url, headers, b"fffffffff\r\n{}")
        assert (status, problem["status"]) == (413, 413)
        assert [e.status for e in leaf.journal()] == [413]
