"""Safe to expose on purpose: a control-plane token, URLs from the fake's own configuration, sane faults."""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import requests

from fake_leaf import FakeLeaf, Fault

TOKEN = "s3cret-control-token"
HEADER = "X-Fake-Leaf-Control-Token"


def test_with_a_control_token_the_control_plane_refuses_a_request_without_it() -> None:
    leaf = FakeLeaf()
    with leaf.server(control_token=TOKEN) as server:
        control = f"{server.url}/_fake-leaf"
        missing = requests.post(f"{control}/reset")
        wrong = requests.get(f"{control}/journal", headers={HEADER: "guess"})
        right = requests.get(f"{control}/journal", headers={HEADER: TOKEN})
        leaf_api = requests.get(f"{server.user_management_url}/users", headers=leaf.headers)
    assert missing.status_code == wrong.status_code == 401
    for refused in (missing, wrong):
        problem = refused.json()
        assert problem["status"] == 401 and f"'{HEADER}: <token>'" in problem["detail"]
    assert "no token was sent" in missing.json()["detail"]
    assert "does not match" in wrong.json()["detail"]
    assert right.status_code == 200
    assert leaf_api.status_code == 200  # Leaf's own paths keep Leaf's own authentication


def test_a_refused_control_request_changes_nothing() -> None:
    leaf = FakeLeaf()
    user = leaf.create_user(name="kept")
    client = httpx.Client(transport=httpx.WSGITransport(app=leaf.wsgi_app(control_token=TOKEN)),
                          base_url=leaf.base_url)
    with client:
        assert client.post("/_fake-leaf/reset").status_code == 401
        assert client.post("/_fake-leaf/faults", json={"kind": "http_error"}).status_code == 401
        assert leaf.list_users() == [user]
        assert client.get("/_fake-leaf/faults", headers={HEADER: TOKEN}).json() == []
        assert client.post("/_fake-leaf/reset", headers={HEADER: TOKEN}).status_code == 204
    assert leaf.list_users() == []


def test_absolute_urls_come_from_the_fakes_configuration_not_the_host_header() -> None:
    leaf = FakeLeaf()
    forged = {**leaf.headers, "Host": "attacker.example"}
    with leaf.server() as server:
        created = requests.post(f"{server.user_management_url}/users", json={}, headers=forged)
        listed = requests.get(f"{server.user_management_url}/users", headers=forged)
    assert created.headers["Location"].startswith(f"{server.url}/services/usermanagement/api/users/")
    assert listed.headers["Link"].startswith(f"<{server.url}/")
    client = httpx.Client(transport=httpx.WSGITransport(app=leaf.wsgi_app()), base_url="http://attacker.example")
    with client:
        location = client.post("/services/usermanagement/api/users", json={}, headers=leaf.headers).headers["location"]
    assert location.startswith(f"{leaf.base_url}/services/usermanagement/api/users/")


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -math.inf, 1e300])
def test_a_delay_that_is_not_a_finite_number_of_seconds_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds must be"):
        Fault("delay", seconds=seconds)
    leaf = FakeLeaf()
    with leaf.server() as server:
        body = json.dumps({"kind": "delay", "seconds": seconds})  # NaN and Infinity as Python writes them
        refused = requests.post(f"{server.url}/_fake-leaf/faults", data=body,
                                headers={"Content-Type": "application/json"})
        faults = requests.get(f"{server.url}/_fake-leaf/faults").json()
        after = requests.get(f"{server.user_management_url}/users", headers=leaf.headers, timeout=5)
    assert refused.status_code == 400
    assert faults == []
    assert after.status_code == 200


@contextlib.contextmanager
def _serve(*options: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``fake-leaf serve --quiet`` in a subprocess: its URL and the process (stderr piped)."""
    process = subprocess.Popen([sys.executable, "-m", "fake_leaf", "serve", "--quiet", "--port", "0", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    try:
        assert process.stdout is not None
        yield process.stdout.readline().rsplit(" ", 1)[1].strip(), process
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_serve_on_a_public_address_warns_what_is_open() -> None:
    with _serve("--host", "0.0.0.0") as (_, process):
        process.terminate()
        _, err = process.communicate(timeout=5)
    assert "WARNING" in err and "0.0.0.0" in err
    assert "which other machines may reach at any address of this machine, port " in err  # not at 0.0.0.0
    for what_is_open in ("/_fake-leaf", "reset", "clock", "faults", "journal", "passwords", "--control-token"):
        assert what_is_open in err


@pytest.mark.parametrize("how", ["option", "environment"])
def test_serve_takes_a_control_token_from_an_option_or_the_environment(how: str) -> None:
    options, env = (("--control-token", TOKEN), None) if how == "option" else ((), {"FAKE_LEAF_CONTROL_TOKEN": TOKEN})
    with _serve(*options, env=env) as (url, process):
        assert requests.get(f"{url}/_fake-leaf/clock", timeout=5).status_code == 401
        assert requests.get(f"{url}/_fake-leaf/clock", headers={HEADER: TOKEN}, timeout=5).status_code == 200
        process.terminate()
        _, err = process.communicate(timeout=5)
    assert "WARNING" not in err  # on loopback, nothing to warn about
