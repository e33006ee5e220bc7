"""How deliveries leave the fake: through `requests` in-process, or as real HTTP POSTs over a socket."""

from __future__ import annotations

import http.client
import sys
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from fake_leaf.http._delivery import Sender

if TYPE_CHECKING:  # the alerts service's module loads when it is first used, not with the fake
    from fake_leaf.engine._webhooks import Outcome, PendingAttempt

MAX_RESPONSE = 10_000  # characters of the receiver's answer kept in a failed call
USER_AGENT = "fake-leaf (Leaf alerts)"
_UNMOCKED = "no mock answered"  # responses, respx, pytest-httpx or aioresponses: none took it


class _MocksOnly(HTTPAdapter):
    """An adapter whose real send never opens a connection.

    `responses` patches ``HTTPAdapter.send`` itself, so the user's mocks and callbacks still see
    every delivery; only a URL nobody mocked falls through to here, and fails as a refused connection.
    """

    def get_connection_with_tls_context(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise requests.ConnectionError(
            f"{_UNMOCKED} POST {request.url}, and in-process fake-leaf never sends a delivery "
            "to the network: mock the URL (or use the leaf_webhook_receiver fixture), or register the webhook "
            "through fake-leaf's server to get real HTTP POSTs", request=request)

    def get_connection(self, url: Any, proxies: Any = None) -> Any:  # requests before 2.32
        raise requests.ConnectionError(f"{_UNMOCKED} POST {url}, and in-process fake-leaf never "
                                       "sends a delivery to the network")


def _outcome(status: int | None = None, response: str | None = None,
             connection_error: str | None = None) -> Outcome:
    from fake_leaf.engine._webhooks import Outcome  # loaded already: a delivery was due

    return Outcome(status, response, connection_error)


def in_process_sender(pending: PendingAttempt, timeout: float) -> Outcome:
    """POST through `requests`, so the test's `responses` mocks receive it; unmocked is a refused connection.

    `responses` ignores timeouts, so the POST runs in a worker thread: a callback that hangs is a
    failed call after ``timeout`` seconds, and the test goes on.
    """
    result: list[Outcome] = []
    worker = threading.Thread(target=lambda: result.append(_post(pending, timeout)), daemon=True,
                              name=f"fake-leaf delivery to {pending.url}")
    worker.start()
    worker.join(timeout)
    return result[0] if result else _outcome(connection_error=f"no answer from {pending.url} within {timeout} s")


def _post(pending: PendingAttempt, timeout: float) -> Outcome:
    """Through each mocking library the test has running, first to answer: responses, then httpx's, then aiohttp's."""
    outcome = _post_with_requests(pending, timeout)
    if outcome.connection_error is None or _UNMOCKED not in outcome.connection_error:
        return outcome
    for mocked, post in ((_httpx_mocked, _post_with_httpx), (_aiohttp_mocked, _post_with_aiohttp)):
        if mocked():
            tried = post(pending, timeout)
            if tried.connection_error is None or _UNMOCKED not in tried.connection_error:
                return tried
    return outcome  # nobody mocked it: the first refusal says best why


def _post_with_requests(pending: PendingAttempt, timeout: float) -> Outcome:
    with requests.Session() as session:
        session.mount("http://", _MocksOnly())
        session.mount("https://", _MocksOnly())
        session.headers["User-Agent"] = USER_AGENT
        try:
            r = session.post(pending.url, data=pending.body, headers=dict(pending.headers), timeout=timeout,
                             allow_redirects=False)
        except requests.RequestException as e:
            return _outcome(connection_error=f"{type(e).__name__}: {_first_line(e)}")
        except Exception as e:  # the test's own callback raised: the delivery failed, the test goes on
            return _outcome(connection_error=f"the receiver raised {type(e).__name__}: {e}")
        return _outcome(r.status_code, r.text[:MAX_RESPONSE])


def _patched(function: object, module_file: str) -> bool:
    """A library's function replaced by a mock: its code is not from the library's own file."""
    filename = getattr(getattr(function, "__code__", None), "co_filename", "")
    return not filename.replace("\\", "/").endswith(module_file)


def _httpx_mocked() -> bool:
    """pytest-httpx (patches ``HTTPTransport.handle_request``) or respx (patches httpcore's pools) is running."""
    httpx = sys.modules.get("httpx")
    httpcore = sys.modules.get("httpcore")
    if httpx is None:
        return False
    pool = getattr(httpcore, "ConnectionPool", None)
    return (_patched(httpx.HTTPTransport.handle_request, "httpx/_transports/default.py")
            or (pool is not None and _patched(pool.handle_request, "httpcore/_sync/connection_pool.py")))


def _post_with_httpx(pending: PendingAttempt, timeout: float) -> Outcome:
    """POST through httpx over a pool that never connects: only the test's httpx mocks can answer."""
    import httpcore
    import httpx

    class NoNetwork(httpcore.NetworkBackend):
        def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
            raise httpcore.ConnectError(f"{_UNMOCKED} POST {pending.url}, and in-process fake-leaf never sends a "
                                        "delivery to the network")

    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(network_backend=NoNetwork())
    try:
        with httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request("POST", pending.url, content=pending.body,
                                           headers={**pending.headers, "User-Agent": USER_AGENT})
            if _pytest_httpx_would_refuse(transport, request):
                return _outcome(connection_error=f"ConnectError: {_UNMOCKED}: POST {pending.url} (pytest-httpx has no "
                                                 "response for it), and in-process fake-leaf never sends a delivery "
                                                 "to the network")
            r = client.send(request)
            return _outcome(r.status_code, r.text[:MAX_RESPONSE])
    except Exception as e:  # our refusal, respx's or pytest-httpx's "not mocked", or the test's callback raised
        unmocked = (type(e).__name__ == "AllMockedAssertionError" or "No response can be found" in str(e))
        return _outcome(connection_error=f"{type(e).__name__}: {_UNMOCKED + ': ' if unmocked else ''}{_first_line(e)}")


def _pytest_httpx_would_refuse(transport: Any, request: Any) -> bool:
    """pytest-httpx is running and none of its responses matches: sending would fail the test at teardown.

    pytest-httpx reports every request it had no response for as unexpected; a delivery to a URL the
    test did not mock is fake-leaf's failed call, not the test's request. Read from pytest-httpx's
    fixture (its patch holds the mock); if that ever changes shape, the delivery is simply sent.
    """
    patched = sys.modules["httpx"].HTTPTransport.handle_request
    cells = [cell.cell_contents for cell in getattr(patched, "__closure__", None) or ()]
    mock = next((c for c in cells if type(c).__name__ == "HTTPXMock"), None)
    options = next((c for c in cells if hasattr(c, "should_mock")), None)
    try:
        if mock is None or (options is not None and not options.should_mock(request)):
            return False
        return not any(matcher.match(transport, request) for matcher, _ in mock._callbacks)
    except Exception:
        return False


def _aiohttp_mocked() -> bool:
    """aioresponses (patches ``ClientSession._request``) is running."""
    aiohttp = sys.modules.get("aiohttp")
    return aiohttp is not None and _patched(aiohttp.ClientSession._request, "aiohttp/client.py")


def _post_with_aiohttp(pending: PendingAttempt, timeout: float) -> Outcome:
    """POST through aiohttp with a connector that never connects: only the test's aioresponses mocks answer.

    Runs its own event loop: the sender is a worker thread of the fake, never the test's loop.
    """
    import asyncio

    import aiohttp

    class NoNetwork(aiohttp.TCPConnector):
        async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
            raise aiohttp.ClientConnectionError(f"{_UNMOCKED} POST {pending.url}, and in-process fake-leaf never "
                                                "sends a delivery to the network")

    async def post() -> Outcome:
        async with aiohttp.ClientSession(connector=NoNetwork(), timeout=aiohttp.ClientTimeout(total=timeout)) as s, \
                s.post(pending.url, data=pending.body, allow_redirects=False,
                       headers={**pending.headers, "User-Agent": USER_AGENT}) as r:
            return _outcome(r.status, (await r.text(errors="replace"))[:MAX_RESPONSE])

    try:
        return asyncio.run(post())
    except Exception as e:  # our refusal, aioresponses' "Connection refused" (not mocked), or its callback raised
        unmocked = isinstance(e, aiohttp.ClientConnectionError) and "Connection refused" in str(e)
        return _outcome(connection_error=f"{type(e).__name__}: {_UNMOCKED + ': ' if unmocked else ''}{_first_line(e)}")


def http_sender(pending: PendingAttempt, timeout: float) -> Outcome:
    """A real HTTP POST to the URL the webhook registered, and nowhere else: redirects are not followed."""
    url = urlsplit(pending.url)
    connection_type = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    try:
        connection = connection_type(url.hostname or "", url.port, timeout=timeout)
    except (ValueError, OSError) as e:
        return _outcome(connection_error=f"{type(e).__name__}: {e}")
    try:
        connection.request("POST", target, body=pending.body,
                           headers={**pending.headers, "User-Agent": USER_AGENT})
        answer = connection.getresponse()
        text = answer.read(MAX_RESPONSE * 4).decode("utf-8", "replace")[:MAX_RESPONSE]
        return _outcome(answer.status, text)
    except TimeoutError:
        return _outcome(connection_error=f"no answer from {pending.url} within {timeout} s")
    except (OSError, http.client.HTTPException) as e:
        return _outcome(connection_error=f"{type(e).__name__}: {e}")
    finally:
        connection.close()


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


SENDERS: dict[str, Sender] = {"in-process": in_process_sender, "http": http_sender}
