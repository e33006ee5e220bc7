"""The ASGI transport: the same LeafApp as the other adapters, for ASGI servers and httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from fake_leaf.adapters._inprocess import joined, origin, serve
from fake_leaf.http import LeafApp

Scope = MutableMapping[str, Any]
_SAFE = "/:@!$&'()*+,;=-._~%"  # what a client leaves as it is in a path (and a literal % as received)
_QUERY_SAFE = _SAFE + "?"
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class InjectedFaultError(ConnectionError):
    """An injected ``connection_error`` or ``read_timeout``: the app answers nothing and ends the connection."""


class AsgiApp:
    """An ASGI 3 application over ``app_source()`` (a callable, so a reset fake is picked up).

    ``base_url``: where absolute URLs (``Location``, ``Link``) point; by default the fake's own.
    A delay awaits (other tasks run meanwhile); an injected connection error or read timeout raises
    ``InjectedFaultError`` without an answer, which an ASGI server turns into a dropped connection
    and ``httpx.ASGITransport`` re-raises.
    """

    def __init__(self, app_source: Callable[[], LeafApp], base_url: str, *, answer_base_url: str | None = None) -> None:
        self._app_source = app_source
        self._origin = origin(base_url)
        self.base_url = answer_base_url.rstrip("/") if answer_base_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            raise ValueError(f"fake-leaf serves HTTP, not {scope['type']!r}")
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw_path = scope.get("raw_path")  # (some servers leave the query on it)
        if raw_path and raw_path.isascii():  # nearly always: a client percent-encodes what is beyond ASCII
            path = raw_path.decode("ascii").split("?", 1)[0]
        elif raw_path:  # bytes beyond ASCII, as received: percent-encoded, as a client would have sent them
            path = quote(raw_path.split(b"?", 1)[0], safe=_SAFE)
        else:  # only the decoded path: encoded again
            path = quote(scope["path"].encode("utf-8", "surrogateescape"), safe=_SAFE)
        headers = joined((k.decode("latin-1").title(), v.decode("latin-1")) for k, v in scope.get("headers", []))
        query = scope.get("query_string", b"")
        query = query.decode("ascii") if query.isascii() else quote(query, safe=_QUERY_SAFE)  # raw UTF-8: encoded
        response = serve(self._app_source(), scope["method"], self._origin.app_path(path), query, headers,
                         b"".join(chunks), self.base_url)
        if response.delay:
            await _sleep(response.delay)
        if response.fault is not None:
            raise InjectedFaultError(f"fake-leaf dropped the connection (an injected {response.fault}): "
                                     f"{scope['method']} {path}")
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1", "replace"))
                                for k, v in response.headers.items()]})
        await send({"type": "http.response.body", "body": response.body})


async def _sleep(seconds: float) -> None:
    """Sleep on whatever runs the app: anyio knows trio as well as asyncio; without it, asyncio."""
    try:
        import anyio
    except ImportError:
        import asyncio

        await asyncio.sleep(seconds)
    else:
        await anyio.sleep(seconds)
