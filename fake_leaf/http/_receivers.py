"""Webhook receivers inside the fake, for tests in other languages: ``/_fake-leaf/receivers/{name}``.

A webhook registered with such a URL on the fake's own server is handed to the receiver directly,
without a socket (deliveries never go to the fake's own address otherwise). A POST over HTTP is
taken the same way. Each receiver lists what it took, raw bodies and headers, and fails the next N
deliveries when told.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
from collections.abc import Mapping
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")
MAX_KEPT = 1000  # deliveries a receiver keeps, the newest


class Receivers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: dict[str, list[dict[str, Any]]] = {}
        self._failing: dict[str, list[int]] = {}  # statuses of the next deliveries to refuse

    def take(self, name: str, body: bytes, headers: Mapping[str, str], now: dt.datetime) -> int:
        """Record one delivery; the status to answer (200, or a failing one the test asked for)."""
        with self._lock:
            failing = self._failing.get(name)
            status = failing.pop(0) if failing else 200
            kept = self._received.setdefault(name, [])
            kept.append({"body": body.decode("utf-8", "replace"), "bodyBase64": base64.b64encode(body).decode(),
                         "headers": dict(headers), "receivedAt": now.isoformat().replace("+00:00", "Z"),
                         "status": status})
            del kept[:-MAX_KEPT]
        return status

    def received(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._received.get(name, []))

    def fail_next(self, name: str, times: int, status: int) -> None:
        with self._lock:
            self._failing[name] = [status] * times

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._failing.clear()
