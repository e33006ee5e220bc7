"""Transport-agnostic request and response: what every adapter turns its own types into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HttpRequest:
    """One request: ``path`` is the raw (still percent-encoded) path, ``query`` the raw query."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class JournalEntry:
    """One request the fake answered: what came in, the status, and for an error, why."""

    method: str
    path: str
    query: str
    status: int
    reason: str | None

    def __str__(self) -> str:
        target = f"{self.path}?{self.query}" if self.query else self.path
        why = f": {self.reason}" if self.reason else ""
        return f"{self.method} {target} -> {self.status}{why}"
