"""The httpx transports, and the interceptor that serves the fake's host to every httpx client.

Interception, like `responses` for requests, without changing the user's code: while a fake is
active, ``httpx.Client._transport_for_url`` and ``httpx.AsyncClient._transport_for_url`` (where a
client picks the transport for a URL, its mounts and proxies included) hand back the fake's
transport for the fake's host when the client's own choice is httpx's network transport. So a client
made before the fake started, one with its own ``base_url``, or one on HTTP/2 settings is served, and
nothing of it reaches httpcore or a socket. Every other URL keeps the transport the client chose:
pytest-httpx (which patches ``HTTPTransport.handle_request``) and respx (which patches httpcore's
pools) in whichever order they were started, or the network. respx's httpx mocker patches
``_transport_for_url`` too: started before the fake it is below it; started after, it sees the
fake's host first, and a ``pass_through()`` route for it hands it on to the fake. A transport the user gave the client
(``httpx.MockTransport``, ``WSGITransport`` ...) is the user's choice and is left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from fake_leaf.adapters._inprocess import Origin, origin, serve
from fake_leaf.http import HttpResponse, LeafApp
from fake_leaf.http._faults import drops_connection, times_out
from fake_leaf.http._types import FoldedHeaders, header_value

AppSource = Callable[[], LeafApp]
# httpx gives its headers' names in lower case (``Headers.items()``): the router then finds one in one dict read
_FOLDED_ITEMS = list(httpx.Headers({"X-Name": "v"}).items()) == [("x-name", "v")]


def _headers(headers: httpx.Headers) -> dict[str, str]:
    """``dict(headers.items())``: names in lower case, repeated names' values joined. Read from the raw bytes when
    they are ASCII and no name repeats (nearly always): ``items()`` first decodes every header twice to find the
    encoding (3 us a request)."""
    folded = FoldedHeaders()
    for key, value in headers.raw:
        if not (key.isascii() and value.isascii()):
            break
        name = key.decode("ascii").lower()
        if name in folded:
            break
        folded[name] = value.decode("ascii")
    else:
        return folded
    items = headers.items()
    return FoldedHeaders(items) if _FOLDED_ITEMS else dict(items)


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read")
    return float(value) if isinstance(value, (int, float)) else None


class _Serving:
    """Turns an httpx request into the app's answer (refusing another origin when intercepting)."""

    def __init__(self, app_source: AppSource, origin: Origin, *, refuse_other_origins: bool) -> None:
        self._app_source = app_source
        self.origin = origin
        self._refuse = refuse_other_origins

    def answer(self, request: httpx.Request, body: bytes) -> HttpResponse:
        url = request.url
        raw_path = url.raw_path.decode("ascii")
        path, _, query = raw_path.partition("?")
        if self._refuse:
            why = self.origin.refusal(url.scheme, url.port, path)
            if why is not None:
                raise httpx.ConnectError(self.origin.refusal_message(request.method, str(url), why), request=request)
        return serve(self._app_source(), request.method, self.origin.app_path(path), query,
                     _headers(request.headers), body)

    @staticmethod
    def to_httpx(request: httpx.Request, response: HttpResponse) -> httpx.Response:
        if drops_connection(response.fault):
            raise httpx.RemoteProtocolError("fake-leaf dropped the connection without an answer (an injected "
                                            f"fault): {request.method} {request.url}", request=request)
        if times_out(response.fault):
            raise httpx.ReadTimeout(f"fake-leaf did not answer in time (an injected fault): {request.method} "
                                    f"{request.url}", request=request)
        # the body as a stream the client reads, and its Content-Length, as httpx's own content=... would set them
        # (httpx reads content=... once more at once, through the decoders: 7 us a response)
        headers = list(response.headers.items())
        if response.body and header_value(response.headers, "content-length") is None:
            headers.append(("Content-Length", str(len(response.body))))
        return httpx.Response(response.status, headers=headers, stream=httpx.ByteStream(response.body),
                              request=request)

    @staticmethod
    def timed_out(request: httpx.Request, delay: float, read_timeout: float) -> httpx.ReadTimeout:
        return httpx.ReadTimeout(f"fake-leaf answered after {delay} s (an injected delay), past the read timeout "
                                 f"of {read_timeout} s: {request.method} {request.url}", request=request)


class LeafTransport(httpx.BaseTransport):
    """A sync httpx transport serving the fake: ``httpx.Client(transport=leaf.httpx_transport())``."""

    def __init__(self, app_source: AppSource, base_url: str, *, _refuse_other_origins: bool = False) -> None:
        self._serving = _Serving(app_source, origin(base_url), refuse_other_origins=_refuse_other_origins)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._serving.answer(request, request.read())
        if response.delay:
            read_timeout = _read_timeout(request)
            if read_timeout is not None and response.delay >= read_timeout:
                time.sleep(read_timeout)
                raise _Serving.timed_out(request, response.delay, read_timeout)
            time.sleep(response.delay)
        return _Serving.to_httpx(request, response)


class AsyncLeafTransport(httpx.AsyncBaseTransport):
    """An async httpx transport serving the fake: a delay awaits, so other tasks run meanwhile."""

    def __init__(self, app_source: AppSource, base_url: str, *, _refuse_other_origins: bool = False) -> None:
        self._serving = _Serving(app_source, origin(base_url), refuse_other_origins=_refuse_other_origins)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = self._serving.answer(request, await request.aread())
        if response.delay:
            import anyio  # httpx's own dependency: asyncio or trio, whichever runs the client

            read_timeout = _read_timeout(request)
            if read_timeout is not None and response.delay >= read_timeout:
                await anyio.sleep(read_timeout)
                raise _Serving.timed_out(request, response.delay, read_timeout)
            await anyio.sleep(response.delay)
        return _Serving.to_httpx(request, response)


class BearerAuth(httpx.Auth):
    """httpx auth (sync and async clients) that sends the fake's current ready token (renewed as the clock moves)."""

    def __init__(self, token_source: Callable[[], str]) -> None:
        self._token_source = token_source

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = f"Bearer {self._token_source()}"
        yield request


# -- interception ----------------------------------------------------------------------------------

_active: list[Interceptor] = []
_originals: dict[type[Any], Any] = {}


def _clients_own_choice(client: Any, url: httpx.URL) -> Any:
    """The transport the client itself has for ``url`` (its mounts, else its transport), as httpx picks it.

    Read from the client, not through ``_transport_for_url``: respx's httpx mocker may have patched
    that before the fake started, and what it hands back wraps the network transport.
    """
    for pattern, transport in client._mounts.items():
        if pattern.matches(url):
            return client._transport if transport is None else transport
    return client._transport


_wrappers: dict[tuple[Any, bool], Any] = {}  # (the method patched, async): its patch, made once


def _intercepting(original: Any, network_transport: type[Any], is_async: bool) -> Any:
    """The patch of ``original`` (``_transport_for_url``): the same function every time a fake starts over it."""
    key = (original, is_async)
    wrapper = _wrappers.get(key)
    if wrapper is None:
        if len(_wrappers) >= 16:  # only if someone else patches httpx anew each time: keep a handful
            _wrappers.clear()
        wrapper = _wrappers[key] = _make_intercepting(original, network_transport, is_async)
    return wrapper


def _make_intercepting(original: Any, network_transport: type[Any], is_async: bool) -> Any:
    def _transport_for_url(self: Any, url: httpx.URL) -> Any:
        if _active:
            host = url.host
            for interceptor in reversed(_active):  # the fake started last wins
                if interceptor.origin.owns(host):
                    try:
                        chosen = _clients_own_choice(self, url)
                    except AttributeError:  # an httpx that keeps them elsewhere: ask it
                        chosen = original(self, url)
                    if isinstance(chosen, network_transport):
                        return interceptor.async_transport() if is_async else interceptor.sync_transport()
                    break
        return original(self, url)

    _transport_for_url.__fake_leaf__ = True  # type: ignore[attr-defined]
    return _transport_for_url


class Interceptor:
    """Serves one fake's host to every httpx client between ``start()`` and ``stop()`` (made once per fake)."""

    def __init__(self, app_source: AppSource, base_url: str) -> None:
        self.origin = origin(base_url)
        self._app_source, self._base_url = app_source, base_url
        self._sync: LeafTransport | None = None
        self._async: AsyncLeafTransport | None = None

    def sync_transport(self) -> LeafTransport:
        if self._sync is None:  # made when first used: a fixture makes a fake per test, most use one client kind
            self._sync = LeafTransport(self._app_source, self._base_url, _refuse_other_origins=True)
        return self._sync

    def async_transport(self) -> AsyncLeafTransport:
        if self._async is None:
            self._async = AsyncLeafTransport(self._app_source, self._base_url, _refuse_other_origins=True)
        return self._async

    def start(self) -> None:
        if not _active:
            for client, transport, is_async in ((httpx.Client, httpx.HTTPTransport, False),
                                                (httpx.AsyncClient, httpx.AsyncHTTPTransport, True)):
                original = client._transport_for_url
                _originals[client] = original
                client._transport_for_url = _intercepting(original, transport, is_async)  # type: ignore[method-assign]
        _active.append(self)

    def stop(self) -> None:
        if self in _active:
            _active.remove(self)
        if not _active:
            for client, original in list(_originals.items()):
                # restored only if nobody patched over us meanwhile; else ours stays, inert, in their chain
                if getattr(client._transport_for_url, "__fake_leaf__", False):
                    client._transport_for_url = original
                del _originals[client]
