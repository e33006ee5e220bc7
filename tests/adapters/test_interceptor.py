"""The responses interceptor: isolation, patching, decorators, and living beside the test's own mocks."""

from __future__ import annotations

import gc
import unittest
import weakref

import pytest
import requests
import responses

from fake_leaf import FakeLeaf, ManualClock, RateLimit

JD_TOKEN_URL = "https://signin.johndeere.com/oauth2/aus78tnlaysMraFhC1t7/v1/token"


def _user_count(leaf: FakeLeaf) -> int:
    return len(requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).json())


def test_two_fakes_never_share_state() -> None:
    a, b = FakeLeaf(), FakeLeaf(base_url="https://staging.leaf.test")
    with a, b:
        requests.post(f"{a.user_management_url}/users", json={"name": "in a"}, headers=a.headers)
        assert _user_count(a) == 1
        assert _user_count(b) == 0
    assert [u.name for u in a.list_users()] == ["in a"]
    assert b.list_users() == []


def test_leaving_the_context_leaves_nothing_patched() -> None:
    original = requests.adapters.HTTPAdapter.send
    with FakeLeaf():
        assert requests.adapters.HTTPAdapter.send is not original
    assert requests.adapters.HTTPAdapter.send is original


def test_nested_fakes_put_back_what_each_found() -> None:
    original = requests.adapters.HTTPAdapter.send
    outer, inner = FakeLeaf(), FakeLeaf(base_url="https://staging.leaf.test")
    with outer:
        with inner:
            assert _user_count(outer) == 0  # the inner fake hands the outer one's host on
            assert _user_count(inner) == 0
        assert _user_count(outer) == 0
        with pytest.raises(requests.ConnectionError):  # the inner fake's host is no longer served
            requests.get(f"{inner.user_management_url}/users", headers=inner.headers)
    assert requests.adapters.HTTPAdapter.send is original


def test_the_fake_keeps_no_request_or_response_once_the_test_drops_it() -> None:
    # only the bounded journal remembers requests: 20,000 GETs must not grow memory by 10 KB each
    with FakeLeaf() as leaf:
        url, headers = f"{leaf.user_management_url}/users", leaf.headers
        answers = [weakref.ref(requests.get(url, headers=headers)) for _ in range(3)]
        gc.collect()
        assert [ref() for ref in answers] == [None, None, None]
        assert [entry.status for entry in leaf.journal()] == [200, 200, 200]


def test_state_survives_leaving_and_entering_again() -> None:
    leaf = FakeLeaf()
    with leaf:
        requests.post(f"{leaf.user_management_url}/users", json={"name": "kept"}, headers=leaf.headers)
    with leaf:
        assert _user_count(leaf) == 1


def test_entering_twice_is_a_clear_error() -> None:
    leaf = FakeLeaf()
    with leaf, pytest.raises(RuntimeError, match="already active"):
        leaf.start()


decorated = FakeLeaf()


@decorated
def test_a_decorated_function_runs_inside_a_fresh_fake() -> None:
    assert _user_count(decorated) == 0
    requests.post(f"{decorated.user_management_url}/users", json={"name": "x"}, headers=decorated.headers)
    assert _user_count(decorated) == 1


@decorated
def test_a_second_decorated_function_starts_empty_again() -> None:
    assert _user_count(decorated) == 0
    requests.post(f"{decorated.user_management_url}/users", json={"name": "x"}, headers=decorated.headers)


class_fake = FakeLeaf()


@class_fake
class TestADecoratedClass:
    def test_methods_run_inside(self) -> None:
        assert _user_count(class_fake) == 0

    def test_each_method_gets_a_fresh_state(self) -> None:
        requests.post(f"{class_fake.user_management_url}/users", json={}, headers=class_fake.headers)
        assert _user_count(class_fake) == 1


unittest_fake = FakeLeaf()


@unittest_fake
class DecoratedTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.user = requests.post(f"{unittest_fake.user_management_url}/users", json={"name": "from setUp"},
                                  headers=unittest_fake.headers).json()

    def test_setup_ran_inside_the_fake(self) -> None:
        self.assertEqual(self.user["name"], "from setUp")
        self.assertEqual(_user_count(unittest_fake), 1)


@responses.activate
def test_works_beside_the_tests_own_responses_mocks() -> None:
    responses.post(JD_TOKEN_URL, json={"access_token": "jd"})
    with FakeLeaf() as leaf:
        assert requests.post(JD_TOKEN_URL).json() == {"access_token": "jd"}
        assert _user_count(leaf) == 0
        assert requests.post(JD_TOKEN_URL).json() == {"access_token": "jd"}
    assert len(responses.calls) == 2


def test_registers_into_a_mock_the_test_already_has() -> None:
    with responses.RequestsMock() as rsps:
        rsps.post(JD_TOKEN_URL, json={"access_token": "jd"})
        with FakeLeaf(requests_mock=rsps) as leaf:
            for _ in range(3):  # never consumed
                assert _user_count(leaf) == 0
            assert requests.post(JD_TOKEN_URL).status_code == 200
        # leaving removes only fake-leaf's registrations
        assert [r.url for r in rsps.registered()] == [JD_TOKEN_URL]


def test_a_mock_the_test_registers_for_a_leaf_url_wins_and_nothing_is_consumed() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, FakeLeaf(requests_mock=rsps) as leaf:
        users_url = f"{leaf.user_management_url}/users"
        rsps.get(users_url, status=503)
        assert requests.get(users_url, headers=leaf.headers).status_code == 503
        assert requests.get(users_url, headers=leaf.headers).status_code == 503
        # the fake still serves everything else
        assert requests.post(users_url, json={}, headers=leaf.headers).status_code == 201


def test_other_hosts_follow_the_tests_responses_settings() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, FakeLeaf():
        with pytest.raises(requests.ConnectionError, match="Connection refused by Responses"):
            requests.get("https://example.test/anything")
        assert len(rsps.calls) == 1


def test_a_leaf_path_it_does_not_implement_never_reaches_the_network() -> None:
    with FakeLeaf() as leaf:
        r = requests.get(f"{leaf.base_url}/services/operations/api/files", headers=leaf.headers)
        assert r.status_code == 404
        assert "fake-leaf does not implement" in r.json()["detail"]


def test_the_base_url_can_carry_a_path_prefix() -> None:
    with FakeLeaf(base_url="http://127.0.0.1:8080/leaf/") as leaf:
        assert leaf.base_url == "http://127.0.0.1:8080/leaf"
        r = requests.post(f"{leaf.base_url}/api/authenticate",
                          json={"username": leaf.username, "password": leaf.password})
        assert r.status_code == 200


def test_session_auth_keeps_sending_a_valid_token() -> None:
    import datetime as dt

    from freezegun import freeze_time

    with freeze_time("2026-01-01T00:00:00Z") as frozen, FakeLeaf() as leaf:
        session = requests.Session()
        session.auth = leaf.auth
        frozen.tick(dt.timedelta(days=90))
        assert session.get(f"{leaf.user_management_url}/users").status_code == 200


@pytest.mark.parametrize("base_url", [["https://api.withleaf.io"], 5, b"https://api.withleaf.io"])
def test_a_base_url_that_is_not_a_string_is_refused_saying_so(base_url: object) -> None:
    with pytest.raises(TypeError, match="base_url must be a string"):
        FakeLeaf(base_url=base_url)  # type: ignore[arg-type]



@pytest.mark.parametrize(("options", "message"), [
    ({"rate_limit": 1000}, r"rate_limit must be a RateLimit, e\.g\. RateLimit\(1000\).*got 1000"),
    ({"check_interval": 6}, r"check_interval must be a datetime\.timedelta.*got 6"),
    ({"clock": "now"}, r"clock must be a callable.*got 'now'"),
    ({"clock": ManualClock}, r"clock must be a clock, not its class: give ManualClock\(\)"),
    ({"faults": ["http_error"]}, r"faults must be Fault values.*got 'http_error'"),
])
def test_an_option_of_the_wrong_type_is_refused_naming_it(options: dict[str, object], message: str) -> None:
    # a number for rate_limit was taken, and then every request answered a 500 "bug in fake-leaf"
    with pytest.raises(TypeError, match=message):
        FakeLeaf(**options)  # type: ignore[arg-type]


def test_a_rate_limit_set_to_a_number_is_refused_and_the_limit_in_force_stays() -> None:
    with FakeLeaf(rate_limit=RateLimit(2)) as leaf:
        with pytest.raises(TypeError, match="rate_limit must be a RateLimit"):
            leaf.rate_limit = 5  # type: ignore[assignment]
        statuses = [requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code
                    for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_header_values_given_as_bytes_are_read_as_a_server_reads_them() -> None:
    # requests sends a header value given as bytes as those bytes: the fake answered 500 (a bytes Authorization
    # was not text), and a receiver that took one failed every later listing of what it took
    with FakeLeaf() as leaf:
        token = f"Bearer {leaf.token}".encode()
        r = requests.get(f"{leaf.user_management_url}/users", headers={"Authorization": token})
        assert r.status_code == 200
        assert r.json() == []
        receiver = f"{leaf.base_url}/_fake-leaf/receivers/bytes"
        assert requests.post(receiver, data=b"{}", headers={"X-Farm": "Ferme é".encode("latin-1")}).status_code == 200
        taken = requests.get(receiver)
        assert taken.status_code == 200
        assert taken.json()[0]["headers"]["X-Farm"] == "Ferme é"
        # a length given as bytes still frames the body, whatever the case of its name: the missing bytes are refused
        short = requests.get(f"{leaf.user_management_url}/users", headers={**leaf.headers, "content-length": b"5"})
        assert short.status_code == 400
        assert "5" in short.json()["detail"]
