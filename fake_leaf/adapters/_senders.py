"""How deliveries leave the fake: through `requests` in-process, or as real HTTP POSTs over a socket."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from fake_leaf.http._delivery import Sender, in_delivery_thread

if TYPE_CHECKING:  # the alerts service's module loads when it is first used, not with the fake
    from fake_leaf.adapters._server import LeafServer
    from fake_leaf.engine._webhooks import Outcome, PendingAttempt

MAX_RESPONSE = 1_000  # characters of the receiver's answer kept in a failed call (what it echoes back, capped)
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

    def work() -> None:
        in_delivery_thread()
        result.append(_post(pending, timeout))

    worker = threading.Thread(target=work, daemon=True, name=f"fake-leaf delivery to {pending.url}")
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


class DeliveryPolicy:
    """Where real HTTP deliveries may go: never to the fake's own listening addresses; only to the allowed.

    ``allow``: the ``HOST`` or ``HOST:PORT`` entries of the running servers; deliveries go to those and nowhere
    else. Without a list, they go to loopback addresses only, or, while a server listens on another address,
    nowhere (``fake-leaf serve --webhook-allow`` says where). A stopped server's address and list no longer apply.
    """

    def __init__(self) -> None:
        # the fake's servers not stopped yet, each with its allowed destinations: a stopped one's port is anybody's
        # next (a receiver's), its address and its list no longer apply, and a fake kept for a whole test session,
        # starting a server per test, would otherwise keep every port it had
        self._servers: weakref.WeakKeyDictionary[LeafServer, list[tuple[str, int | None]] | None] = \
            weakref.WeakKeyDictionary()
        self._servers_lock = threading.Lock()  # servers start on the test's thread, deliveries read on theirs
        # the fake's own receivers (/_fake-leaf/receivers/{name}): (path, body, headers) -> (status, answer) or None
        self.local: Callable[[str, bytes, Mapping[str, str]], tuple[int, str] | None] | None = None

    def listen(self, server: LeafServer, allow: Iterable[str] | None) -> None:
        allowed = None if allow is None else [_host_port(entry) for entry in allow]
        with self._servers_lock:
            for stopped in [s for s in self._servers if s._stopped]:
                del self._servers[stopped]
            self._servers[server] = allowed

    def _live(self) -> list[tuple[LeafServer, list[tuple[str, int | None]] | None]]:
        with self._servers_lock:
            return [(s, allowed) for s, allowed in self._servers.items() if not s._stopped]

    @property
    def own(self) -> set[tuple[str, int]]:
        """(host, port) of every server of this fake that is not stopped."""
        return {(s.host, s.port) for s, _ in self._live()}

    @property
    def allow(self) -> list[tuple[str, int | None]] | None:
        """The destinations the running servers allow (every list given), or None when none was given."""
        lists = [allowed for _, allowed in self._live() if allowed is not None]
        return None if not lists else [entry for allowed in lists for entry in allowed]

    @property
    def exposed(self) -> bool:
        """A server of this fake listens on a non-loopback address now."""
        return any(not _loopback(s.host) for s, _ in self._live())

    def check(self, host: str, port: int) -> tuple[str | None, str | None]:
        """(the address to connect to, None), or (None, why the delivery is refused)."""
        try:
            found = {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        except OSError as e:
            return None, f"cannot resolve {host}: {e}"
        for address in sorted(found):
            if self._own(address, port):
                return None, (f"fake-leaf does not deliver to its own address ({host}:{port}): a webhook could "
                              "otherwise drive its control plane")
        allow = self.allow
        if allow is not None:
            if not any(_same_host(host, found, allowed) and (allowed_port in (None, port))
                       for allowed, allowed_port in allow):
                return None, (f"{host}:{port} is not in the allowed webhook destinations "
                              f"({', '.join(h if p is None else f'{h}:{p}' for h, p in allow) or 'none'}); "
                              "fake-leaf serve --webhook-allow HOST[:PORT] adds one")
        elif self.exposed:
            return None, ("fake-leaf listens on a non-loopback address and no webhook destination was allowed: "
                          "start it with --webhook-allow HOST[:PORT] to deliver there")
        elif not all(_loopback(address) for address in found):
            return None, (f"fake-leaf delivers to loopback addresses only by default, and {host} is not one: "
                          "fake-leaf serve --webhook-allow HOST[:PORT] allows another destination")
        return sorted(found)[0], None

    def is_own(self, host: str, port: int) -> bool:
        """Whether ``host:port`` is one of the fake's own servers."""
        try:
            found = {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        except OSError:
            return False
        return any(self._own(address, port) for address in found)

    def _own(self, address: str, port: int) -> bool:
        for host, own_port in self.own:
            if own_port != port:
                continue
            if address == host or _loopback(address) or host in ("0.0.0.0", "::", ""):
                return True
        return False


def _host_port(entry: str) -> tuple[str, int | None]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT``; anything else (a URL, a bad port) is a ValueError saying so."""
    text = entry.strip() if isinstance(entry, str) else ""
    host, colon, port = text, "", ""
    bracketed = text.startswith("[")
    if bracketed:  # [::1]:8080
        host, bracket, rest = text[1:].partition("]")
        colon, port = rest[:1], rest[1:]
        bracketed = bool(bracket) and rest[:1] in ("", ":")
    elif text.count(":") == 1:
        host, colon, port = text.partition(":")
    # 'HOST:' with no port would allow every port; a host with spaces, or a port in other digits than 0-9, is a typo
    if (not host or "/" in text or any(c.isspace() for c in host) or (text.startswith("[") and not bracketed)
            or (colon and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535))):
        raise ValueError(f"a webhook destination is HOST or HOST:PORT (a port from 1 to 65535), such as "
                         f"127.0.0.1:9000 or hooks.internal, got {entry!r}")
    return host.lower(), int(port) if port else None


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _same_host(host: str, addresses: set[str], allowed: str) -> bool:
    return host.lower() == allowed or allowed in addresses


class HttpSender:
    """A real HTTP POST to the URL the webhook registered, and nowhere else: redirects are not followed.

    The whole delivery (resolving, connecting, sending and the whole answer) gets ``timeout`` seconds,
    on a clock test tools cannot move: a receiver that trickles its answer is a failed call.
    """

    def __init__(self, policy: DeliveryPolicy) -> None:
        self.policy = policy

    def __call__(self, pending: PendingAttempt, timeout: float) -> Outcome:
        result: list[Outcome] = []
        connections: list[http.client.HTTPConnection] = []
        def work() -> None:
            in_delivery_thread()
            result.append(self._post(pending, timeout, connections))

        worker = threading.Thread(target=work, daemon=True, name=f"fake-leaf delivery to {pending.url}")
        worker.start()
        worker.join(timeout)
        if result:
            return result[0]
        for connection in connections:  # the worker ends on its closed socket
            _close(connection)
        return _outcome(connection_error=f"no whole answer from {pending.url} within {timeout:g} s (timeout)")

    def _post(self, pending: PendingAttempt, timeout: float,
              connections: list[http.client.HTTPConnection]) -> Outcome:
        url = urlsplit(pending.url)
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        https = url.scheme == "https"
        try:
            port = url.port or (443 if https else 80)
        except ValueError as e:
            return _outcome(connection_error=f"ValueError: {e}")
        if self.policy.local is not None and self.policy.is_own(url.hostname or "", port):
            taken = self.policy.local(url.path, pending.body, {**pending.headers, "User-Agent": USER_AGENT})
            if taken is not None:  # one of the fake's own receivers: handed over directly, no socket
                return _outcome(taken[0], taken[1][:MAX_RESPONSE])
        address, refusal = self.policy.check(url.hostname or "", port)
        if refusal is not None or address is None:
            return _outcome(connection_error=refusal)
        try:  # plain HTTP connects to the address checked, never to what a second lookup might say
            connection: http.client.HTTPConnection = (
                http.client.HTTPSConnection(url.hostname or "", port, timeout=timeout) if https
                else http.client.HTTPConnection(address, port, timeout=timeout))
        except (ValueError, OSError) as e:
            return _outcome(connection_error=f"{type(e).__name__}: {e}")
        connections.append(connection)
        try:
            host = url.netloc.rpartition("@")[2]
            connection.request("POST", target, body=pending.body,
                               headers={**pending.headers, "Host": host, "User-Agent": USER_AGENT})
            answer = connection.getresponse()
            text = answer.read(MAX_RESPONSE * 4).decode("utf-8", "replace")[:MAX_RESPONSE]
            return _outcome(answer.status, text)
        except TimeoutError:
            return _outcome(connection_error=f"no answer from {pending.url} within {timeout:g} s (timeout)")
        except (OSError, http.client.HTTPException) as e:
            return _outcome(connection_error=f"{type(e).__name__}: {e}")
        finally:
            _close(connection)


def _close(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    connection.close()


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def senders(policy: DeliveryPolicy) -> dict[str, Sender]:
    return {"in-process": in_process_sender, "http": HttpSender(policy)}
