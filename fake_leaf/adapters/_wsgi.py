"""The WSGI transport: the same LeafApp as the interceptor, served to any HTTP client."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from fake_leaf.http import HttpRequest, LeafApp
from fake_leaf.http._app import MAX_BODY

StartResponse = Callable[..., Any]
_REASONS = {0: "Dropped"}


class WsgiApp:
    """A WSGI application over ``app_source()`` (a callable, so a reset fake is picked up)."""

    def __init__(self, app_source: Callable[[], LeafApp]) -> None:
        self._app_source = app_source

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        from http import HTTPStatus

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:  # refused unread (the server closes each connection after its answer)
            start_response("413 Content Too Large" if length > MAX_BODY else "400 Bad Request",
                           [("Content-Type", "text/plain")])
            return [f"fake-leaf takes bodies of at most {MAX_BODY} bytes with a numeric Content-Length\n".encode()]
        body = environ["wsgi.input"].read(length) if length else b""
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw_path:
            path = raw_path.split("?", 1)[0]
        else:  # PEP 3333 decodes the path: encode it again, as the client sent it
            path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/:@!$&'()*+,;=-._~%")
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        request = HttpRequest(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""), headers, body,
                              base_url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}", transport="http")
        response = self._app_source().handle(request)
        if response.delay:
            time.sleep(response.delay)
        if response.fault is not None:
            _drop(environ, wait_for_client=response.fault == "read_timeout")
            start_response("503 Service Unavailable", [])
            return []
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        start_response(status, list(response.headers.items()))
        return [response.body]


def _drop(environ: dict[str, Any], wait_for_client: bool) -> None:
    """Close the client's connection without an answer (the server puts its socket in the environ)."""
    sock: socket.socket | None = environ.get("fake_leaf.socket")
    if sock is None:
        return
    if wait_for_client:  # a read timeout: answer nothing until the client gives up (at most 60 s)
        select.select([sock], [], [], 60)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
