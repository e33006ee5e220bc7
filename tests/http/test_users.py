"""Leaf users: filters, paging, sort, headers, replace and delete."""

from __future__ import annotations

import requests

from fake_leaf import FakeLeaf, NotFoundError
from tests.conftest import CREDENTIALS_BODY


def _names(r: requests.Response) -> list[str]:
    return [u["name"] for u in r.json()]


def test_list_filters_match_exactly(leaf: FakeLeaf, http: requests.Session) -> None:
    leaf.create_user(name="Ada", email="ada@farm.test", externalId="e-1")
    leaf.create_user(name="Bob", email="bob@farm.test", externalId="e-2")
    leaf.create_user(name="Ada Lovelace", email="al@farm.test")
    url = f"{leaf.user_management_url}/users"
    assert _names(http.get(url, params={"name": "Ada"})) == ["Ada"]
    assert _names(http.get(url, params={"email": "bob@farm.test"})) == ["Bob"]
    assert _names(http.get(url, params={"externalId": "e-1"})) == ["Ada"]
    assert http.get(url, params={"name": "ada"}).json() == []


def test_paging_with_total_count_and_link_headers(leaf: FakeLeaf, http: requests.Session) -> None:
    for i in range(45):
        leaf.create_user(name=f"user-{i:02d}")
    url = f"{leaf.user_management_url}/users"
    first = http.get(url)
    assert len(first.json()) == 20
    assert first.headers["X-Total-Count"] == "45"
    assert 'page=1&size=20>; rel="next"' in first.headers["Link"]
    assert 'rel="prev"' not in first.headers["Link"]
    assert 'page=2&size=20>; rel="last"' in first.headers["Link"]
    assert 'page=0&size=20>; rel="first"' in first.headers["Link"]

    last = http.get(url, params={"page": 2, "size": 20})
    assert _names(last) == [f"user-{i}" for i in range(40, 45)]
    assert 'rel="next"' not in last.headers["Link"]
    assert 'page=1&size=20>; rel="prev"' in last.headers["Link"]

    seen = []
    for page in range(3):
        seen += _names(http.get(url, params={"page": page}))
    assert seen == [f"user-{i:02d}" for i in range(45)]


def test_a_page_far_past_the_end_is_empty_with_or_without_sort(leaf: FakeLeaf, http: requests.Session) -> None:
    leaf.create_user(name="Ada")
    for params in ({"page": str(2**90)}, {"page": str(2**90), "sort": "name,asc"}, {"page": "1", "name": "Ada"}):
        r = http.get(f"{leaf.user_management_url}/users", params=params)
        assert (r.status_code, r.json(), r.headers["X-Total-Count"]) == (200, [], "1"), params


def test_link_keeps_the_filters_and_size_is_capped_at_100(leaf: FakeLeaf, http: requests.Session) -> None:
    for _ in range(120):
        leaf.create_user(name="same")
    r = http.get(f"{leaf.user_management_url}/users", params={"name": "same", "size": 500})
    assert len(r.json()) == 100
    assert "name=same" in r.headers["Link"]
    assert "size=100" in r.headers["Link"]


def test_sort_ascending_descending_and_by_two_fields(leaf: FakeLeaf, http: requests.Session) -> None:
    leaf.create_user(name="b", email="2")
    leaf.create_user(name="a", email="3")
    leaf.create_user(name="b", email="1")
    leaf.create_user(name=None, email="0")
    url = f"{leaf.user_management_url}/users"
    assert _names(http.get(url, params={"sort": "name,asc"})) == ["a", "b", "b", None]
    assert _names(http.get(url, params={"sort": "name,desc"})) == [None, "b", "b", "a"]
    by_two = http.get(url, params=[("sort", "name,asc"), ("sort", "email,desc")]).json()
    assert [(u["name"], u["email"]) for u in by_two] == [("a", "3"), ("b", "2"), ("b", "1"), (None, "0")]


def test_bad_paging_or_sort_is_400(leaf: FakeLeaf, http: requests.Session) -> None:
    url = f"{leaf.user_management_url}/users"
    for params in ({"page": "x"}, {"page": -1}, {"size": 0}, {"sort": "password,asc"}, {"sort": ","}):
        r = http.get(url, params=params)
        assert r.status_code == 400, params
        assert r.json()["fieldErrors"]


def test_create_answers_201_with_location(leaf: FakeLeaf, http: requests.Session) -> None:
    r = http.post(f"{leaf.user_management_url}/users", json={"name": "Ada", "email": "ada@farm.test"})
    assert r.status_code == 201
    assert r.headers["Location"] == f"{leaf.user_management_url}/users/{r.json()['id']}"
    assert http.get(r.headers["Location"]).json() == r.json()


def test_put_replaces_the_whole_user_and_drops_the_credentials_it_leaves_out(leaf: FakeLeaf,
                                                                             http: requests.Session) -> None:
    user = leaf.create_user(name="Ada", email="ada@farm.test")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    r = http.put(f"{leaf.user_management_url}/users", json={"id": user.id, "name": "Ada L."})
    assert r.status_code == 200
    assert r.json()["name"] == "Ada L."
    assert r.json()["email"] is None
    assert r.json()["johnDeereCredentials"] is None  # Leaf: "the new Leaf User will have no credentials"
    creds = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
    assert http.get(creds).status_code == 404
    assert http.get(f"{creds}/events").status_code == 404  # the events went with them


def test_put_keeps_a_credential_named_by_its_id(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user(name="Ada")
    created = leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    got = http.get(f"{leaf.user_management_url}/users/{user.id}").json()
    r = http.put(f"{leaf.user_management_url}/users", json={**got, "name": "Ada L."})  # GET, edit, PUT back
    assert r.status_code == 200
    assert r.json()["johnDeereCredentials"]["id"] == created.id
    assert r.json()["name"] == "Ada L."
    r = http.put(f"{leaf.user_management_url}/users", json={"id": user.id, "johnDeereCredentials": {"id": created.id}})
    assert r.json()["johnDeereCredentials"]["clientKey"] == "k"


def test_a_put_naming_a_credential_the_user_lacks_is_a_400_and_changes_nothing(leaf: FakeLeaf,
                                                                               http: requests.Session) -> None:
    user = leaf.create_user(name="Ada")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    before = http.get(f"{leaf.user_management_url}/users/{user.id}").json()
    for bad in ({"id": "not-its-id"}, {"clientKey": "k"}, "yes"):
        r = http.put(f"{leaf.user_management_url}/users",
                     json={"id": user.id, "name": "B", "johnDeereCredentials": bad})
        assert r.status_code == 400, bad
        assert [e["field"] for e in r.json()["fieldErrors"]] == ["johnDeereCredentials"]
    r = http.put(f"{leaf.user_management_url}/users", json={"id": user.id, "trimbleCredentials": {"id": "x"}})
    assert r.status_code == 400 and "has no Trimble credentials" in r.json()["detail"]
    assert http.get(f"{leaf.user_management_url}/users/{user.id}").json() == before


def test_put_keep_option_keeps_credentials_left_out() -> None:
    with FakeLeaf(put_without_credentials="keep") as leaf:
        user = leaf.create_user(name="Ada")
        leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
        r = requests.put(f"{leaf.user_management_url}/users", json={"id": user.id}, headers=leaf.headers)
        assert r.json()["johnDeereCredentials"]["clientKey"] == "k"


def test_patch_changes_the_named_fields_and_keeps_the_rest_and_the_credentials(leaf: FakeLeaf,
                                                                               http: requests.Session) -> None:
    user = leaf.create_user(name="Ada", email="ada@farm.test", phone="+1 555 0100")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    url = f"{leaf.user_management_url}/users/{user.id}"
    r = http.patch(url, json={"name": "Ada L.", "phone": None, "unknown": 1})
    assert r.status_code == 200
    body = r.json()
    assert (body["name"], body["email"], body["phone"]) == ("Ada L.", "ada@farm.test", None)
    assert body["johnDeereCredentials"]["clientKey"] == "k"
    assert http.get(url).json() == body
    assert leaf.list_users()[0].name == "Ada L."
    assert http.get(f"{leaf.user_management_url}/users", params={"name": "Ada L."}).json()[0]["id"] == user.id


def test_a_bad_patch_is_a_400_or_404_and_changes_nothing(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user(name="Ada")
    url = f"{leaf.user_management_url}/users/{user.id}"
    before = http.get(url).json()
    r = http.patch(url, json={"name": 5})
    assert r.status_code == 400 and r.json()["fieldErrors"][0]["field"] == "name"
    r = http.patch(url, json={"id": "another-id", "name": "B"})
    assert r.status_code == 400 and r.json()["errorKey"] == "idinvalid"
    r = http.patch(url, data=b"[1]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert http.patch(f"{leaf.user_management_url}/users/00000000-0000-4000-8000-000000000000",
                      json={"name": "B"}).status_code == 404
    assert http.get(url).json() == before


def test_deleting_a_user_takes_its_credentials_and_events(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user(name="Ada")
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    leaf.add_john_deere_credential_event(user.id, status_code=200, body="{}")
    r = http.delete(f"{leaf.user_management_url}/users/{user.id}")
    assert r.status_code == 204
    base = f"{leaf.user_management_url}/users/{user.id}"
    assert http.get(base).status_code == 404
    assert http.get(f"{base}/john-deere-credentials").status_code == 404
    assert http.get(f"{base}/john-deere-credentials/events").status_code == 404
    try:
        leaf.get_user(user.id)
        raise AssertionError("the user should be gone")
    except NotFoundError:
        pass


def test_a_new_credential_after_delete_starts_with_an_empty_log(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user()
    leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
    old = [e.id for e in leaf.john_deere_credential_events(user.id)]
    old.append(leaf.add_john_deere_credential_event(user.id, status_code=400, body="{}").id)
    url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
    assert http.delete(url).status_code == 204
    created = http.post(url, json=CREDENTIALS_BODY).json()
    events = http.get(f"{url}/events").json()
    # only the new credential's own creation check: nothing of the old log
    assert not {e["id"] for e in events} & set(old)
    assert all(e["createdDate"] == created["createdTime"] for e in events)


def test_a_sorted_filtered_page_follows_every_change_to_the_users(leaf: FakeLeaf, http: requests.Session) -> None:
    url = f"{leaf.user_management_url}/users"
    query = {"name": "Ann", "sort": "email,asc"}

    def emails() -> list[str]:
        return [u["email"] for u in http.get(url, params=query).json()]

    b = leaf.create_user(name="Ann", email="b@x.test")
    leaf.create_user(name="Bob", email="a@x.test")
    assert emails() == ["b@x.test"]
    a = leaf.create_user(name="Ann", email="a@x.test")
    assert emails() == ["a@x.test", "b@x.test"]  # a new user is in the next page read, in order
    http.put(url, json={"id": b.id, "name": "Ann", "email": "0@x.test"})
    assert emails() == ["0@x.test", "a@x.test"]  # a replaced field moves the user
    leaf.delete_user(a.id)
    assert emails() == ["0@x.test"]


def test_a_filter_lists_the_users_sharing_a_value_in_the_order_they_came(leaf: FakeLeaf,
                                                                          http: requests.Session) -> None:
    url = f"{leaf.user_management_url}/users"

    def found(**params: str) -> list[str]:
        return [u["id"] for u in http.get(url, params=params).json()]

    ids = [leaf.create_user(name="Ann", email=f"{i}@x.test").id for i in range(3)]
    assert found(name="Ann") == ids
    leaf.delete_user(ids[1])
    assert found(name="Ann") == [ids[0], ids[2]]
    leaf.delete_user(ids[0])
    assert found(name="Ann") == [ids[2]]  # one left of many
    http.put(url, json={"id": ids[2], "name": "Bea", "email": "2@x.test"})
    assert found(name="Ann") == []
    again = leaf.create_user(name="Bea").id
    assert found(name="Bea") == [ids[2], again]  # one, then many again
    assert found(email="2@x.test") == [ids[2]]
    assert found(name="Bea", email="2@x.test") == [ids[2]]
