"""Leaf misbehaving on purpose: injected faults, the rate limit, and the request journal."""

from __future__ import annotations

import datetime as dt
import json
import re
import typing

import pytest
import requests
from freezegun import freeze_time
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from fake_leaf import FakeLeaf, Fault, FaultKind, RateLimit
from tests.conftest import CREDENTIALS_BODY, state_of

CREDS = "/users/{leafUserId}/john-deere-credentials"


def test_a_client_with_retry_gets_through_an_injected_503(leaf: FakeLeaf) -> None:
    user = leaf.create_user()
    leaf.inject("http_error", status=503, times=1, method="GET", path="/users/{leafUserId}")
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=Retry(total=2, status_forcelist=[503], backoff_factor=0)))
    r = session.get(f"{leaf.user_management_url}/users/{user.id}", headers=leaf.headers)
    assert r.status_code == 200
    attempts = leaf.journal(method="GET", path="/users/{leafUserId}")
    assert [a.status for a in attempts] == [503, 200]
    assert attempts[0].fault == "http_error"


def test_an_injected_http_error_has_leafs_problem_body(leaf: FakeLeaf, http: requests.Session) -> None:
    leaf.inject(Fault("http_error", status=502))
    r = http.get(f"{leaf.user_management_url}/users")
    assert r.status_code == 502
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["title"] == "Bad Gateway"
    assert r.json()["message"] == "error.http.502"


@pytest.mark.parametrize("kind, exception", [("connection_error", requests.ConnectionError),
                                             ("read_timeout", requests.ReadTimeout)])
def test_connection_errors_and_timeouts_raise_what_requests_raises_and_change_nothing(
        leaf: FakeLeaf, http: requests.Session, kind: FaultKind, exception: type[Exception]) -> None:
    user = leaf.create_user()
    leaf.inject(Fault(kind, method="POST", path=CREDS))
    before = state_of(leaf)
    with pytest.raises(exception, match="injected"):
        http.post(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials", json=CREDENTIALS_BODY)
    assert state_of(leaf) == before


def test_a_write_that_fails_by_injection_leaves_no_partial_state(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user()
    url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
    leaf.inject("http_error", status=500, method="POST", path=CREDS, times=1)
    assert http.post(url, json=CREDENTIALS_BODY).status_code == 500
    assert http.get(url).status_code == 404
    assert http.post(url, json=CREDENTIALS_BODY).status_code == 201  # times=1: the fault is spent


def test_an_after_fault_processes_the_request_and_loses_the_answer(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user()
    url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
    leaf.inject("read_timeout", method="POST", path=CREDS, times=1, after=True)
    with pytest.raises(requests.ReadTimeout):
        http.post(url, json=CREDENTIALS_BODY)
    assert http.get(url).status_code == 200  # it was created: a retry must cope with that
    assert http.post(url, json=CREDENTIALS_BODY).json()["errorKey"] == "credentialAlreadyExists"


def test_a_delay_past_the_clients_timeout_is_a_read_timeout(leaf: FakeLeaf, http: requests.Session) -> None:
    leaf.inject("delay", seconds=0.05, times=1)
    assert http.get(f"{leaf.user_management_url}/users", timeout=5).status_code == 200
    leaf.inject("delay", seconds=5, times=1)
    with pytest.raises(requests.ReadTimeout, match="injected delay"):
        http.get(f"{leaf.user_management_url}/users", timeout=(1, 0.05))


def test_a_malformed_body_breaks_the_clients_json(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user(name="Ada")
    leaf.inject("malformed_body", times=1)
    r = http.get(f"{leaf.user_management_url}/users/{user.id}")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)


def test_a_seeded_failure_rate_repeats(leaf: FakeLeaf, http: requests.Session) -> None:
    def statuses(seed: int) -> list[int]:
        leaf.clear_faults()
        leaf.inject("http_error", rate=0.5, seed=seed)
        return [http.get(f"{leaf.user_management_url}/users").status_code for _ in range(40)]

    first = statuses(7)
    assert first == statuses(7)
    assert 5 < first.count(503) < 35
    assert first != statuses(8)


def test_removing_a_fault_ends_it(leaf: FakeLeaf, http: requests.Session) -> None:
    fault = leaf.inject("http_error")
    assert http.get(f"{leaf.user_management_url}/users").status_code == 503
    fault.remove()
    assert http.get(f"{leaf.user_management_url}/users").status_code == 200
    assert fault.hits == 1


def test_a_fault_on_a_route_that_does_not_exist_is_refused(leaf: FakeLeaf) -> None:
    with pytest.raises(ValueError, match="names no route"):
        leaf.inject("http_error", path="/users/{leafUserId}/fields")
    with pytest.raises(ValueError, match="unknown fault kind"):
        leaf.inject("explode")  # type: ignore[arg-type]



def test_a_route_named_with_another_parameter_name_or_a_typo_is_refused_naming_the_closest(
        leaf: FakeLeaf, http: requests.Session) -> None:
    # a newcomer writes the route as they would name it; the message points at the fake's own spelling
    for path, closest in [("/users/{id}", "/users/{leafUserId}"),
                          ("/users/{userId}/john-deere-credential", "/users/{leafUserId}/john-deere-credentials")]:
        with pytest.raises(ValueError, match=re.escape(f"{path!r} names no route (did you mean {closest!r}?)")):
            leaf.inject("http_error", path=path)
    with pytest.raises(ValueError, match=r"names no route \(did you mean '/users/\{leafUserId\}'\?\)"):
        leaf.journal(path="/users/{user}")
    with pytest.raises(ValueError, match=r"'/events' names more than one route: .*john-deere-credentials/events.*; "
                                         r"give more of the path"):
        leaf.inject("http_error", path="/events")
    assert http.get(f"{leaf.user_management_url}/users").status_code == 200  # nothing was injected


def test_a_misspelt_fault_kind_is_refused_naming_the_closest_and_nothing_is_injected(
        leaf: FakeLeaf, http: requests.Session) -> None:
    with pytest.raises(ValueError, match="did you mean 'read_timeout'"):
        leaf.inject("read_timout")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="did you mean 'http_error'"):
        Fault("http-error")  # type: ignore[arg-type]
    assert http.get(f"{leaf.user_management_url}/users").status_code == 200


def test_every_fault_kind_of_the_type_is_accepted() -> None:
    kinds = typing.get_args(FaultKind)
    assert len(kinds) == 5
    for kind in kinds:
        assert Fault(kind).kind == kind


@pytest.mark.slow
def test_the_rate_limit_answers_429_then_the_next_minute_is_served() -> None:
    with freeze_time("2026-03-01T00:00:00Z") as frozen, FakeLeaf(rate_limit=RateLimit(retry_after=True)) as leaf:
        session = requests.Session()
        session.headers.update(leaf.headers)
        url = f"{leaf.user_management_url}/users"
        assert all(session.get(url).status_code == 200 for _ in range(1000))
        r = session.get(url)
        assert r.status_code == 429
        assert set(r.json()) == {"error", "message", "status_code"}
        assert r.json()["status_code"] == 429
        assert r.headers["Retry-After"] == "60"
        other = requests.get(url, headers={"Authorization": f"Bearer {leaf.add_api_owner('b@x.test', 'pw-b1')}"})
        assert other.status_code == 200  # per API owner
        frozen.tick(dt.timedelta(minutes=1))
        assert session.get(url).status_code == 200


def test_the_429_body_is_leafs_word_for_word_with_the_configured_limit_and_no_retry_after() -> None:
    with freeze_time("2026-03-01T00:00:00Z"), FakeLeaf(rate_limit=RateLimit(2)) as leaf:
        url = f"{leaf.user_management_url}/users"
        assert [requests.get(url, headers=leaf.headers).status_code for _ in range(3)] == [200, 200, 429]
        r = requests.get(url, headers=leaf.headers)
        assert r.json() == {
            "error": "Request limit exceeded",
            "message": "You have exceeded the maximum allowed requests of 2 per minute. Please reduce your "
                       "request rate and try again after a short delay.",
            "status_code": 429}
        assert list(r.json()) == ["error", "message", "status_code"]
        assert "Retry-After" not in r.headers


def test_a_limit_per_hour_says_so_in_the_429_message() -> None:
    with FakeLeaf(rate_limit=RateLimit(1, window=dt.timedelta(hours=1))) as leaf:
        url = f"{leaf.user_management_url}/users"
        requests.get(url, headers=leaf.headers)
        assert "of 1 per hour." in requests.get(url, headers=leaf.headers).json()["message"]


def test_the_journal_filters_and_counts(leaf: FakeLeaf, http: requests.Session) -> None:
    a, b = leaf.create_user(), leaf.create_user()
    for user in (a, a, b):
        http.get(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials")
    http.post(f"{leaf.user_management_url}/users/{a.id}/john-deere-credentials", json=CREDENTIALS_BODY)
    assert len(leaf.journal()) == 4
    assert len(leaf.journal(method="GET", path=CREDS)) == 3
    assert len(leaf.journal(path=CREDS, leaf_user_id=a.id)) == 3
    created = leaf.assert_requests(1, method="POST", path=CREDS, leaf_user_id=a.id)
    assert json.loads(created[0].request_body) == CREDENTIALS_BODY
    assert json.loads(created[0].response_body)["clientKey"] == CREDENTIALS_BODY["clientKey"]
    with pytest.raises(AssertionError) as failure:
        leaf.assert_requests(2, method="DELETE", path=CREDS)
    message = str(failure.value)
    assert "expected 2 request(s) DELETE /users/{leafUserId}/john-deere-credentials but fake-leaf received 0" in message
    assert f"GET /services/usermanagement/api/users/{b.id}/john-deere-credentials -> 404" in message


def test_an_unmatched_request_names_the_closest_routes_and_why(leaf: FakeLeaf, http: requests.Session) -> None:
    user = leaf.create_user()
    r = http.get(f"{leaf.user_management_url}/users/{user.id}/john-deere-credential")
    detail = r.json()["detail"]
    assert "Closest routes: GET /services/usermanagement/api/users/{leafUserId}/john-deere-credentials " \
           "(segment 6 is 'john-deere-credential', the route has 'john-deere-credentials')" in detail


def test_an_injected_429_has_leafs_rate_limit_body_and_no_retry_after(leaf: FakeLeaf, http: requests.Session) -> None:
    leaf.inject("http_error", status=429, times=1)
    r = http.get(f"{leaf.user_management_url}/users")
    assert r.status_code == 429
    assert r.json()["error"] == "Request limit exceeded"
    assert r.json()["status_code"] == 429
    assert "Retry-After" not in r.headers
    assert http.get(f"{leaf.user_management_url}/users").status_code == 200


def test_an_injected_error_carries_the_tests_headers_and_body(leaf: FakeLeaf, http: requests.Session) -> None:
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    leaf.inject("http_error", status=429, headers={"Retry-After": date}, body="slow down", times=1)
    r = http.get(f"{leaf.user_management_url}/users")
    assert (r.status_code, r.headers["Retry-After"], r.text) == (429, date, "slow down")


@pytest.mark.parametrize("status", [400, 404, 418, 499, 507, 599])
def test_any_4xx_or_5xx_can_be_injected_on_every_transport(leaf: FakeLeaf, http: requests.Session,
                                                           status: int) -> None:
    leaf.inject("http_error", status=status)
    assert http.get(f"{leaf.user_management_url}/users").status_code == status
    with leaf.server() as server:
        r = requests.get(f"{server.url}/services/usermanagement/api/users", headers=leaf.headers, timeout=5)
    assert r.status_code == status
    assert r.json()["status"] == status


@pytest.mark.parametrize("options, says", [
    ({"status": 200}, "a 4xx or 5xx status (400 to 599), not 200"),
    ({"status": 600}, "not 600"),
    ({"headers": {"Bad Name": "x"}}, "is not an HTTP token"),
    ({"headers": {"X-Split": "a\r\nSet-Cookie: x"}}, "without CR, LF or NUL"),
    ({"headers": {"Transfer-Encoding": "chunked"}}, "set by the transport itself"),
])
def test_an_http_error_fault_that_could_not_be_sent_is_refused_naming_why(options: dict[str, object],
                                                                           says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        Fault("http_error", **options)  # type: ignore[arg-type]


def test_a_very_long_unknown_path_gets_a_404_that_quotes_it_shortened(leaf: FakeLeaf, http: requests.Session) -> None:
    path = "/services/usermanagement/api/userz/" + "x" * 60_000
    r = http.get(f"{leaf.base_url}{path}")
    assert r.status_code == 404
    body = r.json()
    assert body["path"] == path  # Leaf's field keeps the path whole
    assert "Closest routes: " in body["detail"] and "segment 4 is 'userz'" in body["detail"]
    assert f"({len(path)} characters)" in body["detail"]
    assert len(r.content) < 2 * len(path)  # the detail quotes it shortened, not once per route it names


def test_setting_the_rate_limit_applies_from_the_next_request_and_none_lifts_it(
        leaf: FakeLeaf, http: requests.Session) -> None:
    users = f"{leaf.user_management_url}/users"
    assert leaf.rate_limit is None
    leaf.rate_limit = RateLimit(requests=1)
    assert [http.get(users).status_code for _ in range(2)] == [200, 429]
    leaf.rate_limit = None
    assert http.get(users).status_code == 200


@pytest.mark.parametrize("make, error", [
    (lambda: RateLimit(1.5), TypeError),  # type: ignore[arg-type]
    (lambda: RateLimit(True), TypeError),
    (lambda: RateLimit(10, window=60), TypeError),  # type: ignore[arg-type]
    (lambda: RateLimit(10, retry_after="yes"), TypeError),  # type: ignore[arg-type]
    (lambda: RateLimit(0), ValueError),
    (lambda: RateLimit(10, window=dt.timedelta(0)), ValueError),
])
def test_a_rate_limit_that_cannot_be_meant_is_refused_when_made(make: typing.Callable[[], RateLimit],
                                                                 error: type[Exception]) -> None:
    with pytest.raises(error, match="rate limit"):
        make()
