"""The aiohttp interceptor: every ``aiohttp.ClientSession`` served in-process for the fake's host.

aiohttp is patched one level below where aioresponses patches it (``ClientSession._request``):
``TCPConnector._create_connection``, where aiohttp would resolve the host and open a socket, hands
back aiohttp's own protocol over an in-memory transport instead. aiohttp writes the request as it
would to a socket and parses the fake's answer as it would from one, so every session (made before
the fake started, with its own ``base_url``, headers, cookies, timeouts or connector) behaves as over
the network, and its own timeouts raise its own exceptions. Nothing resolves the host and no socket
opens. Other hosts keep aiohttp's path: a running aioresponses mock, or the network.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler

from fake_leaf.adapters._inprocess import Origin, joined, origin, serve
from fake_leaf.http import HttpResponse, LeafApp
from fake_leaf.http import _problems as problems
from fake_leaf.http._app import MAX_BODY, for_method
from fake_leaf.http._faults import drops_connection, times_out
from fake_leaf.http._framing import framing

AppSource = Callable[[], LeafApp]
_SHORT_BODY_WAIT = 0.05  # seconds without more bytes after which a short body is answered (a server: 10 s)


class _Request:
    """One request read off the in-memory connection: aiohttp's own bytes, Content-Length or chunked.

    ``broken``: why its chunked body cannot be read (answered 400 unread); ``close``: what follows it on the
    connection cannot be told from its body, so the answer closes the connection, as a server's does.
    """

    def __init__(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, *,
                 broken: str | None = None, close: bool = False) -> None:
        self.method, self.target, self.headers, self.body = method, target, headers, body
        self.broken, self.close = broken, close


def _take_request(buffer: bytearray, final: bool = False) -> _Request | None:
    """The first whole request in ``buffer`` (removed from it), or None while it is incomplete.

    ``final``: the client has stopped writing; a body short of its Content-Length (or with a
    Content-Length that is not a number) is taken as it is, and the router refuses it as a server would.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1")
    request_line, *lines = head.split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
    lowered = {name.lower(): value for name, value in headers}
    at = end + 4
    coding = lowered.get("transfer-encoding")
    if coding is not None:
        if not framing(None, coding).chunked:  # refused unread (serve says why): nothing tells where the body ends
            del buffer[:]
            return _Request(method, target, headers, b"", close=True)
        read = _dechunk(buffer, at, final)
        if read is None:
            return None
        body, at, broken, declared = read
        # what a server hands on once it undid the chunks: their length, whatever Content-Length the client sent
        headers = [(k, v) for k, v in headers if k.lower() not in ("transfer-encoding", "content-length")]
        headers.append(("Content-Length", str(len(body) if declared is None else declared)))
        del buffer[:at]
        # a length beside chunked closes the connection after the answer too (RFC 9112 6.3), as over the server
        close = broken is not None or declared is not None or "content-length" in lowered
        return _Request(method, target, headers, body, broken=broken, close=close)
    declared_length = lowered.get("content-length", "0").strip()
    length = int(declared_length) if declared_length.isdigit() else len(buffer) - at  # malformed: the router says so
    if len(buffer) < at + length:
        if not final:
            return None
        length = len(buffer) - at
    body = bytes(buffer[at:at + length])
    at += length
    del buffer[:at]
    return _Request(method, target, headers, body)


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")  # RFC 9112 7.1: 1*HEXDIG, no sign, no 0x, no spaces before it


def _dechunk(buffer: bytearray, at: int, final: bool) -> tuple[bytes, int, str | None, int | None] | None:
    """The chunked body from ``at``, read as a server reads it: (body, where it ends, why it cannot be read, the
    size its chunks announce when past the limit: left unread, the router answers 413), or None while incomplete."""
    chunks: list[bytes] = []
    total = 0
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return (b"", len(buffer), "it ended before its last chunk", None) if final else None
        size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].rstrip(b" \t")
        if not _CHUNK_SIZE.fullmatch(size_text):
            return b"", len(buffer), f"a chunk size reads {size_text[:20].decode('latin-1')!r}, not hex digits", None
        size = int(size_text, 16)
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            if trailer_end < 0:
                return (b"", len(buffer), "it ended inside its trailer", None) if final else None
            return b"".join(chunks), trailer_end + 4, None, None
        total += size
        if total > MAX_BODY:
            return b"", len(buffer), None, total
        data_end = line_end + 2 + size
        if len(buffer) < data_end + 2:
            return (b"", len(buffer), "it ended inside a chunk", None) if final else None
        if buffer[data_end:data_end + 2] != b"\r\n":
            return b"", len(buffer), "a chunk does not end with CRLF where its size says it ends", None
        chunks.append(bytes(buffer[line_end + 2:data_end]))
        at = data_end + 2


def _encode(method: str, response: HttpResponse) -> bytes:
    headers = dict(response.headers)
    if not any(k.lower() == "content-length" for k in headers) and response.status not in (204, 304):
        headers["Content-Length"] = str(len(response.body))
    head = "".join([f"HTTP/1.1 {response.status} {problems.reason_phrase(response.status)}\r\n",
                    *(f"{k}: {v}\r\n" for k, v in headers.items()), "\r\n"])
    return head.encode("latin-1", "replace") + (b"" if method == "HEAD" else response.body)


class _InMemoryTransport(asyncio.Transport):
    """What aiohttp's protocol writes to and reads from: the fake, on the event loop, no socket."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: ResponseHandler, app_source: AppSource,
                 origin: Origin, base_url: str, opened: list[_InMemoryTransport]) -> None:
        super().__init__()
        self._opened = opened  # the fake's list of open connections: this one leaves it when closed
        self._loop, self._protocol, self._app_source = loop, protocol, app_source
        self._origin, self._base_url = origin, base_url
        self._buffer = bytearray()
        self._closing = False
        self._discarding = False  # after a request whose body's end is unknown: what comes next is dropped
        self._flush: asyncio.TimerHandle | None = None

    # -- what aiohttp's writer calls
    def write(self, data: Any) -> None:
        if self._closing or self._discarding:
            return
        self._buffer += data
        while (request := _take_request(self._buffer)) is not None:
            self._loop.call_soon(self._answer, request)
            if request.close:  # the rest cannot be told apart from its body: never read as another request
                self._discarding = True
                self._buffer.clear()
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._buffer:  # a body shorter than announced: once the client stops writing, it is answered
            self._flush = self._loop.call_later(_SHORT_BODY_WAIT, self._answer_what_came)

    def _answer_what_came(self) -> None:
        self._flush = None
        request = _take_request(self._buffer, final=True)
        if request is not None:
            self._discarding = self._discarding or request.close
            self._answer(request)

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def _answer(self, request: _Request) -> None:
        if self._closing:
            return
        path, _, query = request.target.partition("?")
        try:
            app = self._app_source()
            if request.broken is not None:  # refused unread, as a server refuses it
                response = for_method(request.method,
                                      problems.bad_chunked_body(request.broken, self._origin.app_path(path) or "/"))
                response.headers.setdefault("Date", app.http_date())
            else:
                response = serve(app, request.method, self._origin.app_path(path), query, joined(request.headers),
                                 request.body, None)
        except Exception as e:  # a bug of the fake: the client sees a lost connection that says so
            self._lose(ConnectionResetError(f"fake-leaf failed: {type(e).__name__}: {e}"))
            return
        if request.close:
            response.headers["Connection"] = "close"  # aiohttp then closes it: nothing more is read from it
        if drops_connection(response.fault):
            self._lose(None)  # aiohttp: ServerDisconnectedError, as when a server hangs up
        elif times_out(response.fault):
            self._protocol.set_exception(aiohttp.ServerTimeoutError(
                f"fake-leaf did not answer in time (an injected fault): {request.method} {request.target}"))
        elif response.delay:  # on the loop's timer: other tasks run, and aiohttp's own timeouts apply
            self._loop.call_later(response.delay, self._send, request.method, response)
        else:
            self._send(request.method, response)

    def _send(self, method: str, response: HttpResponse) -> None:
        if not self._closing:
            self._protocol.data_received(_encode(method, response))

    def _lose(self, exc: BaseException | None) -> None:
        if not self._closing:
            self._closing = True
            if self in self._opened:
                self._opened.remove(self)
            self._protocol.connection_lost(exc)

    # -- the rest of a transport
    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            if self in self._opened:
                self._opened.remove(self)
            if not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("fake-leaf", self._origin.port) if name == "peername" else default

    def can_write_eof(self) -> bool:
        return False

    def is_reading(self) -> bool:
        return True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


# (origin, app, the in-memory connections it opened: closed when it stops, so no pooled one outlives it)
_active: list[tuple[Origin, AppSource, list[_InMemoryTransport]]] = []
_original: list[Any] = []


async def _create_connection(self: Any, req: Any, traces: Any, timeout: Any) -> Any:
    url = req.url
    for ours, app_source, opened in reversed(_active):  # the fake started last wins
        if ours.owns(url.host):
            why = ours.refusal(url.scheme, url.port, url.raw_path)
            if why is not None:
                raise aiohttp.ClientConnectionError(ours.refusal_message(req.method, str(url), why))
            loop = asyncio.get_running_loop()
            protocol = ResponseHandler(loop)
            transport = _InMemoryTransport(loop, protocol, app_source, ours, ours.base_url, opened)
            opened.append(transport)
            protocol.connection_made(transport)
            return protocol
    return await _original[0](self, req, traces, timeout)


_create_connection.__fake_leaf__ = True  # type: ignore[attr-defined]


class Interceptor:
    """Serves one fake's host to every aiohttp session between ``start()`` and ``stop()`` (made once per fake)."""

    def __init__(self, app_source: AppSource, base_url: str) -> None:
        self._opened: list[_InMemoryTransport] = []
        self._entry = (origin(base_url), app_source, self._opened)

    def start(self) -> None:
        connector = aiohttp.TCPConnector
        if not _active:
            current = connector._create_connection
            if not getattr(current, "__fake_leaf__", False):
                _original[:] = [current]
                connector._create_connection = _create_connection  # type: ignore[method-assign]
        _active.append(self._entry)

    def stop(self) -> None:
        if self._entry in _active:
            _active.remove(self._entry)
        if self._opened:  # a session's pool drops them; its next request connects anew
            for transport in list(self._opened):
                transport.close()
        connector = aiohttp.TCPConnector
        if not _active and getattr(connector._create_connection, "__fake_leaf__", False) and _original:
            connector._create_connection = _original.pop()  # type: ignore[method-assign]
