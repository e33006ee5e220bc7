"""Runs the deliveries that are due, outside the engine's lock, through the senders the adapters give."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from fake_leaf.engine import LeafBackend

if TYPE_CHECKING:  # the alerts service's module loads when it is first used, not with this one
    from fake_leaf.engine._webhooks import Outcome, PendingAttempt

# sends one attempt (URL, body bytes, headers) within the timeout in seconds; never raises
Sender = Callable[["PendingAttempt", float], "Outcome"]
DEFAULT_TIMEOUT = 5.0
_delivery_thread = threading.local()
_running = threading.local()  # per thread: the ids of the deliverers running deliveries in it now
_made = threading.Lock()


def in_delivery_thread() -> None:
    """Mark this thread as one a sender runs a delivery in: a receiver reading the fake from it never waits
    for the deliveries in flight, its own among them."""
    _delivery_thread.active = True


class Deliverer:
    """Takes what the engine says is due, sends it, and tells the engine what happened.

    Built with every app, used only by a fake whose webhooks are registered: what it needs to run deliveries on
    several threads is made when the first one runs.
    """

    def __init__(self, backend: LeafBackend) -> None:
        self.backend = backend
        self.senders: dict[str, Sender] = {}  # by transport: "in-process", "http"
        self.timeout = DEFAULT_TIMEOUT
        self._in_flight = 0  # threads sending deliveries now (a server sends them after its answer)
        self._settled: threading.Condition | None = None  # made by the first run

    def run_due(self) -> None:
        """Send every attempt due now, and those that fall due meanwhile (retries, new alerts)."""
        webhooks = self.backend.webhooks_in_use()
        if webhooks is None or not self.senders:
            return
        running: set[int] | None = getattr(_running, "deliverers", None)
        if running is None:
            running = _running.deliverers = set()
        if id(self) in running:
            # a receiver calling back into the fake from inside a delivery: the loop below,
            # one frame up, picks up whatever that call makes due
            return
        settled = self._condition()
        running.add(id(self))
        with settled:
            self._in_flight += 1
        try:
            while True:
                due = webhooks.take_due()
                if not due:
                    return
                for pending in due:
                    webhooks.record(pending, self._send(pending))
        finally:
            running.discard(id(self))
            with settled:
                self._in_flight -= 1
                settled.notify_all()

    def settle(self) -> None:
        """Wait until the deliveries other threads are sending are recorded (at most a delivery's timeout)."""
        settled = self._settled
        if settled is None:
            return  # no delivery ever ran
        if id(self) in getattr(_running, "deliverers", ()) or getattr(_delivery_thread, "active", False):
            return  # called from inside a delivery (a receiver reading the fake): never wait for oneself
        with settled:
            settled.wait_for(lambda: self._in_flight == 0, timeout=self.timeout + 1)

    def _condition(self) -> threading.Condition:
        if self._settled is None:
            with _made:
                if self._settled is None:
                    self._settled = threading.Condition()
        return self._settled

    def _send(self, pending: PendingAttempt) -> Outcome:
        from fake_leaf.engine._webhooks import Outcome  # loaded already: a delivery is due

        sender = self.senders.get(pending.transport)
        if sender is None:
            return Outcome(connection_error=f"fake-leaf cannot send over {pending.transport!r}; it sends over "
                                            f"{', '.join(sorted(self.senders))}")
        try:
            return sender(pending, self.timeout)
        except Exception as e:  # a sender's own failure must not end the user's test: it is a failed call
            return Outcome(connection_error=f"{type(e).__name__}: {e}")
