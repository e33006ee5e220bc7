"""Raw requests of every shape: never a 5xx, never an exception, and a refused one changes nothing."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_leaf import FakeLeaf, ManualClock
from fake_leaf.http import HttpRequest
from fake_leaf.testing.strategies import credentials_bodies
from tests.conftest import state_of

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
USER_ID = "user-id-placeholder"
TOKEN = "token-placeholder"

methods = st.one_of(st.sampled_from(("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")),
                    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=10))
segments = st.one_of(
    st.sampled_from((USER_ID, "john-deere-credentials", "events", "users", "", "..", ".", "%00", "%2F", "%E2%82%AC",
                     "%ZZ", "%", "00000000-0000-0000-0000-000000000000", "john-deere-credential", "outage",
                     "advance", "check", "withdraw-scope", "revoke-refresh-token", "reset", "alerts", "failed-calls",
                     "webhook-deliveries")),
    st.text(max_size=20).filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
)
paths = st.builds(lambda prefix, rest, slash: prefix + "".join("/" + s for s in rest) + ("/" if slash else ""),
                  st.sampled_from(("/services/usermanagement/api/users", "/services/usermanagement/api",
                                   "/api/authenticate", "", "/services", "/users", "/_fake-leaf",
                                   "/_fake-leaf/john-deere", "/_fake-leaf/clock",
                                   "/services/alerts/api/alerts/webhooks", "/services/alerts/api/alerts")),
                  st.lists(segments, max_size=4), st.booleans())
authorizations = st.one_of(
    st.none(), st.just(TOKEN), st.text(max_size=30), st.text(max_size=30).map(lambda t: f"Bearer {t}"),
    st.sampled_from(("Bearer a.b.c", "Bearer ...", "Bearer", "bearer " + TOKEN, f"Bearer {TOKEN}.x",
                     "Bearer eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.sig", "Bearer é.é.é")),
)
bodies = st.one_of(
    st.just(b""), st.binary(max_size=200), credentials_bodies().map(lambda b: json.dumps(b).encode()),
    st.sampled_from((b"{", b"nul", b"\xff\xfe{}", b"[" * 50_000, b"{\"a\":" * 20_000, b"{}", b"[]", b"null",
                     json.dumps({"id": None, "name": 5}).encode(),
                     json.dumps({"username": [], "password": {}}).encode(),
                     json.dumps({"clientKey": "k" * 1_000_000, "clientSecret": "s", "refreshToken": "r"}).encode(),
                     json.dumps({"name": "n", "url": "https://r.test/", "secret": "s",
                                 "events": ["credentialsUnauthenticated"]}).encode(),
                     json.dumps({"name": [], "url": "https://[::1", "secret": "", "events": [None, 1]}).encode())),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods, path=paths, query=st.text(max_size=30), authorization=authorizations, body=bodies)
def test_no_request_breaks_the_fake(method: str, path: str, query: str, authorization: str | None,
                                    body: bytes) -> None:
    leaf = FakeLeaf(clock=ManualClock(START))
    user = leaf.create_user(name="existing")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    token = leaf.token
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.replace(TOKEN, token) if authorization != TOKEN \
            else f"Bearer {token}"
    request = HttpRequest(method, path.replace(USER_ID, user.id), query, headers, body)
    before = state_of(leaf)
    response = leaf._app.handle(request)
    assert response.status < 500, (request, response.body[:500])
    if response.status >= 400:
        assert state_of(leaf) == before, request
