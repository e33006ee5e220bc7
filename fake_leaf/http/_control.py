"""The control plane, under ``/_fake-leaf``: what a test in any language does to the fake.

Reset, read and move the clock, drive the simulated John Deere, run a check, read alerts and events.
It needs no token: it is the test's side, not Leaf's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from fake_leaf.engine import JOHN_DEERE, Credentials, FieldError, InvalidInputError
from fake_leaf.engine._john_deere import SimulatedJohnDeere
from fake_leaf.http._handlers import Call, ok
from fake_leaf.http._serialize import alert_json, credentials_json, event_json, leaf_timestamp
from fake_leaf.http._types import HttpResponse

CONTROL = "/_fake-leaf"
MAX_ADVANCE_SECONDS = 100 * 365 * 86400


def _field(body: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = body.get(name, default)
    if value is None and default is None:
        raise InvalidInputError([FieldError("control", name, "NotNull", "is required")])
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidInputError([FieldError("control", name, "TypeMismatch", f"must be a {kind.__name__}")])
    return value


def reset(call: Call) -> HttpResponse:
    call.backend.clear()
    return HttpResponse(204)


def get_clock(call: Call) -> HttpResponse:
    return ok(200, {"now": leaf_timestamp(call.backend.now())})


def advance_clock(call: Call) -> HttpResponse:
    seconds = call.json_body().get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise InvalidInputError([FieldError("control", "seconds", "TypeMismatch", "must be a number of seconds")])
    clock = call.backend.clock
    advance = getattr(clock, "advance", None)
    if advance is None:
        raise InvalidInputError([FieldError("control", "seconds", "Unsupported",
                                            "this fake's clock cannot be moved (serve it with a ShiftedClock)")])
    if not 0 <= seconds <= MAX_ADVANCE_SECONDS:  # also refuses NaN and infinity
        raise InvalidInputError([FieldError("control", "seconds", "Range",
                                            f"must be from 0 to {MAX_ADVANCE_SECONDS} (a century), got {seconds}")])
    advance(dt.timedelta(seconds=seconds))
    return get_clock(call)


_CREDENTIAL_ACTIONS: dict[str, Callable[[SimulatedJohnDeere, Credentials, dict[str, Any]], Any]] = {
    "revoke-refresh-token": lambda sim, c, body: sim.revoke_refresh_token(c.client_environment, c.refresh_token),
    "rotate-client-secret": lambda sim, c, body: {"clientSecret": sim.rotate_client_secret(c.client_environment,
                                                                                             c.client_key)},
    "withdraw-scope": lambda sim, c, body: sim.withdraw_scope(c.client_environment, c.refresh_token,
                                                              _field(body, "scope", str)),
    "restore-scope": lambda sim, c, body: sim.restore_scope(c.client_environment, c.refresh_token,
                                                            _field(body, "scope", str)),
    "disconnect-organization": lambda sim, c, body: sim.set_organization_connected(c.client_environment,
                                                                                   c.refresh_token, False),
    "connect-organization": lambda sim, c, body: sim.set_organization_connected(c.client_environment,
                                                                                c.refresh_token, True),
}
CREDENTIAL_ACTIONS: tuple[str, ...] = tuple(_CREDENTIAL_ACTIONS)


def john_deere_action(call: Call) -> HttpResponse:
    """POST /_fake-leaf/john-deere/{leafUserId}/{action}; ``scope`` in the body for the scope actions."""
    action = call.params["action"]
    if action == "check":
        user_id = call.params["leafUserId"]
        c = call.backend.run_check(call.backend.owner_of(user_id), user_id, JOHN_DEERE.name)
        return ok(200, credentials_json(c))
    if action not in _CREDENTIAL_ACTIONS:
        raise InvalidInputError([FieldError("control", "action", "Pattern",
                                            f"must be one of check, {', '.join(CREDENTIAL_ACTIONS)}; got {action!r}")])
    body = call.json_body() if call.request.body.strip() else {}
    user_id = call.params["leafUserId"]
    result = call.backend.control_credential_provider(
        call.backend.owner_of(user_id), user_id, JOHN_DEERE.name,
        lambda sim, c: _CREDENTIAL_ACTIONS[action](sim, c, body))
    return ok(200, result) if result is not None else HttpResponse(204)


def start_outage(call: Call) -> HttpResponse:
    body = call.json_body() if call.request.body.strip() else {}
    status = _field(body, "status_code", int, 503)
    environment = body.get("environment")
    if environment not in (None, "STAGE", "PRODUCTION"):
        raise InvalidInputError([FieldError("control", "environment", "Pattern", "must be STAGE, PRODUCTION or null")])
    if not (status == 429 or 500 <= status <= 599):
        raise InvalidInputError([FieldError("control", "status_code", "Range", "must be 429 or 5xx")])
    for env in (environment,) if environment else ("STAGE", "PRODUCTION"):
        call.backend.control_provider(JOHN_DEERE.name, partial(SimulatedJohnDeere.start_outage, env=env,
                                                               status_code=status))
    return HttpResponse(204)


def end_outage(call: Call) -> HttpResponse:
    for env in ("STAGE", "PRODUCTION"):
        call.backend.control_provider(JOHN_DEERE.name, partial(SimulatedJohnDeere.end_outage, env=env))
    return HttpResponse(204)


def list_alerts(call: Call) -> HttpResponse:
    return ok(200, [alert_json(a) for a in call.backend.alerts()])


def list_events(call: Call) -> HttpResponse:
    user_id = call.params["leafUserId"]
    events = call.backend.list_events(call.backend.owner_of(user_id), user_id, JOHN_DEERE.name)
    return ok(200, [event_json(e) for e in events])


def openapi(call: Call) -> HttpResponse:
    """GET /_fake-leaf/openapi.json: the document of every route, built from the route table."""
    from fake_leaf.http._openapi import openapi_document
    from fake_leaf.http._routes import build_routes

    providers = list(call.backend.providers.values())
    return ok(200, openapi_document(build_routes(providers), providers, call.base_url))
