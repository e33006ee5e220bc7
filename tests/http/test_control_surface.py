"""The control plane does what the Python API does: new routes, and a check that the two cannot drift."""

from __future__ import annotations

import base64
import json

import requests

from fake_leaf import FakeLeaf, JohnDeereControls, ShiftedClock, verify_signature
from fake_leaf.engine._controls import UpstreamControls
from fake_leaf.http._routes import build_routes

CONTROL = "/_fake-leaf"
UPSTREAM = f"{CONTROL}/providers/{{provider}}"
ON_USER = f"{UPSTREAM}/{{leafUserId}}"

# every public name of FakeLeaf and its controls: the control route that does the same, or why none does
SURFACE: dict[str, str] = {
    # FakeLeaf
    "add_api_owner": f"POST {CONTROL}/api-owners",
    "alerts": f"GET {CONTROL}/alerts",
    "clear_faults": f"DELETE {CONTROL}/faults",
    "inject": f"POST {CONTROL}/faults",
    "journal": f"GET {CONTROL}/journal",
    "now": f"GET {CONTROL}/clock",
    "clock": f"PUT {CONTROL}/clock",  # and POST /clock/advance
    "reset": f"POST {CONTROL}/reset",
    "providers": f"GET {CONTROL}/providers",
    "upstream": f"POST {ON_USER}/{{action}}",
    "credential_events": f"GET {ON_USER}/events",
    "john_deere_credential_events": f"GET {ON_USER}/events",
    "run_john_deere_check": f"POST {ON_USER}/{{action}}",
    "set_john_deere_credentials_status": f"POST {ON_USER}/status",
    "webhook_deliveries": f"GET {CONTROL}/webhook-deliveries",
    "organization_alerts": f"GET {CONTROL}/organization-alerts",
    # the grower's account's organizations (John Deere, Trimble)
    "organizations": f"GET {ON_USER}/organizations",  # FakeLeaf's: Leaf's own routes, with a token
    "add_organization": f"POST {ON_USER}/organizations",
    "remove_organization": f"DELETE {ON_USER}/organizations/{{orgId}}",
    "block_organization": f"POST {ON_USER}/organizations/{{orgId}}/{{change}}",
    "unblock_organization": f"POST {ON_USER}/organizations/{{orgId}}/{{change}}",
    # UpstreamControls and John Deere's words for them
    "start_outage": f"POST {UPSTREAM}/outage",
    "end_outage": f"DELETE {UPSTREAM}/outage",
    "refresh_token_rotation": f"PUT {UPSTREAM}/refresh-token-rotation",
    "run_check": f"POST {ON_USER}/{{action}}",
    "set_status": f"POST {ON_USER}/status",
    **{name: f"POST {ON_USER}/{{action}}" for name in (
        "revoke", "rotate_secret", "withdraw_permission", "restore_permission", "connect_organization",
        "disconnect_organization", "restore_scope", "revoke_refresh_token", "rotate_client_secret", "withdraw_scope")},
}
PYTHON_ONLY: dict[str, str] = {
    name: "Leaf's own API does it over HTTP, with a token, as a client would"
    for name in ("create_user", "get_user", "list_users", "delete_user", "update_user", "create_credentials",
                 "get_credentials",
                 "delete_credentials", "create_john_deere_credentials", "get_john_deere_credentials",
                 "delete_john_deere_credentials", "login", "add_credential_event", "add_john_deere_credential_event")
} | {
    "add_credential_event": "seeds an event without a check; over HTTP a check (POST .../check) makes real ones",
    "add_john_deere_credential_event": "as add_credential_event",
    "assert_requests": "an assertion helper over the journal (GET /_fake-leaf/journal)",
    "auth": "a requests auth object", "headers": "a Python dict of the token's header", "token": "the ready line "
    "and POST /api/authenticate give tokens", "user_management_url": "an address, in the ready line",
    "provider": "a Python lookup of a provider (GET /_fake-leaf/providers lists them)",
    "server": "starts a server: a client of the server already has one", "wsgi_app": "a Python WSGI app",
    "asgi_app": "a Python ASGI app", "httpx_transport": "a Python httpx transport",
    "httpx_async_transport": "a Python httpx transport",
    "start": "activates the in-process interception", "stop": "ends the in-process interception",
    "timing": "reads back options the fake was made with (a served fake's are on its command line) and Leaf's "
    "documented lifetimes",
}


def test_every_public_method_has_a_control_route_or_a_reason_it_is_python_only() -> None:
    public = {n for cls in (FakeLeaf, UpstreamControls, JohnDeereControls) for n in dir(cls) if not n.startswith("_")}
    missing = public - set(SURFACE) - set(PYTHON_ONLY)
    assert not missing, f"give these a control route, or list them as Python-only with a reason: {sorted(missing)}"
    assert not (set(SURFACE) | set(PYTHON_ONLY)) - public, "listed names that no longer exist"
    routes = {f"{r.method} {r.template}" for r in build_routes()}
    assert {route for route in SURFACE.values() if route not in routes} == set()


def test_api_owners_the_clock_and_the_rate_limit_are_set_over_the_control_plane() -> None:
    leaf = FakeLeaf(clock=ShiftedClock())
    with leaf.server() as server:
        owner = requests.post(f"{server.url}{CONTROL}/api-owners", json={"username": "b@x.test", "password": "pw"})
        assert owner.status_code == 201
        headers = {"Authorization": f"Bearer {owner.json()['token']}"}
        users = f"{server.user_management_url}/users"
        assert requests.get(users, headers=headers).status_code == 200
        assert requests.post(f"{server.url}{CONTROL}/api-owners",
                             json={"username": "b@x.test", "password": "pw"}).status_code == 400  # there already
        limited = requests.put(f"{server.url}{CONTROL}/rate-limit", json={"requests": 1, "window_seconds": 60})
        assert limited.json() == {"requests": 1, "window_seconds": 60.0, "retry_after": False}
        assert [requests.get(users, headers=headers).status_code for _ in range(2)] == [200, 429]
        requests.put(f"{server.url}{CONTROL}/rate-limit", json={"requests": None})
        assert requests.get(users, headers=headers).status_code == 200
        moved = requests.put(f"{server.url}{CONTROL}/clock", json={"now": "2030-01-02T03:04:05Z"})
        assert moved.status_code == 200 and moved.json()["now"].startswith("2030-01-02T03:04:05")
        assert leaf.now().year == 2030
        assert requests.put(f"{server.url}{CONTROL}/clock", json={"now": "2030-01-02"}).status_code == 400


def test_reset_forgets_the_faults_too() -> None:
    leaf = FakeLeaf()
    with leaf.server() as server:
        requests.post(f"{server.url}{CONTROL}/faults", json={"kind": "http_error", "status": 503})
        assert requests.get(f"{server.user_management_url}/users", headers=leaf.headers).status_code == 503
        assert requests.post(f"{server.url}{CONTROL}/reset").status_code == 204
        assert requests.get(f"{server.url}{CONTROL}/faults").json() == []
        assert requests.get(f"{server.user_management_url}/users", headers=leaf.headers).status_code == 200


def test_the_fakes_own_receivers_take_deliveries_without_a_socket_and_fail_when_told() -> None:
    leaf = FakeLeaf()
    hooks = "/services/alerts/api/alerts/webhooks"
    with leaf.server() as server:
        receiver = f"{server.url}{CONTROL}/receivers/ci"

        def register(event: str) -> int:
            return requests.post(f"{server.url}{hooks}", headers=leaf.headers, json={
                "name": event, "url": receiver, "secret": "s3cret", "events": [event]}).status_code

        assert register("credentialsUnauthenticated") == 201
        [taken] = requests.get(receiver).json()
        assert json.loads(taken["body"]) == {"message": "confirmation of webhook upon registration"}
        assert verify_signature(base64.b64decode(taken["bodyBase64"]), "s3cret", taken["headers"]["X-Leaf-Signature"])
        assert requests.post(f"{receiver}/fail-next", json={"times": 1, "status": 503}).status_code == 204
        assert register("credentialsLimitedPermission") == 201
        failed = requests.get(f"{server.url}{hooks}/failed-calls", headers=leaf.headers).json()["items"]
        assert [f["status"] for f in failed] == [503]
        assert [t["status"] for t in requests.get(receiver).json()] == [200, 503]
        assert requests.post(f"{server.url}{CONTROL}/reset").status_code == 204
        assert requests.get(receiver).json() == []
