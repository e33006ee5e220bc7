"""Issue 6's benchmark: loopback throughput of GET credentials vs a bare app on the same server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import requests

from bench._harness import Result, interleave
from fake_leaf import FakeLeaf
from fake_leaf.adapters._server import LeafServer

REQUESTS_PER_ROUND = 200


def _bare_app(body: bytes) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return app


def throughput_vs_bare_app(rounds: int) -> Result:
    leaf = FakeLeaf()
    user = leaf.create_user()
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    path = f"/services/usermanagement/api/users/{user.id}/john-deere-credentials"
    with leaf.server() as fake_server:
        body = requests.get(fake_server.url + path, headers=leaf.headers).content
        with LeafServer(_bare_app(body)) as bare_server:
            session = requests.Session()
            session.headers.update(leaf.headers)

            def run(url: str) -> None:
                for _ in range(REQUESTS_PER_ROUND):
                    assert session.get(url).status_code == 200

            # time ratio fake / bare; throughput at least 0.7x means a ratio of at most 1 / 0.7
            return interleave("loopback GET credentials: time fake / bare app (1/0.7 = 1.43)",
                              lambda: run(fake_server.url + path), lambda: run(bare_server.url + path),
                              rounds=rounds, limit=1 / 0.7)


def main(rounds: int) -> bool:
    result = throughput_vs_bare_app(rounds)
    print(result.line())
    return result.ok
