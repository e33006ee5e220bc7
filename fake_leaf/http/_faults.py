"""Faults on Leaf's own side (errors, dropped connections, timeouts, delays, broken bodies)."""

from __future__ import annotations

import difflib
import itertools
import math
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

# The one declaration of the fault kinds: the rest of the code asks the properties and functions below,
# never compares names (a misspelt name passed in is a type error, and a ValueError naming the closest)
FaultKind = Literal["http_error", "connection_error", "read_timeout", "delay", "malformed_body"]
KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
# answered instead of the request: it never reaches the handler
_INSTEAD: tuple[FaultKind, ...] = ("http_error", "connection_error", "read_timeout")
HTTP_ERROR_STATUSES = range(400, 600)  # any 4xx or 5xx, 429 included
MAX_DELAY_SECONDS = 3600
READ_TIMEOUT_SECONDS = 2.0  # how long a server holds a read_timeout's answer back before it hangs up
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token
# headers the transports set themselves (a WSGI server refuses hop-by-hop ones outright)
_RESERVED_HEADERS = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                               "trailers", "transfer-encoding", "upgrade", "content-length"})


@dataclass(frozen=True)
class Fault:
    """What to break and when.

    ``kind``: ``http_error`` (any 4xx or 5xx ``status`` with Leaf's problem body; 429 with Leaf's
    rate-limit body and no ``Retry-After``; ``headers`` are added to the answer's and ``body``
    replaces it, e.g. ``headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}``),
    ``connection_error``, ``read_timeout`` (the exceptions ``requests`` raises; over a server the
    answer is held ``seconds``, 2 by default, then the connection closes unanswered), ``delay``
    (``seconds``, then the normal answer) or ``malformed_body`` (the normal status, a truncated body).
    ``method`` and ``path`` (a route as the fake lists it, e.g. ``"/users/{leafUserId}"``, or its
    full template) narrow it; ``None`` is every one. ``times``: for the next N matching requests,
    ``None`` until removed. ``rate`` with ``seed``: fail that share of matching requests, at random but
    repeatably. ``after``: the request is processed first and only its answer is lost or broken.
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    times: int | None = None
    status: int = 503
    seconds: float = 0.0
    rate: float | None = None
    seed: int = 0
    after: bool = False
    headers: Mapping[str, str] | None = None
    body: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            close = difflib.get_close_matches(str(self.kind), KINDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown fault kind {self.kind!r}{hint}; the kinds are {', '.join(KINDS)}")
        if self.kind == "http_error" and (isinstance(self.status, bool) or self.status not in HTTP_ERROR_STATUSES):
            raise ValueError(f"an http_error fault answers a 4xx or 5xx status (400 to 599), not {self.status!r}")
        if self.kind != "http_error" and (self.headers is not None or self.body is not None):
            raise ValueError(f"headers and body shape an http_error's answer; a {self.kind} fault has none to shape")
        if self.headers is not None:
            object.__setattr__(self, "headers", _checked_headers(self.headers))
        if self.body is not None and not isinstance(self.body, str):
            raise ValueError(f"body must be a string (sent as UTF-8), got {type(self.body).__name__}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be 1 or more (or None for until removed), got {self.times}")
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, got {self.rate}")
        if not math.isfinite(self.seconds):  # NaN would pass every comparison below and break the sleep
            raise ValueError(f"seconds must be a finite number of seconds, got {self.seconds}")
        if not 0 <= self.seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"seconds must be from 0 to {MAX_DELAY_SECONDS} (an hour, past any client's timeout), "
                             f"got {self.seconds}")

    @property
    def answers_instead(self) -> bool:
        """The fault replaces the request's answer: the request is never handled."""
        return self.kind in _INSTEAD

    @property
    def unanswered(self) -> bool:
        """The transport acts it out: no answer at all (see ``drops_connection`` and ``times_out``)."""
        return drops_connection(self.kind) or times_out(self.kind)

    @property
    def hold(self) -> float:
        """Seconds a server holds an unanswered request before it hangs up (a read timeout's)."""
        return (self.seconds or READ_TIMEOUT_SECONDS) if times_out(self.kind) else 0.0

    @property
    def added_delay(self) -> float:
        """Seconds added before the normal answer."""
        return self.seconds if self.kind == "delay" else 0.0

    @property
    def truncates(self) -> bool:
        """The normal status with a truncated body."""
        return self.kind == "malformed_body"


def drops_connection(kind: FaultKind | None) -> bool:
    """The transport closes the connection without an answer (``requests.ConnectionError`` in-process)."""
    return kind == "connection_error"


def times_out(kind: FaultKind | None) -> bool:
    """The transport never answers in time (``requests.ReadTimeout`` in-process)."""
    return kind == "read_timeout"


def _checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of the headers, or ValueError naming the one a transport could not send."""
    if not isinstance(headers, Mapping):
        raise ValueError(f"headers must be a mapping of names to strings, got {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ValueError(f"header name {name!r} is not an HTTP token (letters, digits and !#$%&'*+.^_`|~-)")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by the transport itself; a fault cannot override it")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0") or not value.isascii():
            raise ValueError(f"header {name!r} must be an ASCII string without CR, LF or NUL, got {value!r}")
        checked[name] = value
    return checked


class InjectedFault:
    """A fault in force: ``hits`` says how often it fired; ``remove()`` ends it."""

    def __init__(self, fault: Fault, template: str | None, registry: FaultRegistry, fault_id: str) -> None:
        self.id = fault_id  # how the control plane names it
        self.fault = fault
        self.template = template
        self.hits = 0
        self._left = fault.times
        self._random = random.Random(fault.seed)
        self._registry = registry

    def remove(self) -> None:
        self._registry.remove(self)

    def _fires(self, method: str, template: str | None) -> bool:
        f = self.fault
        if f.method is not None and f.method.upper() != method:
            return False
        if self.template is not None and self.template != template:
            return False
        if f.rate is not None and self._random.random() >= f.rate:
            return False
        self.hits += 1
        if self._left is not None:
            self._left -= 1
            if self._left == 0:
                self._registry.remove(self)
        return True

    def __repr__(self) -> str:
        return f"InjectedFault({self.fault!r}, hits={self.hits})"


class FaultRegistry:
    """The faults in force for one app; the first that fires wins."""

    def __init__(self) -> None:
        self._faults: list[InjectedFault] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()  # a spent fault removes itself while firing() holds it

    def add(self, fault: Fault, template: str | None) -> InjectedFault:
        with self._lock:
            injected = InjectedFault(fault, template, self, str(next(self._ids)))
            self._faults.append(injected)
        return injected

    def remove(self, injected: InjectedFault) -> None:
        with self._lock:
            if injected in self._faults:
                self._faults.remove(injected)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[InjectedFault]:
        with self._lock:
            return list(self._faults)

    def firing(self, method: str, template: str | None, after: bool) -> Fault | None:
        if not self._faults:  # the usual case, asked twice a request: no lock to take for it
            return None
        with self._lock:
            for injected in list(self._faults):
                if injected.fault.after == after and injected._fires(method, template):  # noqa: SLF001 (same module)
                    return injected.fault
        return None
