"""Leaf's rate limit: requests per API owner in a sliding window of the fake's time."""

from __future__ import annotations

import datetime as _dt
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``window`` per API owner; Leaf publishes 1000 a minute.

    ``retry_after=True`` adds a ``Retry-After`` header (seconds) to the 429; Leaf documents none.
    """

    requests: int = 1000
    window: _dt.timedelta = _dt.timedelta(minutes=1)
    retry_after: bool = False

    def __post_init__(self) -> None:
        # a whole number of requests in a timedelta: RateLimit(1.5) or window=60 would be taken, or fail later
        if isinstance(self.requests, bool) or not isinstance(self.requests, int) or \
                not isinstance(self.window, _dt.timedelta) or not isinstance(self.retry_after, bool):
            raise TypeError(f"a rate limit is a whole number of requests in a timedelta window, e.g. "
                            f"RateLimit(1000, window=timedelta(minutes=1)), got {self}")
        if self.requests < 1 or self.window <= _dt.timedelta(0):
            raise ValueError(f"a rate limit needs requests >= 1 and a positive window, got {self}")


class RateLimiter:
    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._seen: dict[str, deque[_dt.datetime]] = {}
        self._lock = threading.Lock()

    def admit(self, owner: str, now: _dt.datetime) -> _dt.timedelta | None:
        """None if the request may pass (and it is counted); else how long until one may."""
        with self._lock:
            seen = self._seen.setdefault(owner, deque())
            while seen and now - seen[0] >= self.limit.window:
                seen.popleft()
            if len(seen) >= self.limit.requests:
                return seen[0] + self.limit.window - now
            seen.append(now)
            return None
