"""``fake-leaf verify``: no difference against the fake's own server, and it catches an altered one."""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest

from fake_leaf import FakeLeaf
from fake_leaf.__main__ import main
from fake_leaf.adapters import _verify
from fake_leaf.adapters._receiver import HttpReceiver
from fake_leaf.adapters._server import LeafServer
from fake_leaf.adapters._verify import verify
from fake_leaf.adapters._wsgi import WsgiApp

OWNER, PASSWORD = "sandbox@owner.test", "sandbox-pässwort"
JOHN_DEERE = {"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:  # the webhook scenarios' URL: a local one, never the network
        yield running


def run(url: str, receiver: HttpReceiver, **options: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = verify(url, OWNER, PASSWORD, john_deere=JOHN_DEERE, webhook_url=receiver.url, out=out, **options)
    return code, out.getvalue()


def test_verify_finds_no_difference_with_fake_leaf_serve_and_leaves_nothing_behind(receiver: HttpReceiver) -> None:
    leaf = FakeLeaf(username=OWNER, password=PASSWORD)
    with leaf.server() as server:
        code, output = run(server.url, receiver)
    assert code == 0, output
    assert "0 difference(s)" in output and "DIFF" not in output
    assert leaf.list_users() == []
    assert leaf.journal(method="DELETE", path="/services/alerts/api/alerts/webhooks/{webhookId}")[0].status == 204
    assert len(leaf.journal(method="POST", path="/services/usermanagement/api/users")) == 1


def _altered(app: WsgiApp) -> Callable[..., Iterable[bytes]]:
    """A Leaf that drifted: ``externalId`` is spelt ``external_id``, and deleting a webhook answers 200."""
    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]]) -> None:
            captured["status"], captured["headers"] = status, headers
        body = b"".join(app(environ, capture))
        status = captured["status"]
        if environ["REQUEST_METHOD"] == "DELETE" and "/webhooks/" in environ["PATH_INFO"] and status.startswith("204"):
            status = "200 OK"
        body = body.replace(b'"externalId"', b'"external_id"')
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]
    return middleware


def test_verify_catches_a_renamed_field_and_a_changed_status(receiver: HttpReceiver) -> None:
    leaf = FakeLeaf(username=OWNER, password=PASSWORD)
    with LeafServer(cast(WsgiApp, _altered(leaf.wsgi_app()))) as server:
        code, output = run(server.url, receiver)
    assert code == 1
    assert "body.external_id: Leaf has it (a string), fake-leaf does not" in output
    assert "body.externalId: fake-leaf has it (a string), Leaf does not" in output
    assert "DELETE /services/alerts/api/alerts/webhooks/{hook} (delete the webhook)\n" \
           "          - status: Leaf answered 200, fake-leaf 204" in output
    assert leaf.list_users() == []  # cleaned up all the same


def test_verify_refuses_an_account_with_users_unless_allowed(receiver: HttpReceiver) -> None:
    leaf = FakeLeaf(username=OWNER, password=PASSWORD)
    existing = leaf.create_user(name="A real grower")
    with leaf.server() as server:
        code, output = run(server.url, receiver)
        assert code == 2 and "refusing to run" in output and "--allow-existing-users" in output
        assert leaf.list_users() == [existing]
        code, output = run(server.url, receiver, allow_existing_users=True)
    assert code == 0, output
    assert leaf.list_users() == [existing]


def test_the_cli_runs_verify_and_says_why_it_cannot_log_in(receiver: HttpReceiver,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    leaf = FakeLeaf(username=OWNER, password=PASSWORD)
    with leaf.server() as server:
        args = ["verify", "--base-url", server.url, "--username", OWNER, "--webhook-url", receiver.url]
        assert main([*args, "--password", PASSWORD]) == 0
        assert main([*args, "--password", "wrong"]) == 2
    output = capsys.readouterr().out
    assert "0 difference(s)" in output
    assert "cannot log in" in output and "check --username and --password" in output
    assert PASSWORD not in output and json.dumps(PASSWORD) not in output
    # the refusal's message, "error.http.401", is told as the text it is, and the token as a JWT
    assert "body.message: Leaf has it (a string), fake-leaf does not" in output
    assert "body.id_token: fake-leaf has it (a JWT), Leaf does not" in output


def test_the_cli_refuses_a_john_deere_environment_leaf_would_refuse(capsys: pytest.CaptureFixture[str]) -> None:
    # "prod" was taken: every credential scenario then compared two 400s and said nothing of the typo
    args = ["verify", "--base-url", "http://127.0.0.1:9", "--username", OWNER, "--password", PASSWORD,
            "--john-deere-client-key", "k", "--john-deere-client-secret", "s", "--john-deere-refresh-token", "r"]
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--john-deere-environment", "prod"])
    assert exit_.value.code == 2
    assert "--john-deere-environment: invalid choice: 'prod' (choose from STAGE, PRODUCTION)" in \
        capsys.readouterr().err.replace("'STAGE', 'PRODUCTION'", "STAGE, PRODUCTION")


def test_the_cli_refuses_a_john_deere_environment_without_the_values_it_goes_with(
        capsys: pytest.CaptureFixture[str]) -> None:
    # alone, it was dropped without a word and the credential scenarios skipped
    args = ["verify", "--base-url", "http://127.0.0.1:9", "--username", OWNER, "--password", PASSWORD]
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--john-deere-environment", "PRODUCTION"])
    assert exit_.value.code == 2
    assert "give all of --john-deere-client-key, --john-deere-client-secret and --john-deere-refresh-token" in \
        capsys.readouterr().err


def _without_token_metadata_and_total(app: WsgiApp) -> Callable[..., Iterable[bytes]]:
    """A Leaf whose credential answers lack ``tokenMetadata`` and whose event pages send no ``X-Total-Count``:
    what verify shows when the fake answers a field (or a header) Leaf does not."""
    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]]) -> None:
            captured["status"], captured["headers"] = status, headers
        body = b"".join(app(environ, capture))
        if body.startswith(b"{") and b'"tokenMetadata"' in body:
            data = json.loads(body)
            for holder in (data, data.get("johnDeereCredentials") or {}):
                holder.pop("tokenMetadata", None)
            body = json.dumps(data).encode()
        dropped = {"content-length", "x-total-count"} if environ["PATH_INFO"].endswith("/events") \
            else {"content-length"}
        headers = [(k, v) for k, v in captured["headers"] if k.lower() not in dropped]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]
    return middleware


def test_verify_compares_answer_fields_and_paging_headers(receiver: HttpReceiver) -> None:
    leaf = FakeLeaf(username=OWNER, password=PASSWORD)
    with LeafServer(cast(WsgiApp, _without_token_metadata_and_total(leaf.wsgi_app()))) as server:
        code, output = run(server.url, receiver)
    assert code == 1
    assert "body.tokenMetadata: fake-leaf has it (an object), Leaf does not" in output
    assert "body.johnDeereCredentials.tokenMetadata: fake-leaf has it (an object), Leaf does not" in output
    assert "X-Total-Count header: fake-leaf sent one, Leaf did not" in output
    assert "PATCH /services/usermanagement/api/users/{user} (update the user partially)" in output
    assert leaf.list_users() == []


# -- a hostile or broken server: a clear report, in time, without a traceback or a memory blow-up --------

def _hostile(kind: str) -> ThreadingHTTPServer:
    bomb = gzip.compress(b"0" * (32 * 1024 * 1024), compresslevel=6) if kind == "gzip-bomb" else b""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if kind == "nested":
                body = b"[" * 50_000 + b"]" * 50_000  # far past any recursion limit
                self._answer(200, body)
            elif kind == "trickle":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                try:
                    for _ in range(1000):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:  # verify gave up and closed the connection, as it should
                    pass
            elif kind == "gzip-bomb":
                self._answer(200, bomb, {"Content-Encoding": "gzip"})
            else:  # a redirect to itself
                self._answer(302, b"", {"Location": self.path})

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.mark.parametrize(("kind", "says"), [
    ("nested", "cannot log in"),
    ("trickle", "did not arrive whole within 0.3 s"),
    ("gzip-bomb", "over 8 MiB once decompressed"),
    ("redirect-loop", "cannot log in"),
])
def test_verify_against_a_hostile_server_reports_clearly_in_time_and_in_bounded_memory(
        kind: str, says: str, monkeypatch: pytest.MonkeyPatch, receiver: HttpReceiver) -> None:
    monkeypatch.setattr(_verify, "TIMEOUT", 0.3)
    server = _hostile(kind)
    tracemalloc.start()
    started = time.monotonic()
    try:
        code, output = run(f"http://127.0.0.1:{server.server_address[1]}", receiver)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()
    assert code == 2 and says in output, output
    assert "Traceback" not in output
    assert time.monotonic() - started < 10
    assert peak < 50 * 1024 * 1024
