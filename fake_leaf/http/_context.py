"""What every handler shares, below the route table and the router: the call, a route, an answer.

Handlers and the control plane import this module only; the router (``_app.py``) and the table
(``_routes.py``) import them. So nothing in ``http/`` imports in a circle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qs

from fake_leaf.engine import LeafBackend, Provider
from fake_leaf.http._body import read_json_object
from fake_leaf.http._faults import Fault, FaultRegistry, InjectedFault
from fake_leaf.http._journal import Journal
from fake_leaf.http._limits import RateLimiter
from fake_leaf.http._receivers import Receivers
from fake_leaf.http._serialize import dumps
from fake_leaf.http._types import HttpRequest, HttpResponse, JournalEntry

USER_MANAGEMENT = "/services/usermanagement/api"
CONTROL = "/_fake-leaf"  # the control plane: the test's side, outside Leaf's paths
JSON_TYPE = "application/json"


def is_control(template: str | None) -> bool:
    """Whether a route is the control plane's (the test's side: never faulted, not journaled)."""
    return template is not None and template.startswith(CONTROL)


class ControlTarget(Protocol):
    """What the control plane drives beyond the engine: the router's faults, journal and routes."""

    limiter: RateLimiter | None

    @property
    def faults(self) -> FaultRegistry: ...

    @property
    def journal(self) -> Journal: ...

    @property
    def receivers(self) -> Receivers: ...

    @property
    def routes(self) -> Sequence[Route]: ...

    def inject(self, fault: Fault) -> InjectedFault: ...

    def journal_entries(self, method: str | None = None, path: str | None = None,
                        leaf_user_id: str | None = None) -> list[JournalEntry]: ...


class Call:
    """What a handler gets: the request, its path parameters and the engine."""

    __slots__ = ("app", "backend", "base_url", "owner", "params", "path", "provider", "request")

    def __init__(self, request: HttpRequest, path: str, params: dict[str, str], backend: LeafBackend, base_url: str,
                 provider: Provider | None = None, owner: str = "", app: ControlTarget | None = None) -> None:
        self.request = request
        self.path = path  # the path Leaf would report in a problem body
        self.params = params
        self.backend = backend
        self.base_url = base_url
        self.provider = provider
        self.owner = owner
        self.app = app  # for the control plane, which also drives faults and the journal

    def json_body(self) -> dict[str, object]:
        return read_json_object(self.request.body)

    def optional_json_body(self) -> dict[str, object]:
        """The JSON object, or {} for an empty body (control actions whose body is optional)."""
        return self.json_body() if self.request.body.strip() else {}

    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.request.query, keep_blank_values=True)

    def control(self) -> ControlTarget:
        assert self.app is not None, "the router passes itself to every call"
        return self.app

    def the_provider(self) -> Provider:
        assert self.provider is not None, "credential routes are built with their provider"
        return self.provider


Handler = Callable[[Call], HttpResponse]


class Route:
    """One line of the route table: method, path template, handler, and what the OpenAPI document says."""

    def __init__(self, method: str, template: str, handler: Handler, authenticated: bool = True,
                 provider: Provider | None = None, summary: str = "", success: int = 200, no_content_too: bool = False,
                 request: str | None = None, body_optional: bool = False, response: str | None = None,
                 path_params: dict[str, dict[str, Any]] | None = None,
                 query_params: dict[str, dict[str, Any]] | None = None, errors: dict[int, str] | None = None) -> None:
        self.method = method
        self.template = template  # a path with {leafUserId}-style parameters
        self.handler = handler
        self.authenticated = authenticated
        self.provider = provider
        self.summary = summary
        self.success = success
        self.no_content_too = no_content_too  # also answers 204 (a control action with nothing to say)
        self.request = request  # a schema name
        self.body_optional = body_optional
        self.response = response  # a schema name, "[Name]" for an array of them, None for no body
        self.path_params = {} if path_params is None else path_params  # schemas other than a string
        self.query_params = {} if query_params is None else query_params
        self.errors = {} if errors is None else errors  # answers beyond the usual, with why

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.template)


_compiled: dict[str, re.Pattern[str]] = {}


def _compile(template: str) -> re.Pattern[str]:
    compiled = _compiled.get(template)
    if compiled is None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        compiled = re.compile(f"^{regex}/?$")  # a trailing slash works like none
        if len(_compiled) >= 1024:  # every provider's paths a few times over: new providers each test keep none
            _compiled.clear()
        _compiled[template] = compiled
    return compiled


def ok(status: int, data: object, headers: dict[str, str] | None = None) -> HttpResponse:
    all_headers = {"Content-Type": JSON_TYPE}
    all_headers.update(headers or {})
    return HttpResponse(status, all_headers, dumps(data))
