"""The one place that reads the time: freezegun and time-machine move it, so does ManualClock."""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable

Clock = Callable[[], _dt.datetime]


def utc_now() -> _dt.datetime:
    """The current UTC time, looked up at call time so that time-freezing libraries apply."""
    return _dt.datetime.now(_dt.timezone.utc)


class ManualClock:
    """A clock that moves only when told to: ``FakeLeaf(clock=ManualClock())``."""

    def __init__(self, start: _dt.datetime | None = None) -> None:
        start = start if start is not None else utc_now()
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (for example with tzinfo=timezone.utc)")
        self._now = start.astimezone(_dt.timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> _dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: _dt.timedelta) -> None:
        """Move the clock forward by ``delta``."""
        if delta < _dt.timedelta(0):
            raise ValueError(f"ManualClock.advance takes a non-negative timedelta, got {delta}")
        with self._lock:
            self._now += delta

    def set(self, when: _dt.datetime) -> None:
        """Put the clock at ``when`` (an aware datetime)."""
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs an aware datetime")
        with self._lock:
            self._now = when.astimezone(_dt.timezone.utc)


class ShiftedClock:
    """Another clock (the system's, which freezegun and time-machine move) plus an offset you set.

    ``advance`` moves only the fake's time; the code under test keeps the real (or frozen) time.
    """

    def __init__(self, base: Clock = utc_now) -> None:
        self._base = base
        self._offset = _dt.timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> _dt.datetime:
        with self._lock:
            offset = self._offset
        return self._base() + offset

    @property
    def offset(self) -> _dt.timedelta:
        return self._offset

    def advance(self, delta: _dt.timedelta) -> None:
        """Move the fake's time forward by ``delta``."""
        if delta < _dt.timedelta(0):
            raise ValueError(f"advance takes a non-negative timedelta, got {delta}")
        with self._lock:
            self._offset += delta

    def move_to(self, when: _dt.datetime) -> None:
        """Put the fake's time at ``when`` (an aware datetime); later moves of the base still apply."""
        if when.tzinfo is None:
            raise ValueError("move_to needs an aware datetime")
        with self._lock:
            self._offset = when - self._base()
