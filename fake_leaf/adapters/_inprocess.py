"""What the in-process adapters share: whose URL it is, and one request served as a server would frame it."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from fake_leaf.http import HttpRequest, HttpResponse, LeafApp
from fake_leaf.http._app import for_method
from fake_leaf.http._framing import framing
from fake_leaf.http._types import header_value

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin:
    """The fake's base URL: its whole host is the fake's, and only its own scheme, port and prefix are served."""

    def __init__(self, base_url: str) -> None:
        base = urlsplit(base_url)
        self.base_url = base_url
        self.host = (base.hostname or "").lower()
        self.scheme = base.scheme.lower()
        self.port = base.port or DEFAULT_PORTS.get(self.scheme)
        self.base_path = base.path.rstrip("/")
        self._served_without_port = self.port == DEFAULT_PORTS.get(self.scheme)  # a URL with no port is ours

    def owns(self, host: str | None) -> bool:
        """The fake's host, however it is spelt (case, a trailing dot, IPv6 brackets)."""
        return host is not None and host.lower().rstrip(".").strip("[]") == self.host

    def refusal(self, scheme: str, port: int | None, path: str) -> str | None:
        """Why a URL on the fake's host is not the fake's own origin, or None when it is."""
        if scheme == self.scheme and not self.base_path and (port == self.port or (
                port is None and self._served_without_port)):
            return None  # the fake's own scheme and port, spelt as its base URL spells them: every request's case
        scheme = scheme.lower()
        port = port or DEFAULT_PORTS.get(scheme)
        if scheme != self.scheme:
            return f"the scheme is {scheme}, but fake-leaf serves {self.base_url} (a typo for {self.scheme}?)"
        if port != self.port:
            return f"port {port} is not the port of {self.base_url}, which fake-leaf serves"
        if self.base_path and not (path == self.base_path or path.startswith(self.base_path + "/")):
            return f"the path is outside {self.base_url}, which fake-leaf serves"
        return None

    def refusal_message(self, method: str, url: str, why: str) -> str:
        return (f"fake-leaf refused {method} {url}: {why}. The whole host {self.host} belongs to the fake while it "
                "is active, so nothing was sent to the network (no DNS lookup either); pass "
                "FakeLeaf(base_url=...) if the fake should answer there")

    def app_path(self, path: str) -> str:
        """The path the router sees: the base URL's prefix taken off."""
        if self.base_path and (path == self.base_path or path.startswith(self.base_path + "/")):
            return path[len(self.base_path):]
        return path


def joined(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header lines as a server hands them on: a repeated name's values joined with ", " (RFC 9110 5.3) under the
    name as first spelt, never one of them picked (two Authorization lines are no bearer token)."""
    values: dict[str, str] = {}
    spelt: dict[str, str] = {}  # lower-case name -> the name as first sent
    for name, value in headers:
        name = spelt.setdefault(name.lower(), name)
        values[name] = f"{values[name]}, {value}" if name in values else value
    return values


@functools.lru_cache(maxsize=64)
def origin(base_url: str) -> Origin:
    """The (shared, read-only) Origin of a base URL: a fixture makes a fake, and its interceptors, per test."""
    return Origin(base_url)


def serve(app: LeafApp, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
          base_url: str | None = None) -> HttpResponse:
    """One request whose body the client library has read whole: framed and refused as a server would.

    ``headers`` are the request's own (a mapping made for it: the router keeps no reference past the answer).
    """
    content_length = header_value(headers, "content-length")
    transfer_encoding = header_value(headers, "transfer-encoding")
    if content_length is None and transfer_encoding is None:  # nothing says where the body ends: it is all of it
        return app.handle(HttpRequest(method, path, query, headers, body, base_url))
    framed = framing(content_length, transfer_encoding)
    declared = framed.length if framed.too_large else None  # the router refuses (and journals) it
    refusal = framed.refusal(path or "/")
    if refusal is None and declared is None:
        refusal = framed.short(len(body), path or "/")
    if refusal is not None:
        refusal.headers.setdefault("Date", app.http_date())
        return for_method(method, refusal)
    if framed.length is not None:
        body = body[:framed.length]  # over HTTP the rest would start the next request
    return app.handle(HttpRequest(method, path, query, headers, b"" if declared is not None else body,
                                  base_url=base_url, declared_size=declared))
