"""Issue 21's benchmarks: httpx (sync, async) and aiohttp served by an active FakeLeaf vs the usual static stubs.

Each side answers one GET or one POST of John Deere credentials, REQUESTS_PER_ROUND times a round,
on one client kept across rounds; the fake (or the stub) is started and stopped inside the round.
A: through FakeLeaf, intercepted (the client unchanged). B: pytest-httpx's or respx's static stub
(httpx), aioresponses' (aiohttp), answering the same JSON. Run alone: ``python -m bench.bench_clients``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
import respx
from aioresponses import aioresponses
from pytest_httpx import HTTPXMock
from pytest_httpx._options import _HTTPXMockOptions

from bench._harness import Result, interleave
from fake_leaf import FakeLeaf

REQUESTS_PER_ROUND = 100
LIMIT = 1.2
BODY = {"clientKey": "key", "clientSecret": "secret", "refreshToken": "refresh", "clientEnvironment": "STAGE"}


@contextmanager
def _pytest_httpx(method: str, url: str, answer: Any, status: int) -> Iterator[None]:
    """What the ``httpx_mock`` fixture does, outside pytest: its patches of both transports, one reusable response."""
    mock = HTTPXMock(_HTTPXMockOptions())
    mock.add_response(method=method, url=url, json=answer, status_code=status, is_reusable=True)
    sync, async_ = httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request

    async def handle_async(transport: Any, request: httpx.Request) -> httpx.Response:
        return await mock._handle_async_request(transport, request)

    httpx.HTTPTransport.handle_request = lambda transport, request: mock._handle_request(transport, request)  # type: ignore[method-assign,assignment]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        httpx.HTTPTransport.handle_request = sync  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = async_  # type: ignore[method-assign]
        mock.reset()


@contextmanager
def _respx(method: str, url: str, answer: Any, status: int) -> Iterator[None]:
    with respx.mock(assert_all_called=False) as router:
        router.route(method=method, url=url).respond(status, json=answer)
        yield


def _case(method: str) -> tuple[FakeLeaf, str, Any, int]:
    """A fake whose one user has credentials, the URL of them, and the fake's own answer to use as the stub's."""
    leaf = FakeLeaf(on_duplicate_credentials="replace")
    user = leaf.create_user(name="measured")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
    with leaf:
        r = httpx.request(method, url, headers=leaf.headers, json=BODY if method == "POST" else None)
    assert r.status_code in (200, 201), r.text
    return leaf, url, r.json(), r.status_code


def _sync_rounds(client: httpx.Client, method: str, url: str, status: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(REQUESTS_PER_ROUND):
            r = client.request(method, url, json=BODY if method == "POST" else None)
            assert r.status_code == status
            r.json()
    return run


def httpx_sync(rounds: int) -> list[Result]:
    results = []
    for method in ("GET", "POST"):
        leaf, url, answer, status = _case(method)
        with httpx.Client(headers=leaf.headers) as client:
            requests_ = _sync_rounds(client, method, url, status)

            def fake(requests_: Callable[[], None] = requests_, leaf: FakeLeaf = leaf) -> None:
                with leaf:
                    requests_()

            for stub_name, stub in (("pytest-httpx", _pytest_httpx), ("respx", _respx)):
                def static(requests_: Callable[[], None] = requests_, stub: Any = stub, method: str = method,
                           url: str = url, answer: Any = answer, status: int = status) -> None:
                    with stub(method, url, answer, status):
                        requests_()

                results.append(interleave(f"httpx {method} credentials: FakeLeaf / {stub_name} stub", fake, static,
                                          rounds=rounds, limit=LIMIT))
    return results


def httpx_async(rounds: int) -> list[Result]:
    results = []
    loop = asyncio.new_event_loop()
    for method in ("GET", "POST"):
        leaf, url, answer, status = _case(method)
        client = httpx.AsyncClient(headers=leaf.headers)

        async def many(client: httpx.AsyncClient = client, method: str = method, url: str = url,
                       status: int = status) -> None:
            for _ in range(REQUESTS_PER_ROUND):
                r = await client.request(method, url, json=BODY if method == "POST" else None)
                assert r.status_code == status
                r.json()

        def fake(leaf: FakeLeaf = leaf, many: Any = many) -> None:
            with leaf:
                loop.run_until_complete(many())

        for stub_name, stub in (("pytest-httpx", _pytest_httpx), ("respx", _respx)):
            def static(stub: Any = stub, many: Any = many, method: str = method, url: str = url, answer: Any = answer,
                       status: int = status) -> None:
                with stub(method, url, answer, status):
                    loop.run_until_complete(many())

            results.append(interleave(f"httpx async {method} credentials: FakeLeaf / {stub_name} stub", fake,
                                      static, rounds=rounds, limit=LIMIT))
        loop.run_until_complete(client.aclose())
    loop.close()
    return results


def aiohttp_session(rounds: int) -> list[Result]:
    results = []
    loop = asyncio.new_event_loop()
    for method in ("GET", "POST"):
        leaf, url, answer, status = _case(method)

        async def open_session(leaf: FakeLeaf = leaf) -> aiohttp.ClientSession:
            return aiohttp.ClientSession(headers=leaf.headers)

        session = loop.run_until_complete(open_session())

        async def many(session: aiohttp.ClientSession = session, method: str = method, url: str = url,
                       status: int = status) -> None:
            for _ in range(REQUESTS_PER_ROUND):
                async with session.request(method, url, json=BODY if method == "POST" else None) as r:
                    assert r.status == status
                    await r.json()

        def fake(leaf: FakeLeaf = leaf, many: Any = many) -> None:
            with leaf:
                loop.run_until_complete(many())

        def static(many: Any = many, method: str = method, url: str = url, answer: Any = answer,
                   status: int = status) -> None:
            with aioresponses() as mocked:
                mocked.add(url, method, status=status, payload=answer, repeat=True)
                loop.run_until_complete(many())

        results.append(interleave(f"aiohttp {method} credentials: FakeLeaf / aioresponses stub", fake, static,
                                  rounds=rounds, limit=LIMIT))
        loop.run_until_complete(session.close())
    loop.close()
    return results


def main(rounds: int = 15) -> bool:
    started = time.perf_counter()
    results = [*httpx_sync(rounds), *httpx_async(rounds), *aiohttp_session(rounds)]
    for r in results:
        print(r.line())
    print(f"(client benchmarks took {time.perf_counter() - started:.1f} s)")
    return all(r.ok for r in results)


if __name__ == "__main__":
    sys.exit(0 if main(int(sys.argv[1]) if len(sys.argv) > 1 else 15) else 1)
