"""One HTTP/1.1 connection of fake-leaf's server: its requests read, handed to a WSGI app and answered.

Parsing is strict where RFC 9110 and 9112 say so, so that no request can hide in another's body and
every malformed one gets a problem body that says why; it is also lean, a request's head parsed in a
few string operations (``http.server`` spends most of a small request in the ``email`` package).
The server (``_server.py``) owns the connections between requests and hands a connection here when
it has one to read.
"""

from __future__ import annotations

import email.utils
import io
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from fake_leaf.adapters._waiting import readable
from fake_leaf.engine._text import shorten
from fake_leaf.http import HttpResponse
from fake_leaf.http import _problems as problems
from fake_leaf.http._app import MAX_BODY
from fake_leaf.http._framing import framing

WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

WRITE_TIMEOUT = 30.0  # seconds an answer may wait for a client that does not read it
MAX_LINE = 65536  # the longest request line or header line (http.server's limits)
MAX_HEADERS = 100
MAX_HEAD = 65536  # all header lines together
LINGER_SECONDS = 0.002  # how long a worker waits for a kept-alive client's next request before handing it back
_DRAIN_SECONDS = 2.0  # after refusing a body unread, how long its rest is read and dropped before closing
_DRAIN_BYTES = 64 * 1024 * 1024
_SERVER_HEADER = "Server: fake-leaf\r\n"
_BLANKS = " \t"
_SEPARATOR_CHARS = " \t\v\f\r"  # what may separate a request line's words (RFC 9112 3)
_SEPARATORS = re.compile(r"[ \t\v\f\r]+")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but HTAB

log = logging.getLogger("fake_leaf.server")
log.addHandler(logging.NullHandler())  # never logging's last-resort stderr writer: quiet means quiet


class ConnectionHost(Protocol):
    """What a connection needs of the server that owns it."""

    app: WsgiCallable
    request_timeout: float
    url: str
    quiet: bool
    closing: threading.Event
    stop_signal: socket.socket
    server_address: tuple[Any, ...]

    def hand_back(self, connection: Connection | None) -> None: ...

    def ended(self, connection: Connection) -> None: ...

    def workers_free(self) -> bool: ...

    def requeue(self, connection: Connection) -> None: ...


class _RefusedError(Exception):
    """A request the server answers itself, before the app sees it: bad syntax, lines too long ..."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Input:
    """A connection's input, buffered; each read from the socket bounded by the time left until ``deadline``.

    Its own buffer, so that what a client has sent and the server has not read yet is always known:
    a connection with nothing buffered and nothing arriving can be parked without a thread.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self.deadline = math.inf
        self.received = 0

    def buffered(self) -> int:
        return len(self._buffer)

    def _fill(self) -> bool:
        """One read from the socket into the buffer; False when the client has closed its side."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request deadline has passed")
        self._sock.settimeout(min(left, 3600))
        chunk = self._sock.recv(65536)
        if not chunk:
            return False
        self.received += len(chunk)
        self._buffer += chunk
        return True

    def readline(self, limit: int) -> bytes:
        """Up to and including the next LF, at most ``limit`` bytes; what is left at the end of input."""
        scanned = 0
        while True:
            end = self._buffer.find(b"\n", scanned, limit)
            if end >= 0:
                return self._take(end + 1)
            if len(self._buffer) >= limit:
                return self._take(limit)
            scanned = len(self._buffer)
            if not self._fill():
                return self._take(len(self._buffer))

    def read1(self, size: int) -> bytes:
        """At most ``size`` bytes: what is buffered, else one read's worth; b"" at the end of input."""
        if not self._buffer and not self._fill():
            return b""
        return self._take(min(size, len(self._buffer)))

    def _take(self, size: int) -> bytes:
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken


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


class Connection:
    """One client connection: its requests read, handed to the app and answered, one after another."""

    def __init__(self, server: ConnectionHost, sock: socket.socket, address: Any) -> None:
        self.server = server
        self.sock = sock
        self.client_ip = str(address[0]) if isinstance(address, tuple) and address else "-"
        self.state = "idle"  # idle (parked between requests), reading, app (the app has the request), writing
        self.idle_until = math.inf
        self.served = False  # has answered a request: a kept-alive connection, which may make room
        self._state_lock = threading.Lock()
        self._hung_up = False
        self._input = _Input(sock)
        self._closed = False
        self._close = False
        self._unread = False  # part of a request was left on the wire: drain it before closing
        self._method = ""
        self._target = ""
        self._origin_target = "/"
        self._version = "HTTP/1.1"
        self._requestline = ""
        self._continue = False  # the client sent "Expect: 100-continue"
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def serve(self) -> None:
        """Answer what the connection has to read; then hand it back to wait for more, or close it."""
        try:
            while True:
                self._one_request()
                if self._close:
                    break
                self.served = True
                if self._input.buffered():  # pipelined: the next request is here already
                    if self.server.workers_free():
                        continue
                    self.state = "idle"
                    self.server.requeue(self)  # others wait for a thread: this one goes to the back
                    return
                self.state = "idle"
                # a client asking again at once (most do) is served by this thread, without two hand-offs;
                # one that does not, or any other connection waiting for a thread, sends it back to wait
                if self.server.workers_free() and readable([self.sock], LINGER_SECONDS):
                    continue
                self.server.hand_back(self)
                return
        except OSError as e:  # a client that timed out, reset or went away: its own business
            log.debug("connection from %s ended: %r", self.client_ip, e)
        except Exception:
            log.error("fake-leaf's server failed on a connection from %s", self.client_ip, exc_info=True)
        self.close()

    def hang_up(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hang_up_unless_answering(self) -> bool:
        """The server stops: end this connection at once, unless its answer is being made or sent (False)."""
        with self._state_lock:
            if self.state in ("app", "writing"):
                return False
            self._hung_up = True
        self.hang_up()
        return True

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, drain: bool = True) -> None:
        """Close the socket; ``drain`` (a worker's close, after an answer) first reads what the client still sends."""
        if self._closed:
            return
        self._closed = True
        if drain and (self._unread or self._input.buffered() or readable([self.sock])):
            _drain(self.sock)  # what the client still sends is read and dropped: closing would reset the answer
        try:
            self.sock.close()
        except OSError:
            pass
        self.server.ended(self)

    def _one_request(self) -> None:
        self._input.deadline = time.monotonic() + self.server.request_timeout
        received_before, buffered_before = self._input.received, self._input.buffered()
        self.state = "reading"
        if self.server.closing.is_set():  # checked after the state: stop() either sees it or is seen here
            self._close = True
            return
        self._method, self._target, self._requestline, self._version = "", "", "", "HTTP/1.1"
        self._origin_target = "/"
        self._continue = False
        self._unread_size: int | None = None  # a chunked body too large to read: its size so far
        try:
            try:
                headers = self._read_head()
                if headers is None:  # the client closed without a request: hang up
                    self._close = True
                    return
                body, in_sync, refusal = self._read_body(headers)
            except _RefusedError as r:
                self._close = self._unread = True
                self._send(problems.problem(r.status, r.detail, self._path_only()))
                return
        except TimeoutError:
            self._close = True
            if self._input.received > received_before or buffered_before:  # a request began, not whole in time
                log.debug("%s: request not whole after %s s", self.client_ip, self.server.request_timeout)
                self._unread = True
                self._send(problems.request_timeout(self.server.request_timeout, self._path_only()))
            return
        with self._state_lock:  # against stop(): a request hung up on is never run
            if self._hung_up:
                self._close = True
                return
            self.state = "app"
        if self.server.closing.is_set():  # a stopped server answers what it has read, then closes
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
            line = self._input.readline(MAX_LINE + 1)
            if not line:
                return None
        if len(line) > MAX_LINE:
            raise _RefusedError(414, "Request-URI Too Long")
        self._parse_request_line(line.decode("iso-8859-1").rstrip("\r\n"))
        headers: list[tuple[str, str]] = []
        size = 0
        while True:
            line = self._input.readline(MAX_LINE + 1)
            size += len(line)
            if len(line) > MAX_LINE:
                raise _RefusedError(431, f"Line too long: a header line is over {MAX_LINE} bytes")
            if size > MAX_HEAD:
                raise _RefusedError(431, f"Request Header Fields Too Large: the header lines total over {MAX_HEAD} "
                                         "bytes")
            if line in (b"\r\n", b"\n"):
                self._check_host(headers)
                return headers
            if not line:  # the client closed its side: it may still read why nothing more can happen
                raise _RefusedError(400, "The request's head ended before the blank line that ends it "
                                         "(the client closed its side of the connection mid-request)")
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and headers:  # an obsolete folded line continues the last field
                name, value = headers[-1]
                value = f"{value} {text.strip(_BLANKS)}"
            else:
                name, colon, value = text.partition(":")
                if not colon or not _TOKEN.fullmatch(name):
                    raise _RefusedError(400, f"Bad header line ({shorten(text, 200)!r}): a field is 'Name: value', "
                                             "its name a token (letters, digits and !#$%&'*+-.^_`|~)")
                value = value.strip(_BLANKS)
                headers.append((name, value))
            if _CONTROL.search(value):
                raise _RefusedError(400, f"Bad header value: the field {shorten(name)!r} holds a control character "
                                         "(RFC 9110 5.5)")
            headers[-1] = (name, value)
            if len(headers) > MAX_HEADERS:
                raise _RefusedError(431, f"Too many headers: more than {MAX_HEADERS}")

    def _parse_request_line(self, line: str) -> None:
        self._requestline = line
        words = _SEPARATORS.split(line.strip(_SEPARATOR_CHARS))
        if len(words) != 3:
            raise _RefusedError(400, f"Bad request syntax ({shorten(line, 200)!r})")
        method, target, version = words
        if not _TOKEN.fullmatch(method):
            raise _RefusedError(400, f"Bad request method ({shorten(method)!r}): a method is a token (letters, "
                                     "digits and !#$%&'*+-.^_`|~)")
        self._method = method
        if _CONTROL.search(target):
            raise _RefusedError(400, f"Bad request target ({shorten(target, 200)!r}): it holds a control character")
        self._target = target
        if "://" in target:  # absolute form: http://host/path?query
            try:
                parts = urlsplit(target)
            except ValueError as e:
                raise _RefusedError(400, f"Bad request target ({shorten(target, 200)!r}): {e}") from None
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not target.isascii():  # raw bytes beyond ASCII: percent-encoded, as clients send them (UTF-8)
            target = "".join(c if c.isascii() else f"%{ord(c):02X}" for c in target)
        self._origin_target = target
        number = _VERSION.fullmatch(version)
        if number is None:
            raise _RefusedError(400, f"Bad request version ({shorten(version)!r}): it reads HTTP/1.1 or HTTP/1.0")
        major, minor = int(number[1]), int(number[2])
        if not (1, 0) <= (major, minor) < (2, 0):
            raise _RefusedError(505, f"Invalid HTTP version ({major}.{minor}): fake-leaf speaks HTTP/1.1 and 1.0")
        self._version = "HTTP/1.0" if minor == 0 else "HTTP/1.1"
        self._close = minor == 0  # HTTP/1.0 closes unless asked to keep alive

    def _check_host(self, headers: list[tuple[str, str]]) -> None:
        hosts = sum(1 for name, _ in headers if name.lower() == "host")
        if hosts > 1 or (hosts == 0 and self._version == "HTTP/1.1"):
            raise _RefusedError(400, f"An HTTP/1.1 request carries exactly one Host header; this one has {hosts} "
                                     "(RFC 9112 3.2)")

    def _read_body(self, headers: list[tuple[str, str]]) -> tuple[bytes, bool, HttpResponse | None]:
        """The body as the headers delimit it, whether the connection can carry another request, and a refusal."""
        lengths: list[str] = []
        encodings: list[str] = []
        connection: set[str] = set()
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                lengths.append(value)
            elif lowered == "transfer-encoding":
                encodings.append(value)
            elif lowered == "connection":
                connection |= {token.strip().lower() for token in value.split(",")}
            elif lowered == "expect" and value.lower() == "100-continue":
                self._continue = True
        if "close" in connection:  # in any of its fields (RFC 9112 9.6)
            self._close = True
        elif "keep-alive" in connection:
            self._close = False
        transfer_encoding = ", ".join(encodings) if encodings else None
        if transfer_encoding is not None and self._version == "HTTP/1.0":
            raise _RefusedError(400, "An HTTP/1.0 request cannot be sent with a Transfer-Encoding: its framing "
                                     "cannot be trusted (RFC 9112 6.1); send a Content-Length")
        if lengths and not all(lengths):  # empty: WSGI could not tell it from none, so refused here
            return b"", False, problems.bad_content_length(", ".join(lengths), self._path_only())
        framed = framing(", ".join(lengths) if lengths else None, transfer_encoding)
        if framed.refusal(self._path_only()) is not None or framed.too_large:
            return b"", False, None  # the app refuses it unread, as on every transport; then the connection closes
        if framed.chunked:
            self._say_continue()
            body, in_sync, refusal = self._read_chunked()
            return body, in_sync and not framed.also_length, refusal  # a length beside chunked: close after
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
                chunk = self._input.read1(left)
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
                line = self._input.readline(1024)
                size_text = line.split(b";", 1)[0].strip()
                if not line.endswith(b"\n") or not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                    why = "it ended before its last (zero-size) chunk" if not line else f"bad chunk size line {line!r}"
                    return b"", False, problems.bad_chunked_body(why, path)
                size = int(size_text, 16)
                if size == 0:
                    while self._input.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields: not used
                    return bytes(body), True, None
                if len(body) + size > MAX_BODY:  # left unread, whatever of it ever arrives: the app says 413
                    self._unread_size = len(body) + size
                    return b"", False, None
                chunk = self._read_up_to(size)
                if len(chunk) < size or self._input.readline(3).strip():
                    return b"", False, problems.bad_chunked_body("a chunk is shorter than its size says", path)
                body += chunk
        except (TimeoutError, ConnectionError):
            return b"", False, problems.bad_chunked_body(
                f"it did not arrive whole within {self.server.request_timeout:g} s", path)

    def _path_only(self) -> str:
        return self._origin_target.split("?", 1)[0] or "/"

    def _environ(self, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
        target = self._origin_target
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
            "fake_leaf.stop_signal": self.server.stop_signal,
            **({"fake_leaf.body_size": self._unread_size} if self._unread_size is not None else {}),
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
        head_only = self._method == "HEAD" or code in (204, 304)
        # a HEAD answer's length is the GET's, which the app states when it knows it; never the empty body's
        if not head_only and code >= 200 and not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        if head_only:
            body = b""
        if self.server.closing.is_set():  # a stopped server answers what it has read, then hangs up
            self._close = True
        if self._close:
            connection = "Connection: close\r\n\r\n"
        else:  # an HTTP/1.0 client keeps the connection only when the answer says so (RFC 9112 9.3)
            connection = "Connection: keep-alive\r\n\r\n" if self._version == "HTTP/1.0" else "\r\n"
        head = "".join([f"HTTP/1.1 {status}\r\n", *(f"{k}: {v}\r\n" for k, v in headers), _SERVER_HEADER,
                        f"Date: {_date}\r\n", connection])
        self.state = "writing"
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
