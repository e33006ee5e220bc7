"""Runs the deliveries that are due, outside the engine's lock, through the senders the adapters give."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fake_leaf.engine._webhooks import Outcome, PendingAttempt, Webhooks

# sends one attempt (URL, body bytes, headers) within the timeout in seconds; never raises
Sender = Callable[[PendingAttempt, float], Outcome]
DEFAULT_TIMEOUT = 5.0


class Deliverer:
    """Takes what the engine says is due, sends it, and tells the engine what happened."""

    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks
        self.senders: dict[str, Sender] = {}  # by transport: "in-process", "http"
        self.timeout = DEFAULT_TIMEOUT
        self._running = threading.local()

    def run_due(self) -> None:
        """Send every attempt due now, and those that fall due meanwhile (retries, new alerts)."""
        if not self.senders or getattr(self._running, "active", False):
            # a receiver calling back into the fake from inside a delivery: the loop below,
            # one frame up, picks up whatever that call makes due
            return
        self._running.active = True
        try:
            while True:
                due = self.webhooks.take_due()
                if not due:
                    return
                for pending in due:
                    self.webhooks.record(pending, self._send(pending))
        finally:
            self._running.active = False

    def _send(self, pending: PendingAttempt) -> Outcome:
        sender = self.senders.get(pending.transport)
        if sender is None:
            return Outcome(connection_error=f"fake-leaf cannot send over {pending.transport!r}; it sends over "
                                            f"{', '.join(sorted(self.senders))}")
        try:
            return sender(pending, self.timeout)
        except Exception as e:  # a sender's own failure must not end the user's test: it is a failed call
            return Outcome(connection_error=f"{type(e).__name__}: {e}")
