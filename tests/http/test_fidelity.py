"""Where Leaf's current documentation differs from what the fake once did: paged events, Leaf's own alert
event names, Panorama's one-click integration, and the values Leaf makes (shaped like Leaf's, repeatable)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from fake_leaf import FakeLeaf, ManualClock
from tests.conftest import CREDENTIALS_BODY

DAY = dt.timedelta(days=1)
ALERTS = "/services/alerts/api/alerts/webhooks"
# the events page of Leaf's docs, word for word (the contract's §8)
LEAF_EVENT_NAMES = """credentialsLimitedPermission, credentialsUnauthenticated, fieldCreated, fieldUpdated,
  mergedFieldCreated, mergedFieldUpdated, fieldBoundaryCreated, fieldBoundaryUpdated,
  fieldBoundaryDeleted, batchUploadProcessingFinished, uploadedFileProcessingFinished,
  uploadedFileProcessingFailed, providerFileProcessingFinished, providerFileProcessingFailed,
  mergedFileProcessingFinished, mergedFileProcessingFailed, automergedFileProcessingFinished,
  automergedFileProcessingFailed, operationCreated, operationUpdated, operationProcessingFinished,
  operationProcessingFailed, workflowProcessingFinished, workflowProcessingFailed, newSatelliteImage,
  satelliteSubscriptionFailed, newIrrigationActivity, newFieldIrrigationActivity, machineCreated,
  machineUpdated, machineDeleted, implementCreated, implementUpdated, operatorCreated,
  operatorUpdated, providerOrganizationCreated, providerOrganizationBlocked,
  providerOrganizationRemoved""".replace("\n", "").replace(" ", "").split(",")


@pytest.fixture
def leaf() -> Iterator[FakeLeaf]:
    with FakeLeaf(clock=ManualClock()) as fake:
        yield fake


def _events_of_a_busy_credential(leaf: FakeLeaf, days: int) -> str:
    """A John Deere credential checked once a day for ``days`` days: 2 events a day, 2 at creation."""
    user = leaf.create_user(name="Ada")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    clock = leaf.clock
    assert isinstance(clock, ManualClock)
    for _ in range(days):
        clock.advance(DAY)
        leaf.credential_events("JohnDeere", user.id)  # the day's check runs
    return f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials/events"


def test_events_page_like_users_with_the_total_and_links(leaf: FakeLeaf) -> None:
    url = _events_of_a_busy_credential(leaf, 12)  # 26 events
    every = [e.id for e in leaf.credential_events("JohnDeere", leaf.list_users()[0].id)]
    assert len(every) == 26
    first = requests.get(url, headers=leaf.headers)
    assert [e["id"] for e in first.json()] == every[:20]  # 20 by default, newest first
    assert first.headers["X-Total-Count"] == "26"
    assert 'rel="next"' in first.headers["Link"] and 'rel="prev"' not in first.headers["Link"]
    second = requests.get(url, params={"page": 1}, headers=leaf.headers)
    assert [e["id"] for e in second.json()] == every[20:]
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]
    assert requests.get(url, params={"page": 2}, headers=leaf.headers).json() == []  # a client paging stops here
    assert requests.get(url, params={"page": 10**30}, headers=leaf.headers).json() == []
    oldest_first = requests.get(url, params={"sort": "createdDate,asc", "size": "5"}, headers=leaf.headers).json()
    assert [e["id"] for e in oldest_first] == every[::-1][:5]
    assert len(requests.get(url, params={"size": 1000}, headers=leaf.headers).json()) == 26  # at most 100


def test_following_the_next_links_reads_every_event_once(leaf: FakeLeaf) -> None:
    url = _events_of_a_busy_credential(leaf, 60)  # the 30-day window holds 60 of them
    seen: list[str] = []
    next_url: str | None = f"{url}?size=7"
    while next_url:
        r = requests.get(next_url, headers=leaf.headers)
        seen += [e["id"] for e in r.json()]
        found = re.search(r'<([^>]+)>; rel="next"', r.headers["Link"])
        next_url = found.group(1) if found else None
    assert seen == [e.id for e in leaf.credential_events("JohnDeere", leaf.list_users()[0].id)]
    assert len(seen) == len(set(seen)) == 60


@pytest.mark.parametrize("query, parameter", [
    ({"page": "-1"}, "page"), ({"page": "one"}, "page"), ({"size": "0"}, "size"), ({"size": "1e3"}, "size"),
    ({"sort": "statusCode,desc"}, "sort"), ({"sort": ","}, "sort"),
])
def test_a_bad_paging_value_is_a_400_naming_it(leaf: FakeLeaf, query: dict[str, str], parameter: str) -> None:
    url = _events_of_a_busy_credential(leaf, 0)
    r = requests.get(url, params=query, headers=leaf.headers)
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["fieldErrors"]] == [parameter]


def test_any_of_leafs_event_names_registers_and_any_other_is_a_400_naming_it() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as receiver, \
            FakeLeaf(requests_mock=receiver) as leaf:
        url = f"{leaf.base_url}{ALERTS}"
        receiver.post("https://receiver.example/leaf", status=200)  # the confirmation of each registration
        for i, name in enumerate(LEAF_EVENT_NAMES):
            hook = {"name": f"h{i}", "url": "https://receiver.example/leaf", "secret": "s", "events": [name]}
            r = requests.post(url, json=hook, headers=leaf.headers)
            assert r.status_code == 201, (name, r.text)
        before = requests.get(url, headers=leaf.headers).json()
        for old_name in ("newMachine", "updatedMachine", "deletedMachine", "newImplement", "updatedImplement"):
            hook = {"name": "old", "url": "https://receiver.example/leaf", "secret": "s",
                    "events": ["credentialsUnauthenticated", old_name]}
            r = requests.post(url, json=hook, headers=leaf.headers)
            assert r.status_code == 400
            assert old_name in r.json()["detail"]
        assert requests.get(url, headers=leaf.headers).json() == before  # one refused name fails the whole


def test_panorama_connects_in_one_click_to_the_same_credential_as_its_post(leaf: FakeLeaf) -> None:
    user = leaf.create_user(name="Ada")
    url = f"{leaf.user_management_url}/users/{user.id}/one-click-integration/Panorama"
    body = {"clientId": "pano-app", "username": "ada@farm.test", "password": "pw", "clientEnvironment": "PRODUCTION",
            "sharingUrlId": "a1b2c3"}
    r = requests.post(url, json=body, headers=leaf.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert list(created) == ["id", "status", "createdTime", "clientId", "username", "organizationCode",
                             "clientEnvironment", "accessToken", "refreshToken"]
    assert (created["clientId"], created["username"], created["clientEnvironment"], created["status"]) == (
        "pano-app", "ada@farm.test", "PRODUCTION", "OK")
    credentials = f"{leaf.user_management_url}/users/{user.id}/panorama-credentials"
    assert requests.get(credentials, headers=leaf.headers).json() == created
    again = requests.post(url, json=body, headers=leaf.headers)
    assert again.status_code == 400 and again.json()["errorKey"] == "credentialAlreadyExists"


def test_a_bad_one_click_body_is_a_400_naming_the_field_and_stores_nothing(leaf: FakeLeaf) -> None:
    user = leaf.create_user(name="Ada")
    url = f"{leaf.user_management_url}/users/{user.id}/one-click-integration/Panorama"
    r = requests.post(url, json={"clientId": "a", "username": "u", "password": "p", "clientEnvironment": "stage"},
                      headers=leaf.headers)
    assert r.status_code == 400
    assert sorted(e["field"] for e in r.json()["fieldErrors"]) == ["clientEnvironment", "sharingUrlId"]
    assert requests.get(f"{leaf.user_management_url}/users/{user.id}/panorama-credentials",
                        headers=leaf.headers).status_code == 404
    other = f"{leaf.user_management_url}/users/{user.id}/one-click-integration/JohnDeere"
    assert requests.post(other, json={}, headers=leaf.headers).status_code == 404


def _made_values(seed: int | None) -> dict[str, Any]:
    """What the fake makes where Leaf makes it, for the same calls: tokens, Sentera's and Agvance's values."""
    with FakeLeaf(seed=seed) as leaf:
        user = leaf.create_user(name="Ada")
        base = f"{leaf.user_management_url}/users/{user.id}"
        made: dict[str, Any] = {}
        for segment, body in (("john-deere-credentials", CREDENTIALS_BODY),
                              ("sentera-credentials", {"username": "u", "password": "p", "organizationName": "Farm"}),
                              ("agvance-credentials", {"apiKey": "k", "databaseId": "1", "username": "u",
                                                       "password": "p"})):
            answer = requests.post(f"{base}/{segment}", json=body, headers=leaf.headers).json()
            made[segment] = {k: v for k, v in answer.items() if k not in body and k not in ("id", "createdTime")}
        return made


def test_the_values_leaf_makes_look_like_leafs_and_repeat_with_the_seed() -> None:
    first, again, other = _made_values(7), _made_values(7), _made_values(8)
    assert first == again
    assert first != other
    sentera, agvance = first["sentera-credentials"], first["agvance-credentials"]
    assert "password" not in sentera  # Leaf never answers it
    assert re.fullmatch(r"[0-9a-f]{32}", sentera["authToken"])
    assert re.fullmatch(r"[0-9a-z]{7}", sentera["organizationId"])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", agvance["sessionId"])
    header, claims, signature = first["john-deere-credentials"]["accessToken"].split(".")  # a JWT, as Okta's
    assert json.loads(_b64(header))["alg"] == "RS256" and "jti" in json.loads(_b64(claims)) and signature


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize("value", ["\u0661", "1_0", "+1", " 1", "1" * 1001])  # an Arabic-Indic one, ...
def test_paging_numbers_are_ascii_digits_as_java_reads_them(leaf: FakeLeaf, value: str) -> None:
    url = _events_of_a_busy_credential(leaf, 0)
    r = requests.get(url, params={"page": value}, headers=leaf.headers)
    assert r.status_code == 400
    assert r.json()["fieldErrors"][0]["field"] == "page"
    assert len(r.json()["detail"]) < 300  # a long value is quoted shortened


def test_sentera_resolves_one_organization_id_per_organization_name() -> None:
    with FakeLeaf() as leaf:
        ids = []
        for name in ("Acme", "Acme", "Other"):
            user = leaf.create_user(name=name)
            body = {"username": "u", "password": "p", "organizationName": name}
            ids.append(requests.post(f"{leaf.user_management_url}/users/{user.id}/sentera-credentials", json=body,
                                     headers=leaf.headers).json()["organizationId"])
        assert ids[0] == ids[1] != ids[2]
