"""The one route table: every adapter, and every "what does the fake implement" message, reads it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fake_leaf.engine import PROVIDERS, Provider
from fake_leaf.http import _handlers as h

USER_MANAGEMENT = "/services/usermanagement/api"


@dataclass(eq=False, repr=False)
class Route:
    method: str
    template: str  # a path with {leafUserId}-style parameters
    handler: h.Handler
    authenticated: bool = True
    provider: Provider | None = None

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
        Route("POST", "/api/authenticate", h.login, authenticated=False),
        Route("GET", users, h.list_users),
        Route("POST", users, h.create_user),
        Route("PUT", users, h.replace_user),
        Route("GET", f"{users}/{{leafUserId}}", h.get_user),
        Route("DELETE", f"{users}/{{leafUserId}}", h.delete_user),
    ]
    for p in providers:  # another provider is another entry in PROVIDERS, not more code here
        base = f"{users}/{{leafUserId}}/{p.path_segment}"
        routes += [
            Route("GET", base, h.get_credentials, provider=p),
            Route("POST", base, h.create_credentials, provider=p),
            Route("DELETE", base, h.delete_credentials, provider=p),
            Route("GET", f"{base}/events", h.list_events, provider=p),
        ]
    from fake_leaf.http import _control as c

    routes += [
        Route("POST", f"{c.CONTROL}/reset", c.reset, authenticated=False),
        Route("GET", f"{c.CONTROL}/clock", c.get_clock, authenticated=False),
        Route("POST", f"{c.CONTROL}/clock/advance", c.advance_clock, authenticated=False),
        Route("POST", f"{c.CONTROL}/john-deere/outage", c.start_outage, authenticated=False),
        Route("DELETE", f"{c.CONTROL}/john-deere/outage", c.end_outage, authenticated=False),
        Route("POST", f"{c.CONTROL}/john-deere/{{leafUserId}}/{{action}}", c.john_deere_action, authenticated=False),
        Route("GET", f"{c.CONTROL}/alerts", c.list_alerts, authenticated=False),
        Route("GET", f"{c.CONTROL}/users/{{leafUserId}}/events", c.list_events, authenticated=False),
    ]
    return routes
