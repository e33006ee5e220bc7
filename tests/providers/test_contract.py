"""The provider contract: every registered provider, and a made-up one, passes the same tests,
in-process (through requests, httpx, httpx async and aiohttp) and over the server. A provider cannot
be added without passing them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import pytest
import requests

from fake_leaf import PROVIDERS, FakeLeaf, Provider, ShiftedClock
from fake_leaf import HttpxBearerAuth as BearerAuth
from fake_leaf.engine.providers import ApiKey, OAuth2
from fake_leaf.testing._samples import credentials_body
from tests.providers import made_up_farm

ALL = (*PROVIDERS, made_up_farm.PROVIDER)
LEAF_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DAY = 86400


@dataclass
class Api:
    """Leaf's API and the control plane, reached through one transport."""

    leaf: FakeLeaf
    base: str
    session: Any  # requests.Session, httpx.Client, or an async client behind a sync face
    provider: Provider

    @property
    def users(self) -> str:
        return f"{self.base}/services/usermanagement/api/users"

    def credentials_url(self, user_id: str) -> str:
        return f"{self.users}/{user_id}/{self.provider.path_segment}"

    def new_user(self) -> str:
        r = self.session.post(self.users, json={"name": "Ada Grower"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def connect(self, user_id: str, **fields: str) -> dict[str, Any]:
        body = {**credentials_body(self.provider, random.Random(user_id)), **fields}
        r = self.session.post(self.credentials_url(user_id), json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def control(self, user_id: str, action: str, **body: Any) -> requests.Response:
        return requests.post(f"{self.base}/_fake-leaf/providers/{self.provider.slug}/{user_id}/{action}", json=body)

    def outage(self, start: bool) -> None:
        url = f"{self.base}/_fake-leaf/providers/{self.provider.slug}/outage"
        r = requests.post(url, json={"status_code": 503}) if start else requests.delete(url)
        assert r.status_code == 204, r.text

    def a_day_later(self) -> None:
        assert requests.post(f"{self.base}/_fake-leaf/clock/advance", json={"seconds": DAY}).status_code == 200

    def status(self, user_id: str) -> str:
        return str(self.session.get(self.credentials_url(user_id)).json()["status"])

    def events(self, user_id: str) -> list[dict[str, Any]]:
        r = self.session.get(f"{self.credentials_url(user_id)}/events")
        assert r.status_code == 200, r.text
        return list(r.json())

    def alerts_of(self, credential_id: str) -> list[dict[str, Any]]:
        return [a for a in requests.get(f"{self.base}/_fake-leaf/alerts").json() if a["credentialId"] == credential_id]


@dataclass
class _Answer:
    status_code: int
    content: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.content)


class _SyncFace:
    """An async client (httpx.AsyncClient, aiohttp.ClientSession) called like a requests.Session."""

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Callable[..., Awaitable[_Answer]]) -> None:
        self._loop, self._send = loop, send

    def get(self, url: str, **kwargs: Any) -> _Answer:
        return self._loop.run_until_complete(self._send("GET", url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> _Answer:
        return self._loop.run_until_complete(self._send("POST", url, **kwargs))

    def delete(self, url: str, **kwargs: Any) -> _Answer:
        return self._loop.run_until_complete(self._send("DELETE", url, **kwargs))


@pytest.fixture(scope="module")
def async_clients(fakes: dict[str, tuple[FakeLeaf, str, Any]]) -> Iterator[dict[str, _SyncFace]]:
    """The in-process fake through httpx.AsyncClient and aiohttp, on one event loop for the module."""
    leaf = fakes["in-process"][0]
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(auth=BearerAuth(lambda: leaf.token))

    async def via_httpx(method: str, url: str, **kwargs: Any) -> _Answer:
        r = await client.request(method, url, **kwargs)
        return _Answer(r.status_code, r.content, dict(r.headers))

    async def open_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    session = loop.run_until_complete(open_session())

    async def via_aiohttp(method: str, url: str, **kwargs: Any) -> _Answer:
        async with session.request(method, url, headers=leaf.headers, **kwargs) as r:
            return _Answer(r.status, await r.read(), dict(r.headers))

    yield {"httpx-async": _SyncFace(loop, via_httpx), "aiohttp": _SyncFace(loop, via_aiohttp)}
    loop.run_until_complete(client.aclose())
    loop.run_until_complete(session.close())
    loop.close()


@pytest.fixture(params=ALL, ids=[p.name for p in ALL])
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, tuple[FakeLeaf, str, Any]]]:
    """One fake per transport for the module: each test makes its own users, so they do not meet."""
    in_process = FakeLeaf(clock=ShiftedClock(), providers=ALL)
    served = FakeLeaf(clock=ShiftedClock(), providers=ALL)
    sessions = [requests.Session(), requests.Session()]
    for session, leaf in zip(sessions, (in_process, served), strict=True):
        session.auth = leaf.auth  # a token renewed as the module's tests move the clock by days
    with in_process, served.server() as server, httpx.Client(auth=BearerAuth(lambda: in_process.token)) as client:
        yield {"in-process": (in_process, in_process.base_url, sessions[0]),
               "httpx": (in_process, in_process.base_url, client),  # the same fake, served to httpx
               "server": (served, server.url, sessions[1])}


# Each provider also runs the contract through one more client kind, in turn, so that every kind runs
# every test (over five or six providers) for the cost of one more transport, not three.
OTHER_CLIENTS = ("httpx", "httpx-async", "aiohttp")


@pytest.fixture(params=["in-process", "another-client", "server"])
def api(request: pytest.FixtureRequest, provider: Provider, fakes: dict[str, tuple[FakeLeaf, str, Any]]) -> Api:
    kind = request.param
    if kind == "another-client":
        kind = OTHER_CLIENTS[ALL.index(provider) % len(OTHER_CLIENTS)]
    if kind in ("httpx-async", "aiohttp"):
        leaf, base, _ = fakes["in-process"]
        return Api(leaf, base, request.getfixturevalue("async_clients")[kind], provider)
    leaf, base, session = fakes[kind]
    return Api(leaf, base, session, provider)


def _calls_per_check(p: Provider) -> int:
    return 2 if isinstance(p.upstream, OAuth2) else 1  # a refresh, then a platform call; or one keyed call


def _calls_at_creation(p: Provider) -> int:
    # the sample body posts every declared field; a posted access token is used while it lasts, so the check
    # at creation makes only the platform call
    return 1 if p.optional_field("accessToken") else _calls_per_check(p)


# Leaf's answer to POST and GET, field by field and in order, as each provider's page documents it (the
# contract's §7); the made-up provider's as its module declares it
ANSWER_FIELDS: dict[str, tuple[str, ...]] = {
    "JohnDeere": ("id", "status", "createdTime", "tokenMetadata", "clientKey", "clientSecret", "accessToken",
                  "refreshToken", "clientEnvironment"),
    "ClimateFieldView": ("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "apiKey",
                         "refreshToken", "accessToken"),
    "CNHI": ("id", "status", "createdTime", "clientId", "clientSecret", "refreshToken", "clientEnvironment",
             "subscriptionKey"),
    "CNHIFieldOps": ("id", "status", "createdTime", "clientId", "clientSecret", "refreshToken", "clientEnvironment",
                     "subscriptionKey"),
    "Trimble": ("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "accessToken",
                "refreshToken"),
    "AgLeader": ("id", "status", "createdTime", "accessToken", "refreshToken", "publicKey", "privateKey"),
    "Raven": ("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "refreshToken",
              "accessToken"),
    "RavenSlingshot": ("id", "status", "createdTime", "apiKey", "accessKey", "sharedSecret"),
    "Stara": ("id", "status", "createdTime", "accessTokenClient", "refreshToken", "accessToken", "apiKey"),
    "Sentera": ("id", "status", "createdTime", "username", "authToken", "organizationId", "organizationName"),
    "AgVance": ("id", "status", "createdTime", "clientEnvironment", "username", "password", "databaseId",
                "sessionId", "apiKey"),
    "Lindsay": ("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "clientEnvironment",
                "accessToken", "refreshToken"),
    "Valley": ("id", "status", "createdTime", "apid", "key", "initializationVector", "username"),
    "Panorama": ("id", "status", "createdTime", "clientId", "username", "organizationCode", "clientEnvironment",
                 "accessToken", "refreshToken"),
    "CLAAS": ("id", "status", "createdTime", "clientKey", "clientSecret", "refreshToken", "clientEnvironment"),
    "MadeUpFarm": ("id", "status", "createdTime", "tokenMetadata", "clientId", "tenant", "farmAccountId",
                   "accessToken", "refreshToken", "clientEnvironment"),
}


def test_post_and_get_answer_exactly_leafs_fields_in_order(api: Api) -> None:
    p = api.provider
    user_id = api.new_user()
    body = credentials_body(p, random.Random(7))
    r = api.session.post(api.credentials_url(user_id), json={**body, "unknownField": "ignored"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert list(created) == list(ANSWER_FIELDS[p.name])  # never a field more: no password Leaf keeps to itself
    for name, value in body.items():
        if name in created:
            assert created[name] == value, name  # a posted access token too: it is used until it expires
    assert created["status"] == "OK"
    assert LEAF_TIME.match(created["createdTime"])
    if "tokenMetadata" in created:
        assert created["tokenMetadata"] == {"scopes": list(p.upstream.scopes)}  # type: ignore[union-attr]
    for made in set(created) - set(body) - {"id", "status", "createdTime", "tokenMetadata"}:
        assert isinstance(created[made], str) and created[made], made  # what Leaf makes: authToken, sessionId, ...
    assert api.session.get(api.credentials_url(user_id)).json() == created
    assert api.session.get(f"{api.users}/{user_id}").json()[p.user_field] == created


def test_the_leaf_user_embeds_every_providers_field(api: Api) -> None:
    user_id = api.new_user()
    created = api.connect(user_id)
    user = api.session.get(f"{api.users}/{user_id}").json()
    assert user[api.provider.user_field] == created
    for other in ALL:
        if other is not api.provider:
            assert user[other.user_field] is None, other.user_field


def test_a_missing_blank_or_mistyped_field_is_a_400_naming_it_and_nothing_is_stored(api: Api) -> None:
    p = api.provider
    user_id = api.new_user()
    body = credentials_body(p, random.Random(3))
    for f in p.body_fields:
        broken: list[dict[str, Any]] = [{**body, f.name: " "}, {**body, f.name: 42}]
        if f.required:
            broken.append({k: v for k, v in body.items() if k != f.name})
        if f.choices:
            broken.append({**body, f.name: f.choices[0].lower()})
        for bad in broken:
            r = api.session.post(api.credentials_url(user_id), json=bad)
            assert r.status_code == 400, (f.name, bad)
            problem = r.json()
            assert problem["message"] == "error.validation"
            assert [e["field"] for e in problem["fieldErrors"]] == [f.name]
            assert problem["fieldErrors"][0]["objectName"] == p.user_field
    assert api.session.get(api.credentials_url(user_id)).status_code == 404


def test_an_optional_environment_defaults_to_stage_and_a_required_one_must_be_sent(api: Api) -> None:
    env = api.provider.optional_field("clientEnvironment")
    if env is None:
        pytest.skip("this provider's body has no clientEnvironment")
    user_id = api.new_user()
    body = {k: v for k, v in credentials_body(api.provider, random.Random(5)).items() if k != "clientEnvironment"}
    r = api.session.post(api.credentials_url(user_id), json=body)
    if env.required:
        assert r.status_code == 400
        assert r.json()["fieldErrors"][0]["field"] == "clientEnvironment"
    else:
        assert r.status_code == 201 and r.json()["clientEnvironment"] == "STAGE"


def test_a_second_post_is_credential_already_exists_and_an_unknown_user_is_404(api: Api) -> None:
    user_id = api.new_user()
    first = api.connect(user_id)
    again = api.session.post(api.credentials_url(user_id), json=credentials_body(api.provider, random.Random(9)))
    assert again.status_code == 400
    assert again.json()["errorKey"] == "credentialAlreadyExists"
    assert api.session.get(api.credentials_url(user_id)).json() == first
    nobody = api.session.post(api.credentials_url("00000000-0000-4000-8000-000000000000"),
                              json=credentials_body(api.provider, random.Random(9)))
    assert nobody.status_code == 404
    assert requests.get(f"{api.credentials_url(user_id)}/events", headers={"Authorization": "Bearer x"}
                        ).status_code == 401


def test_delete_answers_204_empty_and_takes_the_events_with_it(api: Api) -> None:
    user_id = api.new_user()
    api.connect(user_id)
    assert len(api.events(user_id)) == _calls_at_creation(api.provider)  # the check at creation
    r = api.session.delete(api.credentials_url(user_id))
    assert r.status_code == 204 and r.content == b""
    assert api.session.get(api.credentials_url(user_id)).status_code == 404
    assert api.session.get(f"{api.credentials_url(user_id)}/events").status_code == 404
    assert api.session.delete(api.credentials_url(user_id)).status_code == 404


def test_deleting_the_user_deletes_its_credentials_of_every_provider(api: Api) -> None:
    user_id = api.new_user()
    api.connect(user_id)
    other = next(p for p in ALL if p is not api.provider)
    r = api.session.post(f"{api.users}/{user_id}/{other.path_segment}", json=credentials_body(other, random.Random(1)))
    assert r.status_code == 201
    assert api.session.delete(f"{api.users}/{user_id}").status_code == 204
    assert api.session.get(api.credentials_url(user_id)).status_code == 404
    assert api.session.get(f"{api.users}/{user_id}/{other.path_segment}").status_code == 404


def test_each_check_logs_every_upstream_call_newest_first(api: Api) -> None:
    user_id = api.new_user()
    api.connect(user_id)
    api.a_day_later()
    events = api.events(user_id)
    assert len(events) == _calls_at_creation(api.provider) + _calls_per_check(api.provider)
    assert all(e["statusCode"] == 200 for e in events)
    dates = [e["createdDate"] for e in events]
    assert dates == sorted(dates, reverse=True)
    assert all(isinstance(e["headers"], str) and isinstance(e["body"], str) for e in events)


def _identifying_value(created: dict[str, Any], p: Provider) -> Any:
    return created[p.identifying_field]


def test_a_revoked_grant_makes_the_credential_unauthenticated_with_the_upstreams_answer_and_an_alert(
        api: Api) -> None:
    p = api.provider
    user_id = api.new_user()
    created = api.connect(user_id)
    assert api.control(user_id, "revoke").status_code == 204
    assert api.status(user_id) == "OK"  # until the next check
    api.a_day_later()
    assert api.status(user_id) == "UNAUTHENTICATED"
    newest = api.events(user_id)[0]
    body = json.loads(newest["body"])
    if isinstance(p.upstream, OAuth2):
        assert (newest["statusCode"], body["error"]) == (400, "invalid_grant")
    else:
        assert newest["statusCode"] == 401
    alerts = api.alerts_of(created["id"])
    assert [(a["type"], a["provider"], a["status"]) for a in alerts] == [
        ("credentialsUnauthenticated", p.name, "UNAUTHENTICATED")]
    assert alerts[0]["credential"] == _identifying_value(created, p)
    api.a_day_later()
    assert api.status(user_id) == "UNAUTHENTICATED"  # final until deleted and posted again


def test_a_rotated_secret_is_a_401_and_unauthenticated(api: Api) -> None:
    p = api.provider
    user_id = api.new_user()
    api.connect(user_id)
    r = api.control(user_id, "rotate-secret")
    if p.secret_field is None:
        assert r.status_code == 400 and "no secret" in r.json()["detail"]
        return
    assert r.status_code == 200
    assert set(r.json()) == {p.secret_field}
    api.a_day_later()
    newest = api.events(user_id)[0]
    assert newest["statusCode"] == 401
    if isinstance(p.upstream, OAuth2):
        assert json.loads(newest["body"])["error"] == "invalid_client"
    assert api.status(user_id) == "UNAUTHENTICATED"


def test_a_withdrawn_permission_is_missing_permission_until_restored(api: Api) -> None:
    p = api.provider
    user_id = api.new_user()
    created = api.connect(user_id)
    assert api.control(user_id, "withdraw-permission").status_code == 204
    api.a_day_later()
    assert api.status(user_id) == "MISSING_PERMISSION"
    assert api.events(user_id)[0]["statusCode"] == 403
    assert [a["type"] for a in api.alerts_of(created["id"])] == ["credentialsLimitedPermission"]
    assert api.control(user_id, "restore-permission").status_code == 204
    assert api.control(user_id, "check").json()["status"] == "OK"
    if isinstance(p.upstream, (OAuth2, ApiKey)):
        scope = "ag1"
        assert api.control(user_id, "withdraw-permission", scope=scope).status_code == 204
        assert api.control(user_id, "check").json()["status"] == "MISSING_PERMISSION"


def test_an_outage_is_temporarily_unavailable_and_recovers(api: Api) -> None:
    user_id = api.new_user()
    api.connect(user_id)
    api.outage(start=True)
    try:
        api.a_day_later()
        assert api.status(user_id) == "TEMPORARILY_UNAVAILABLE"
        assert api.events(user_id)[0]["statusCode"] == 503
    finally:
        api.outage(start=False)
    api.a_day_later()
    assert api.status(user_id) == "OK"


def test_the_python_controls_drive_the_same_upstream(provider: Provider) -> None:
    with FakeLeaf(clock=ShiftedClock(), providers=ALL) as leaf:
        user = leaf.create_user(name="Ada")
        created = leaf.create_credentials(provider, user.id, **credentials_body(provider, random.Random(2)))
        assert created.provider == provider.name
        controls = leaf.upstream(provider.slug)
        controls.withdraw_permission(user.id)
        assert controls.run_check(user.id).status.value == "MISSING_PERMISSION"
        controls.restore_permission(user.id)
        controls.revoke(user.id)
        assert isinstance(leaf.clock, ShiftedClock)
        leaf.clock.advance(dt.timedelta(hours=13))  # an OAuth2 grant is tried at the next refresh
        assert leaf.upstream(provider.name).run_check(user.id).status.value == "UNAUTHENTICATED"
        assert [a.provider for a in leaf.alerts()] == [provider.name, provider.name]
        events = leaf.credential_events(provider, user.id)
        assert events[0].status_code in (400, 401)
        leaf.delete_user(user.id)
        assert leaf.list_users() == []


def test_the_openapi_document_covers_every_provider(api: Api) -> None:
    document = requests.get(f"{api.base}/_fake-leaf/openapi.json").json()
    p = api.provider
    base = f"/services/usermanagement/api/users/{{leafUserId}}/{p.path_segment}"
    assert set(document["paths"][base]) == {"get", "post", "delete"}
    assert set(document["paths"][f"{base}/events"]) == {"get"}
    name = p.user_field[0].upper() + p.user_field[1:]
    schemas = document["components"]["schemas"]
    assert set(schemas[f"{name}Input"]["required"]) == {f.name for f in p.body_fields if f.required}
    assert list(schemas[name]["properties"]) == list(ANSWER_FIELDS[p.name])
    assert schemas[name]["additionalProperties"] is False
    assert p.user_field in schemas["LeafUser"]["properties"]
    slugs = document["paths"]["/_fake-leaf/providers/{provider}/outage"]["post"]["parameters"][0]["schema"]["enum"]
    assert p.slug in slugs
