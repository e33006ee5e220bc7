"""An HTTP/1.1 server for a WSGI app: ``fake-leaf serve`` and the in-process test server.

It holds under load and against bad clients. One thread accepts connections and watches those kept
alive between requests, so a waiting connection holds no thread; a bounded pool of workers serves
the ones with a request. A deep listen backlog and a bound on open connections; one deadline for a
whole request (headers and body); bodies read whole before the app runs; strict HTTP/1.1 framing, so
no request can hide in another's body; nothing written to stderr on the request path: it logs through
``logging`` ("fake_leaf.server"), and when not quiet a bounded queue feeds stderr.

It is lean on purpose, because under load the server's own cost per request is what every client
waits for: a request's head is parsed here in a few string operations (``http.server`` spends most
of a small request in the ``email`` package), threads are reused, and an answer leaves in one
``sendall``.
"""

from __future__ import annotations

import email.utils
import io
import logging
import math
import os
import queue
import re
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from fake_leaf.engine._text import shorten
from fake_leaf.http import HttpResponse
from fake_leaf.http import _problems as problems
from fake_leaf.http._app import MAX_BODY
from fake_leaf.http._context import USER_MANAGEMENT
from fake_leaf.http._framing import framing

WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

BACKLOG = 1024  # connections the kernel queues while every slot is busy (capped by net.core.somaxconn)
REQUEST_TIMEOUT = 10.0  # seconds for a whole request, headers and body: a trickling client cannot hold a thread
MAX_CONNECTIONS = 64  # requests served at once (threads); more wait for a thread
MAX_OPEN_CONNECTIONS = 512  # connections open at once, most of them idle between requests; more wait in the backlog
WRITE_TIMEOUT = 30.0  # seconds an answer may wait for a client that does not read it
MAX_LINE = 65536  # the longest request line or header line (http.server's limits)
MAX_HEADERS = 100
IDLE_WORKER_SECONDS = 30.0  # a pooled thread with no connection to serve for this long ends
LINGER_SECONDS = 0.002  # how long a worker waits for a kept-alive client's next request before handing it back
_SWEEP_SECONDS = 0.1  # how often parked connections are checked for their idle deadline
_DRAIN_SECONDS = 2.0  # after refusing a body unread, how long its rest is read and dropped before closing
_DRAIN_BYTES = 64 * 1024 * 1024
MAX_HEAD = 65536  # all header lines together
_SERVER_HEADER = "Server: fake-leaf\r\n"
_BLANKS = " \t"
_SEPARATOR_CHARS = " \t\v\f\r"  # what may separate a request line's words (RFC 9112 3)
_SEPARATORS = re.compile(r"[ \t\v\f\r]+")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but HTAB

log = logging.getLogger("fake_leaf.server")
log.addHandler(logging.NullHandler())  # never logging's last-resort stderr writer: quiet means quiet


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


class _Workers:
    """At most ``size`` threads serve the connections that have a request; the rest wait their turn.

    Threads start when needed and are reused: a request costs a queue hand-off, not a thread start.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._waiting = 0  # threads ready for a job
        self._pending = 0  # jobs queued and not taken yet
        self._stopped = False

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._jobs.put(job)
            self._pending += 1
            start = self._pending > self._waiting and self._threads < self._size
            if start:
                self._threads += 1
        if start:
            try:
                threading.Thread(target=self._work, name="fake-leaf connection", daemon=True).start()
            except RuntimeError:  # the process cannot start a thread: the job waits for a running one, if any
                with self._lock:
                    self._threads -= 1
                raise

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._stopped:
                    self._threads -= 1
                    return
                self._waiting += 1
            try:
                job = self._jobs.get(timeout=IDLE_WORKER_SECONDS)
            except queue.Empty:
                job = None
            with self._lock:
                self._waiting -= 1
                if job is None:
                    if self._stopped or not self._pending:  # nothing queued for this thread: it ends
                        self._threads -= 1
                        return
                    continue
                self._pending -= 1
            job()

    def idle(self) -> bool:
        """No job is waiting for a thread."""
        return not self._pending and not self._stopped

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            waiting = self._waiting
        for _ in range(waiting):  # wake the threads waiting for a job; busy ones end after theirs
            self._jobs.put(None)


class _Server:
    """The listening socket, the connections parked between requests, and the workers that serve requests.

    One thread (``serve_until_closed``) accepts connections and watches those waiting for a request;
    when one has a request to read, a worker takes it, answers, and hands it back. So a connection
    kept alive holds no thread, and at most ``max_connections`` requests are served at once.
    """

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
        self._workers = _Workers(max_connections)
        self._open: set[_Connection] = set()
        self._lock = threading.Lock()
        self._returned: list[_Connection] = []  # handed back by workers, for the loop to watch again
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)  # a full wake pipe already says "wake up": a worker never waits on it
        # readable once the server stops, and never read: an app waiting on a client (a fault holding
        # its answer back) waits on this too, so that stopping ends the wait
        self.stop_signal, self._stop_writer = socket.socketpair()
        self._closed = False
        self._accepting = True

    def serve_until_closed(self) -> None:
        """Accept, watch parked connections, hand readable ones to workers, close those idle too long."""
        self._selector.register(self.socket, selectors.EVENT_READ)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        next_sweep = time.monotonic() + _SWEEP_SECONDS
        while not self.closing.is_set():
            try:
                for key, _ in self._selector.select(_SWEEP_SECONDS):
                    self._on_ready(key)
                if (now := time.monotonic()) >= next_sweep:
                    self._expire(now)
                    next_sweep = now + _SWEEP_SECONDS
            except Exception:  # a bug: logged, and the loop goes on serving everyone else
                log.error("fake-leaf's server loop failed; it goes on", exc_info=True)
                time.sleep(0.01)

    def _on_ready(self, key: selectors.SelectorKey) -> None:
        if key.fileobj is self.socket:
            self._accept()
        elif key.fileobj is self._wake_reader:
            self._take_back()
        else:
            connection: _Connection = key.data
            self._selector.unregister(connection.sock)
            try:
                self._workers.submit(connection.serve)
            except RuntimeError:  # no thread could be started: this connection ends, the rest are served
                connection.close(drain=False)

    def _parked(self) -> list[_Connection]:
        return [key.data for key in self._selector.get_map().values() if key.data is not None]

    def _accept(self) -> None:
        while len(self._open) < MAX_OPEN_CONNECTIONS:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # out of file descriptors, or the connection vanished: keep serving the rest
                log.debug("accept failed: %r", e)
                return
            try:
                connection = _Connection(self, sock, address)
            except BaseException:
                sock.close()
                raise
            with self._lock:
                self._open.add(connection)
            self._park(connection)
        # at the limit the rest wait in the backlog; the connection idle the longest makes room, or,
        # when every one has a request, the loop stops watching for new ones until one ends
        parked = self._parked()
        if parked:
            oldest = min(parked, key=lambda c: c.idle_until)
            self._selector.unregister(oldest.sock)
            oldest.close(drain=False)
        elif self._accepting:
            self._selector.unregister(self.socket)
            self._accepting = False

    def _park(self, connection: _Connection) -> None:
        connection.idle_until = time.monotonic() + self.request_timeout
        self._selector.register(connection.sock, selectors.EVENT_READ, connection)

    def workers_free(self) -> bool:
        """No connection is waiting for a worker."""
        return self._workers.idle()

    def hand_back(self, connection: _Connection | None) -> None:
        """A worker is done with a kept-alive connection: watch it for the next request (None: just wake)."""
        with self._lock:
            if connection is not None:
                self._returned.append(connection)
        try:
            self._wake_writer.send(b"r")
        except OSError:  # closing: the connection is closed with the rest
            pass

    def _take_back(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        with self._lock:
            returned, self._returned = self._returned, []
        for connection in returned:
            if self.closing.is_set():
                connection.close(drain=False)
            else:
                self._park(connection)
        if not self._accepting and len(self._open) < MAX_OPEN_CONNECTIONS and not self.closing.is_set():
            self._selector.register(self.socket, selectors.EVENT_READ)
            self._accepting = True

    def _expire(self, now: float) -> None:
        for connection in self._parked():
            if connection.idle_until <= now:  # no request within the deadline: hung up on, unanswered
                self._selector.unregister(connection.sock)
                connection.close(drain=False)

    def ended(self, connection: _Connection) -> None:
        with self._lock:
            self._open.discard(connection)
            wake = not self._accepting
        if wake:  # the loop resumes accepting
            self.hand_back(None)
        if self._closed:
            self._release_stop_signal()

    def close(self) -> None:
        self.closing.set()
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass

    def server_close(self) -> None:
        """After the loop has ended: close the listening socket and every connection but the answers in the making."""
        if self._closed:  # stopped twice: the second time has nothing to do
            return
        self.closing.set()
        self.socket.close()
        self._stop_writer.send(b"x")
        self._closed = True
        with self._lock:
            returned, self._returned = self._returned, []
        for connection in [*self._parked(), *returned]:
            connection.close(drain=False)
        with self._lock:
            # reading ones end now, not at their deadline, and so does an answer a client does not read;
            # one the app is making is given, with Connection: close
            ending = [c for c in self._open if c.state != "app"]
        for connection in ending:
            connection.hang_up()
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()
        self._workers.stop()
        self._release_stop_signal()

    def _release_stop_signal(self) -> None:
        """Close the stop signal once stopped and no connection can be waiting on it."""
        with self._lock:
            if not self._closed or self._open or self.stop_signal.fileno() < 0:
                return
            self.stop_signal.close()
            self._stop_writer.close()


class _Connection:
    """One client connection: its requests read, handed to the app and answered, one after another."""

    def __init__(self, server: _Server, sock: socket.socket, address: Any) -> None:
        self.server = server
        self.sock = sock
        self.client_ip = str(address[0]) if isinstance(address, tuple) and address else "-"
        self.state = "idle"  # idle (parked between requests), reading, app (the app has the request), writing
        self.idle_until = math.inf
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
                if self._input.buffered():
                    continue  # pipelined: the next request is here already
                self.state = "idle"
                # a client asking again at once (most do) is served by this thread, without two hand-offs;
                # one that does not, or any other connection waiting for a thread, sends it back to wait
                if self.server.workers_free() and _readable(self.sock, LINGER_SECONDS):
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

    def close(self, drain: bool = True) -> None:
        """Close the socket; ``drain`` (a worker's close, after an answer) first reads what the client still sends."""
        if self._closed:
            return
        self._closed = True
        if drain and (self._unread or self._input.buffered() or _readable(self.sock)):
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
        self.state = "app"
        if self.server.closing.is_set():  # stop() has hung up the reading ones: this one is answered, then closed
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


def _readable(sock: socket.socket, within: float = 0.0) -> bool:
    try:
        return bool(select.select([sock], [], [], within)[0])
    except (OSError, ValueError):
        return False


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
    keep-alive connection is closed after it). ``max_connections``: requests served at once; more wait
    their turn (a connection kept alive between requests holds no thread). ``quiet``: no log line per
    request on stderr.
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
