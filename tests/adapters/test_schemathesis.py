"""schemathesis against the running server: no 5xx, nothing off the OpenAPI document (the deep tier)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from fake_leaf import FakeLeaf, NotFoundError, ShiftedClock
from fake_leaf.adapters._receiver import HttpReceiver
from fake_leaf.adapters._server import LeafServer
from fake_leaf.engine import PROVIDERS
from fake_leaf.http._openapi import openapi_document
from fake_leaf.http._routes import build_routes
from tests.conftest import examples

# building a test per operation costs seconds at collection: the quick run leaves this module out (conftest)
pytestmark = pytest.mark.slow

LEAF = FakeLeaf(clock=ShiftedClock())
SCHEMA = schemathesis.openapi.from_dict(openapi_document(build_routes(), list(PROVIDERS), LEAF.base_url))
RECEIVER = HttpReceiver()


@pytest.fixture(scope="module")
def server() -> Iterator[LeafServer]:
    with LEAF.server() as running, RECEIVER:
        yield running


def _a_user_with_credentials() -> str:
    """The one seeded user, made again if a generated DELETE took it or its credentials away."""
    users = LEAF.list_users()
    user_id = users[0].id if users else LEAF.create_user(name="Seeded").id
    try:
        LEAF.get_john_deere_credentials(user_id)
    except NotFoundError:
        LEAF.create_john_deere_credentials(user_id, client_key="k", client_secret="s", refresh_token="r")
    return user_id


# Every provider's four routes come from one declaration and one set of handlers: John Deere's and
# one provider of each other upstream kind get the full run, the other providers' routes a short one.
_FULL = {"john-deere", "raven-slingshot", "sentera", "panorama"}
_BRIEF_PATHS = "|".join(p.path_segment for p in PROVIDERS if p.slug not in _FULL)
_BRIEF = rf".*/({_BRIEF_PATHS})(/events)?$"


@SCHEMA.exclude(path_regex=_BRIEF).parametrize()
@settings(max_examples=examples(15), deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(case: schemathesis.Case[Any],
                                                                       server: LeafServer) -> None:
    _call_and_validate(case, server)


@SCHEMA.include(path_regex=_BRIEF).parametrize()
@settings(max_examples=examples(4), deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_on_the_other_providers_routes(case: schemathesis.Case[Any], server: LeafServer) -> None:
    _call_and_validate(case, server)


def _call_and_validate(case: schemathesis.Case[Any], server: LeafServer) -> None:
    # random ids only ever meet 404: every other generated case aims at a user that exists
    params = case.path_parameters or {}
    if "leafUserId" in params and len(str(params["leafUserId"])) % 2 == 0:
        params["leafUserId"] = _a_user_with_credentials()
    if isinstance(case.body, dict) and "url" in case.body and case.path.endswith("/webhooks"):
        case.body["url"] = RECEIVER.url  # a registration's confirmation goes out at once: never to a random host
    if case.headers:  # a transfer coding the fake does not know is answered 501, as RFC 9112 6.1 says
        case.headers.pop("Transfer-Encoding", None)  # a transport matter, not the API's
    try:
        response = case.call(base_url=server.url, headers=LEAF.headers)
    finally:
        LEAF.clear_faults()  # a generated POST /_fake-leaf/faults must not break the cases after it
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             response_schema_conformance])
