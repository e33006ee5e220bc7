"""fake-leaf's HTTP server (``fake-leaf serve``, ``leaf.server()``, ``leaf_server``): waitress serving the WSGI app.

waitress reads every connection in one asynchronous loop and hands a request to a worker thread
only once it has arrived whole, so a slow or silent client holds a socket, never a thread
(bench/README.md compares it with cheroot and with the server fake-leaf used to write itself).
What is fake-leaf's own here: the deadlines, read from a clock freezegun and time-machine cannot
move (``fake_leaf._realtime``); a connection a fault drops without an answer; a stop that lets the
answers in the making go out; and a log that never writes to stderr on the request path.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError, TransferEncodingNotImplemented
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.utilities import RequestEntityTooLarge

from fake_leaf._realtime import monotonic

# what the WSGI app finds in the environ: declared where it reads them
from fake_leaf.adapters._wsgi import AFTER_ANSWER_KEY, BASE_URL_KEY, BODY_SIZE_KEY, DROP_KEY, STOPPING_KEY
from fake_leaf.http import HttpResponse
from fake_leaf.http import _problems as problems
from fake_leaf.http._app import MAX_BODY
from fake_leaf.http._context import USER_MANAGEMENT
from fake_leaf.http._framing import framing

WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

BACKLOG = 1024  # connections the kernel queues while the loop is busy (capped by net.core.somaxconn)
REQUEST_TIMEOUT = 10.0  # seconds for a whole request from its first byte (408), and for an idle connection
MAX_CONNECTIONS = 64  # requests served at once (worker threads); more wait their turn
MAX_OPEN_CONNECTIONS = 2048  # connections open at once; more wait in the backlog
STOP_GRACE_SECONDS = 2.0  # after stop(), how long an answer in the making or being sent has to finish
_FIRST_WORKERS = 2  # worker threads started with the server; more start as requests wait, up to max_connections
_LOOP_SECONDS = 0.5  # the loop wakes at least this often (a stop or a worker's answer wakes it at once)
_SWEEP_SECONDS = 0.25  # how often connections are checked against their deadlines

log = logging.getLogger("fake_leaf.server")
log.addHandler(logging.NullHandler())  # never logging's last-resort stderr writer: quiet means quiet
logging.getLogger("waitress").addHandler(logging.NullHandler())  # its queue-depth warnings: not on stderr either



def _origin_target(uri: str) -> str:
    """The request target as the app reads it: origin form, raw bytes beyond ASCII percent-encoded (UTF-8)."""
    if "://" in uri:  # absolute form: http://host/path?query
        try:
            parts = urlsplit(uri)
        except ValueError:
            return uri
        uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not uri.isascii():  # waitress hands the bytes over as latin-1 text
        uri = "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode("latin-1")) for c in uri)
    return uri


def _dated(server: Any, response: HttpResponse) -> HttpResponse:
    """A refusal of the server's own, with the Date of the fake's clock, as the app's answers have it."""
    http_date = getattr(server.application, "http_date", None)  # fake-leaf's WSGI app (any other: none)
    if http_date is not None:
        response.headers.setdefault("Date", http_date())
    return response


def _answer_now(channel: HTTPChannel, response: HttpResponse) -> None:
    """From the loop's thread, to a connection no worker serves: an answer, then the connection closes."""
    response = _dated(channel.server, response)
    head = [f"HTTP/1.1 {response.status} {problems.reason_phrase(response.status)}",
            *(f"{k}: {v}" for k, v in response.headers.items()), f"Content-Length: {len(response.body)}",
            "Connection: close", "Server: fake-leaf"]
    payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + response.body
    with channel.outbuf_lock:
        channel.outbufs[-1].append(payload)
        channel.current_outbuf_count += len(payload)
        channel.total_outbufs_len += len(payload)
    channel.request = None
    channel.close_when_flushed = True


class _Parser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's parser; a request framed both by a length and chunked closes its connection (RFC 9112 6.3).

    A Transfer-Encoding is judged as every transport judges it (``framing``): waitress alone would run a body
    chunked twice over, and answer 501 where chunked is not the last coding (RFC 9112 6.3: 400).
    """

    fl_close = False
    fl_refusal: HttpResponse | None = None  # the fake's own answer to a Transfer-Encoding it refuses

    def parse_header(self, header_plus: bytes) -> None:
        lowered = header_plus.lower()
        coded = b"\ntransfer-encoding:" in lowered
        self.fl_close = coded and b"\ncontent-length:" in lowered
        try:
            super().parse_header(header_plus)
        except TransferEncodingNotImplemented:
            if not coded:
                raise
        if coded:
            path = (getattr(self, "path", "") or "/").split("?", 1)[0]
            self.fl_refusal = framing(None, _transfer_encoding(header_plus)).refusal(path)
            if self.fl_refusal is not None:
                raise ParsingError("the Transfer-Encoding leaves the body's end unknown")  # answered by _ErrorTask


def _transfer_encoding(header_plus: bytes) -> str:
    """The Transfer-Encoding lines' values, joined as waitress joins a repeated header's."""
    return ", ".join(line.split(b":", 1)[1].strip(b" \t").decode("latin-1") for line in header_plus.split(b"\r\n")[1:]
                     if line[:18].lower() == b"transfer-encoding:")


class _ErrorTask(ErrorTask):  # type: ignore[misc]
    """A request waitress cannot read: its refusal as a problem body (status and reason are waitress's, or the
    fake's own for a Transfer-Encoding it refuses, as in-process)."""

    def execute(self) -> None:
        error = self.request.error
        path = (getattr(self.request, "path", "") or "/").split("?", 1)[0]
        response = _dated(self.channel.server, getattr(self.request, "fl_refusal", None) or problems.problem(
            error.code, f"{error.reason}: {error.body}", path))
        self.status = f"{response.status} {problems.reason_phrase(response.status)}"
        self.response_headers.extend(response.headers.items())
        self.set_close_on_finish()
        self.content_length = len(response.body)
        self.write(response.body)


class _Task(WSGITask):  # type: ignore[misc]
    """One request: waitress's WSGI task, with the keys fake-leaf's app reads and a drop without an answer."""

    dropped = False
    fl_after: list[Callable[[], None]] | None = None

    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        server: _Server = self.channel.server
        environ["RAW_URI"] = _origin_target(environ.get("REQUEST_URI", "/"))
        if getattr(self.request, "fl_close", False):  # what follows such a request is never run
            self.set_close_on_finish()
        if isinstance(self.request.error, RequestEntityTooLarge):  # unread: the app answers 413, as in-process
            environ[BODY_SIZE_KEY] = max(self.request.content_length, self.request.body_bytes_received, MAX_BODY + 1)
            self.set_close_on_finish()
        environ[BASE_URL_KEY] = server.fl_url
        environ[STOPPING_KEY] = server.fl_stopping
        environ[DROP_KEY] = self._drop
        self.fl_after = environ[AFTER_ANSWER_KEY] = []
        environ["wsgi.errors"] = _LogStream()
        return environ

    def _drop(self) -> None:
        self.dropped = True

    def write(self, data: bytes) -> None:
        if not self.dropped:
            super().write(data)

    def finish(self) -> None:
        if self.dropped:  # nothing was written: the connection closes unanswered
            self.close_on_finish = True
            return
        super().finish()

    def service(self) -> None:
        try:
            super().service()
        finally:
            server: _Server = self.channel.server
            if not server.fl_quiet and not self.dropped:
                line = bytes(getattr(self.request, "first_line", b"")).decode("latin-1", "replace")
                log.info('%s "%s" %s %s', self.channel.addr[0], line, self.status.split(" ", 1)[0],
                         self.content_bytes_written or "-")
        if self.fl_after:
            self._send_now()  # the answer goes out before anything it made due
            for job in self.fl_after:
                try:
                    job()
                except Exception:
                    log.error("fake-leaf failed after an answer", exc_info=True)

    def _send_now(self) -> None:
        channel = self.channel
        with channel.outbuf_lock:  # what the loop's thread holds while it writes
            try:
                channel._flush_some()
            except OSError:
                pass


def _error_task(channel: HTTPChannel, request: Any) -> ErrorTask | WSGITask:
    """A body too large reaches the app unread (it answers 413 and journals it); other refusals are waitress's."""
    if isinstance(request.error, RequestEntityTooLarge):
        return _Task(channel, request)
    return _ErrorTask(channel, request)


class _Channel(HTTPChannel):  # type: ignore[misc]
    """One connection: waitress's, with its activity timed on the real clock."""

    task_class = _Task
    error_task_class = staticmethod(_error_task)
    parser_class = _Parser

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.fl_activity = monotonic()
        self.fl_request_started: float | None = None
        self.fl_answering = False
        super().__init__(*args, **kwargs)

    def received(self, data: bytes) -> bool:
        now = monotonic()
        self.fl_activity = now
        if self.request is None and data and self.fl_request_started is None:
            self.fl_request_started = now
        result: bool = super().received(data)
        if self.request is None:  # every request begun has arrived whole
            self.fl_request_started = None
        return result

    def recv(self, buffer_size: int) -> bytes:
        if self.request is None or self.requests:
            return bytes(super().recv(buffer_size))
        try:  # mid-request: an end of input is answered, not just closed
            data = self.socket.recv(buffer_size)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            self.handle_close()
            return b""
        if not data:  # the client closed its side: it may still read why nothing will happen
            path = (getattr(self.request, "path", "") or "/").split("?", 1)[0]
            _answer_now(self, problems.problem(400, "The request ended before all of it arrived: the client closed "
                                                    "its side of the connection mid-request", path))
            self.fl_answering = True
        return bytes(data)

    def handle_read(self) -> None:
        super().handle_read()
        if self.fl_answering:
            self.connected = True  # to write the answer; closed once it is out

    def _flush_some(self, do_close: bool = True) -> bool:
        sent: bool = super()._flush_some(do_close=do_close)
        if sent:
            self.fl_activity = monotonic()
        return sent


class _Workers(ThreadedTaskDispatcher):  # type: ignore[misc]
    """waitress's worker threads, started as requests need them (up to ``limit``) rather than all at once:
    a test server that answers a few requests starts a few threads."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.fl_limit = limit

    def add_task(self, task: Any) -> None:
        with self.lock:
            running = len(self.threads) - self.stop_count
            idle = running - self.active_count
            grow = idle <= len(self.queue) and 0 < running < self.fl_limit
        if grow:
            self.set_thread_count(running + 1)
        super().add_task(task)


class _Server(TcpWSGIServer):  # type: ignore[misc]
    """waitress's TCP server, its deadlines on the real clock, and a loop that stops when told."""

    channel_class = _Channel

    def __init__(self, app: WsgiCallable, *, host: str, port: int, request_timeout: float,
                 max_connections: int) -> None:
        self.fl_request_timeout = request_timeout
        self.fl_stopping = threading.Event()
        self.fl_serving = False
        self.fl_done = threading.Event()
        self.fl_url = ""
        self.fl_quiet = True
        self.fl_next_sweep = 0.0
        workers = _Workers(max_connections)
        workers.set_thread_count(min(_FIRST_WORKERS, max_connections))
        super().__init__(app, host=host, port=port, threads=max_connections, backlog=BACKLOG, dispatcher=workers,
                         connection_limit=MAX_OPEN_CONNECTIONS, asyncore_use_poll=True, ident="fake-leaf",
                         max_request_body_size=MAX_BODY + 1, clear_untrusted_proxy_headers=False,
                         expose_tracebacks=False, bind_socket=False, _start=False)

    def bind_and_listen(self) -> None:
        try:
            self.bind_server_socket()
            self.effective_host, self.effective_port = self.getsockname()
            self.accept_connections()
        except OSError:
            self.fl_close_everything()
            raise

    def maintenance(self, now: float) -> None:
        """waitress's own sweep reads ``time.time()``, which freezegun moves: the sweep below replaces it."""

    def readable(self) -> bool:
        now = monotonic()
        if now >= self.fl_next_sweep:
            self.fl_next_sweep = now + _SWEEP_SECONDS
            self._sweep(now)
        return bool(super().readable())

    def _sweep(self, now: float) -> None:
        """Close the connections past their deadline: a request not whole in time, or idle too long."""
        timeout = self.fl_request_timeout
        for channel in list(self.active_channels.values()):
            if channel.requests or channel.will_close:
                continue  # being served, or closing already
            started = channel.fl_request_started
            if started is not None and now - started > timeout and channel.request is not None:
                log.debug("%s: request not whole after %s s", channel.addr[0], timeout)
                path = (getattr(channel.request, "path", "") or "/").split("?", 1)[0]
                _answer_now(channel, problems.request_timeout(timeout, path))
            elif now - channel.fl_activity > timeout and not channel.total_outbufs_len:
                channel.will_close = True  # nothing asked within the deadline: closed unanswered

    def serve_until_stopped(self) -> None:
        _loop_thread.server = self
        try:
            while not self.fl_stopping.is_set():
                try:
                    wasyncore.loop(timeout=_LOOP_SECONDS, map=self._map, use_poll=True, count=1)
                except Exception:  # a bug: logged, and the loop goes on serving everyone else
                    log.error("fake-leaf's server loop failed; it goes on", exc_info=True)
            self._shut_down()
        finally:
            self.fl_done.set()

    def _shut_down(self) -> None:
        """In the loop's thread: stop listening, drop what no worker has, give answers in the making the grace."""
        deadline = monotonic() + STOP_GRACE_SECONDS
        if getattr(self, "accepting", False):  # (waitress's attribute: listening)
            self.accepting = False
            wasyncore.dispatcher.close(self)  # the listening socket
        dispatcher = self.task_dispatcher
        dispatcher.set_thread_count(0)  # each worker ends once its request is answered
        with dispatcher.lock:  # connections queued for a worker: never served, closed below
            queued, dispatcher.queue = list(dispatcher.queue), type(dispatcher.queue)()
        for channel in queued:
            channel.cancel()
        while True:
            busy = False
            for channel in list(self.active_channels.values()):
                if channel.requests or channel.total_outbufs_len:
                    busy = True  # an answer in the making or being sent: it goes out, then the connection closes
                else:
                    channel.handle_close()  # reading a request, or idle: ended at once
            if not busy or monotonic() >= deadline:
                break
            try:
                wasyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)
            except Exception:
                log.error("fake-leaf's server loop failed while stopping", exc_info=True)
        self.fl_close_everything()

    def fl_close_everything(self) -> None:
        for channel in list(self.active_channels.values()):
            channel.handle_close()
        try:
            self.trigger.close()
        except OSError:
            pass
        try:
            wasyncore.dispatcher.close(self)
        except OSError:
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


def _serving_here(server: _Server) -> bool:
    """Whether this thread runs the server's loop (a signal handler in the thread that called serve_forever())."""
    return server.fl_serving and getattr(_loop_thread, "server", None) is server


_loop_thread = threading.local()


class LeafServer:
    """Serves a WSGI app on ``host:port`` (0: a free port) in a background thread.

    ``request_timeout``: seconds a client has to send a whole request once it has begun (and an idle
    keep-alive connection is closed after it). ``max_connections``: requests served at once; more
    wait their turn (a connection that is sending, or waiting between requests, holds no thread).
    ``quiet``: no log line per request on stderr.
    """

    def __init__(self, app: WsgiCallable, host: str = "127.0.0.1", port: int = 0, quiet: bool = True, *,
                 request_timeout: float = REQUEST_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> None:
        if not (request_timeout > 0 and math.isfinite(request_timeout)):
            raise ValueError(f"request_timeout must be a positive number of seconds, got {request_timeout}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be 1 or more, got {max_connections}")
        try:
            self._server = _Server(app, host=host, port=port, request_timeout=request_timeout,
                                   max_connections=max_connections)
            self._server.bind_and_listen()
        except (OSError, ValueError) as e:
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise RuntimeError(f"fake-leaf cannot listen on {host}:{port}: {why} (port 0 picks a free port)") from e
        address = self._server.socket.getsockname()
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        self._server.fl_url = self.url
        self._server.fl_quiet = quiet
        self._log_handler: _BoundedStderr | None = None
        self._set_level = False
        if not quiet:
            self._log_handler = _BoundedStderr()
            log.addHandler(self._log_handler)
            if log.level == logging.NOTSET:  # the access lines are INFO: let them through, unless told otherwise
                log.setLevel(logging.INFO)
                self._set_level = True
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._running = threading.Lock()  # start() and stop() from several threads at once take turns

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def user_management_url(self) -> str:
        return f"{self.url}{USER_MANAGEMENT}"

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop()`` is called from another (or a signal handler calls it)."""
        with self._running:
            if self._stopped or self._server.fl_serving:
                raise RuntimeError(f"fake-leaf's server at {self.url} is stopped or serving already")
            self._server.fl_serving = True
        self._server.serve_until_stopped()

    def start(self, timeout: float = 5.0) -> LeafServer:
        """Serve in a thread; return once it accepts connections, or raise saying why not."""
        with self._running:
            if self._stopped:
                raise RuntimeError(f"fake-leaf's server at {self.url} was stopped and cannot start again; "
                                   "make a new one (leaf.server())")
            if self._thread is not None:
                return self  # started already
            self._server.fl_serving = True
            self._thread = threading.Thread(target=self._server.serve_until_stopped, name=f"fake-leaf {self.url}",
                                            daemon=True)
            self._thread.start()
        deadline = monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError as e:
                if monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"fake-leaf's server at {self.url} did not start within {timeout} s: {e}") from e
                threading.Event().wait(0.01)

    def stop(self) -> None:
        """Stop accepting, end idle and reading connections at once, give answers in the making 2 s."""
        with self._running:
            if self._stopped:
                return
            self._stopped = True
            self._server.fl_stopping.set()
            if self._server.fl_serving:  # the loop's thread shuts down; wait for it, unless it is this one
                try:
                    self._server.pull_trigger()
                except OSError:
                    pass
                if self._thread is not threading.current_thread() and not _serving_here(self._server):
                    self._server.fl_done.wait(STOP_GRACE_SECONDS + 3)
                self._thread = None
            else:
                self._server.fl_close_everything()
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
