"""Transport-agnostic request and response: what every adapter turns its own types into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from fake_leaf.http._faults import FaultKind


class HttpRequest(NamedTuple):
    """One request: ``path`` is the raw (still percent-encoded) path, ``query`` the raw query.

    A named tuple, not a dataclass: every request makes one, and a tuple costs a fraction to build.
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = MappingProxyType({})
    body: bytes = b""
    base_url: str | None = None  # where the client reached the fake, when the transport knows it
    transport: str = "in-process"  # "http" over a socket: a webhook registered so is delivered so
    declared_size: int | None = None  # a body too large to read, left unread: the size it announced

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name.lower())


class FoldedHeaders(dict[str, str]):
    """Headers whose names are all in lower case (as httpx hands them over): a lookup is one dict read."""


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of the header ``name`` (given in lower case), whatever the case of the names in ``headers``."""
    value = headers.get(name)  # lower-case names, and case-insensitive mappings, answer at once
    if value is not None or type(headers) is FoldedHeaders:
        return value
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class HttpResponse:
    """One answer, as every transport receives it."""

    __slots__ = ("body", "delay", "fault", "headers", "hold", "status")

    def __init__(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"",
                 fault: FaultKind | None = None, delay: float = 0.0, hold: float = 0.0) -> None:
        self.status = status
        self.headers: dict[str, str] = {} if headers is None else headers
        self.body = body
        # set by an injected fault, for the transport to act out (see drops_connection and times_out in _faults)
        self.fault = fault
        self.delay = delay  # seconds the transport waits before answering
        self.hold = hold  # a read_timeout over a server: seconds it holds the answer back before hanging up


@dataclass(frozen=True)
class JournalEntry:
    """One request the fake answered: what came in, the status, and for an error, why."""

    method: str
    path: str
    query: str
    status: int
    reason: str | None
    route: str | None = None  # the route template it matched
    leaf_user_id: str | None = None
    request_body: bytes = b""
    response_body: bytes = b""
    fault: FaultKind | None = None  # the injected fault that shaped the answer

    def __str__(self) -> str:
        target = f"{self.path}?{self.query}" if self.query else self.path
        why = f": {self.reason}" if self.reason else ""
        fault = f" (injected {self.fault})" if self.fault else ""
        status = self.fault if self.fault and not self.status else str(self.status)  # no answer: the fault's name
        return f"{self.method} {target} -> {status}{why}{fault}"
