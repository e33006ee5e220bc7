"""The control plane: everything a Python test does, over HTTP, for tests in any language."""

from __future__ import annotations

import requests

from fake_leaf import FakeLeaf, ShiftedClock

BODY = {"clientKey": "k", "clientSecret": "s", "refreshToken": "r"}


def _setup(base: str, headers: dict[str, str]) -> tuple[str, str]:
    user_id = requests.post(f"{base}/services/usermanagement/api/users", json={}, headers=headers).json()["id"]
    url = f"{base}/services/usermanagement/api/users/{user_id}/john-deere-credentials"
    assert requests.post(url, json=BODY, headers=headers).status_code == 201
    return user_id, url


def test_revoke_move_the_clock_and_read_alerts_and_events_over_http() -> None:
    leaf = FakeLeaf(clock=ShiftedClock())
    with leaf.server() as server:
        base, control = server.url, f"{server.url}/_fake-leaf"
        user_id, url = _setup(base, leaf.headers)
        before = requests.get(f"{control}/clock").json()["now"]
        assert requests.post(f"{control}/john-deere/{user_id}/revoke-refresh-token").status_code == 204
        after = requests.post(f"{control}/clock/advance", json={"seconds": 86400}).json()["now"]
        assert after > before
        assert requests.get(url, headers=leaf.headers).json()["status"] == "UNAUTHENTICATED"
        alerts = requests.get(f"{control}/alerts").json()
        assert [a["type"] for a in alerts] == ["credentialsUnauthenticated"]
        events = requests.get(f"{control}/users/{user_id}/events").json()
        assert events[0]["statusCode"] == 400


def test_scopes_outages_checks_and_rotation_over_http() -> None:
    with FakeLeaf(clock=ShiftedClock()) as leaf:
        control = f"{leaf.base_url}/_fake-leaf"
        user_id, url = _setup(leaf.base_url, leaf.headers)
        assert requests.post(f"{control}/john-deere/{user_id}/withdraw-scope", json={"scope": "ag1"}).status_code == 204
        assert requests.post(f"{control}/john-deere/{user_id}/check").json()["status"] == "MISSING_PERMISSION"
        requests.post(f"{control}/john-deere/{user_id}/restore-scope", json={"scope": "ag1"})
        assert requests.post(f"{control}/john-deere/{user_id}/check").json()["status"] == "OK"
        assert requests.post(f"{control}/john-deere/outage", json={"status_code": 429}).status_code == 204
        assert requests.post(f"{control}/john-deere/{user_id}/check").json()["status"] == "TEMPORARILY_UNAVAILABLE"
        assert requests.delete(f"{control}/john-deere/outage").status_code == 204
        secret = requests.post(f"{control}/john-deere/{user_id}/rotate-client-secret").json()["clientSecret"]
        assert secret != "s"
        requests.post(f"{control}/clock/advance", json={"seconds": 86400})
        assert requests.get(url, headers=leaf.headers).json()["status"] == "UNAUTHENTICATED"


def test_reset_empties_the_fake_and_bad_control_requests_are_400() -> None:
    with FakeLeaf(clock=ShiftedClock()) as leaf:
        control = f"{leaf.base_url}/_fake-leaf"
        user_id, _ = _setup(leaf.base_url, leaf.headers)
        assert requests.post(f"{control}/john-deere/{user_id}/explode").status_code == 400
        assert requests.post(f"{control}/john-deere/{user_id}/withdraw-scope", json={}).status_code == 400
        assert requests.post(f"{control}/clock/advance", json={"seconds": "soon"}).status_code == 400
        assert requests.post(f"{control}/john-deere/outage", json={"status_code": 200}).status_code == 400
        assert requests.post(f"{control}/john-deere/nobody/check").status_code == 404
        assert requests.post(f"{control}/reset").status_code == 204
        assert leaf.list_users() == []
        assert requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).json() == []


def test_a_clock_that_cannot_move_says_so() -> None:
    with FakeLeaf() as leaf:  # the system clock
        r = requests.post(f"{leaf.base_url}/_fake-leaf/clock/advance", json={"seconds": 1})
        assert r.status_code == 400
        assert "cannot be moved" in r.json()["detail"]
