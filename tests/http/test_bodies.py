"""Request bodies read as Leaf's Java stack reads them (contract §6), and nothing stored that cannot be given back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

from fake_leaf import FakeLeaf, InvalidInputError, ShiftedClock
from tests.conftest import state_of

VIOLATION = "https://www.jhipster.tech/problem/constraint-violation"
JSON = {"Content-Type": "application/json"}

# the login body of Leaf's Postman collection: a comment line follows the object
POSTMAN_LOGIN = b"""{
    "username": "api-owner@fake-leaf.test",
    "password": "fake-leaf-password",
    "rememberMe": "true"
}
// replace the username and password with your Leaf API owner's
"""


def _field_errors(r: requests.Response) -> list[dict[str, Any]]:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"] == VIOLATION
    assert body["message"] == "error.validation"
    errors: list[dict[str, Any]] = body["fieldErrors"]
    return errors


def test_leafs_postman_login_body_with_a_trailing_comment_logs_in(leaf: FakeLeaf) -> None:
    r = requests.post(f"{leaf.base_url}/api/authenticate", data=POSTMAN_LOGIN, headers=JSON)
    assert r.status_code == 200, r.text
    token = r.json()["id_token"]
    assert requests.get(f"{leaf.user_management_url}/users", headers={"Authorization": f"Bearer {token}"}).ok


def test_text_after_the_first_json_value_is_ignored(leaf: FakeLeaf, http: requests.Session) -> None:
    r = http.post(f"{leaf.user_management_url}/users", data=b'{"name": "Ada"} {"name": "Bob"} trailing ]]',
                  headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Ada"


@pytest.mark.parametrize("body", [
    b'{"name": "Ada" // a comment\n}',
    b'{"name": /* a comment */ "Ada"}',
    b'{/* before the first field */ "name": "Ada"}',
])
def test_a_comment_inside_the_json_value_is_refused(leaf: FakeLeaf, http: requests.Session, body: bytes) -> None:
    r = http.post(f"{leaf.user_management_url}/users", data=body, headers=JSON)
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["detail"]
    assert leaf.list_users() == []


def test_unknown_fields_are_ignored_and_a_duplicate_key_takes_the_last_value(
        leaf: FakeLeaf, http: requests.Session) -> None:
    r = http.post(f"{leaf.user_management_url}/users", headers=JSON,
                  data=b'{"name": "first", "favouriteTractor": "8R", "name": "last"}')
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "last"
    assert "favouriteTractor" not in r.json()


@pytest.mark.parametrize("body, field", [
    (b'{"name": "\\ud800"}', "name"),
    (b'{"name": "ok \\udfff then"}', "name"),
    (b'{"\\ud800": "a key that is not text"}', "\\ud800"),
    (b'{"address": {"street": ["x", "\\udc00"]}}', "address.street[1]"),
])
def test_a_lone_surrogate_is_refused_naming_the_field_and_nothing_is_stored(
        leaf: FakeLeaf, http: requests.Session, body: bytes, field: str) -> None:
    r = http.post(f"{leaf.user_management_url}/users", data=body, headers=JSON)
    errors = _field_errors(r)
    assert [e["field"] for e in errors] == [field]
    assert "surrogate" in r.json()["detail"]
    assert leaf.list_users() == []
    assert http.get(f"{leaf.user_management_url}/users").status_code == 200


def test_a_lone_surrogate_in_a_credential_is_refused_and_the_user_stays_readable(
        leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user(name="Ada")
    url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
    r = http.post(url, headers=JSON, data=b'{"clientKey": "\\ud83d", "clientSecret": "s", "refreshToken": "r"}')
    assert [e["field"] for e in _field_errors(r)] == ["clientKey"]
    assert http.get(url).status_code == 404
    assert http.get(f"{leaf.user_management_url}/users/{user.id}").status_code == 200
    assert http.get(f"{leaf.user_management_url}/users").status_code == 200


def test_a_surrogate_pair_is_one_character_and_is_given_back(leaf: FakeLeaf, http: requests.Session) -> None:
    r = http.post(f"{leaf.user_management_url}/users", data=b'{"name": "tractor \\ud83d\\ude9c"}', headers=JSON)
    assert r.status_code == 201, r.text
    assert http.get(f"{leaf.user_management_url}/users/{r.json()['id']}").json()["name"] == "tractor \U0001F69C"


@pytest.mark.parametrize("literal, why", [
    (b"1" * 5000, "5000 digits"),
    (b"-" + b"9" * 4301, "4301 digits"),
    (b"NaN", "NaN"),
    (b"Infinity", "Infinity"),
    (b"-Infinity", "-Infinity"),
    (b"1e999", "1e999"),
    (b"-1.5E+400", "-1.5E+400"),
])
def test_a_number_that_cannot_be_read_is_refused_naming_the_field(
        leaf: FakeLeaf, http: requests.Session, literal: bytes, why: str) -> None:
    r = http.post(f"{leaf.user_management_url}/users", data=b'{"name": "Ada", "phone": ' + literal + b"}",
                  headers=JSON)
    errors = _field_errors(r)
    assert [(e["objectName"], e["field"], e["message"]) for e in errors] == [("body", "phone", "NotReadable")]
    assert why in r.json()["detail"]
    assert leaf.list_users() == []


def test_a_huge_integer_at_login_is_a_400_not_a_500(leaf: FakeLeaf) -> None:
    r = requests.post(f"{leaf.base_url}/api/authenticate", headers=JSON,
                      data=b'{"username": "u", "password": "p", "rememberMe": ' + b"7" * 4400 + b"}")
    assert [e["field"] for e in _field_errors(r)] == ["rememberMe"]


@pytest.mark.parametrize("seconds", [b"1" * 5000, b"NaN", b"Infinity", b"1e999"])
def test_the_control_plane_refuses_an_unreadable_number_and_keeps_the_clock(seconds: bytes) -> None:
    with FakeLeaf(clock=ShiftedClock()) as leaf:
        clock = leaf.clock
        assert isinstance(clock, ShiftedClock)
        r = requests.post(f"{leaf.base_url}/_fake-leaf/clock/advance", data=b'{"seconds": ' + seconds + b"}",
                          headers=JSON)
        assert [e["field"] for e in _field_errors(r)] == ["seconds"]
        assert clock.offset == dt.timedelta(0)


def test_a_fault_with_a_nan_delay_is_refused(leaf: FakeLeaf, http: requests.Session) -> None:
    r = requests.post(f"{leaf.base_url}/_fake-leaf/faults", headers=JSON,
                      data=b'{"kind": "delay", "seconds": NaN}')
    assert [e["field"] for e in _field_errors(r)] == ["seconds"]
    assert requests.get(f"{leaf.base_url}/_fake-leaf/faults").json() == []
    assert http.get(f"{leaf.user_management_url}/users").status_code == 200


def test_an_api_owner_with_a_non_ascii_password_logs_in(leaf: FakeLeaf) -> None:
    leaf.add_api_owner("jürgen@hof.example", "pässwörd")
    url = f"{leaf.base_url}/api/authenticate"
    r = requests.post(url, json={"username": "jürgen@hof.example", "password": "pässwörd"})
    assert r.status_code == 200, r.text
    wrong = requests.post(url, json={"username": "jürgen@hof.example", "password": "passwörd"})
    assert wrong.status_code == 401
    assert leaf.login("jürgen@hof.example", "pässwörd")


def test_a_password_in_any_script_compares_as_text(leaf: FakeLeaf) -> None:
    leaf.add_api_owner("farmer@example.jp", "農場のパスワード🚜")
    assert leaf.login("farmer@example.jp", "農場のパスワード🚜")
    r = requests.post(f"{leaf.base_url}/api/authenticate", headers=JSON,
                      data=b'{"username": "farmer@example.jp", "password": "\\ud800"}')
    assert r.status_code == 400  # a lone surrogate is not a password anyone has
    before = state_of(leaf)
    assert requests.post(f"{leaf.base_url}/api/authenticate",
                         json={"username": "farmer@example.jp", "password": "農場"}).status_code == 401
    assert state_of(leaf) == before


def test_a_lone_surrogate_seeded_in_python_is_refused_so_every_listing_stays_readable(
        leaf: FakeLeaf, http: requests.Session) -> None:
    with pytest.raises(InvalidInputError, match="surrogate"):
        leaf.create_user(name="\ud800")
    user = leaf.create_user(name="Ada")
    with pytest.raises(InvalidInputError, match="clientKey"):
        leaf.create_john_deere_credentials(user.id, client_key="k\udc00", client_secret="s", refresh_token="r")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    with pytest.raises(ValueError, match="surrogate"):
        leaf.add_john_deere_credential_event(user.id, status_code=200, body="\ud83d")
    assert http.get(f"{leaf.user_management_url}/users").status_code == 200
    assert http.get(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials/events").status_code == 200
