"""A threaded HTTP/1.1 server for a WSGI app: ``fake-leaf serve`` and the in-process test server.

It holds under load and against bad clients: a deep listen backlog, a bounded number of connections
served at once (the rest wait, unaccepted, in the backlog), one deadline for a whole request (headers
and body), bodies read whole before the app runs, and nothing written to stderr on the request path:
it logs through ``logging`` ("fake_leaf.server"), and when not quiet a bounded queue feeds stderr.

It is lean on purpose, because under load the server's own cost per request is what every client
waits for: a request's head is parsed here in a few string operations (``http.server`` spends most
of a small request in the ``email`` package), connections are served by a pool of reused threads,
and an answer leaves in one ``sendall``.
"""

from __future__ import annotations

import email.utils
import io
import logging
import math
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from fake_leaf.http import HttpResponse
from fake_leaf.http import _problems as problems
from fake_leaf.http._app import MAX_BODY
from fake_leaf.http._context import USER_MANAGEMENT
from fake_leaf.http._framing import framing

WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

BACKLOG = 1024  # connections the kernel queues while every slot is busy (capped by net.core.somaxconn)
REQUEST_TIMEOUT = 10.0  # seconds for a whole request, headers and body: a trickling client cannot hold a thread
MAX_CONNECTIONS = 64  # connections served at once; more wait in the backlog until one ends
WRITE_TIMEOUT = 30.0  # seconds an answer may wait for a client that does not read it
MAX_LINE = 65536  # the longest request line or header line (http.server's limits)
MAX_HEADERS = 100
IDLE_WORKER_SECONDS = 30.0  # a pooled thread with no connection to serve for this long ends
_DRAIN_SECONDS = 2.0  # after refusing a body unread, how long its rest is read and dropped before closing
_DRAIN_BYTES = 64 * 1024 * 1024
_SERVER_HEADER = "Server: fake-leaf\r\n"
_BLANKS = " \t"

log = logging.getLogger("fake_leaf.server")
log.addHandler(logging.NullHandler())  # never logging's last-resort stderr writer: quiet means quiet


class _RefusedError(Exception):
    """A request the server answers itself, before the app sees it: bad syntax, lines too long ..."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


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


class _Date:
    """The ``Date`` header's value, formatted once a second rather than once an answer."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __str__(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._text, self._second = email.utils.formatdate(second, usegmt=True), second
        return self._text


_date = _Date()


class _Workers:
    """Threads that serve connections, reused: a connection costs a queue hand-off, not a thread start."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._jobs.put(job)
                return
        threading.Thread(target=self._work, args=(job,), name="fake-leaf connection", daemon=True).start()

    def _work(self, job: Callable[[], None] | None) -> None:
        while job is not None:
            job()
            with self._lock:
                self._idle += 1
            job = self._next()

    def _next(self) -> Callable[[], None] | None:
        while True:
            try:
                return self._jobs.get(timeout=IDLE_WORKER_SECONDS)
            except queue.Empty:
                with self._lock:  # submit hands over under this lock: an empty queue means no job is on its way
                    if self._jobs.empty():
                        self._idle -= 1
                        return None

    def stop(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)


class _Server:
    """The listening socket, its accept loop and the connections it serves."""

    def __init__(self, address: tuple[str, int], app: WsgiCallable, *, request_timeout: float,
                 max_connections: int) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(BACKLOG)
        except OSError:
            self.socket.close()
            raise
        self.socket.setblocking(False)
        self.server_address: tuple[Any, ...] = self.socket.getsockname()
        self.app = app
        self.request_timeout = request_timeout
        self.url = ""
        self.quiet = True
        self.closing = threading.Event()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._workers = _Workers()
        self._open: set[_Connection] = set()
        self._open_lock = threading.Lock()
        self._wake_reader, self._wake_writer = socket.socketpair()

    def serve_until_closed(self) -> None:
        """Accept connections until ``close()``: it wakes this loop at once, where a poll would wait."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self.closing.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket:
                        self._accept()

    def _accept(self) -> None:
        # a slot first: excess connections wait, unaccepted, in the kernel's backlog until one frees
        while not self._slots.acquire(timeout=0.1):
            if self.closing.is_set():
                return
        if self.closing.is_set():
            self._slots.release()
            return
        try:
            sock, address = self.socket.accept()
        except OSError:  # gone before it was accepted, or nothing was waiting after all
            self._slots.release()
            return
        connection = _Connection(self, sock, address)
        with self._open_lock:
            self._open.add(connection)
        try:
            self._workers.submit(connection.serve)
        except RuntimeError:  # no thread could be started: refuse this connection, keep serving
            self._ended(connection)
            sock.close()

    def _ended(self, connection: _Connection) -> None:
        with self._open_lock:
            self._open.discard(connection)
        self._slots.release()

    def close(self) -> None:
        self.closing.set()
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass

    def server_close(self) -> None:
        self.closing.set()
        self.socket.close()
        self._wake_reader.close()
        self._wake_writer.close()
        with self._open_lock:
            waiting = [c for c in self._open if c.between_requests]
        for connection in waiting:  # idle keep-alive connections end now, not at their deadline
            connection.hang_up()
        self._workers.stop()


class _Connection:
    """One client connection: requests read, handed to the app and answered, one after another."""

    def __init__(self, server: _Server, sock: socket.socket, address: Any) -> None:
        self.server = server
        self.sock = sock
        self.client_ip = str(address[0]) if isinstance(address, tuple) and address else "-"
        self.between_requests = True
        self._reader = _DeadlineReader(sock)
        self._rfile = io.BufferedReader(self._reader, 65536)
        self._close = False
        self._unread = False  # part of a request was left on the wire: drain it before closing
        self._method = ""
        self._target = ""
        self._version = "HTTP/0.9"
        self._requestline = ""
        self._continue = False  # the client sent "Expect: 100-continue"

    def serve(self) -> None:
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self._close:
                self._one_request()
        except OSError as e:  # a client that timed out, reset or went away: its own business
            log.debug("connection from %s ended: %r", self.client_ip, e)
        except Exception:
            log.error("fake-leaf's server failed on a connection from %s", self.client_ip, exc_info=True)
        finally:
            if self._unread:
                _drain(self.sock)
            try:
                self.sock.close()
            except OSError:
                pass
            self.server._ended(self)

    def hang_up(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.server.request_timeout
        received_before = self._reader.received
        self.between_requests = True
        if self.server.closing.is_set():  # checked after the flag: stop() either sees it or is seen here
            self._close = True
            return
        self._method, self._target, self._requestline, self._version = "", "", "", "HTTP/0.9"
        self._continue = False
        try:
            try:
                headers = self._read_head()
                if headers is None:  # the client closed, or stayed silent past the deadline: hang up
                    self._close = True
                    return
                self.between_requests = False
                body, in_sync, refusal = self._read_body(headers)
            except _RefusedError as r:
                self._close = self._unread = True
                self._send(problems.problem(r.status, r.detail, self._path_only()))
                return
        except TimeoutError:
            self._close = True
            if self._reader.received > received_before:  # a request began but did not arrive whole in time
                log.debug("%s: request not whole after %s s", self.client_ip, self.server.request_timeout)
                self._unread = True
                self._send(problems.request_timeout(self.server.request_timeout, self._path_only()))
            return
        if self.server.closing.is_set():  # a stopped server answers what it has read, then hangs up
            self._close = True
        if not in_sync:
            self._close = self._unread = True
        if refusal is not None:
            self._send(refusal)
        else:
            self._run_app(headers, body)

    def _read_head(self) -> list[tuple[str, str]] | None:
        """The request line (into ``self``) and the header fields, or None when no request came."""
        line = b"\r\n"
        while line in (b"\r\n", b"\n"):  # blank lines before a request line are ignored (RFC 9112 2.2)
            line = self._rfile.readline(MAX_LINE + 1)  # a silent client's deadline: hung up on, unanswered
            if not line:
                return None
        if len(line) > MAX_LINE:
            raise _RefusedError(414, "Request-URI Too Long")
        self._parse_request_line(line.decode("iso-8859-1").rstrip("\r\n"))
        headers: list[tuple[str, str]] = []
        while True:
            line = self._rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise _RefusedError(431, "Line too long: a header line is over 65536 bytes")
            if line in (b"\r\n", b"\n"):
                return headers
            if not line:  # the client closed its side: it may still read why nothing more can happen
                raise _RefusedError(400, "The request's head ended before the blank line that ends it "
                                         "(the client closed its side of the connection mid-request)")
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and headers:  # an obsolete folded line continues the last field
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {text.strip(_BLANKS)}")
                continue
            name, colon, value = text.partition(":")
            if not colon or not name or " " in name or "\t" in name:
                raise _RefusedError(400, f"Bad header line ({text[:200]!r}): a field is 'Name: value'")
            headers.append((name, value.strip(_BLANKS)))
            if len(headers) > MAX_HEADERS:
                raise _RefusedError(431, f"Too many headers: more than {MAX_HEADERS}")

    def _parse_request_line(self, line: str) -> None:
        self._requestline = line
        words = line.split()
        if len(words) != 3:
            raise _RefusedError(400, f"Bad request syntax ({line[:200]!r})")
        self._method, self._target, version = words
        number = version[5:] if version.startswith("HTTP/") else ""
        major, dot, minor = number.partition(".")
        if not (dot and major.isdigit() and minor.isdigit() and len(number) <= 10 and major.isascii()
                and minor.isascii()):
            raise _RefusedError(400, f"Bad request version ({version[:100]!r})")
        if (int(major), int(minor)) >= (2, 0):
            raise _RefusedError(505, f"Invalid HTTP version ({number})")
        self._version = version
        self._close = (int(major), int(minor)) < (1, 1)  # HTTP/1.0 closes unless asked to keep alive

    def _read_body(self, headers: list[tuple[str, str]]) -> tuple[bytes, bool, HttpResponse | None]:
        """The body as the headers delimit it, whether the connection can carry another request, and a refusal."""
        lengths: list[str] = []
        transfer_encoding = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                lengths.append(value)
            elif lowered == "transfer-encoding" and transfer_encoding is None:
                transfer_encoding = value
            elif lowered == "connection":
                tokens = {token.strip().lower() for token in value.split(",")}
                if "close" in tokens:
                    self._close = True
                elif "keep-alive" in tokens:
                    self._close = False
            elif lowered == "expect" and value.lower() == "100-continue":
                self._continue = True
        framed = framing(", ".join(lengths) if lengths else None, transfer_encoding)
        if framed.chunked:
            self._say_continue()
            return self._read_chunked()
        if transfer_encoding is not None:  # a coding fake-leaf cannot undo: the body's end is unknown
            return b"", False, None
        if framed.malformed is not None or (framed.length or 0) > MAX_BODY:
            return b"", False, None  # the app refuses it unread
        if framed.length:
            self._say_continue()
        body = self._read_up_to(framed.length or 0)
        return body, len(body) == (framed.length or 0), None

    def _say_continue(self) -> None:
        """Answer ``Expect: 100-continue`` (curl's, for bodies over 1 KB) before reading the body."""
        if self._continue and self._version != "HTTP/1.0":
            self._continue = False
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _read_up_to(self, length: int) -> bytes:
        """At most ``length`` bytes; fewer if the client stops sending or the deadline passes."""
        chunks, left = [], length
        while left > 0:
            try:
                chunk = self._rfile.read1(left)
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
                line = self._rfile.readline(1024)
                size_text = line.split(b";", 1)[0].strip()
                if not line.endswith(b"\n") or not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                    why = "it ended before its last (zero-size) chunk" if not line else f"bad chunk size line {line!r}"
                    return b"", False, problems.bad_chunked_body(why, path)
                size = int(size_text, 16)
                if size == 0:
                    while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields: not used
                    return bytes(body), True, None
                if len(body) + size > MAX_BODY:  # the app answers 413 from what it is given
                    return bytes(body) + self._read_up_to(MAX_BODY + 1 - len(body)), False, None
                chunk = self._read_up_to(size)
                if len(chunk) < size or self._rfile.readline(3).strip():
                    return b"", False, problems.bad_chunked_body("a chunk is shorter than its size says", path)
                body += chunk
        except (TimeoutError, ConnectionError):
            return b"", False, problems.bad_chunked_body(
                f"it did not arrive whole within {self.server.request_timeout:g} s", path)

    def _path_only(self) -> str:
        target = self._target or "/"
        if "://" in target:  # absolute form: http://host/path
            target = urlsplit(target).path or "/"
        return target.split("?", 1)[0]

    def _environ(self, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
        target = self._target
        if "://" in target:
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self._method, "SCRIPT_NAME": "", "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query, "RAW_URI": target, "REQUEST_URI": target,
            "SERVER_NAME": str(host), "SERVER_PORT": str(port), "SERVER_PROTOCOL": self._version,
            "REMOTE_ADDR": self.client_ip, "CONTENT_TYPE": "", "CONTENT_LENGTH": "",
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": _LogStream(), "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "wsgi.input_terminated": True,
            "fake_leaf.socket": self.sock, "fake_leaf.base_url": self.server.url,
        }
        lengths = []
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = environ["CONTENT_TYPE"] or value  # the first one, as http.server
            elif key == "CONTENT_LENGTH":
                lengths.append(value)
            elif "_" not in name:  # an underscore would let "X_Forwarded" pose as "X-Forwarded"
                key = f"HTTP_{key}"
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        environ["CONTENT_LENGTH"] = ", ".join(lengths)
        return environ

    def _run_app(self, headers: list[tuple[str, str]], body: bytes) -> None:
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append

        try:
            result = self.server.app(self._environ(headers, body), start_response)
            try:
                written.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status, response_headers = started
        except Exception:  # a bug: a 500 that says so, never a dropped connection
            log.error("the app failed on %s %s", self._method, self._target, exc_info=True)
            self._send(problems.internal_error("the WSGI app raised; see the log", self._path_only()))
            return
        self._write(status, list(response_headers), b"".join(written))

    def _send(self, response: HttpResponse) -> None:
        status = f"{response.status} {problems.reason_phrase(response.status)}"
        self._write(status, list(response.headers.items()), response.body)

    def _write(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code = int(status.split(" ", 1)[0])
        if code >= 200 and code not in (204, 304) and not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        if self._method == "HEAD" or code in (204, 304):
            body = b""
        head = "".join([f"HTTP/1.1 {status}\r\n", *(f"{k}: {v}\r\n" for k, v in headers), _SERVER_HEADER,
                        f"Date: {_date}\r\n", "Connection: close\r\n\r\n" if self._close else "\r\n"])
        try:
            self.sock.settimeout(WRITE_TIMEOUT)  # reads left it at what remained of the request deadline
            self.sock.sendall(head.encode("latin-1", "replace") + body)
        except OSError:  # the client went away, or a fault dropped the connection
            self._close = True
            return
        if not self.server.quiet:
            log.info('%s "%s" %s %s', self.client_ip, self._requestline, code, len(body) or "-")


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
