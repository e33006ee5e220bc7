"""A server for bench_load, in its own process: ``python -m bench._load_server KIND``.

Prints one line, ``URL PATH TOKEN``, then serves until killed. Every kind but ``bare`` serves
fake-leaf with one user and its John Deere credentials:

- ``fake``: fake-leaf's server as it ships (``LeafServer``, waitress underneath);
- ``bare``: a WSGI app answering the same JSON, on the same server;
- ``legacy``: the hand-written HTTP/1.1 server fake-leaf shipped before issue 24, taken from git
  (``LEGACY_COMMIT``) into a temporary folder, for comparison;
- ``cheroot``: cheroot's WSGI server (``pip install cheroot``), 64 threads like the others.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests

from fake_leaf import FakeLeaf
from fake_leaf.adapters._server import LeafServer

LEGACY_COMMIT = "28d52f3"  # the last commit with fake_leaf/adapters/_http11.py, _server.py and _waiting.py
ROOT = Path(__file__).resolve().parent.parent


def _bare_app(body: bytes) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return app


def _legacy_server_class() -> Any:
    """Today's server before issue 24, from git, importable as ``_legacy_fl._server``."""
    folder = Path(tempfile.mkdtemp(prefix="fake-leaf-legacy-")) / "_legacy_fl"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for name in ("_server", "_http11", "_waiting"):
        text = subprocess.run(["git", "show", f"{LEGACY_COMMIT}:fake_leaf/adapters/{name}.py"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
        for module in ("_http11", "_waiting"):
            text = text.replace(f"fake_leaf.adapters.{module}", f"_legacy_fl.{module}")
        (folder / f"{name}.py").write_text(text)
    sys.path.insert(0, str(folder.parent))
    from _legacy_fl._server import LeafServer as Legacy  # type: ignore[import-not-found]

    return Legacy


def main(kind: str) -> None:
    leaf = FakeLeaf()
    user = leaf.create_user()
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    path = f"/services/usermanagement/api/users/{user.id}/john-deere-credentials"
    app = leaf.wsgi_app()
    if kind == "bare":
        with leaf.server() as server:
            body = requests.get(server.url + path, headers=leaf.headers).content
        app = _bare_app(body)  # type: ignore[assignment]
    if kind == "cheroot":
        from cheroot import wsgi

        server = wsgi.Server(("127.0.0.1", 0), app, numthreads=64, request_queue_size=1024)
        server.prepare()
        print(f"http://127.0.0.1:{server.bind_addr[1]}", path, leaf.token, flush=True)
        server.serve()
        return
    served = _legacy_server_class()(app) if kind == "legacy" else LeafServer(app)
    print(served.url, path, leaf.token, flush=True)
    served.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
