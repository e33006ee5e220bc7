"""The OpenAPI document: served, printed, and saying what the fake answers (schemathesis: test_schemathesis.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from fake_leaf import FakeLeaf, RateLimit, ShiftedClock
from fake_leaf.adapters._receiver import HttpReceiver
from fake_leaf.adapters._server import LeafServer
from fake_leaf.engine import PROVIDERS
from fake_leaf.http._openapi import openapi_document
from fake_leaf.http._routes import build_routes

LEAF = FakeLeaf(clock=ShiftedClock())


RECEIVER = HttpReceiver()


@pytest.fixture(scope="module")
def server() -> Iterator[LeafServer]:
    with LEAF.server() as running, RECEIVER:
        yield running


def test_the_document_is_served_and_lists_every_route(server: LeafServer) -> None:
    document = requests.get(f"{server.url}/_fake-leaf/openapi.json").json()
    assert document["openapi"].startswith("3.")
    listed = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert listed == {(r.method, r.template) for r in build_routes()}
    assert document["servers"] == [{"url": server.url}]


def test_fake_leaf_openapi_prints_the_same_document() -> None:
    out = subprocess.run([sys.executable, "-m", "fake_leaf", "openapi", "--server-url", "http://leaf.test:9"],
                         capture_output=True, text=True, check=True).stdout
    printed = json.loads(out)
    assert printed == openapi_document(build_routes(), list(PROVIDERS), "http://leaf.test:9")
    assert printed["servers"] == [{"url": "http://leaf.test:9"}]


def test_leafs_routes_document_the_rate_limit_and_injected_faults_and_the_control_plane_neither() -> None:
    document = openapi_document(build_routes(), list(PROVIDERS), LEAF.base_url)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = set(operation["responses"])
            if path.startswith("/_fake-leaf"):
                assert not answers & {"429", "4XX", "5XX"}, (method, path)
            else:
                assert {"4XX", "5XX"} <= answers, (method, path)  # an injected http_error takes any of them
                assert ("429" in answers) == ("security" in operation), (method, path)


def test_a_real_429_and_an_injected_503_match_what_the_document_says() -> None:
    document = openapi_document(build_routes(), list(PROVIDERS), LEAF.base_url)
    answers = document["paths"]["/services/usermanagement/api/users"]["get"]["responses"]
    with FakeLeaf(rate_limit=RateLimit(requests=1)) as leaf:
        url = f"{leaf.user_management_url}/users"
        leaf.inject("http_error", status=503, times=1)
        injected = requests.get(url, headers=leaf.headers)
        requests.get(url, headers=leaf.headers)
        limited = requests.get(url, headers=leaf.headers)
    assert (injected.status_code, injected.headers["Content-Type"]) == (503, "application/problem+json")
    assert set(answers["5XX"]["content"]) == {"application/problem+json"}
    assert limited.status_code == 429
    schema = answers["429"]["content"]["application/json"]["schema"]
    assert set(limited.json()) == set(schema["required"]) == set(schema["properties"])


def test_paged_answers_document_their_total_and_links() -> None:
    document = openapi_document(build_routes(), list(PROVIDERS), LEAF.base_url)
    base = "/services/usermanagement/api/users"
    for path in (base, f"{base}/{{leafUserId}}/john-deere-credentials/events",
                 f"{base}/{{leafUserId}}/{{provider}}/organizations"):
        assert set(document["paths"][path]["get"]["responses"]["200"]["headers"]) == {"X-Total-Count", "Link"}, path
