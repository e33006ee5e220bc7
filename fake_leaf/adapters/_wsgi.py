"""The WSGI transport: the same LeafApp as the interceptor, served to any HTTP client."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from fake_leaf.http import HttpRequest, HttpResponse, LeafApp
from fake_leaf.http import _problems as problems
from fake_leaf.http._app import MAX_BODY, for_method
from fake_leaf.http._context import CONTROL
from fake_leaf.http._framing import framing

StartResponse = Callable[..., Any]
CONTROL_TOKEN_HEADER = "X-Fake-Leaf-Control-Token"
# a WSGI server may put the URL it serves at here; fake-leaf's own server does
BASE_URL_KEY = "fake_leaf.base_url"
# fake-leaf's server puts here a callable that closes the connection without an answer (a fault's)
DROP_KEY = "fake_leaf.drop_connection"
# and a threading.Event set when it stops: a fault's wait ends then
STOPPING_KEY = "fake_leaf.stopping"
# and a list of what to run once the answer has gone out (the webhook deliveries due): a client never
# waits for a delivery its request made due
AFTER_ANSWER_KEY = "fake_leaf.after_answer"
# fake-leaf's server puts here the size of a chunked body it left unread for being too large
BODY_SIZE_KEY = "fake_leaf.body_size"


class WsgiApp:
    """A WSGI application over ``app_source()`` (a callable, so a reset fake is picked up).

    ``base_url``: where absolute URLs (``Location``, ``Link``) point; by default the URL the server
    says it serves, else the fake's own base URL, never the client's ``Host`` header.
    ``control_token``: when set, every ``/_fake-leaf`` request must carry it in ``X-Fake-Leaf-Control-Token``.
    ``deliveries``: how a webhook registered through it is delivered: ``"in-process"`` (to the test's
    mocks, as for the interceptors: the app is called inside the test's process, say through
    ``httpx.WSGITransport``) or ``"http"`` (real POSTs, for an app behind a real server).
    """

    def __init__(self, app_source: Callable[[], LeafApp], *, base_url: str | None = None,
                 control_token: str | None = None, deliveries: str = "in-process") -> None:
        if deliveries not in ("in-process", "http"):
            raise ValueError(f"deliveries must be 'in-process' or 'http', got {deliveries!r}")
        self.deliveries = deliveries
        if control_token is not None and not control_token:
            raise ValueError("control_token must not be empty (None turns the check off)")
        self._app_source = app_source
        self.base_url = base_url.rstrip("/") if base_url else None
        self._control_token = control_token.encode() if control_token is not None else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw_path:
            path = raw_path.split("?", 1)[0]
        else:  # PEP 3333 decodes the path: encode it again, as the client sent it
            path = quote(_wsgi_bytes(environ.get("PATH_INFO", "")), safe="/:@!$&'()*+,;=-._~%")
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        method = environ["REQUEST_METHOD"]
        refusal = self._refuse_control(path, headers)
        # PEP 3333: an empty CONTENT_LENGTH is an absent one (fake-leaf's server refuses an empty header itself)
        framed = framing(environ.get("CONTENT_LENGTH") or None, environ.get("HTTP_TRANSFER_ENCODING"))
        refusal = refusal or framed.refusal(path)  # refused unread: a server closes such a connection
        body = b""
        # a body too large is left unread, and the router answers 413 and journals it, as in-process
        declared: int | None = environ.get(BODY_SIZE_KEY) or (framed.length if framed.too_large else None)
        if refusal is None and declared is None:
            body = _read(environ["wsgi.input"], MAX_BODY + 1 if framed.chunked else framed.length or 0)
            refusal = framed.short(len(body), path)
        if refusal is not None:
            refusal.headers.setdefault("Date", self._app_source().http_date())
            return _respond(start_response, for_method(method, refusal))
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():  # raw bytes from the client (curl sends UTF-8 as it is): encoded as a client would
            query = quote(_wsgi_bytes(query), safe="/:@!$&'()*+,;=-._~%?")
        request = HttpRequest(method, path, query, headers, body,
                              base_url=self.base_url or environ.get(BASE_URL_KEY), transport=self.deliveries,
                              declared_size=declared)
        app = self._app_source()
        after: list[Callable[[], None]] | None = environ.get(AFTER_ANSWER_KEY)
        response = app.handle(request, deliver=after is None)
        if after is not None:
            after.append(app.deliveries.run_due)
        if response.delay:  # a stopping server ends the wait: it answers, then closes
            _wait(environ, response.delay)
        if response.fault is not None:
            _drop(environ, response.hold)
            start_response("503 Service Unavailable", [])
            return []
        return _respond(start_response, response)

    def http_date(self) -> str:
        """The fake's now as an HTTP-date: what a server serving this app dates its own refusals with."""
        return self._app_source().http_date()

    def _refuse_control(self, path: str, headers: dict[str, str]) -> HttpResponse | None:
        if self._control_token is None or not (path == CONTROL or path.startswith(f"{CONTROL}/")):
            return None
        sent = next((v for k, v in headers.items() if k.lower() == CONTROL_TOKEN_HEADER.lower()), None)
        # WSGI hands headers over as latin-1 text: its bytes are the client's, UTF-8 for a non-ASCII token
        if sent is not None and hmac.compare_digest(sent.encode("latin-1", "replace"), self._control_token):
            return None
        return problems.control_token_required(sent is not None, CONTROL_TOKEN_HEADER, path)


def _wsgi_bytes(text: str) -> bytes:
    """A WSGI string's bytes: latin-1 as PEP 3333 says; UTF-8 from a server that decoded it so.

    Latin-1 bytes that are not UTF-8 come from such a server too (httpx's WSGITransport hands over 'é', where
    PEP 3333 has 'Ã©'): the client's bytes are then the text's UTF-8.
    """
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return text.encode("utf-8")
    return data


def _read(stream: Any, length: int) -> bytes:
    """Up to ``length`` bytes: fewer when the client stopped sending first."""
    chunks = []
    while length > 0:
        chunk = stream.read(length)
        if not chunk:
            break
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def _respond(start_response: StartResponse, response: HttpResponse) -> list[bytes]:
    start_response(f"{response.status} {problems.reason_phrase(response.status)}", list(response.headers.items()))
    return [response.body]


def _wait(environ: dict[str, Any], seconds: float) -> None:
    """Wait ``seconds``, or less: until the server stops (fake-leaf's says when)."""
    stopping: threading.Event | None = environ.get(STOPPING_KEY)
    if stopping is not None:
        stopping.wait(seconds)
    else:
        time.sleep(seconds)


def _drop(environ: dict[str, Any], hold: float) -> None:
    """Close the client's connection without an answer, after ``hold`` seconds (a read timeout's)."""
    if hold:
        _wait(environ, hold)
    drop = environ.get(DROP_KEY)
    if drop is not None:
        drop()
