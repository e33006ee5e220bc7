"""A threaded HTTP/1.1 server for a WSGI app: ``fake-leaf serve`` and the in-process test server.

It holds under load and against bad clients: a deep listen backlog, a bounded number of connections
served at once (the rest wait in the backlog), one deadline for a whole request (headers and body),
bodies read whole before the app runs, and nothing written to stderr on the request path: it logs
through ``logging`` ("fake_leaf.server"), and when not quiet a bounded queue feeds stderr.
"""

from __future__ import annotations

import io
import logging
import math
import os
import queue
import selectors
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from fake_leaf.http import HttpResponse
from fake_leaf.http import _problems as problems
from fake_leaf.http._app import MAX_BODY
from fake_leaf.http._context import USER_MANAGEMENT
from fake_leaf.http._framing import framing

WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

BACKLOG = 1024  # connections the kernel queues while every handler is busy (capped by net.core.somaxconn)
REQUEST_TIMEOUT = 10.0  # seconds for a whole request, headers and body: a trickling client cannot hold a thread
MAX_CONNECTIONS = 64  # connections served at once; more wait in the backlog until one ends
WRITE_TIMEOUT = 30.0  # seconds an answer may wait for a client that does not read it
_DRAIN_SECONDS = 2.0  # after refusing a body unread, how long its rest is read and dropped before closing
_DRAIN_BYTES = 64 * 1024 * 1024

log = logging.getLogger("fake_leaf.server")
log.addHandler(logging.NullHandler())  # never logging's last-resort stderr writer: quiet means quiet


class _DeadlineReader(io.RawIOBase):
    """The socket's input, each read bounded by the time left until ``deadline``."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self.deadline = math.inf
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request deadline has passed")
        self._sock.settimeout(min(left, 3600))
        n = self._sock.recv_into(buffer)
        self.received += n
        return n


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle keep-alive connections
    allow_reuse_address = True
    request_queue_size = BACKLOG
    timeout = 0.5  # handle_request's wait, should a ready connection vanish before it is accepted

    def __init__(self, address: tuple[str, int], app: WsgiCallable, *, request_timeout: float,
                 max_connections: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.request_timeout = request_timeout
        self.url = ""
        self.quiet = True
        self._slots = threading.BoundedSemaphore(max_connections)
        self.closing = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__(address, _Handler)

    def serve_until_closed(self) -> None:
        """Accept connections until ``close()``: it wakes this loop at once, where a poll would wait."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self.closing.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self.closing.is_set():
                        self.handle_request()  # ready: it accepts at once (or gives up after ``timeout``)

    def close(self) -> None:
        self.closing.set()
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        # excess connections wait, unaccepted, in the kernel's backlog until a slot frees
        while not self._slots.acquire(timeout=0.1):
            if self.closing.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # a client that timed out, reset or went away: its own business
            log.debug("connection from %s ended: %r", client_address, error)
        else:
            log.error("fake-leaf's server failed on a connection from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's session reuses its connection
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader, 65536)
        self._unread = False  # part of a body was left on the wire: drain it before closing

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.server.request_timeout
        received_before = self._reader.received
        self.command, self.path, self.requestline = "", "", ""
        self.request_version = self.default_request_version
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                self._unread = True
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # it has answered why (400, 431, 505 ...)
                self.close_connection = True
                return
            if self.server.closing.is_set():  # a stopped server answers what it has read, then hangs up
                self.close_connection = True
            body, in_sync, refusal = self._read_body()
        except TimeoutError:
            self.close_connection = True
            if self._reader.received > received_before:  # a request began but did not arrive whole in time
                log.debug("%s: request not whole after %s s", self.address_string(), self.server.request_timeout)
                self._unread = True
                self._send(problems.request_timeout(self.server.request_timeout, self._path_only()))
            return
        if not in_sync:
            self.close_connection = True
            self._unread = True
        if refusal is not None:
            self._send(refusal)
        else:
            self._run_app(body)

    def _read_body(self) -> tuple[bytes, bool, HttpResponse | None]:
        """The body as the headers delimit it, whether the connection can carry another request, and a refusal."""
        lengths = self.headers.get_all("Content-Length") or []
        transfer_encoding = self.headers.get("Transfer-Encoding")
        framed = framing(", ".join(lengths) if lengths else None, transfer_encoding)
        if framed.chunked:
            return self._read_chunked()
        if transfer_encoding is not None:  # a coding fake-leaf cannot undo: the body's end is unknown
            return b"", False, None
        if framed.malformed is not None or (framed.length or 0) > MAX_BODY:
            return b"", False, None  # the app refuses it unread
        body = self._read_up_to(framed.length or 0)
        return body, len(body) == (framed.length or 0), None

    def _read_up_to(self, length: int) -> bytes:
        """At most ``length`` bytes; fewer if the client stops sending or the deadline passes."""
        chunks, left = [], length
        while left > 0:
            try:
                chunk = self.rfile.read1(left)
            except (TimeoutError, ConnectionError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _read_chunked(self) -> tuple[bytes, bool, HttpResponse | None]:
        body = bytearray()
        path = self._path_only()
        try:
            while True:
                line = self.rfile.readline(1024)
                size_text = line.split(b";", 1)[0].strip()
                if not line.endswith(b"\n") or not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                    why = "it ended before its last (zero-size) chunk" if not line else f"bad chunk size line {line!r}"
                    return b"", False, problems.bad_chunked_body(why, path)
                size = int(size_text, 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields: not used
                    return bytes(body), True, None
                if len(body) + size > MAX_BODY:  # the app answers 413 from what it is given
                    return bytes(body) + self._read_up_to(MAX_BODY + 1 - len(body)), False, None
                chunk = self._read_up_to(size)
                if len(chunk) < size or self.rfile.readline(3).strip():
                    return b"", False, problems.bad_chunked_body("a chunk is shorter than its size says", path)
                body += chunk
        except (TimeoutError, ConnectionError):
            return b"", False, problems.bad_chunked_body(
                f"it did not arrive whole within {self.server.request_timeout:g} s", path)

    def _path_only(self) -> str:
        target = self.path or "/"
        if "://" in target:  # absolute form: http://host/path
            target = urlsplit(target).path or "/"
        return target.split("?", 1)[0]

    def _environ(self, body: bytes) -> dict[str, Any]:
        target = self.path
        if "://" in target:
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query, "RAW_URI": target, "REQUEST_URI": target,
            "SERVER_NAME": str(host), "SERVER_PORT": str(port), "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": ", ".join(self.headers.get_all("Content-Length") or []),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": _LogStream(), "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "wsgi.input_terminated": True,
            "fake_leaf.socket": self.connection, "fake_leaf.base_url": self.server.url,
        }
        for name in set(self.headers.keys()):
            key = name.upper().replace("-", "_")
            if "_" in name or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                continue  # an underscore would let "X_Forwarded" pose as "X-Forwarded"
            environ[f"HTTP_{key}"] = ",".join(self.headers.get_all(name) or [])
        return environ

    def _run_app(self, body: bytes) -> None:
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append

        try:
            result = self.server.app(self._environ(body), start_response)
            try:
                written.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status, headers = started
        except Exception:  # a bug: a 500 that says so, never a dropped connection
            log.error("the app failed on %s %s", self.command, self.path, exc_info=True)
            self._send(problems.internal_error("the WSGI app raised; see the log", self._path_only()))
            return
        self._write(status, list(headers), b"".join(written))

    def _send(self, response: HttpResponse) -> None:
        body = b"" if self.command == "HEAD" else response.body
        self._write(f"{response.status} {HTTPStatus(response.status).phrase}", list(response.headers.items()), body)

    def _write(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code = int(status.split(" ", 1)[0])
        names = {name.lower() for name, _ in headers}
        if "content-length" not in names and code >= 200 and code not in (204, 304):
            headers.append(("Content-Length", str(len(body))))
        headers += [("Server", self.version_string()), ("Date", self.date_time_string())]
        if self.close_connection:
            headers.append(("Connection", "close"))
        head = "".join([f"HTTP/1.1 {status}\r\n", *(f"{k}: {v}\r\n" for k, v in headers), "\r\n"])
        if self.command == "HEAD" or code in (204, 304):
            body = b""
        try:
            self.connection.settimeout(WRITE_TIMEOUT)  # reads left it at what remained of the request deadline
            self.wfile.write(head.encode("latin-1") + body)
        except OSError:  # the client went away, or a fault dropped the connection
            self.close_connection = True
            return
        if not self.server.quiet:
            self.log_request(code, len(body))

    def version_string(self) -> str:
        return "fake-leaf"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, headers too long ...) as problem bodies."""
        self.close_connection = True
        detail = message or self.responses.get(code, ("",))[0]
        self._send(problems.problem(code, f"{detail}{f': {explain}' if explain else ''}", self._path_only()))

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        if self._unread:
            _drain(self.connection)


def _drain(sock: socket.socket) -> None:
    """Read and drop what the client still sends, so closing does not reset the answer it has not read yet."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline, drained = time.monotonic() + _DRAIN_SECONDS, 0
        while drained < _DRAIN_BYTES and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                return
            drained += len(chunk)
    except OSError:
        pass


class _LogStream:
    """``wsgi.errors``: what the app writes there goes to the log, never straight to stderr."""

    def write(self, text: str) -> None:
        if text.strip():
            log.warning("%s", text.rstrip())

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass


class _BoundedStderr(logging.Handler):
    """Log lines to stderr from one thread; when stderr is not read, lines are dropped, never waited for."""

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(message)s"))
        self._lines: queue.Queue[str | None] = queue.Queue(capacity)
        self._dropped = 0
        threading.Thread(target=self._write, name="fake-leaf log", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.put_nowait(self.format(record))
        except queue.Full:
            self._dropped += 1

    def close(self) -> None:
        try:
            self._lines.put_nowait(None)
        except queue.Full:
            pass  # the writer is stuck on a full stderr; it is a daemon thread
        super().close()

    def _write(self) -> None:
        while (line := self._lines.get()) is not None:
            dropped, self._dropped = self._dropped, 0
            if dropped:
                line = f"({dropped} log lines dropped: stderr was not being read)\n{line}"
            try:
                # os.write holds no lock of sys.stderr: a blocked pipe stalls this thread only
                os.write(2, f"{line}\n".encode("utf-8", "replace"))
            except OSError:
                return


class LeafServer:
    """Serves a WSGI app on ``host:port`` (0: a free port) in a background thread.

    ``request_timeout``: seconds a client has to send a whole request, headers and body (and an idle
    keep-alive connection is closed after it). ``max_connections``: connections served at once; more
    wait in the listen backlog. ``quiet``: no log line per request on stderr.
    """

    def __init__(self, app: WsgiCallable, host: str = "127.0.0.1", port: int = 0, quiet: bool = True, *,
                 request_timeout: float = REQUEST_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> None:
        if not (request_timeout > 0 and math.isfinite(request_timeout)):
            raise ValueError(f"request_timeout must be a positive number of seconds, got {request_timeout}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be 1 or more, got {max_connections}")
        try:
            self._server = _Server((host, port), app, request_timeout=request_timeout,
                                   max_connections=max_connections)
        except OSError as e:
            raise RuntimeError(f"fake-leaf cannot listen on {host}:{port}: {e.strerror or e} "
                               "(port 0 picks a free port)") from e
        address = self._server.server_address
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        self._server.url = self.url
        self._server.quiet = quiet
        self._log_handler: _BoundedStderr | None = None
        self._set_level = False
        if not quiet:
            self._log_handler = _BoundedStderr()
            log.addHandler(self._log_handler)
            if log.level == logging.NOTSET:  # the access lines are INFO: let them through, unless told otherwise
                log.setLevel(logging.INFO)
                self._set_level = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def user_management_url(self) -> str:
        return f"{self.url}{USER_MANAGEMENT}"

    def serve_forever(self) -> None:
        self._server.serve_until_closed()

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
        self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        if self._log_handler is not None:
            log.removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None
            if self._set_level:
                log.setLevel(logging.NOTSET)

    def __enter__(self) -> LeafServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
