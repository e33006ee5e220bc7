"""Raw requests of every shape: never a 5xx, never an exception, and a refused one changes nothing.

About 2,000 examples in all by default; ``FAKE_LEAF_FUZZ_EXAMPLES=20000`` (the README's longer run)
spreads that many over the same tests in the same shares.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_leaf import PROVIDERS, FakeLeaf, ManualClock, Provider
from fake_leaf.engine import JOHN_DEERE
from fake_leaf.http import HttpRequest, HttpResponse
from fake_leaf.http._context import is_control
from fake_leaf.http._serialize import fault_json
from fake_leaf.testing.strategies import credentials_bodies
from tests.conftest import examples, state_of

pytestmark = pytest.mark.slow  # the deep tier: python -m pytest -m slow

EXAMPLES = int(os.environ.get("FAKE_LEAF_FUZZ_EXAMPLES", str(examples(1000))))
START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
USER_ID = "user-id-placeholder"
TOKEN = "token-placeholder"
USERS = "/services/usermanagement/api/users"
JD_CONTROL = "/_fake-leaf/providers/john-deere"


def _settings(share: float) -> settings:
    return settings(max_examples=max(1, round(EXAMPLES * share)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _fresh(providers: tuple[Provider, ...] = PROVIDERS) -> tuple[FakeLeaf, str]:
    leaf = FakeLeaf(clock=ManualClock(START), providers=providers)
    user = leaf.create_user(name="existing")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    return leaf, user.id


def _plain(value: Any) -> Any:
    """A value-comparable copy (the upstream's records are dataclasses compared by identity)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple takes its fields one by one
        return type(value)(*(_plain(v) for v in value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_plain(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value).__name__, _plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return value


def _upstream_state(upstream: object) -> Any:
    state = {k: v for k, v in vars(upstream).items() if k != "provider"}  # the provider is fixed
    return _plain(state) if any(state.values()) else None  # most upstreams hold nothing: skip the walk


def snapshot(leaf: FakeLeaf) -> Any:
    """Everything a request could change, but the journal (which records refused requests too)."""
    return (state_of(leaf), leaf.now(), leaf.alerts(), [fault_json(f) for f in leaf._app.faults.active()],
            {name: _upstream_state(upstream) for name, upstream in leaf._backend.upstreams.items()})


def send(leaf: FakeLeaf, request: HttpRequest) -> HttpResponse:
    """Handle one request; assert no 5xx and, when refused, no change (unless an injected fault shaped it)."""
    before = snapshot(leaf)
    journal_length = len(leaf._app.journal)
    response = leaf._app.handle(request)
    template, _ = leaf._app._match(request.path or "/")
    journaled = not is_control(template) and len(leaf._app.journal) > 0
    if journaled and journal_length < len(leaf._app.journal) and list(leaf._app.journal)[-1].fault is not None:
        return response  # a fault the example injected earlier: its status and its bookkeeping are the test's
    assert response.status < 500, (request, response.body[:500])
    if response.status >= 400:
        assert snapshot(leaf) == before, (request, response.status, response.body[:300])
    return response


# -- any request at all -------------------------------------------------------------------------

methods = st.one_of(st.sampled_from(("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PROPFIND",
                                     "CONNECT", "get")),
                    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=10))
segments = st.one_of(
    st.sampled_from((USER_ID, "john-deere-credentials", "events", "users", "", "..", ".", "%00", "%2F", "%E2%82%AC",
                     "%ZZ", "%", "00000000-0000-0000-0000-000000000000", "john-deere-credential", "outage",
                     "advance", "check", "withdraw-scope", "revoke-refresh-token", "reset", "alerts", "%ED%A0%80",
                     "failed-calls", "webhook-deliveries")),
    st.text(max_size=20).filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
)
paths = st.builds(lambda prefix, rest, slash: prefix + "".join("/" + s for s in rest) + ("/" if slash else ""),
                  st.sampled_from(("/services/usermanagement/api/users", "/services/usermanagement/api",
                                   "/api/authenticate", "", "/services", "/users", "/_fake-leaf",
                                   JD_CONTROL, "/_fake-leaf/providers", "/_fake-leaf/clock",
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
                     json.dumps({"clientKey": "k" * 1_000_000, "clientSecret": "s", "refreshToken": "r",
                                 "clientEnvironment": "STAGE"}).encode(),
                     json.dumps({"name": "n", "url": "https://r.test/", "secret": "s",
                                 "events": ["credentialsUnauthenticated"]}).encode(),
                     json.dumps({"name": [], "url": "https://[::1", "secret": "", "events": [None, 1]}).encode())),
)


@_settings(0.1)
@given(method=methods, path=paths, query=st.text(max_size=30), authorization=authorizations, body=bodies)
def test_no_request_breaks_the_fake(method: str, path: str, query: str, authorization: str | None,
                                    body: bytes) -> None:
    leaf, user_id = _fresh()
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.replace(TOKEN, leaf.token) if authorization != TOKEN \
            else f"Bearer {leaf.token}"
    send(leaf, HttpRequest(method, path.replace(USER_ID, user_id), query, headers, body))


# -- bodies as Leaf's Java stack reads them, on every route that takes one ------------------------

FIELD_NAMES = ("name", "email", "phone", "address", "externalId", "id", "username", "password", "rememberMe",
               "clientKey", "clientSecret", "refreshToken", "clientEnvironment", "seconds", "kind", "status",
               "times", "path", "method", "enabled", "scope", "status_code", "environment", "after", "rate", "seed",
               "url", "secret", "events")
# The body fuzzer draws one seed per body and builds the body from it: a hypothesis draw per JSON
# token would cost most of the time budget. The failing request is in the assertion message.
VALUE_LITERALS = (
    '"Ada"', '"Jürgen Müller"', '"農場のトラクター"', '"مزرعة"', '"🚜"', json.dumps("🚜"), '""', '"   "', '"\\u0000"',
    '"\\ud800"', '"a\\udfff"', '"\\udc00b"', '"\\ud83d"', '"\\ud83d\\ude9c"', '"\\ude9c\\ud83d"',
    '"STAGE"', '"PRODUCTION"', '"true"', '"false"', '"k"', '"s"', '"r"', '"OK"', '"UNAUTHENTICATED"', '"http_error"',
    '"delay"', '"/users"', '"ag1"', '"USER_ID"', '"api-owner@fake-leaf.test"', '"fake-leaf-password"', '"pässwörd"',
    '"https://receiver.test/hook"', '["credentialsUnauthenticated"]', '"credentialsLimitedPermission"',
    "0", "1", "-1", "503", "86400", "3153600000", "3153600001", "3153600000.5", "1e18", "1e308", "5e-324", "0.5", "-0",
    "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "9" * 4300, "9" * 4301, "-" + "1" * 4301, "7" * 5000,
    "true", "false", "null", "[]", "{}", '["\\ud800"]', '{"a": NaN}', "[1e999]", '{"\\udc00": 1}', "[[[]]]",
    '{"nested": {"x": "\\ud800"}}', '{"name": "a", "name": "b"}',
)
KEY_LITERALS = ('"\\ud800"', '"\\udfff"', '"ключ"', '""', '"name\\u0000"')
# code points from every plane and script that matter: ASCII, Latin-1, Cyrillic, CJK, emoji, the
# surrogates (sent only as JSON escapes: they cannot be UTF-8), private use, the last code point
CODE_POINTS = ((0x20, 0x7E), (0x00, 0x1F), (0xA0, 0xFF), (0x400, 0x4FF), (0x4E00, 0x4E80), (0x1F300, 0x1F6FF),
               (0xD800, 0xDFFF), (0xE000, 0xE0FF), (0x10FFFF, 0x10FFFF))


def _text(rng: random.Random) -> str:
    chars = [chr(rng.randint(*rng.choice(CODE_POINTS))) for _ in range(rng.randint(0, 6))]
    text = "".join(chars)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in chars) or rng.random() < 0.5:
        return json.dumps(text)  # escaped: a lone surrogate becomes \udxxx, as a client could send it
    return json.dumps(text, ensure_ascii=False)


def _value(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if roll < 0.08 and depth < 3:
        return "[" + ",".join(_value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    if roll < 0.16 and depth < 3:
        return _object([(_key(rng), _value(rng, depth + 1)) for _ in range(rng.randint(0, 3))])
    if roll < 0.6:
        return rng.choice(VALUE_LITERALS)
    if roll < 0.72:
        return str(rng.randint(-(10**6), 4 * 10**9))
    if roll < 0.8:
        return repr(rng.uniform(-1e9, 1e9) * 10 ** rng.randint(-300, 300) / 1e9)
    return _text(rng)


def _key(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.8:
        return json.dumps(rng.choice(FIELD_NAMES))
    return rng.choice(KEY_LITERALS) if roll < 0.9 else _text(rng)


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"


INVALID_UTF8 = (b"\xed\xa0\x80", b"\xff", b"\xc3", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe2\x82")
TRAILERS = ("", "", "\n// a comment after the value, as in Leaf's Postman collection\n", " trailing text", "}",
            "{}", "\x00", " /* */", "\n\n")
COMMENTS = ("", "", "", "/* c */", "// c\n")
TARGETS = (
    ("POST", "/api/authenticate"), ("POST", USERS), ("PUT", USERS), ("GET", USERS),
    ("POST", f"{USERS}/{USER_ID}/john-deere-credentials"), ("DELETE", f"{USERS}/{USER_ID}"),
    ("POST", "/_fake-leaf/clock/advance"), ("POST", "/_fake-leaf/faults"),
    ("POST", f"{JD_CONTROL}/{USER_ID}/status"), ("POST", f"{JD_CONTROL}/{USER_ID}/withdraw-scope"),
    ("POST", f"{JD_CONTROL}/{USER_ID}/revoke-refresh-token"), ("POST", f"{JD_CONTROL}/outage"),
    ("PUT", f"{JD_CONTROL}/refresh-token-rotation"), ("POST", "/services/alerts/api/alerts/webhooks"),
)
ODD_METHODS = ("HEAD", "OPTIONS", "TRACE", "PROPFIND", "CONNECT", "FOO", "get", "PATCH")


def raw_body(seed: int) -> tuple[bytes, bool]:
    """A JSON object text with Leaf-ish fields (duplicates likely), perhaps broken, and whether it is chunked."""
    rng = random.Random(seed)
    pairs = [(_key(rng), _value(rng)) for _ in range(rng.randint(0, 6))]
    if pairs and rng.random() < 0.3:
        pairs.append((pairs[0][0], _value(rng)))  # a duplicate key: the last value wins
    text = _object(pairs)
    comment = rng.choice(COMMENTS)
    if comment:
        at = rng.randint(1, max(1, len(text) - 1))
        text = text[:at] + comment + text[at:]
    body = (rng.choice(("", " ", "\ufeff", "\n")) + text + rng.choice(TRAILERS)).encode()
    if rng.random() < 0.12:  # a raw byte that is not UTF-8 (an encoded surrogate among them)
        at = rng.randint(0, len(body))
        body = body[:at] + rng.choice(INVALID_UTF8) + body[at:]
    chunked = rng.random() < 0.1
    if chunked:  # what a chunked body looks like if a transport passed it on unframed
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    return body, chunked


requests_ = st.tuples(st.sampled_from(TARGETS), st.one_of(st.none(), st.sampled_from(ODD_METHODS)),
                      st.integers(0, 2**32 - 1).map(raw_body))


@_settings(0.75)
@given(sequence=st.lists(requests_, min_size=1, max_size=3))
def test_no_body_breaks_the_fake(sequence: list[tuple[tuple[str, str], str | None, tuple[bytes, bool]]]) -> None:
    leaf, user_id = _fresh((JOHN_DEERE,))  # bodies are read before any provider is involved: one is enough
    for (method, path), odd_method, (body, chunked) in sequence:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {leaf.token}"}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        send(leaf, HttpRequest(odd_method or method, path.replace(USER_ID, user_id), "", headers,
                               body.replace(b"USER_ID", user_id.encode())))
    assert leaf._app.handle(HttpRequest("GET", USERS, "", {"Authorization": f"Bearer {leaf.token}"})).status == 200


# -- clock moves on the control plane ---------------------------------------------------------------

seconds_literals = st.one_of(
    st.sampled_from(VALUE_LITERALS), st.integers(-10, 100 * 365 * 86400 + 10).map(str),
    st.floats(min_value=0, max_value=100 * 365 * 86400).map(repr),
)
starts = st.sampled_from((START, dt.datetime(8999, 12, 1, tzinfo=dt.timezone.utc),
                          dt.datetime(8900, 1, 1, tzinfo=dt.timezone.utc),
                          dt.datetime(1000, 1, 1, tzinfo=dt.timezone.utc)))


@_settings(0.15)
@given(start=starts, moves=st.lists(seconds_literals, min_size=1, max_size=6))
def test_no_clock_move_breaks_the_fake(start: dt.datetime, moves: list[str]) -> None:
    leaf = FakeLeaf(clock=ManualClock(start), providers=(JOHN_DEERE,))
    user = leaf.create_user(name="existing")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    for literal in moves:
        before = leaf.now()
        r = send(leaf, HttpRequest("POST", "/_fake-leaf/clock/advance", "", {"Content-Type": "application/json"},
                                   b'{"seconds": ' + literal.encode() + b"}"))
        if r.status == 200:
            assert leaf.now() == before + dt.timedelta(seconds=json.loads(literal))
        else:
            assert r.status == 400
    assert leaf._app.handle(HttpRequest("GET", "/_fake-leaf/clock")).status == 200
    assert leaf._app.handle(HttpRequest("GET", USERS, "", {"Authorization": f"Bearer {leaf.token}"})).status == 200
