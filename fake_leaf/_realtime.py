"""Time for I/O that test tools cannot move: deadlines, timeouts and waits of the server, deliveries and verify.

freezegun replaces ``time.monotonic`` (and every module-level name bound to it, in any module it
does not ignore) while it runs; time-machine moves the wall clock. The fake's own clock follows them
on purpose, but a socket's deadline must not: a deadline read from a frozen clock never passes, and
one set before a freeze and read inside it has passed decades ago. The real function is taken when
this module is imported and kept inside a class, where freezegun's module scan does not look.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def _real_monotonic() -> Callable[[], float]:
    found = time.monotonic
    if getattr(found, "__module__", "time").startswith("freezegun"):  # imported inside a freeze
        import freezegun.api  # the library keeps the real one

        found = freezegun.api.real_monotonic
    return found


class _Real:
    monotonic = staticmethod(_real_monotonic())


def monotonic() -> float:
    """Seconds of the machine's monotonic clock, whatever freezegun or time-machine do."""
    return _Real.monotonic()

