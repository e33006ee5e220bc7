"""A webhook receiver for tests: a URL that records what arrives and can be told to fail.

In-process it is a `responses` callback on the fake's own mock; beside a server it is a small
HTTP server on 127.0.0.1. Either way the fake delivers to it as Leaf would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from fake_leaf.engine._ids import new_id
from fake_leaf.http._app import MAX_BODY  # what Leaf accepts, a receiver reads too

if TYPE_CHECKING:
    import requests

    from fake_leaf._fake import FakeLeaf


@dataclass(frozen=True)
class ReceivedWebhook:
    """One POST that reached the receiver, and the status it answered."""

    body: bytes
    headers: Mapping[str, str]
    status: int

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


_Receiver = TypeVar("_Receiver", bound="WebhookReceiver")  # a subclass's own type, from start and __enter__


class WebhookReceiver:
    """``url`` to register; ``received`` lists what arrived; ``fail_next(n)`` answers the next n with 500."""

    url: str

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedWebhook] = []
        self._failures = 0
        self._failure_status = 500

    @property
    def received(self) -> list[ReceivedWebhook]:
        """Every POST that arrived, oldest first, failed ones included."""
        with self._lock:
            return list(self._received)

    def payloads(self) -> list[Any]:
        """The JSON of every POST answered 2xx, oldest first."""
        return [r.json() for r in self.received if 200 <= r.status < 300]

    def fail_next(self, times: int, status: int = 500) -> None:
        """Answer the next ``times`` deliveries with ``status`` (a non-2xx: 500 unless told)."""
        if times < 0 or not 300 <= status <= 599:
            raise ValueError(f"fail_next takes times >= 0 and a status from 300 to 599, got {times}, {status}")
        with self._lock:
            self._failures, self._failure_status = times, status

    def _answer(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        with self._lock:
            if self._failures:
                self._failures -= 1
                status, text = self._failure_status, "the test told the receiver to fail"
            else:
                status, text = 200, "received"
            self._received.append(ReceivedWebhook(body, dict(headers), status))
            return status, text

    def start(self: _Receiver) -> _Receiver:
        return self

    def stop(self) -> None:
        pass

    def __enter__(self: _Receiver) -> _Receiver:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


_InProcess = TypeVar("_InProcess", bound="InProcessReceiver")
_Http = TypeVar("_Http", bound="HttpReceiver")


class InProcessReceiver(WebhookReceiver):
    """A `responses` callback at ``https://webhooks.fake-leaf.test/<id>``, on the active fake's mock."""

    def __init__(self, leaf: FakeLeaf) -> None:
        super().__init__()
        self._leaf = leaf
        self.url = f"https://webhooks.fake-leaf.test/{new_id()}"
        self._registration: Any = None

    def start(self: _InProcess) -> _InProcess:
        mock = self._leaf.requests_mock
        self._registration = mock.add_callback("POST", self.url, callback=self._callback)
        return self

    def _callback(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = request.body
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        status, text = self._answer(raw, dict(request.headers))
        return status, {"Content-Type": "text/plain"}, text

    def stop(self) -> None:
        if self._registration is not None:
            try:
                self._leaf.requests_mock.remove(self._registration)
            except RuntimeError:
                pass  # the fake stopped first: its mock, and this callback, are gone already
            self._registration = None


class HttpReceiver(WebhookReceiver):
    """A small HTTP server on 127.0.0.1 (a free port): for deliveries over fake-leaf's server."""

    def __init__(self) -> None:
        super().__init__()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                try:
                    length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                except ValueError:
                    length = 0
                body = self.rfile.read(length) if length > 0 else b""
                status, text = receiver._answer(body, dict(self.headers.items()))
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/leaf-webhook"
        self._thread: threading.Thread | None = None

    def start(self: _Http) -> _Http:
        # stop() waits for the loop's next look at its shutdown flag: at most 10 ms a test that uses a receiver
        # over HTTP (at 50 ms, a test paid about 50 ms of wall time), for 100 idle polls a second while it runs
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"webhook receiver {self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
