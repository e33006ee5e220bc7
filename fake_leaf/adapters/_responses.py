"""The `responses` transport: serves a LeafApp to every `requests` client in the process."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
import responses
from requests.adapters import HTTPAdapter

from fake_leaf.http import HttpRequest, LeafApp

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
_TAKES_PRECEDENCE = "a response the test registered for this URL takes precedence over fake-leaf"


def host_pattern(base_url: str) -> re.Pattern[str]:
    """Every URL under ``base_url`` (its path, query and fragment), and nothing else."""
    return re.compile(f"^{re.escape(base_url)}(?:[/?#].*)?$", re.DOTALL)


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


class _LeafRoute(responses.CallbackResponse):
    """One registration per method. In a mock the test owns, the test's own mocks win."""

    def __init__(self, method: str, pattern: re.Pattern[str], interceptor: ResponsesInterceptor) -> None:
        super().__init__(method, pattern, callback=interceptor.callback, content_type=None)
        self._interceptor = interceptor

    def matches(self, request: Any) -> tuple[bool, str]:
        matched, reason = super().matches(request)
        mock = self._interceptor.shared_mock
        if matched and mock is not None:
            # two matches would make responses pop (consume) the first one: step aside instead
            for other in mock.registered():
                if not isinstance(other, _LeafRoute) and other.matches(request)[0]:
                    return False, _TAKES_PRECEDENCE
        return matched, reason


class ResponsesInterceptor:
    """Registers the app for its base URL into a RequestsMock: its own, or one the test has."""

    def __init__(self, app: LeafApp, requests_mock: responses.RequestsMock | None = None) -> None:
        self.app = app
        self.shared_mock = requests_mock
        self._base_path = urlsplit(app.base_url).path.rstrip("/")
        self._pattern = host_pattern(app.base_url)
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
            not_ours = re.compile(f"^(?!{self._pattern.pattern[1:]})", re.DOTALL)
            mock = responses.RequestsMock(
                assert_all_requests_are_fired=False,
                passthru_prefixes=(not_ours,),  # type: ignore[arg-type]  # responses takes patterns too
                real_adapter_send=HTTPAdapter.send,
                # module:attribute, so that each start() imports no "requests.adapters.HTTPAdapter" module
                # (a failed import through every finder, a fifth of a fixture's cost)
                target="requests.adapters:HTTPAdapter.send",
            )
            self._own_mock = mock
        self._routes = [_LeafRoute(m, self._pattern, self) for m in METHODS]
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
        path = url.path
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path):]
        request = HttpRequest(
            method=str(prepared.method),
            path=path,
            query=url.query,
            headers=dict(prepared.headers),
            body=_body_bytes(prepared.body),
        )
        response = self.app.handle(request)
        read_timeout = _read_timeout(getattr(prepared, "req_kwargs", {}).get("timeout"))
        if response.delay:
            if read_timeout is not None and response.delay >= read_timeout:
                time.sleep(read_timeout)
                raise requests.ReadTimeout(f"fake-leaf answered after {response.delay} s (an injected delay), past "
                                           f"the read timeout of {read_timeout} s: {prepared.method} {url.geturl()}",
                                           request=prepared)
            time.sleep(response.delay)
        if response.fault == "connection_error":
            raise requests.ConnectionError(f"fake-leaf dropped the connection (an injected fault): "
                                           f"{prepared.method} {url.geturl()}", request=prepared)
        if response.fault == "read_timeout":
            raise requests.ReadTimeout(f"fake-leaf did not answer in time (an injected fault): "
                                       f"{prepared.method} {url.geturl()}", request=prepared)
        return response.status, response.headers, response.body


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
