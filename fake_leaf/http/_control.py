"""The control plane, under ``/_fake-leaf``: what a test in any language does to the fake.

Reset, read and move the clock, drive the simulated John Deere, run a check or set a status, read
alerts and events, inject faults and read the journal. It needs no token: it is the test's side,
not Leaf's, so faults never touch it and the journal does not list it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from fake_leaf.engine import JOHN_DEERE, Credentials, CredentialStatus, FieldError, InvalidInputError
from fake_leaf.engine._errors import bad_query, fault_not_found
from fake_leaf.engine._john_deere import SimulatedJohnDeere
from fake_leaf.http._faults import KINDS, Fault, InjectedFault
from fake_leaf.http._handlers import Call, ok
from fake_leaf.http._serialize import alert_json, credentials_json, event_json, leaf_timestamp
from fake_leaf.http._types import HttpResponse, JournalEntry

if TYPE_CHECKING:
    from fake_leaf.http._app import LeafApp

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

    return ok(200, openapi_document(_app(call).routes, list(call.backend.providers.values()), call.base_url))


def set_status(call: Call) -> HttpResponse:
    """POST /_fake-leaf/users/{leafUserId}/status ``{"status": "UNAUTHENTICATED"}``: the direct control."""
    status = _field(call.json_body(), "status", str)
    if status not in CredentialStatus.__members__:
        known = ", ".join(CredentialStatus.__members__)
        raise InvalidInputError([FieldError("control", "status", "Pattern", f"must be one of {known}; got {status!r}")])
    user_id = call.params["leafUserId"]
    c = call.backend.set_status(call.backend.owner_of(user_id), user_id, JOHN_DEERE.name, CredentialStatus(status))
    return ok(200, credentials_json(c))


def _rotation(sim: SimulatedJohnDeere) -> dict[str, bool]:
    return {"enabled": sim.refresh_token_rotation}


def get_rotation(call: Call) -> HttpResponse:
    return ok(200, call.backend.control_provider(JOHN_DEERE.name, _rotation))


def set_rotation(call: Call) -> HttpResponse:
    enabled = _field(call.json_body(), "enabled", bool)

    def switch(sim: SimulatedJohnDeere) -> dict[str, bool]:
        sim.refresh_token_rotation = enabled
        return _rotation(sim)
    return ok(200, call.backend.control_provider(JOHN_DEERE.name, switch))


# a fault's JSON: Fault's own fields, with the types each takes (None where None is allowed)
_FAULT_FIELDS: dict[str, tuple[type, ...]] = {
    "kind": (str,), "method": (str, type(None)), "path": (str, type(None)), "times": (int, type(None)),
    "status": (int,), "seconds": (int, float), "rate": (int, float, type(None)), "seed": (int,), "after": (bool,),
}


def _app(call: Call) -> LeafApp:
    assert call.app is not None, "the router passes itself to the control plane"
    return call.app


def fault_json(injected: InjectedFault) -> dict[str, object]:
    f = injected.fault
    return {"id": injected.id, "kind": f.kind, "method": f.method, "path": f.path, "route": injected.template,
            "times": f.times, "status": f.status, "seconds": f.seconds, "rate": f.rate, "seed": f.seed,
            "after": f.after, "hits": injected.hits}


def add_fault(call: Call) -> HttpResponse:
    """POST /_fake-leaf/faults: ``{"kind": "http_error", "status": 503, "times": 1, "path": "/users"}``."""
    body = call.json_body()
    errors = [FieldError("fault", name, "Unknown", f"is not a fault option; the options are {', '.join(_FAULT_FIELDS)}")
              for name in body if name not in _FAULT_FIELDS]
    for name, kinds in _FAULT_FIELDS.items():
        value = body.get(name)
        if name in body and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            allowed = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            errors.append(FieldError("fault", name, "TypeMismatch", f"must be {allowed}"))
    if "kind" not in body:
        errors.append(FieldError("fault", "kind", "NotNull", f"is required: one of {', '.join(KINDS)}"))
    if errors:
        raise InvalidInputError(errors)
    try:
        injected = _app(call).inject(Fault(**cast(dict[str, Any], body)))  # each field's type checked above
    except ValueError as e:  # a value Fault refuses, or a path that names no route
        raise InvalidInputError([FieldError("fault", "fault", "Invalid", str(e))]) from None
    return ok(201, fault_json(injected))


def list_faults(call: Call) -> HttpResponse:
    return ok(200, [fault_json(f) for f in _app(call).faults.active()])


def clear_faults(call: Call) -> HttpResponse:
    _app(call).faults.clear()
    return HttpResponse(204)


def remove_fault(call: Call) -> HttpResponse:
    fault_id = call.params["faultId"]
    for injected in _app(call).faults.active():
        if injected.id == fault_id:
            injected.remove()
            return HttpResponse(204)
    raise fault_not_found(fault_id)


def journal_json(e: JournalEntry) -> dict[str, object]:
    return {"method": e.method, "path": e.path, "query": e.query, "status": e.status, "reason": e.reason,
            "route": e.route, "leafUserId": e.leaf_user_id, "fault": e.fault,
            "requestBody": e.request_body.decode("utf-8", "replace"),
            "responseBody": e.response_body.decode("utf-8", "replace")}


def list_journal(call: Call) -> HttpResponse:
    """GET /_fake-leaf/journal?method=POST&path=/users&leafUserId=...: the requests, oldest first."""
    query = {k: v[0] for k, v in call.query().items()}
    unknown = sorted(set(query) - {"method", "path", "leafUserId"})
    if unknown:
        raise bad_query(unknown[0], "the journal filters are method, path and leafUserId")
    try:
        entries = _app(call).journal_entries(query.get("method"), query.get("path"), query.get("leafUserId"))
    except ValueError as e:  # a path that names no route
        raise bad_query("path", str(e)) from None
    return ok(200, [journal_json(e) for e in entries])
