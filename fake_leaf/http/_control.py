"""The control plane, under ``/_fake-leaf``: what a test in any language does to the fake.

Reset, read and move the clock, drive any provider's simulated upstream (the same Python controls
``leaf.upstream(...)`` gives), run a check or set a status, read alerts and events, inject faults
and read the journal. It needs no token: it is the test's side, not Leaf's, so faults never touch
it and the journal does not list it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fake_leaf.engine import CredentialStatus, FieldError, InvalidInputError, Provider
from fake_leaf.engine._controls import UpstreamControls
from fake_leaf.engine._errors import bad_query
from fake_leaf.engine._tokens import REMEMBER_ME_TOKEN_LIFETIME
from fake_leaf.engine.providers._base import UpstreamOrganization
from fake_leaf.http import _problems as problems
from fake_leaf.http._context import CONTROL, Call, Route, ok
from fake_leaf.http._faults import Fault
from fake_leaf.http._limits import RateLimit, RateLimiter
from fake_leaf.http._receivers import NAME
from fake_leaf.http._serialize import alert_json, credentials_json, event_json, fault_json, journal_json, leaf_timestamp
from fake_leaf.http._types import HttpResponse

MAX_ADVANCE_SECONDS = 100 * 365 * 86400


def _invalid(name: str, message: str, reason: str) -> InvalidInputError:
    return InvalidInputError([FieldError("control", name, message, reason)])


def _field(body: Mapping[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = body.get(name, default)
    if value is None and default is None:
        raise _invalid(name, "NotNull", "is required")
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _invalid(name, "TypeMismatch", f"must be a {kind.__name__}")
    return value


def reset(call: Call) -> HttpResponse:
    call.backend.clear()
    call.control().journal.clear()
    call.control().faults.clear()
    call.control().receivers.clear()
    return HttpResponse(204)


def _receiver_name(call: Call) -> str:
    name = call.params["name"]
    if not NAME.fullmatch(name):
        raise _invalid("name", "Pattern", "a receiver's name is 1 to 100 letters, digits, '.', '_', '~' or '-'")
    return name


def receive(call: Call) -> HttpResponse:
    """A delivery to a receiver of the fake's own (over HTTP; the fake's server hands its own deliveries here)."""
    status = call.control().receivers.take(_receiver_name(call), call.request.body, call.request.headers,
                                           call.backend.now())
    return ok(status, {"received": status == 200})


def list_received(call: Call) -> HttpResponse:
    return ok(200, call.control().receivers.received(_receiver_name(call)))


def fail_next(call: Call) -> HttpResponse:
    """``{"times": 1, "status": 500}``: the receiver answers that status to its next ``times`` deliveries."""
    body = call.optional_json_body()
    times, status = _field(body, "times", int, 1), _field(body, "status", int, 500)
    if not 1 <= times <= 1000:
        raise _invalid("times", "Range", f"must be from 1 to 1000, got {times}")
    if not 400 <= status <= 599:
        raise _invalid("status", "Range", f"must be a 4xx or 5xx status, got {status}")
    call.control().receivers.fail_next(_receiver_name(call), times, status)
    return HttpResponse(204)


def add_api_owner(call: Call) -> HttpResponse:
    """``{"username", "password"}``: an API owner who can log in; answers a bearer token (30 days)."""
    body = call.json_body()
    username, password = _field(body, "username", str), _field(body, "password", str)
    try:
        call.backend.add_api_owner(username, password)
    except ValueError as e:  # empty, or there already
        raise _invalid("username", "Invalid", str(e)) from None
    return ok(201, {"username": username, "token": call.backend.issue_token(username, REMEMBER_ME_TOKEN_LIFETIME)})


def set_clock(call: Call) -> HttpResponse:
    """``{"now": "2026-03-01T00:00:00Z"}``: put the fake's time at that instant."""
    text = _field(call.json_body(), "now", str)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("now", "TypeMismatch", f"must be an ISO 8601 instant with a zone, got {text!r}") from None
    if when.tzinfo is None:
        raise _invalid("now", "TypeMismatch", "must name its zone (Z or +hh:mm)")
    move = getattr(call.backend.clock, "move_to", None) or getattr(call.backend.clock, "set", None)
    if move is None:
        raise _invalid("now", "Unsupported", "this fake's clock cannot be set (serve it with a ShiftedClock)")
    try:
        move(when)
    except (ValueError, OverflowError) as e:  # out of the usable range: the clock stays where it was
        raise _invalid("now", "Range", str(e)) from None
    return get_clock(call)


def get_rate_limit(call: Call) -> HttpResponse:
    limiter = call.control().limiter
    if limiter is None:
        return ok(200, {"requests": None, "window_seconds": None, "retry_after": False})
    limit = limiter.limit
    return ok(200, {"requests": limit.requests, "window_seconds": limit.window.total_seconds(),
                    "retry_after": limit.retry_after})


def set_rate_limit(call: Call) -> HttpResponse:
    """``{"requests": 1000, "window_seconds": 60, "retry_after": false}``; ``{"requests": null}`` turns it off."""
    body = call.json_body()
    requests = body.get("requests")
    if requests is None:
        call.control().limiter = None
        return get_rate_limit(call)
    requests = _field(body, "requests", int)
    seconds = body.get("window_seconds", 60)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MAX_ADVANCE_SECONDS:
        raise _invalid("window_seconds", "Range", f"must be a number of seconds above 0, got {seconds!r}")
    try:
        limit = RateLimit(requests, dt.timedelta(seconds=seconds), bool(_field(body, "retry_after", bool, False)))
    except ValueError as e:
        raise _invalid("requests", "Range", str(e)) from None
    call.control().limiter = RateLimiter(limit)
    return get_rate_limit(call)


def get_clock(call: Call) -> HttpResponse:
    return ok(200, {"now": leaf_timestamp(call.backend.now())})


def advance_clock(call: Call) -> HttpResponse:
    seconds = call.json_body().get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise _invalid("seconds", "TypeMismatch", "must be a number of seconds")
    advance = getattr(call.backend.clock, "advance", None)
    if advance is None:
        raise _invalid("seconds", "Unsupported", "this fake's clock cannot be moved (serve it with a ShiftedClock)")
    if not 0 <= seconds <= MAX_ADVANCE_SECONDS:  # also refuses NaN and infinity
        raise _invalid("seconds", "Range", f"must be from 0 to {MAX_ADVANCE_SECONDS} (a century), got {seconds}")
    try:
        advance(dt.timedelta(seconds=seconds))
    except ValueError as e:  # the move would leave the usable range; the clock stays where it was
        raise _invalid("seconds", "Range", str(e)) from None
    return get_clock(call)


# -- providers' upstreams -----------------------------------------------------------------------

def _controls(call: Call) -> UpstreamControls:
    return UpstreamControls(call.backend, "", call.params["provider"])


def _user(call: Call) -> tuple[UpstreamControls, str, str]:
    """The controls, the Leaf user and its owner (the control plane acts for every owner)."""
    user_id = call.params["leafUserId"]
    return _controls(call), user_id, call.backend.owner_of(user_id)


def _scope(call: Call) -> str | None:
    scope = call.optional_json_body().get("scope")
    if scope is not None and not isinstance(scope, str):
        raise _invalid("scope", "TypeMismatch", "must be a string or null")
    return scope


def _check(call: Call) -> HttpResponse:
    controls, user_id, owner = _user(call)
    return ok(200, credentials_json(controls.run_check(user_id, api_owner=owner), controls.provider))


def _revoke(call: Call) -> HttpResponse:
    controls, user_id, owner = _user(call)
    controls.revoke(user_id, api_owner=owner)
    return HttpResponse(204)


def _rotate_secret(call: Call) -> HttpResponse:
    """The new secret under its body field's name (``clientSecret``, ``sharedSecret``, ``password``)."""
    controls, user_id, owner = _user(call)
    secret = controls.rotate_secret(user_id, api_owner=owner)
    return ok(200, {controls.provider.secret_field or "secret": secret})


def _withdraw(call: Call) -> HttpResponse:
    controls, user_id, owner = _user(call)
    controls.withdraw_permission(user_id, _scope(call), api_owner=owner)
    return HttpResponse(204)


def _restore(call: Call) -> HttpResponse:
    controls, user_id, owner = _user(call)
    controls.restore_permission(user_id, _scope(call), api_owner=owner)
    return HttpResponse(204)


def _named_scope(handler: Callable[[Call], HttpResponse]) -> Callable[[Call], HttpResponse]:
    """John Deere's withdraw-scope and restore-scope: the scope is required."""
    def act(call: Call) -> HttpResponse:
        if _scope(call) is None:
            raise _invalid("scope", "NotNull", "is required: the scope to withdraw or restore, e.g. \"ag1\"")
        return handler(call)
    return act


# the action names of POST /_fake-leaf/providers/{provider}/{leafUserId}/{action}, with John Deere's words too
_ACTIONS: dict[str, Callable[[Call], HttpResponse]] = {
    "check": _check, "revoke": _revoke, "rotate-secret": _rotate_secret,
    "withdraw-permission": _withdraw, "restore-permission": _restore,
    "revoke-refresh-token": _revoke, "rotate-client-secret": _rotate_secret,
    "withdraw-scope": _named_scope(_withdraw), "restore-scope": _named_scope(_restore),
    "disconnect-organization": _withdraw, "connect-organization": _restore,
}


def _upstream_organization_json(o: UpstreamOrganization) -> dict[str, object]:
    return {"id": o.id, "name": o.name, "blocked": o.blocked}


def list_upstream_organizations(call: Call) -> HttpResponse:
    """The organizations of the grower's account, as the provider holds them (not Leaf's list)."""
    controls, user_id, owner = _user(call)
    return ok(200, [_upstream_organization_json(o) for o in controls.organizations(user_id, api_owner=owner)])


def add_upstream_organization(call: Call) -> HttpResponse:
    """``{"name": ..., "id": optional}``: the grower's account gains an organization; answers its id."""
    body = call.json_body()
    name = _field(body, "name", str)
    org_id = body.get("id")
    if org_id is not None and not isinstance(org_id, str):
        raise _invalid("id", "TypeMismatch", "must be a string or left out")
    controls, user_id, owner = _user(call)
    return ok(201, {"id": controls.add_organization(user_id, name, org_id=org_id, api_owner=owner)})


def remove_upstream_organization(call: Call) -> HttpResponse:
    controls, user_id, owner = _user(call)
    controls.remove_organization(user_id, call.params["orgId"], api_owner=owner)
    return HttpResponse(204)


def change_upstream_organization(call: Call) -> HttpResponse:
    """``block`` (the grower withdrew the application's access) or ``unblock`` (granted it again)."""
    controls, user_id, owner = _user(call)
    change = call.params["change"]
    if change == "block":
        controls.block_organization(user_id, call.params["orgId"], api_owner=owner)
    elif change == "unblock":
        controls.unblock_organization(user_id, call.params["orgId"], api_owner=owner)
    else:
        raise _invalid("change", "Pattern", f"must be block or unblock, got {change[:100]!r}")
    return HttpResponse(204)


def upstream_action(call: Call) -> HttpResponse:
    """Act on the upstream's side of a user's credential; ``{"scope": ...}`` for the permission actions."""
    action = _ACTIONS.get(call.params["action"])
    if action is None:
        raise _invalid("action", "Pattern", f"must be one of {', '.join(_ACTIONS)}; got {call.params['action']!r}")
    return action(call)


def start_outage(call: Call) -> HttpResponse:
    controls = _controls(call)
    body = call.optional_json_body()
    status = _field(body, "status_code", int, 503)
    environment = body.get("environment")
    if environment is not None and environment not in controls.provider.environments:
        raise _invalid("environment", "Pattern", f"must be one of {', '.join(controls.provider.environments)} "
                       "or null")
    if not (status == 429 or 500 <= status <= 599):
        raise _invalid("status_code", "Range", "must be 429 or 5xx")
    controls.start_outage(status, environment=environment)
    return HttpResponse(204)


def end_outage(call: Call) -> HttpResponse:
    _controls(call).end_outage()
    return HttpResponse(204)


def get_rotation(call: Call) -> HttpResponse:
    return ok(200, {"enabled": _controls(call).refresh_token_rotation})


def set_rotation(call: Call) -> HttpResponse:
    controls = _controls(call)
    try:
        controls.refresh_token_rotation = _field(call.json_body(), "enabled", bool)
    except ValueError as e:
        raise _invalid("enabled", "Unsupported", str(e)) from None
    return get_rotation(call)


def list_events(call: Call) -> HttpResponse:
    controls, user_id, owner = _user(call)
    return ok(200, [event_json(e) for e in call.backend.list_events(owner, user_id, controls.provider.name)])


def set_status(call: Call) -> HttpResponse:
    """``{"status": "UNAUTHENTICATED"}``: the direct control, as a check would set it."""
    status = _field(call.json_body(), "status", str)
    if status not in CredentialStatus.__members__:
        known = ", ".join(CredentialStatus.__members__)
        raise _invalid("status", "Pattern", f"must be one of {known}; got {status!r}")
    controls, user_id, owner = _user(call)
    return ok(200, credentials_json(controls.set_status(user_id, status, api_owner=owner), controls.provider))


def list_providers(call: Call) -> HttpResponse:
    return ok(200, [{"name": p.name, "label": p.label, "slug": p.slug, "pathSegment": p.path_segment,
                     "userField": p.user_field, "upstream": p.upstream.kind,
                     "environments": [e for e in p.environments if e],
                     "fields": [{"name": f.name, "required": f.required, "choices": list(f.choices or []) or None,
                                 "default": f.default} for f in p.body_fields]}
                    for p in call.backend.providers.values()])


def list_alerts(call: Call) -> HttpResponse:
    return ok(200, [alert_json(a) for a in call.backend.alerts()])


def list_organization_alerts(call: Call) -> HttpResponse:
    return ok(200, [alert_json(a) for a in call.backend.organization_alerts()])


def openapi(call: Call) -> HttpResponse:
    """GET /_fake-leaf/openapi.json: the document of every route, built from the route table."""
    from fake_leaf.http._openapi import openapi_document

    return ok(200, openapi_document(call.control().routes, list(call.backend.providers.values()), call.base_url))


# -- faults and the journal -------------------------------------------------------------------------

def _accepts(value: object, hint: Any) -> bool:
    """Whether a JSON value fits a ``Fault`` field's annotation (Literal, unions, str/int/float/bool, dicts)."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:  # the right type is enough here: Fault itself names the values it takes
        return any(type(value) is type(arg) for arg in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, (int, float))
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        args = typing.get_args(hint) or (object, object)
        return isinstance(value, dict) and all(_accepts(k, args[0]) and _accepts(v, args[1]) for k, v in value.items())
    return hint is object or (isinstance(hint, type) and isinstance(value, hint))


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    return "null" if hint is type(None) else getattr(hint, "__name__", str(hint))


def _fault_from(body: Mapping[str, object]) -> Fault:
    """A ``Fault`` from JSON, each field checked against ``Fault``'s own annotations."""
    hints = typing.get_type_hints(Fault)
    names = [f.name for f in dataclasses.fields(Fault)]
    errors = [FieldError("fault", name, "Unknown", f"is not a fault option; the options are {', '.join(names)}")
              for name in body if name not in hints]
    errors += [FieldError("fault", name, "TypeMismatch", f"must be {_describe(hints[name])}")
               for name, value in body.items() if name in hints and not _accepts(value, hints[name])]
    if "kind" not in body:
        errors.append(FieldError("fault", "kind", "NotNull", f"is required: {_describe(hints['kind'])}"))
    if errors:
        raise InvalidInputError(errors)
    try:
        return Fault(**body)  # type: ignore[arg-type]  # each field was checked against its annotation above
    except ValueError as e:
        raise _invalid("fault", "Invalid", str(e)) from None


def add_fault(call: Call) -> HttpResponse:
    """``{"kind": "http_error", "status": 503, "times": 1, "path": "/users"}``."""
    fault = _fault_from(call.json_body())
    try:
        injected = call.control().inject(fault)
    except ValueError as e:  # a path that names no route, or the control plane's
        raise _invalid("path", "Invalid", str(e)) from None
    return ok(201, fault_json(injected))


def list_faults(call: Call) -> HttpResponse:
    return ok(200, [fault_json(f) for f in call.control().faults.active()])


def clear_faults(call: Call) -> HttpResponse:
    call.control().faults.clear()
    return HttpResponse(204)


def remove_fault(call: Call) -> HttpResponse:
    fault_id = call.params["faultId"]
    for injected in call.control().faults.active():
        if injected.id == fault_id:
            injected.remove()
            return HttpResponse(204)
    raise problems.fault_not_found(fault_id)


def list_journal(call: Call) -> HttpResponse:
    """``?method=POST&path=/users&leafUserId=...``: the requests, oldest first."""
    query = {k: v[0] for k, v in call.query().items()}
    unknown = sorted(set(query) - {"method", "path", "leafUserId"})
    if unknown:
        raise bad_query(unknown[0], "the journal filters are method, path and leafUserId")
    try:
        entries = call.control().journal_entries(query.get("method"), query.get("path"), query.get("leafUserId"))
    except ValueError as e:  # a path that names no route
        raise bad_query("path", str(e)) from None
    return ok(200, [journal_json(e) for e in entries])


# -- the table's lines for the control plane -----------------------------------------------------------

def routes(providers: Iterable[Provider]) -> list[Route]:
    providers = tuple(providers)
    slugs = {"type": "string", "enum": sorted(p.slug for p in providers)}
    with_organizations = {"type": "string", "enum": sorted(p.slug for p in providers if p.organizations)}
    upstream = "/providers/{provider}"
    on_user = f"{upstream}/{{leafUserId}}"

    def control(method: str, template: str, handler: Callable[[Call], HttpResponse], summary: str,
                **options: Any) -> Route:
        params = {"provider": slugs} if "{provider}" in template else {}
        params.update(options.pop("path_params", {}))
        return Route(method, f"{CONTROL}{template}", handler, authenticated=False, summary=summary,
                     path_params=params, **options)

    return [
        control("POST", "/reset", reset, "Forget all state", success=204),
        control("GET", "/clock", get_clock, "The fake's time", response="Clock"),
        control("POST", "/clock/advance", advance_clock, "Move the fake's time", request="Advance", response="Clock"),
        control("PUT", "/clock", set_clock, "Put the fake's time at an instant", request="Clock", response="Clock"),
        control("POST", "/api-owners", add_api_owner, "Add an API owner who can log in", success=201,
                request="ApiOwner", response="OwnerToken"),
        control("GET", "/rate-limit", get_rate_limit, "Leaf's rate limit in force", response="RateLimit"),
        control("PUT", "/rate-limit", set_rate_limit, "Turn Leaf's rate limit on, change it, or off (requests null)",
                request="RateLimit", response="RateLimit"),
        control("GET", "/providers", list_providers, "The providers the fake serves", response="[ProviderInfo]"),
        control("POST", f"{upstream}/outage", start_outage, "Start an outage of the upstream",
                success=204, request="Outage", body_optional=True),
        control("DELETE", f"{upstream}/outage", end_outage, "End the upstream's outage",
                success=204),
        control("GET", f"{upstream}/refresh-token-rotation", get_rotation,
                "Whether the OAuth2 upstream rotates refresh tokens", response="Rotation"),
        control("PUT", f"{upstream}/refresh-token-rotation", set_rotation,
                "Switch refresh-token rotation on or off", request="Rotation", response="Rotation"),
        control("GET", f"{on_user}/events", list_events,
                "A credential's events, whatever its owner", response="[CredentialEvent]"),
        control("POST", f"{on_user}/status", set_status,
                "Set a credential's status as a check would (alert included, no event)",
                request="StatusChange", response="Any"),
        # before {action}: "organizations" is no action
        control("GET", f"{on_user}/organizations", list_upstream_organizations,
                "The organizations of the grower's account at the provider", response="[UpstreamOrganization]",
                path_params={"provider": with_organizations}),
        control("POST", f"{on_user}/organizations", add_upstream_organization,
                "The grower's account gains an organization", success=201, request="NewOrganization",
                response="NewOrganizationId", path_params={"provider": with_organizations}),
        control("DELETE", f"{on_user}/organizations/{{orgId}}", remove_upstream_organization,
                "An organization leaves the grower's account", success=204,
                path_params={"provider": with_organizations}),
        control("POST", f"{on_user}/organizations/{{orgId}}/{{change}}", change_upstream_organization,
                "The grower blocks or unblocks the application's access to an organization", success=204,
                path_params={"provider": with_organizations,
                             "change": {"type": "string", "enum": ["block", "unblock"]}}),
        control("POST", f"{on_user}/{{action}}", upstream_action,
                "Act on the upstream's side of a user's credential", request="Scope", body_optional=True,
                response="Any", no_content_too=True,
                path_params={"action": {"type": "string", "enum": list(_ACTIONS)}}),
        control("GET", "/alerts", list_alerts, "The credential alerts", response="[Alert]"),
        control("GET", "/organization-alerts", list_organization_alerts, "The provider organization alerts",
                response="[Alert]"),
        control("GET", "/faults", list_faults, "The faults in force on Leaf's side", response="[InjectedFault]"),
        control("POST", "/faults", add_fault, "Inject a fault on Leaf's side", success=201, request="Fault",
                response="InjectedFault"),
        control("DELETE", "/faults", clear_faults, "Remove every fault", success=204),
        control("DELETE", "/faults/{faultId}", remove_fault, "Remove one fault", success=204),
        control("GET", "/journal", list_journal, "The requests Leaf's paths received, oldest first",
                response="[JournalEntry]", errors={400: "an unknown filter, or a path that names no route"},
                query_params={n: {"type": "string"} for n in ("method", "path", "leafUserId")}),
        control("POST", "/receivers/{name}", receive, "A webhook receiver of the fake's own takes a delivery",
                request="Any", body_optional=True, response="Any", errors={500: "fail-next asked for it"}),
        control("GET", "/receivers/{name}", list_received, "What a receiver took, oldest first, raw bodies and headers",
                response="[Received]"),
        control("POST", "/receivers/{name}/fail-next", fail_next, "Fail a receiver's next deliveries",
                success=204, request="FailNext", body_optional=True),
        control("GET", "/openapi.json", openapi, "This document", response="Any"),
    ]
