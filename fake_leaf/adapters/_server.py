"""An HTTP/1.1 server for a WSGI app: ``fake-leaf serve`` and the in-process test server.

It holds under load and against bad clients. One thread accepts connections and watches those kept
alive between requests, so a waiting connection holds no thread; a bounded pool of workers serves
the ones with a request (each request read, answered and framed by ``_http11.Connection``). A deep
listen backlog and a bound on open connections; one deadline for a whole request (headers and
body); nothing written to stderr on the request path: it logs through ``logging``
("fake_leaf.server"), and when not quiet a bounded queue feeds stderr.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import selectors
import socket
import threading
import time
from types import TracebackType
from typing import Any

from fake_leaf.adapters._http11 import Connection, WsgiCallable, log
from fake_leaf.adapters._waiting import readable
from fake_leaf.http._context import USER_MANAGEMENT

BACKLOG = 1024  # connections the kernel queues while every slot is busy (capped by net.core.somaxconn)
REQUEST_TIMEOUT = 10.0  # seconds for a whole request, headers and body: a trickling client cannot hold a thread
MAX_CONNECTIONS = 64  # requests served at once (threads); more wait for a thread
MAX_OPEN_CONNECTIONS = 512  # connections open at once, most of them idle between requests; more wait in the backlog
IDLE_WORKER_SECONDS = 30.0  # a pooled thread with no connection to serve for this long ends
_SWEEP_SECONDS = 0.1  # how often parked connections are checked for their idle deadline
STOP_GRACE_SECONDS = 2.0  # after stop(), how long an answer in the making or being sent has to finish


def _hang_up_later(connections: list[Connection], seconds: float) -> None:
    """After ``seconds``, cut the connections whose answer is still not out; done sooner if all are closed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(c.closed for c in connections):
            return
        time.sleep(0.02)
    for connection in connections:
        connection.hang_up()


class _Workers:
    """At most ``size`` threads serve the connections that have a request; the rest wait their turn.

    Threads start when needed and are reused: a request costs a queue hand-off, not a thread start.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._jobs: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._waiting = 0  # threads ready for a job
        self._pending = 0  # connections queued and not taken yet
        self._stopped = False

    def submit(self, connection: Connection) -> None:
        with self._lock:  # decided here once: queued (stop() returns it, or a worker owns it) or refused
            refused = self._stopped
            start = False
            if not refused:
                self._jobs.put(connection)
                self._pending += 1
                start = self._pending > self._waiting and self._threads < self._size
                if start:
                    self._threads += 1
        if refused:
            connection.close(drain=False)
            return
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
                connection = self._jobs.get(timeout=IDLE_WORKER_SECONDS)
            except queue.Empty:
                connection = None
            with self._lock:
                self._waiting -= 1
                if connection is None:
                    if self._stopped or not self._pending:  # nothing queued for this thread: it ends
                        self._threads -= 1
                        return
                    continue
                self._pending -= 1
            connection.serve()

    def idle(self) -> bool:
        """No connection is waiting for a thread."""
        return not self._pending and not self._stopped

    def stop(self) -> list[Connection]:
        """No job is taken any more; the connections still queued are returned, for closing."""
        with self._lock:
            self._stopped = True
            waiting, self._pending = self._waiting, 0
            queued = []
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    queued.append(job)
        for _ in range(waiting):  # wake the threads waiting for a job; busy ones end after theirs
            self._jobs.put(None)
        return queued


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
        self._open: set[Connection] = set()
        self._lock = threading.Lock()
        self._returned: list[Connection] = []  # handed back by workers, for the loop to watch again
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)  # a full wake pipe already says "wake up": a worker never waits on it
        # readable once the server stops, and never read: an app waiting on a client (a fault holding
        # its answer back) waits on this too, so that stopping ends the wait
        self.stop_signal, self._stop_writer = socket.socketpair()
        self._closed = False
        self._stop_lock = threading.Lock()
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
                    self._resume_accepting()
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
            connection: Connection = key.data
            if connection.closed:  # closed to make room earlier in this same batch
                return
            self._selector.unregister(connection.sock)
            try:
                self._workers.submit(connection)
            except RuntimeError:  # no thread could be started: this connection ends, the rest are served
                connection.close(drain=False)

    def _parked(self) -> list[Connection]:
        return [key.data for key in self._selector.get_map().values() if key.data is not None]

    def _accept(self) -> None:
        while True:
            if len(self._open) >= MAX_OPEN_CONNECTIONS and not self._make_room():
                return
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # out of file descriptors: stop watching until some are freed
                log.debug("accept failed, accepting paused: %r", e)
                self._pause_accepting()
                return
            try:
                connection = Connection(self, sock, address)
            except BaseException:
                sock.close()
                raise
            with self._lock:
                self._open.add(connection)
            self._park(connection)

    def _make_room(self) -> bool:
        """At the open-connection limit: close the connection kept alive the longest, if a client waits.

        A connection that has not had its first request yet, or has one arriving, is never the one;
        with none to close, accepting pauses and newcomers wait in the backlog.
        """
        if not readable([self.socket]):
            return False  # nobody is waiting
        candidates = [c for c in self._parked() if c.served and not readable([c.sock])]
        if not candidates:
            self._pause_accepting()
            return False
        oldest = min(candidates, key=lambda c: c.idle_until)
        self._selector.unregister(oldest.sock)
        oldest.close(drain=False)
        return True

    def _pause_accepting(self) -> None:
        if self._accepting:
            self._selector.unregister(self.socket)
            self._accepting = False

    def _resume_accepting(self) -> None:
        """Watch for new connections again (at the next sweep, or when a connection ends)."""
        if not self._accepting and not self.closing.is_set():
            self._selector.register(self.socket, selectors.EVENT_READ)
            self._accepting = True

    def _park(self, connection: Connection) -> None:
        connection.idle_until = time.monotonic() + self.request_timeout
        self._selector.register(connection.sock, selectors.EVENT_READ, connection)

    def workers_free(self) -> bool:
        """No connection is waiting for a worker."""
        return self._workers.idle()

    def requeue(self, connection: Connection) -> None:
        """A connection with more requests read ahead goes to the back of the queue: others have their turn."""
        self._workers.submit(connection)

    def hand_back(self, connection: Connection | None) -> None:
        """A worker is done with a kept-alive connection: watch it for the next request (None: just wake)."""
        with self._lock:
            stopped = self._closed
            if connection is not None and not stopped:
                self._returned.append(connection)
        if stopped:  # after stop(): nobody will watch it
            if connection is not None:
                connection.close(drain=False)
            return
        try:
            self._wake_writer.send(b"r")
        except OSError:  # a wake is pending already
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
            self._park(connection)
        if len(self._open) < MAX_OPEN_CONNECTIONS:
            self._resume_accepting()

    def _expire(self, now: float) -> None:
        for connection in self._parked():
            if connection.idle_until <= now:  # no request within the deadline: hung up on, unanswered
                self._selector.unregister(connection.sock)
                connection.close(drain=False)

    def ended(self, connection: Connection) -> None:
        with self._lock:
            self._open.discard(connection)
            paused = not self._accepting
        if paused:  # the loop resumes accepting
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
        with self._stop_lock:  # two threads stopping at once: the second waits, then has nothing to do
            if self._closed:
                return
            self.closing.set()
            self.socket.close()
            self._stop_writer.send(b"x")
            with self._lock:
                self._closed = True  # from here, a worker's hand_back closes the connection itself
                returned, self._returned = self._returned, []
            for connection in [*self._parked(), *returned, *self._workers.stop()]:
                connection.close(drain=False)
            with self._lock:
                still_open = list(self._open)
            # reading ones end now, not at their deadline; an answer the app is making or sending is given,
            # with Connection: close, within a grace period, after which a client that does not read it is cut
            answering = [c for c in still_open if not c.hang_up_unless_answering()]
            if answering:
                threading.Thread(target=_hang_up_later, args=(answering, STOP_GRACE_SECONDS),
                                 name="fake-leaf stop", daemon=True).start()
            self._selector.close()
            self._wake_reader.close()
            self._wake_writer.close()
        self._release_stop_signal()

    def _release_stop_signal(self) -> None:
        """Close the stop signal once stopped and no connection can be waiting on it."""
        with self._lock:
            if not self._closed or self._open or self.stop_signal.fileno() < 0:
                return
            self.stop_signal.close()
            self._stop_writer.close()


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
        self._running = threading.Lock()  # start() and stop() from several threads at once take turns

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
        with self._running:
            if self._server.closing.is_set():
                raise RuntimeError(f"fake-leaf's server at {self.url} was stopped and cannot start again; "
                                   "make a new one (leaf.server())")
            if self._thread is not None:
                return self  # started already
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
        with self._running:
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
