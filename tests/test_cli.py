"""The fake-leaf command's own behaviour: help, version, closed pipes, Ctrl+C.

In-process through ``main([...])`` where that shows the behaviour; the installed script in a
subprocess only where a real pipe or a real signal is the point.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests

import fake_leaf
import fake_leaf.__main__ as cli
from fake_leaf.__main__ import main

SCRIPT = str(Path(sys.executable).with_name("fake-leaf"))


class _ClosedPipe:
    """A stdout whose reader has gone away, as under `fake-leaf openapi | head -1`."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_fake_leaf_version_is_the_installed_distributions() -> None:
    assert fake_leaf.__version__ == metadata.version("fake-leaf")


def test_fake_leaf_version_falls_back_when_fake_leaf_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.delattr(fake_leaf, "__version__", raising=False)  # forget the value read earlier
    monkeypatch.setattr(metadata, "version", not_installed)
    assert fake_leaf.__version__ == "0+unknown"


def test_an_unknown_attribute_of_fake_leaf_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="FakeLeef"):
        fake_leaf.FakeLeef  # type: ignore[attr-defined]  # noqa: B018


def test_dash_dash_version_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"fake-leaf {metadata.version('fake-leaf')}\n"


def test_a_bare_fake_leaf_prints_the_help_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("usage: fake-leaf")
    assert all(command in out for command in ("serve", "openapi", "demo", "--version"))
    assert err == ""


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["openapi", "--help"], ["demo", "--help"]])
def test_the_help_is_plain_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    out = capsys.readouterr().out
    assert out.startswith("usage: fake-leaf")
    assert "``" not in out


def test_a_closed_pipe_ends_the_command_quietly_with_sigpipes_status(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["openapi"]) == 141
    assert capsys.readouterr().err == ""


def test_fake_leaf_demo_plays_a_session_against_the_in_process_fake() -> None:
    out = subprocess.run([SCRIPT, "demo"], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stderr) == (0, "")
    step = r"^(\w+) \S+?(/api/authenticate|/users|/john-deere-credentials|/events)( \(again\))?\n  -> (\d+)$"
    steps = re.findall(step, out.stdout, re.MULTILINE)
    # login, a user, John Deere credentials, the same again (refused), their events, a delete, then gone
    assert [(method, path, again, int(status)) for method, path, again, status in steps] == [
        ("POST", "/api/authenticate", "", 200), ("POST", "/users", "", 201),
        ("POST", "/john-deere-credentials", "", 201), ("POST", "/john-deere-credentials", " (again)", 400),
        ("GET", "/events", "", 200), ("DELETE", "/john-deere-credentials", "", 204),
        ("GET", "/john-deere-credentials", "", 404)]
    assert "credentialAlreadyExists" in out.stdout


def test_fake_leaf_openapi_into_a_closed_pipe_prints_no_traceback() -> None:
    process = subprocess.Popen([SCRIPT, "openapi"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.close()  # before the script can write anything: every write meets a closed pipe
    _, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (141, "")


def _interrupted(*args: Any) -> int:
    raise KeyboardInterrupt


def test_ctrl_c_at_any_moment_of_serve_ends_it_quietly(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "serve", _interrupted)  # as if it came during the banner
    assert main(["serve", "--port", "0"]) == 0
    assert capsys.readouterr().err == ""


def test_ctrl_c_interrupts_another_command_quietly_with_sigints_status(monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "openapi", _interrupted)
    assert main(["openapi"]) == 130
    assert capsys.readouterr().err == ""


def test_ctrl_c_while_serving_stops_the_server_quietly() -> None:
    # the child must not inherit an ignored SIGINT (as under some test runners' workers)
    process = subprocess.Popen([SCRIPT, "serve", "--port", "0", "--quiet"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    watchdog = threading.Timer(60, process.kill)  # a banner that never says "Ctrl+C" must not hang the suite
    watchdog.start()
    try:
        assert process.stdout is not None
        banner = iter(process.stdout.readline, "")
        assert any("Ctrl+C" in line for line in banner), "the banner ends by saying how to stop"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        watchdog.cancel()
        process.kill()
    assert "Traceback" not in err
    assert process.returncode == 0


def test_openapis_default_server_is_where_serve_listens_by_default(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    listens: list[tuple[str, int]] = []

    def serve(host: str, port: int, *rest: object) -> int:
        listens.append((host, port))
        return 0

    monkeypatch.setattr(cli, "serve", serve)
    assert main(["serve"]) == 0
    assert main(["openapi"]) == 0
    [(host, port)] = listens
    assert json.loads(capsys.readouterr().out)["servers"] == [{"url": f"http://{host}:{port}"}]
    assert port != 0, "a fixed default port, so that a client can be configured once"


def _serve_in_background(*options: str) -> subprocess.Popen[str]:
    """``fake-leaf serve`` as a shell's ``&`` starts it: SIGINT ignored, as it inherits."""
    return subprocess.Popen([SCRIPT, "serve", "--port", "0", "--quiet", *options], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))


def _stopped_within(process: subprocess.Popen[str], signum: int, seconds: float) -> int:
    started = time.monotonic()
    process.send_signal(signum)
    try:
        status = process.wait(timeout=10)
    finally:
        process.kill()
    assert time.monotonic() - started < seconds
    return status


def test_serve_in_the_background_says_when_it_is_ready_in_json_and_stops_on_sigint(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    owners = ("--api-owner", "ci@example.com:s3cret", "--api-owner", "other@example.com:pw:2")
    with _serve_in_background("--ready-json", "--ready-file", str(ready_file), *owners) as process:  # closes its pipes
        try:
            assert process.stdout is not None
            ready = json.loads(process.stdout.readline())
            assert json.loads(ready_file.read_text()) == ready
            assert [o["username"] for o in ready["owners"]] == ["ci@example.com", "other@example.com"]
            assert ready["control_token_required"] is False
            users = f"{ready['url']}/services/usermanagement/api/users"
            for owner in ready["owners"]:
                assert requests.get(users, headers={"Authorization": f"Bearer {owner['token']}"}).status_code == 200
            login = requests.post(f"{ready['url']}/api/authenticate",
                                  json={"username": "other@example.com", "password": "pw:2"})
            assert login.status_code == 200
            published = fake_leaf.FakeLeaf()
            refused = requests.post(f"{ready['url']}/api/authenticate",  # the published default login is gone
                                    json={"username": published.username, "password": published.password})
            assert refused.status_code == 401
        except BaseException:
            process.kill()
            raise
        assert _stopped_within(process, signal.SIGINT, 2.5) == 0
        assert process.stderr is not None and "Traceback" not in process.stderr.read()


def test_serve_stops_on_sigterm_within_two_seconds_with_a_client_connected() -> None:
    with _serve_in_background("--ready-json") as process:  # closes its pipes
        try:
            assert process.stdout is not None
            ready = json.loads(process.stdout.readline())
            session = requests.Session()  # its connection stays open, kept alive
            assert session.get(ready["user_management_url"] + "/users",
                               headers={"Authorization": f"Bearer {ready['owners'][0]['token']}"}).ok
        except BaseException:
            process.kill()
            raise
        assert _stopped_within(process, signal.SIGTERM, 2.5) == 0
        session.close()


@pytest.mark.parametrize(("argv", "says"), [
    # a port past 65535 was taken and served on another (70000 listened on 4464)
    (["--port", "70000"], "argument --port: expected a port from 0 (a free one) to 65535, got '70000'"),
    (["--port", "-1"], "argument --port: expected a port from 0 (a free one) to 65535, got '-1'"),
    # a URL for a destination ended serve with a ValueError's traceback from int()
    (["--webhook-allow", "http://127.0.0.1:9000"], "argument --webhook-allow: a webhook destination is HOST or "
                                                   "HOST:PORT (a port from 1 to 65535), such as 127.0.0.1:9000"),
    (["--webhook-allow", "127.0.0.1:99999"], "got '127.0.0.1:99999'"),
    (["--webhook-allow", "127.0.0.1:"], "got '127.0.0.1:'"),  # read as every port of the host
    (["--port", "\u0668\u0660\u0668\u0660"], "expected a port from 0 (a free one) to 65535"),  # read as 8080
    # named as serve's own argument, like the others (it read "fake-leaf: error: --rate-limit-per-minute ...")
    (["--rate-limit-per-minute", "0"], "fake-leaf serve: error: argument --rate-limit-per-minute: must be more than 0"),
])
def test_serve_refuses_a_port_or_destination_it_cannot_use_saying_why(argv: list[str], says: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", *argv])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert says in error and "Traceback" not in error


def test_a_test_server_refuses_a_port_or_destination_it_cannot_use_before_it_listens() -> None:
    leaf = fake_leaf.FakeLeaf()
    with pytest.raises(ValueError, match=r"port must be from 0 .* to 65535, got 70000"):
        leaf.server(port=70000)
    with pytest.raises(ValueError, match=r"a webhook destination is HOST or HOST:PORT .*got 'http://x'"):
        leaf.server(webhook_allow=["http://x"])
    with leaf.server(webhook_allow=["[::1]:8080", "localhost", "::1", "hooks.test:443"]) as server:
        assert requests.get(f"{server.url}/_fake-leaf/clock", timeout=5).status_code == 200


@pytest.mark.parametrize("entry", [
    "127.0.0.1:", "[::1]:",  # a colon and no port read as every port
    "127.0.0.1 :9000", "hooks internal",  # a host with a space never matches the one a webhook names
    "[::1]9000", "[::1",  # an IPv6 address not closed by ']' or ']:PORT'
    "hooks.test:\u00b2", "hooks.test:\u0669\u0660\u0660\u0660",  # digits, but not 0-9: int() failed, or read 9000
])
def test_a_webhook_destination_that_is_not_host_or_host_port_is_refused(entry: str) -> None:
    leaf = fake_leaf.FakeLeaf()
    with pytest.raises(ValueError, match=r"a webhook destination is HOST or HOST:PORT"):
        leaf.server(webhook_allow=[entry])


def test_a_webhook_allow_given_as_one_string_is_refused_not_read_letter_by_letter() -> None:
    # webhook_allow="hooks.test" allowed the hosts 'h', 'o', 'k', ... and refused every delivery to hooks.test
    with pytest.raises(TypeError, match=r"webhook_allow is a list of destinations.*got 'hooks\.test'"):
        fake_leaf.FakeLeaf().server(webhook_allow="hooks.test")


def test_serve_on_a_port_in_use_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # a second `fake-leaf serve` on the default port printed a 33-line traceback
    with fake_leaf.FakeLeaf().server() as running:
        port = running.url.rsplit(":", 1)[1]
        assert main(["serve", "--port", port]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"fake-leaf serve: error: fake-leaf cannot listen on 127.0.0.1:{port}: ")
    assert "in use" in error and "(port 0 picks a free port)" in error and "Traceback" not in error
