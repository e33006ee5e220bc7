"""The `responses` transport: serves a LeafApp to every `requests` client in the process."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
import responses
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from fake_leaf.http import HttpRequest, LeafApp
from fake_leaf.http._app import for_method
from fake_leaf.http._faults import drops_connection, times_out
from fake_leaf.http._framing import framing

_TAKES_PRECEDENCE = "a response the test registered for this URL takes precedence over fake-leaf"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=64)  # a fixture makes a fake, and so an interceptor, per test
def host_pattern(base_url: str) -> re.Pattern[str]:
    """Every URL on the host of ``base_url``, whatever its scheme, port, user info or path.

    The whole host is the fake's: a scheme or port typo must be refused here, never looked up in DNS.
    """
    host = urlsplit(base_url).hostname or ""
    name = rf"\[{re.escape(host)}\]" if ":" in host else rf"{re.escape(host)}\.?"  # a trailing dot is the same host
    return re.compile(rf"^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?{name}(?::[0-9]*)?(?:[/?#].*)?$",
                      re.DOTALL | re.IGNORECASE)


@functools.lru_cache(maxsize=16)  # a fixture makes an interceptor per test, nearly always for the same base URL
def _served_parts(base_url: str) -> tuple[str, int | None, str, re.Pattern[str]]:
    """The base URL's scheme, port (the scheme's default if none), path prefix, and its host's pattern."""
    base = urlsplit(base_url)
    scheme = base.scheme.lower()
    return scheme, base.port or _DEFAULT_PORTS.get(scheme), base.path.rstrip("/"), host_pattern(base_url)


@functools.lru_cache(maxsize=16)  # one per base URL: a fixture starts a fake per test
def _not_ours(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """Every URL ``pattern`` (a host's, from ``host_pattern``) does not match."""
    return re.compile(f"^(?!{pattern.pattern[1:]})", pattern.flags)


def _as_text(headers: Mapping[str, str | bytes]) -> CaseInsensitiveDict[str]:
    """The headers as a server reads them: a value requests was given as bytes goes out as those bytes, and
    arrives as Latin-1 text (as WSGI gives it). Still looked up whatever the case of their names."""
    return CaseInsensitiveDict(
        {name: value.decode("latin-1") if isinstance(value, bytes) else value for name, value in headers.items()})


def _body_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    if isinstance(body, Iterable):  # a generator body (chunked upload)
        return b"".join(_body_bytes(chunk) for chunk in body)
    return str(body).encode("utf-8")


class _Unrecorded(responses.CallList):
    """A call list that keeps nothing: the fake's journal (bounded) is where its requests are seen."""

    def add(self, request: Any, response: Any) -> None:
        pass

    def add_call(self, call: Any) -> None:
        pass


class _OwnMock(responses.RequestsMock):
    """The fake's own mock: it records no calls (``responses`` keeps every one, about 10 KB each, without
    bound) and patches ``HTTPAdapter.send`` by hand, as ``unittest.mock.patch`` would, at a fraction of the cost
    (a fixture starts one per test)."""

    _MISSING = object()

    def __init__(self, passthru: re.Pattern[str]) -> None:
        super().__init__(assert_all_requests_are_fired=False,
                         passthru_prefixes=(passthru,),  # type: ignore[arg-type]  # responses takes patterns too
                         real_adapter_send=HTTPAdapter.send)
        self._calls = _Unrecorded()
        self._replaced: object | None = None  # what HTTPAdapter.send was before start, while started

    def start(self) -> None:
        if self._replaced is None:
            self._replaced = HTTPAdapter.__dict__.get("send", self._MISSING)
            HTTPAdapter.send = self.unbound_on_send()  # type: ignore[assignment,method-assign]

    def stop(self, allow_assert: bool = True) -> None:
        if self._replaced is not None:
            if self._replaced is self._MISSING:  # it was inherited: take the patch away again
                del HTTPAdapter.send
            else:
                HTTPAdapter.send = self._replaced  # type: ignore[assignment,method-assign]
            self._replaced = None


class _LeafRoute(responses.CallbackResponse):
    """One registration for every method (an unknown one too: the router answers it). The test's own mocks win."""

    def __init__(self, pattern: re.Pattern[str], interceptor: ResponsesInterceptor) -> None:
        super().__init__("ANY", pattern, callback=interceptor.callback, content_type=None)
        self._interceptor = interceptor
        self._calls = _Unrecorded()  # the route's own list: nobody reads it, and it would grow without bound

    def matches(self, request: Any) -> tuple[bool, str]:
        if not self._url_matches(self.url, str(request.url)):
            return False, "URL does not match"
        mock = self._interceptor.shared_mock
        if mock is not None:
            # two matches would make responses pop (consume) the first one: step aside instead
            for other in mock.registered():
                if not isinstance(other, _LeafRoute) and other.matches(request)[0]:
                    return False, _TAKES_PRECEDENCE
        return True, ""


class ResponsesInterceptor:
    """Registers the app for its base URL into a RequestsMock: its own, or one the test has."""

    def __init__(self, app: LeafApp, requests_mock: responses.RequestsMock | None = None) -> None:
        self.app = app
        self.shared_mock = requests_mock
        self._scheme, self._port, self._base_path, self._pattern = _served_parts(app.base_url)
        self._served = f"{app.base_url}/"
        self._own_mock: responses.RequestsMock | None = None
        self._routes: list[_LeafRoute] = []

    @property
    def active(self) -> bool:
        return bool(self._routes)

    @property
    def requests_mock(self) -> responses.RequestsMock | None:
        """The mock the app is registered in while active."""
        return (self._own_mock or self.shared_mock) if self.active else None

    def start(self) -> None:
        if self.active:
            raise RuntimeError("this FakeLeaf is already active; leave it before entering it again")
        mock = self.shared_mock
        if mock is None:
            # Hand every other URL to whatever served requests before us (the test's own
            # `responses` mock, or the network), so fake-leaf only ever takes its own host.
            mock = self._own_mock = _OwnMock(_not_ours(self._pattern))
        self._routes = [_LeafRoute(self._pattern, self)]
        for route in self._routes:
            mock.add(route)
        if self._own_mock is not None:
            self._own_mock.start()

    def stop(self) -> None:
        if self._own_mock is not None:
            self._own_mock.stop(allow_assert=False)
            self._own_mock = None
        elif self.shared_mock is not None:
            registry = self.shared_mock.get_registry()
            ours = {id(route) for route in self._routes}  # by identity: responses' == is loose
            registry.registered[:] = [r for r in registry.registered if id(r) not in ours]
        self._routes = []

    def callback(self, prepared: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(str(prepared.url))
        self._refuse_other_origins(prepared, url)
        path = url.path
        if self._base_path:
            path = path[len(self._base_path):]
        body = _body_bytes(prepared.body)
        method = str(prepared.method)
        # requests' own case-insensitive headers: the router reads them as they are, and keeps none past the answer
        headers: Mapping[str, str] = prepared.headers
        # requests sends a value given as bytes as it is. Its CaseInsensitiveDict's own pairs (lower name -> (name,
        # value)) are read: its values() looks each name up again, 2 us a request
        stored = getattr(headers, "_store", None)
        for _, value in stored.values() if stored is not None else headers.items():
            if type(value) is not str:
                headers = _as_text(headers)
                break
        content_length, transfer_encoding = headers.get("Content-Length"), headers.get("Transfer-Encoding")
        declared = None
        if content_length is not None or transfer_encoding is not None:
            # what a server would make of these headers: the same refusals as over HTTP, state untouched
            framed = framing(content_length, transfer_encoding)
            # a body too large is the router's to refuse (and journal), by what the headers announce
            declared = framed.length if framed.too_large else None
            refusal = framed.refusal(path or "/")
            if refusal is None and declared is None:
                refusal = framed.short(len(body), path or "/")
            if refusal is not None:
                refusal = for_method(method, refusal)
                refusal.headers.setdefault("Date", self.app.http_date())
                return refusal.status, refusal.headers, refusal.body
            if framed.length is not None:
                body = body[:framed.length]  # over HTTP the rest would start the next request
        response = self.app.handle(HttpRequest(method, path, url.query, headers,
                                               b"" if declared is not None else body, None, "in-process", declared))
        if response.delay:
            read_timeout = _read_timeout(getattr(prepared, "req_kwargs", {}).get("timeout"))
            if read_timeout is not None and response.delay >= read_timeout:
                time.sleep(read_timeout)
                raise requests.ReadTimeout(f"fake-leaf answered after {response.delay} s (an injected delay), past "
                                           f"the read timeout of {read_timeout} s: {prepared.method} {url.geturl()}",
                                           request=prepared)
            time.sleep(response.delay)
        if response.fault is not None:
            if drops_connection(response.fault):
                raise requests.ConnectionError(f"fake-leaf dropped the connection (an injected fault): "
                                               f"{prepared.method} {url.geturl()}", request=prepared)
            if times_out(response.fault):
                raise requests.ReadTimeout(f"fake-leaf did not answer in time (an injected fault): "
                                           f"{prepared.method} {url.geturl()}", request=prepared)
        return response.status, response.headers, response.body

    def _refuse_other_origins(self, prepared: requests.PreparedRequest, url: SplitResult) -> None:
        """The fake's host under another scheme, port or path prefix: refused here, never sent to the network."""
        if str(prepared.url).startswith(self._served):
            return  # the base URL itself, as the fake spells it: its scheme, host, default port and prefix
        scheme = url.scheme.lower()
        try:
            port = url.port or _DEFAULT_PORTS.get(scheme)
        except ValueError:
            port = None
        if scheme != self._scheme:
            why = f"the scheme is {scheme}, but fake-leaf serves {self.app.base_url} (a typo for {self._scheme}?)"
        elif port != self._port:
            why = f"port {port} is not the port of {self.app.base_url}, which fake-leaf serves"
        elif self._base_path and not (url.path == self._base_path or url.path.startswith(self._base_path + "/")):
            why = f"the path is outside {self.app.base_url}, which fake-leaf serves"
        else:
            return
        raise requests.ConnectionError(
            f"fake-leaf refused {prepared.method} {url.geturl()}: {why}. The whole host {url.hostname} belongs to "
            "the fake while it is active, so nothing was sent to the network (no DNS lookup either); pass "
            "FakeLeaf(base_url=...) if the fake should answer there", request=prepared)


def _read_timeout(timeout: object) -> float | None:
    """requests' ``timeout``: a number, or a (connect, read) pair; None waits forever."""
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else None
    return float(timeout) if isinstance(timeout, (int, float)) else None


class BearerAuth(requests.auth.AuthBase):
    """requests auth that sends the fake's current ready token (renewed as the clock moves)."""

    def __init__(self, token_source: Any) -> None:
        self._token_source = token_source

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token_source()}"
        return r
