"""A threaded HTTP server for the WSGI app: ``fake-leaf serve`` and the in-process test server."""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
import time
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from fake_leaf.adapters._wsgi import WsgiApp
from fake_leaf.http._context import USER_MANAGEMENT


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    quiet = False


class _Handler(WSGIRequestHandler):
    timeout = 10  # seconds a client may take to send its request: a half-sent one is dropped after it

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        environ["fake_leaf.socket"] = self.connection
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        if not getattr(self.server, "quiet", False):
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class LeafServer:
    """Serves a WSGI app on ``host:port`` (0: a free port) in a background thread."""

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as e:
            raise RuntimeError(f"fake-leaf cannot listen on {host}:{port}: {e.strerror or e} "
                               "(port 0 picks a free port)") from e
        self._server.quiet = quiet
        self._server.set_app(app)
        address = self._server.server_address
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def user_management_url(self) -> str:
        return f"{self.url}{USER_MANAGEMENT}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.1)

    def start(self, timeout: float = 5.0) -> LeafServer:
        """Serve in a thread; return once it accepts connections, or raise saying why not."""
        self._thread = threading.Thread(target=self.serve_forever, name=f"fake-leaf {self.url}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError as e:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"fake-leaf's server at {self.url} did not start within {timeout} s: {e}") from e
                time.sleep(0.01)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LeafServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
