"""The requests of Leaf's documentation page and the Postman collection's habits, as they are."""

from __future__ import annotations

import re

import requests

from fake_leaf import FakeLeaf
from tests.conftest import CREDENTIALS_BODY

DOC_FIELDS = {"id", "status", "createdTime", "tokenMetadata", "clientKey", "clientSecret",
              "accessToken", "refreshToken", "clientEnvironment"}
LEAF_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _user(leaf: FakeLeaf, http: requests.Session) -> str:
    r = http.post(f"{leaf.user_management_url}/users", json={"name": "Ada Grower"})
    assert r.status_code == 201
    return str(r.json()["id"])


def test_login_with_remember_me_as_string_or_boolean(leaf: FakeLeaf) -> None:
    for remember in ("true", True, "false", False):
        r = requests.post(f"{leaf.base_url}/api/authenticate",
                          json={"username": leaf.username, "password": leaf.password, "rememberMe": remember})
        assert r.status_code == 200
        token = r.json()["id_token"]
        assert token.count(".") == 2
        users = requests.get(f"{leaf.user_management_url}/users/", headers={"Authorization": f"Bearer {token}"})
        assert users.status_code == 200


def test_post_get_delete_as_the_documentation_shows(leaf: FakeLeaf, http: requests.Session) -> None:
    user_id = _user(leaf, http)
    url = f"{leaf.user_management_url}/users/{user_id}/john-deere-credentials"
    # the documented curl: a body with every request field, the Postman collection's Content-Type
    created = http.post(url, data='{"clientKey": "str","clientSecret": "str","refreshToken": "str",'
                                  '"clientEnvironment": "PRODUCTION"}',
                        headers={"Content-Type": "application/json"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == DOC_FIELDS
    assert body["status"] == "OK"
    assert LEAF_TIME.match(body["createdTime"])
    assert body["clientKey"] == "str" and body["clientSecret"] == "str" and body["refreshToken"] == "str"
    assert body["clientEnvironment"] == "PRODUCTION"
    assert body["tokenMetadata"] == {"scopes": ["ag1", "eq1", "files", "offline_access"]}
    assert body["accessToken"]

    got = http.get(url, headers={"Content-Type": "application/json"})
    assert got.status_code == 200
    assert got.json() == body

    events = http.get(f"{url}/events", headers={"Content-Type": "application/json"})
    assert events.status_code == 200
    assert isinstance(events.json(), list)

    deleted = http.delete(url, headers={"Content-Type": "application/json"})
    assert deleted.status_code == 204
    assert deleted.content == b""

    for response in (http.get(url), http.delete(url), http.get(f"{url}/events")):
        assert response.status_code == 404
        assert response.json()["status"] == 404


def test_client_environment_is_required_and_nothing_is_stored_without_it(leaf: FakeLeaf,
                                                                         http: requests.Session) -> None:
    user_id = _user(leaf, http)
    body = {k: v for k, v in CREDENTIALS_BODY.items() if k != "clientEnvironment"}
    url = f"{leaf.user_management_url}/users/{user_id}/john-deere-credentials"
    r = http.post(url, json=body)
    assert r.status_code == 400
    assert [(e["field"], e["message"]) for e in r.json()["fieldErrors"]] == [("clientEnvironment", "NotBlank")]
    assert http.get(url).status_code == 404


def test_the_stage_default_is_an_option_for_older_clients() -> None:
    with FakeLeaf(john_deere_stage_default=True) as leaf:
        user = leaf.create_user(name="Ada")
        body = {k: v for k, v in CREDENTIALS_BODY.items() if k != "clientEnvironment"}
        r = requests.post(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials", json=body,
                          headers=leaf.headers)
        assert r.status_code == 201
        assert r.json()["clientEnvironment"] == "STAGE"


def test_unknown_fields_are_ignored(leaf: FakeLeaf, http: requests.Session) -> None:
    user_id = _user(leaf, http)
    r = http.post(f"{leaf.user_management_url}/users/{user_id}/john-deere-credentials",
                  json={**CREDENTIALS_BODY, "tokenId": "old-field", "status": "UNAUTHENTICATED"})
    assert r.status_code == 201
    assert "tokenId" not in r.json()
    assert r.json()["status"] == "OK"


def test_created_time_has_six_digits_even_on_a_whole_second(leaf: FakeLeaf, http: requests.Session) -> None:
    from freezegun import freeze_time

    with freeze_time("2026-03-02T14:05:11Z"):  # around all of the test's state, so time never goes back
        user_id = _user(leaf, http)
        r = http.post(f"{leaf.user_management_url}/users/{user_id}/john-deere-credentials", json=CREDENTIALS_BODY)
    assert r.json()["createdTime"] == "2026-03-02T14:05:11.000000Z"


def test_user_embeds_its_credentials(leaf: FakeLeaf, http: requests.Session) -> None:
    user_id = _user(leaf, http)
    assert http.get(f"{leaf.user_management_url}/users/{user_id}").json()["johnDeereCredentials"] is None
    created = http.post(f"{leaf.user_management_url}/users/{user_id}/john-deere-credentials", json=CREDENTIALS_BODY)
    user = http.get(f"{leaf.user_management_url}/users/{user_id}").json()
    assert user["johnDeereCredentials"] == created.json()
