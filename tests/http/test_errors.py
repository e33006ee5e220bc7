"""Every error of the contract: Leaf's problem body, and the state exactly as it was."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from freezegun import freeze_time

from fake_leaf import FakeLeaf
from tests.conftest import CREDENTIALS_BODY, state_of

PROBLEM = "https://www.jhipster.tech/problem/problem-with-message"
VIOLATION = "https://www.jhipster.tech/problem/constraint-violation"


def assert_problem(r: requests.Response, status: int, title: str) -> dict[str, Any]:
    assert r.status_code == status
    assert r.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["title"] == title
    assert body["path"] == r.request.path_url.split("?")[0].rstrip("/")
    return body


@pytest.fixture
def seeded(leaf: FakeLeaf) -> str:
    user = leaf.create_user(name="Seeded")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    leaf.add_john_deere_credential_event(user.id, status_code=200, body="{}")
    return user.id


@pytest.mark.parametrize("headers, why", [
    ({}, "no Authorization header"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "must read 'Bearer <token>'"),
    ({"Authorization": "Bearer not-a-jwt"}, "not a JWT"),
    ({"Authorization": "Bearer aaa.bbb.ccc"}, "not issued by this fake"),
])
def test_bad_tokens_get_401_not_authenticated(leaf: FakeLeaf, seeded: str, headers: dict[str, str],
                                              why: str) -> None:
    before = state_of(leaf)
    for method in ("GET", "POST", "DELETE"):
        r = requests.request(method, f"{leaf.user_management_url}/users/{seeded}/john-deere-credentials",
                             headers=headers, json=CREDENTIALS_BODY)
        body = assert_problem(r, 401, "Unauthorized")
        assert body["detail"] == "Not Authenticated"
        assert body["message"] == "error.http.401"
        assert why in r.headers["X-Fake-Leaf-Reason"]
    assert state_of(leaf) == before


def test_a_token_from_another_fake_is_unknown(leaf: FakeLeaf, seeded: str) -> None:
    other = FakeLeaf()
    r = requests.get(f"{leaf.user_management_url}/users", headers=other.headers)
    assert_problem(r, 401, "Unauthorized")


def test_the_outer_of_two_active_fakes_gets_a_401_that_says_the_last_entered_answers(leaf: FakeLeaf) -> None:
    with FakeLeaf():  # entered after the test's fake: it answers the host now
        r = requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers)
    assert_problem(r, 401, "Unauthorized")
    assert "while two fakes of one host are active the last entered answers" in r.headers["X-Fake-Leaf-Reason"]
    assert requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code == 200  # alone again


def test_an_expired_token_gets_401(leaf: FakeLeaf) -> None:
    with freeze_time("2026-01-01T00:00:00Z") as frozen:
        token = leaf.login()  # 24 hours without rememberMe
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{leaf.user_management_url}/users", headers=headers).status_code == 200
        frozen.tick(dt.timedelta(hours=24))
        r = requests.get(f"{leaf.user_management_url}/users", headers=headers)
        assert_problem(r, 401, "Unauthorized")
        assert "expired" in r.headers["X-Fake-Leaf-Reason"]


def test_remember_me_tokens_live_30_days(leaf: FakeLeaf) -> None:
    with freeze_time("2026-01-01T00:00:00Z") as frozen:
        token = leaf.login(remember_me=True)
        headers = {"Authorization": f"Bearer {token}"}
        frozen.tick(dt.timedelta(days=29, hours=23))
        assert requests.get(f"{leaf.user_management_url}/users", headers=headers).status_code == 200
        frozen.tick(dt.timedelta(hours=1))
        assert requests.get(f"{leaf.user_management_url}/users", headers=headers).status_code == 401


def test_wrong_password_is_bad_credentials(leaf: FakeLeaf) -> None:
    r = requests.post(f"{leaf.base_url}/api/authenticate", json={"username": leaf.username, "password": "nope"})
    body = assert_problem(r, 401, "Unauthorized")
    assert body["detail"] == "Bad credentials"


@pytest.mark.parametrize("body", [{"username": "x"}, {"password": "x"}, {"username": 1, "password": "x"},
                                  {"username": "x", "password": "y", "rememberMe": "maybe"}])
def test_malformed_login_is_400_naming_the_field(leaf: FakeLeaf, body: dict[str, Any]) -> None:
    r = requests.post(f"{leaf.base_url}/api/authenticate", json=body)
    problem = assert_problem(r, 400, "Method argument not valid")
    assert problem["fieldErrors"][0]["objectName"] == "loginVM"


def test_unknown_user_and_another_owners_user_are_both_404(leaf: FakeLeaf, http: requests.Session,
                                                           seeded: str) -> None:
    other_token = leaf.add_api_owner("other@owner.test", "secret-password")
    theirs = leaf.create_user(api_owner="other@owner.test", name="Theirs")
    leaf.create_john_deere_credentials(theirs.id, client_key="k", client_secret="s", refresh_token="r",
                                       api_owner="other@owner.test")
    before = state_of(leaf)
    for user_id in ("00000000-0000-0000-0000-000000000000", theirs.id):
        base = f"{leaf.user_management_url}/users/{user_id}"
        for r in (http.get(base), http.delete(base), http.get(f"{base}/john-deere-credentials"),
                  http.post(f"{base}/john-deere-credentials", json=CREDENTIALS_BODY),
                  http.delete(f"{base}/john-deere-credentials"), http.get(f"{base}/john-deere-credentials/events"),
                  http.put(f"{leaf.user_management_url}/users", json={"id": user_id, "name": "x"})):
            assert_problem(r, 404, "Not Found")
    assert state_of(leaf) == before
    # the other owner still sees its user untouched
    r = requests.get(f"{leaf.user_management_url}/users/{theirs.id}/john-deere-credentials",
                     headers={"Authorization": f"Bearer {other_token}"})
    assert r.status_code == 200


def test_a_second_credential_is_credential_already_exists(leaf: FakeLeaf, http: requests.Session,
                                                          seeded: str) -> None:
    before = state_of(leaf)
    r = http.post(f"{leaf.user_management_url}/users/{seeded}/john-deere-credentials", json=CREDENTIALS_BODY)
    body = assert_problem(r, 400, "Bad Request")
    assert body["errorKey"] == "credentialAlreadyExists"
    assert state_of(leaf) == before


def test_the_replace_option_makes_a_second_post_replace() -> None:
    with FakeLeaf(on_duplicate_credentials="replace") as leaf:
        user = leaf.create_user()
        first = leaf.create_john_deere_credentials(user.id, client_key="a", client_secret="s", refresh_token="r")
        seeded = leaf.add_john_deere_credential_event(user.id, status_code=200, body="{}")
        r = requests.post(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials",
                          json=CREDENTIALS_BODY, headers=leaf.headers)
        assert r.status_code == 201
        assert r.json()["id"] != first.id
        assert seeded not in leaf.john_deere_credential_events(user.id)


@pytest.mark.parametrize("change, field, message", [
    ({"clientKey": None}, "clientKey", "NotBlank"),
    ({"clientSecret": ""}, "clientSecret", "NotBlank"),
    ({"refreshToken": "   "}, "refreshToken", "NotBlank"),
    ({"clientKey": 42}, "clientKey", "TypeMismatch"),
    ({"clientSecret": ["a"]}, "clientSecret", "TypeMismatch"),
    ({"clientEnvironment": "stage"}, "clientEnvironment", "Pattern"),
    ({"clientEnvironment": "PROD"}, "clientEnvironment", "Pattern"),
])
def test_bad_fields_are_400_naming_the_field(leaf: FakeLeaf, http: requests.Session,
                                              change: dict[str, Any], field: str, message: str) -> None:
    user = leaf.create_user()
    before = state_of(leaf)
    body = {**CREDENTIALS_BODY, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = http.post(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials", json=body)
    problem = assert_problem(r, 400, "Method argument not valid")
    assert problem["type"] == VIOLATION
    assert problem["message"] == "error.validation"
    assert problem["fieldErrors"] == [{"objectName": "johnDeereCredentials", "field": field, "message": message}]
    assert field in problem["detail"]
    assert state_of(leaf) == before


@pytest.mark.parametrize("raw", [b"not json", b"", b"[1, 2]", b'"a string"', b"\xff\xfe", b"[" * 100000,
                                 b'{"clientKey": "k"'])
def test_a_body_that_is_not_a_json_object_is_400(leaf: FakeLeaf, http: requests.Session, raw: bytes) -> None:
    user = leaf.create_user()
    before = state_of(leaf)
    r = http.post(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials", data=raw,
                  headers={"Content-Type": "application/json"})
    body = assert_problem(r, 400, "Bad Request")
    assert body["detail"].startswith("The request body must be a JSON object")
    assert state_of(leaf) == before


@pytest.mark.parametrize("method, suffix", [("PUT", "/john-deere-credentials"), ("PATCH", "/john-deere-credentials"),
                                            ("POST", "/john-deere-credentials/events"), ("PUT", "")])
def test_a_method_the_path_does_not_take_is_405(leaf: FakeLeaf, http: requests.Session, seeded: str,
                                                method: str, suffix: str) -> None:
    before = state_of(leaf)
    r = http.request(method, f"{leaf.user_management_url}/users/{seeded}{suffix}", json=CREDENTIALS_BODY)
    assert_problem(r, 405, "Method Not Allowed")
    assert "Allow" in r.headers
    assert state_of(leaf) == before


def test_a_path_the_fake_does_not_implement_says_so(leaf: FakeLeaf, http: requests.Session) -> None:
    r = http.get(f"{leaf.base_url}/services/fields/api/fields")
    body = assert_problem(r, 404, "Not Found")
    assert "fake-leaf does not implement GET /services/fields/api/fields" in body["detail"]
    assert "GET /services/usermanagement/api/users/{leafUserId}/john-deere-credentials" in body["detail"]


def test_a_new_user_with_an_id_is_idexists(leaf: FakeLeaf, http: requests.Session) -> None:
    r = http.post(f"{leaf.user_management_url}/users", json={"id": "abc", "name": "x"})
    body = assert_problem(r, 400, "Bad Request")
    assert body["errorKey"] == "idexists"
    assert leaf.list_users() == []


def test_put_without_id_is_idnull(leaf: FakeLeaf, http: requests.Session) -> None:
    r = http.put(f"{leaf.user_management_url}/users", json={"name": "x"})
    assert assert_problem(r, 400, "Bad Request")["errorKey"] == "idnull"


def test_a_user_field_that_is_not_a_string_is_400(leaf: FakeLeaf, http: requests.Session) -> None:
    r = http.post(f"{leaf.user_management_url}/users", json={"name": {"first": "Ada"}})
    problem = assert_problem(r, 400, "Method argument not valid")
    assert problem["fieldErrors"][0]["field"] == "name"
    assert leaf.list_users() == []
