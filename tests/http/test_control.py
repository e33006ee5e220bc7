"""The control plane: everything a Python test does, over HTTP, for tests in any language."""

from __future__ import annotations

import json

import requests

from fake_leaf import FakeLeaf, ShiftedClock

BODY = {"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"}


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
        assert requests.post(f"{control}/providers/john-deere/{user_id}/revoke-refresh-token").status_code == 204
        after = requests.post(f"{control}/clock/advance", json={"seconds": 86400}).json()["now"]
        assert after > before
        assert requests.get(url, headers=leaf.headers).json()["status"] == "UNAUTHENTICATED"
        alerts = requests.get(f"{control}/alerts").json()
        assert [a["type"] for a in alerts] == ["credentialsUnauthenticated"]
        events = requests.get(f"{control}/providers/john-deere/{user_id}/events").json()
        assert events[0]["statusCode"] == 400


def test_scopes_outages_checks_and_rotation_over_http() -> None:
    with FakeLeaf(clock=ShiftedClock()) as leaf:
        control = f"{leaf.base_url}/_fake-leaf"
        jd = f"{control}/providers/john-deere"
        user_id, url = _setup(leaf.base_url, leaf.headers)
        assert requests.post(f"{jd}/{user_id}/withdraw-scope", json={"scope": "ag1"}).status_code == 204
        assert requests.post(f"{control}/providers/john-deere/{user_id}/check").json()["status"] == "MISSING_PERMISSION"
        requests.post(f"{control}/providers/john-deere/{user_id}/restore-scope", json={"scope": "ag1"})
        assert requests.post(f"{control}/providers/john-deere/{user_id}/check").json()["status"] == "OK"
        assert requests.post(f"{control}/providers/john-deere/outage", json={"status_code": 429}).status_code == 204
        assert requests.post(f"{jd}/{user_id}/check").json()["status"] == "TEMPORARILY_UNAVAILABLE"
        assert requests.delete(f"{control}/providers/john-deere/outage").status_code == 204
        secret = requests.post(f"{control}/providers/john-deere/{user_id}/rotate-client-secret").json()["clientSecret"]
        assert secret != "s"
        requests.post(f"{control}/clock/advance", json={"seconds": 86400})
        assert requests.get(url, headers=leaf.headers).json()["status"] == "UNAUTHENTICATED"


def test_reset_empties_the_fake_and_bad_control_requests_are_400() -> None:
    with FakeLeaf(clock=ShiftedClock()) as leaf:
        control = f"{leaf.base_url}/_fake-leaf"
        user_id, _ = _setup(leaf.base_url, leaf.headers)
        assert requests.post(f"{control}/providers/john-deere/{user_id}/explode").status_code == 400
        assert requests.post(f"{control}/providers/john-deere/{user_id}/withdraw-scope", json={}).status_code == 400
        assert requests.post(f"{control}/clock/advance", json={"seconds": "soon"}).status_code == 400
        assert requests.post(f"{control}/providers/john-deere/outage", json={"status_code": 200}).status_code == 400
        assert requests.post(f"{control}/providers/john-deere/nobody/check").status_code == 404
        assert requests.post(f"{control}/reset").status_code == 204
        assert leaf.list_users() == []
        assert requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).json() == []


def test_a_clock_that_cannot_move_says_so() -> None:
    with FakeLeaf() as leaf:  # the system clock
        r = requests.post(f"{leaf.base_url}/_fake-leaf/clock/advance", json={"seconds": 1})
        assert r.status_code == 400
        assert "cannot be moved" in r.json()["detail"]


def test_set_a_status_and_switch_refresh_token_rotation_over_http() -> None:
    with FakeLeaf(clock=ShiftedClock()) as leaf:
        control = f"{leaf.base_url}/_fake-leaf"
        user_id, url = _setup(leaf.base_url, leaf.headers)
        r = requests.post(f"{control}/providers/john-deere/{user_id}/status", json={"status": "MISSING_PERMISSION"})
        assert r.status_code == 200 and r.json()["status"] == "MISSING_PERMISSION"
        assert requests.get(url, headers=leaf.headers).json()["status"] == "MISSING_PERMISSION"
        assert [a["type"] for a in requests.get(f"{control}/alerts").json()] == ["credentialsLimitedPermission"]
        bad = requests.post(f"{control}/providers/john-deere/{user_id}/status", json={"status": "BROKEN"})
        assert bad.status_code == 400 and "must be one of OK, UNAUTHENTICATED" in bad.json()["detail"]

        rotation = f"{control}/providers/john-deere/refresh-token-rotation"
        assert requests.get(rotation).json() == {"enabled": False}
        assert requests.put(rotation, json={"enabled": True}).json() == {"enabled": True}
        assert leaf.john_deere.refresh_token_rotation is True
        before = requests.get(url, headers=leaf.headers).json()["refreshToken"]
        requests.post(f"{control}/clock/advance", json={"seconds": 86400})
        assert requests.get(url, headers=leaf.headers).json()["refreshToken"] != before
        assert requests.put(rotation, json={"enabled": "yes"}).status_code == 400


def test_faults_over_http_break_leaf_but_never_the_control_plane() -> None:
    with FakeLeaf(clock=ShiftedClock()) as leaf:
        control = f"{leaf.base_url}/_fake-leaf"
        users = f"{leaf.user_management_url}/users"
        everywhere = requests.post(f"{control}/faults", json={"kind": "http_error", "status": 502})
        assert everywhere.status_code == 201
        assert requests.get(users, headers=leaf.headers).status_code == 502
        assert requests.get(f"{control}/clock").status_code == 200  # the test's side still answers
        listed = requests.get(f"{control}/faults").json()
        assert [(f["id"], f["kind"], f["hits"]) for f in listed] == [(everywhere.json()["id"], "http_error", 1)]
        assert requests.delete(f"{control}/faults/{everywhere.json()['id']}").status_code == 204
        assert requests.get(users, headers=leaf.headers).status_code == 200

        once = requests.post(f"{control}/faults", json={"kind": "http_error", "status": 503, "times": 1,
                                                        "method": "POST", "path": "/users"}).json()
        assert once["route"] == "/services/usermanagement/api/users"
        assert requests.post(users, json={}, headers=leaf.headers).status_code == 503
        assert requests.post(users, json={}, headers=leaf.headers).status_code == 201
        assert requests.get(f"{control}/faults").json() == []  # spent
        assert requests.delete(f"{control}/faults/{once['id']}").status_code == 404

        requests.post(f"{control}/faults", json={"kind": "connection_error"})
        assert requests.delete(f"{control}/faults").status_code == 204
        assert requests.get(users, headers=leaf.headers).status_code == 200


def test_a_bad_fault_is_refused_naming_what_is_wrong_and_nothing_is_injected() -> None:
    with FakeLeaf() as leaf:
        faults = f"{leaf.base_url}/_fake-leaf/faults"
        for body, says in [({}, "kind: is required"), ({"kind": "gremlins"}, "unknown fault kind 'gremlins'"),
                           ({"kind": "http_error", "status": 302}, "a 4xx or 5xx status (400 to 599), not 302"),
                           ({"kind": "http_error", "headers": {"Retry-After": 5}}, "headers: must be Mapping or null"),
                           ({"kind": "http_error", "headers": {"Content-Length": "1"}}, "set by the transport"),
                           ({"kind": "http_error", "headers": {"Retry-After": "\r\nX: 1"}}, "without CR, LF or NUL"),
                           ({"kind": "delay", "body": "x"}, "a delay fault has none to shape"),
                           ({"kind": "delay", "secs": 1}, "secs: is not a fault option"),
                           ({"kind": "delay", "times": "2"}, "times: must be int or null"),
                           ({"kind": "delay", "path": "/nowhere"}, "'/nowhere' names no route"),
                           ({"kind": "delay", "path": "/_fake-leaf/clock"}, "the control plane, which faults never")]:
            r = requests.post(faults, json=body)
            assert r.status_code == 400, body
            assert says in r.json()["detail"], (body, r.json()["detail"])
        assert requests.get(faults).json() == []


def test_the_journal_over_http_lists_leaf_requests_with_filters() -> None:
    with FakeLeaf() as leaf:
        control = f"{leaf.base_url}/_fake-leaf"
        user_id, url = _setup(leaf.base_url, leaf.headers)
        requests.get(url, headers={"Authorization": "Bearer nope"})
        requests.get(f"{control}/clock")
        journal = requests.get(f"{control}/journal").json()
        assert [(e["method"], e["status"]) for e in journal] == [("POST", 201), ("POST", 201), ("GET", 401)]
        assert all(not e["path"].startswith("/_fake-leaf") for e in journal)  # the test's own calls are not in it
        filtered = requests.get(f"{control}/journal", params={"method": "get", "leafUserId": user_id}).json()
        assert len(filtered) == 1 and "not a JWT" in filtered[0]["reason"]
        by_route = requests.get(f"{control}/journal", params={"path": "/users/{leafUserId}/john-deere-credentials"})
        assert [e["method"] for e in by_route.json()] == ["POST", "GET"]
        assert json.loads(journal[1]["requestBody"]) == BODY
        assert requests.get(f"{control}/journal", params={"sort": "x"}).status_code == 400
