"""The one place that reads the time: freezegun and time-machine move it, so does ManualClock."""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable

Clock = Callable[[], _dt.datetime]

# The times the fake serves. Its arithmetic reaches 30 days (and a check interval of at most a
# century) either side of now, and Leaf's timestamps have four-digit years: this range keeps all of
# it inside what datetime can hold, with room to spare.
EARLIEST = _dt.datetime(1000, 1, 1, tzinfo=_dt.timezone.utc)
LATEST = _dt.datetime(9000, 1, 1, tzinfo=_dt.timezone.utc)
USABLE_RANGE = f"{EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} UTC"


def in_usable_range(when: _dt.datetime) -> bool:
    """Whether the fake can serve at ``when`` (a naive datetime is taken to be UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    try:
        return EARLIEST <= when <= LATEST
    except OverflowError:  # an offset that pushes datetime.max or min past what datetime holds
        return False


def _refuse_unless_usable(what: str, target: Callable[[], _dt.datetime]) -> _dt.datetime:
    """``target()``, or a ValueError naming the move when it leaves the usable range."""
    try:
        when = target()
    except OverflowError:
        raise ValueError(f"{what} would move the clock past what a datetime holds; the usable range is "
                         f"{USABLE_RANGE}") from None
    if not in_usable_range(when):
        raise ValueError(f"{what} would put the clock at {when.isoformat()}, out of the usable range "
                         f"{USABLE_RANGE} (fake-leaf keeps room for 30-day windows and token lifetimes)")
    return when


def utc_now() -> _dt.datetime:
    """The current UTC time, looked up at call time so that time-freezing libraries apply."""
    return _dt.datetime.now(_dt.timezone.utc)


class ManualClock:
    """A clock that moves only when told to: ``FakeLeaf(clock=ManualClock())``."""

    def __init__(self, start: _dt.datetime | None = None) -> None:
        start = start if start is not None else utc_now()
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (for example with tzinfo=timezone.utc)")
        self._now = _refuse_unless_usable(f"ManualClock({start.isoformat()})", lambda: start).astimezone(
            _dt.timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> _dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: _dt.timedelta) -> None:
        """Move the clock forward by ``delta``."""
        if delta < _dt.timedelta(0):
            raise ValueError(f"ManualClock.advance takes a non-negative timedelta, got {delta}")
        with self._lock:
            self._now = _refuse_unless_usable(f"advance({delta!r})", lambda: self._now + delta)

    def set(self, when: _dt.datetime) -> None:
        """Put the clock at ``when`` (an aware datetime)."""
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs an aware datetime")
        _refuse_unless_usable(f"set({when.isoformat()})", lambda: when)
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
            offset = self._offset
            _refuse_unless_usable(f"advance({delta!r})", lambda: self._base() + (offset + delta))
            self._offset = offset + delta

    def move_to(self, when: _dt.datetime) -> None:
        """Put the fake's time at ``when`` (an aware datetime); later moves of the base still apply."""
        if when.tzinfo is None:
            raise ValueError("move_to needs an aware datetime")
        _refuse_unless_usable(f"move_to({when.isoformat()})", lambda: when)
        with self._lock:
            self._offset = when - self._base()

    def _reset_if_unusable(self) -> None:
        if not self._offset:  # nothing to take back (every fake a fixture makes gets a fresh clock)
            return
        try:
            usable = in_usable_range(self())
        except OverflowError:
            usable = False
        if not usable:
            with self._lock:
                self._offset = _dt.timedelta(0)


def recover(clock: Clock) -> None:
    """On reset: a ShiftedClock reading out of the usable range gets its offset back to zero.

    A clock that reads a usable time is left as it is (a test may have moved it on purpose); a
    frozen base (freezegun, time-machine) is the test's to move back.
    """
    if isinstance(clock, ShiftedClock):
        clock._reset_if_unusable()  # noqa: SLF001 (this module's own class)
