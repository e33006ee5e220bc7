"""The one route table: every adapter, and every "what does the fake implement" message, reads it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fake_leaf.engine import PROVIDERS, Provider
from fake_leaf.http import _handlers as h

USER_MANAGEMENT = "/services/usermanagement/api"
CONTROL = "/_fake-leaf"  # the control plane: the test's side, outside Leaf's paths


def is_control(template: str | None) -> bool:
    """Whether a route is the control plane's (the test's side: never faulted, not journaled)."""
    return template is not None and template.startswith(CONTROL)


def credentials_schema(p: Provider) -> str:
    """The OpenAPI schema name of a provider's credentials: ``JohnDeereCredentials``."""
    return f"{p.user_field[0].upper()}{p.user_field[1:]}"


@dataclass(eq=False, repr=False)
class Route:
    method: str
    template: str  # a path with {leafUserId}-style parameters
    handler: h.Handler
    authenticated: bool = True
    provider: Provider | None = None
    # for the OpenAPI document: what the route says it does, takes and answers
    summary: str = ""
    success: int = 200
    no_content_too: bool = False  # also answers 204 (a control action with nothing to say)
    request: str | None = None  # a schema name
    response: str | None = None  # a schema name, "[Name]" for an array of them, None for no body

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.template)


_compiled: dict[str, re.Pattern[str]] = {}


def _compile(template: str) -> re.Pattern[str]:
    if template not in _compiled:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        _compiled[template] = re.compile(f"^{regex}/?$")  # a trailing slash works like none
    return _compiled[template]


def build_routes(providers: Iterable[Provider] = PROVIDERS) -> list[Route]:
    users = f"{USER_MANAGEMENT}/users"
    routes = [
        Route("POST", "/api/authenticate", h.login, authenticated=False, summary="Log in as an API owner",
              request="Login", response="Token"),
        Route("GET", users, h.list_users, summary="List Leaf users", response="[LeafUser]"),
        Route("POST", users, h.create_user, summary="Create a Leaf user", success=201, request="LeafUserInput",
              response="LeafUser"),
        Route("PUT", users, h.replace_user, summary="Replace a Leaf user", request="LeafUserInput",
              response="LeafUser"),
        Route("GET", f"{users}/{{leafUserId}}", h.get_user, summary="Get a Leaf user", response="LeafUser"),
        Route("DELETE", f"{users}/{{leafUserId}}", h.delete_user, summary="Delete a Leaf user", success=204),
    ]
    for p in providers:  # another provider is another entry in PROVIDERS, not more code here
        base = f"{users}/{{leafUserId}}/{p.path_segment}"
        name = credentials_schema(p)
        routes += [
            Route("GET", base, h.get_credentials, provider=p, summary=f"Get the {p.label} credentials",
                  response=name),
            Route("POST", base, h.create_credentials, provider=p, summary=f"Create {p.label} credentials",
                  success=201, request=f"{name}Input", response=name),
            Route("DELETE", base, h.delete_credentials, provider=p, summary=f"Delete the {p.label} credentials",
                  success=204),
            Route("GET", f"{base}/events", h.list_events, provider=p,
                  summary=f"The {p.label} credentials' events", response="[CredentialEvent]"),
        ]
    from fake_leaf.http import _control as c

    control = CONTROL
    routes += [
        Route("POST", f"{control}/reset", c.reset, authenticated=False, summary="Forget all state", success=204),
        Route("GET", f"{control}/clock", c.get_clock, authenticated=False, summary="The fake's time",
              response="Clock"),
        Route("POST", f"{control}/clock/advance", c.advance_clock, authenticated=False,
              summary="Move the fake's time", request="Advance", response="Clock"),
        Route("POST", f"{control}/john-deere/outage", c.start_outage, authenticated=False,
              summary="Start a John Deere outage", success=204, request="Outage"),
        Route("DELETE", f"{control}/john-deere/outage", c.end_outage, authenticated=False,
              summary="End the John Deere outage", success=204),
        Route("POST", f"{control}/john-deere/{{leafUserId}}/{{action}}", c.john_deere_action, authenticated=False,
              summary="Act on John Deere's side of a credential", response="Any", request="Scope",
              no_content_too=True),
        Route("GET", f"{control}/alerts", c.list_alerts, authenticated=False, summary="The alerts",
              response="[Alert]"),
        Route("GET", f"{control}/users/{{leafUserId}}/events", c.list_events, authenticated=False,
              summary="A credential's events, whatever its owner", response="[CredentialEvent]"),
        Route("POST", f"{control}/users/{{leafUserId}}/status", c.set_status, authenticated=False,
              summary="Set a credential's status as a check would (alert included, no event)",
              request="StatusChange", response="JohnDeereCredentials"),
        Route("GET", f"{control}/john-deere/refresh-token-rotation", c.get_rotation, authenticated=False,
              summary="Whether John Deere rotates refresh tokens", response="Rotation"),
        Route("PUT", f"{control}/john-deere/refresh-token-rotation", c.set_rotation, authenticated=False,
              summary="Switch refresh-token rotation on or off", request="Rotation", response="Rotation"),
        Route("GET", f"{control}/faults", c.list_faults, authenticated=False,
              summary="The faults in force on Leaf's side", response="[InjectedFault]"),
        Route("POST", f"{control}/faults", c.add_fault, authenticated=False, success=201,
              summary="Inject a fault on Leaf's side", request="Fault", response="InjectedFault"),
        Route("DELETE", f"{control}/faults", c.clear_faults, authenticated=False, success=204,
              summary="Remove every fault"),
        Route("DELETE", f"{control}/faults/{{faultId}}", c.remove_fault, authenticated=False, success=204,
              summary="Remove one fault"),
        Route("GET", f"{control}/journal", c.list_journal, authenticated=False,
              summary="The requests Leaf's paths received, oldest first", response="[JournalEntry]"),
        Route("GET", f"{control}/openapi.json", c.openapi, authenticated=False,
              summary="This document", response="Any"),
    ]
    return routes
