"""A server for bench_load, in its own process: ``python -m bench._load_server fake|bare``.

Prints one line, ``URL PATH TOKEN``, then serves until killed. ``fake`` is fake-leaf with one user
and its John Deere credentials; ``bare`` is a WSGI app answering the same JSON on the same server class.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import requests

from fake_leaf import FakeLeaf
from fake_leaf.adapters._server import LeafServer


def _bare_app(body: bytes) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return app


def main(kind: str) -> None:
    leaf = FakeLeaf()
    user = leaf.create_user()
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    path = f"/services/usermanagement/api/users/{user.id}/john-deere-credentials"
    server = leaf.server(port=0)
    if kind == "bare":
        with server:
            body = requests.get(server.url + path, headers=leaf.headers).content
        server = LeafServer(_bare_app(body))
    print(server.url, path, leaf.token, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
