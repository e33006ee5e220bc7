"""Transport-agnostic request and response: what every adapter turns its own types into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fake_leaf.http._faults import FaultKind


@dataclass(frozen=True)
class HttpRequest:
    """One request: ``path`` is the raw (still percent-encoded) path, ``query`` the raw query."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str | None = None  # where the client reached the fake, when the transport knows it
    transport: str = "in-process"  # "http" over a socket: a webhook registered so is delivered so
    declared_size: int | None = None  # a body too large to read, left unread: the size it announced

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(eq=False, repr=False)
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # set by an injected fault, for the transport to act out (see drops_connection and times_out in _faults)
    fault: FaultKind | None = None
    delay: float = 0.0  # seconds the transport waits before answering
    hold: float = 0.0  # a read_timeout over a server: seconds it holds the answer back before hanging up


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
