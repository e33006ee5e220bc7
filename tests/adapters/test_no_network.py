"""Nothing leaks to the network: every scheme, port and path of the fake's host is answered or refused in-process."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from fake_leaf import FakeLeaf

USERS = "/services/usermanagement/api/users"


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Any DNS lookup fails the request loudly, and is recorded."""
    lookups: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        lookups.append(args[0])
        raise OSError(f"the test forbids DNS; looked up {args[0]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield lookups
    assert lookups == []


@pytest.mark.parametrize("url", [
    f"https://api.withleaf.io:443{USERS}",
    f"https://API.withleaf.io{USERS}",
    f"https://api.withleaf.io.{USERS}",
    f"https://someone@api.withleaf.io{USERS}",
])
def test_the_fakes_own_origin_is_answered_however_it_is_spelled(url: str, no_dns: list[Any]) -> None:
    with FakeLeaf() as leaf:
        assert requests.get(url, headers=leaf.headers).status_code == 200


@pytest.mark.parametrize(("url", "why"), [
    (f"http://api.withleaf.io{USERS}", "the scheme is http, but fake-leaf serves https://api.withleaf.io"),
    (f"http://api.withleaf.io:80{USERS}", "the scheme is http"),
    (f"https://api.withleaf.io:8443{USERS}", "port 8443 is not the port of https://api.withleaf.io"),
    (f"http://api.withleaf.io:443{USERS}", "the scheme is http"),
])
def test_another_scheme_or_port_of_the_fakes_host_is_refused_saying_why(url: str, why: str,
                                                                          no_dns: list[Any]) -> None:
    with FakeLeaf(), pytest.raises(requests.ConnectionError, match="fake-leaf refused") as refused:
        requests.get(url)
    assert why in str(refused.value)
    assert "nothing was sent to the network" in str(refused.value)


def test_a_path_outside_a_prefixed_base_url_is_refused_not_sent(no_dns: list[Any]) -> None:
    with FakeLeaf(base_url="https://leaf.staging.test/api-v1") as leaf, \
            pytest.raises(requests.ConnectionError, match=re.escape("the path is outside https://leaf.staging.test/api-v1")):
        assert requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code == 200
        requests.get("https://leaf.staging.test/other")


def test_beside_the_tests_own_mock_the_fakes_host_is_still_never_looked_up(no_dns: list[Any]) -> None:
    with responses.RequestsMock() as mock, FakeLeaf(requests_mock=mock):
        mock.get("https://example.test/ping", body="pong")
        assert requests.get("https://example.test/ping").text == "pong"
        with pytest.raises(requests.ConnectionError, match="a typo for https"):
            requests.get(f"http://api.withleaf.io{USERS}")
