"""The router: a transport-agnostic request in, Leaf's response out."""

from __future__ import annotations

import json
import re
from collections import deque
from urllib.parse import unquote

from fake_leaf.engine import (
    BadCredentialsError,
    BusinessRuleError,
    InvalidInputError,
    LeafBackend,
    NotAuthenticatedError,
    NotFoundError,
)
from fake_leaf.http import _problems as problems
from fake_leaf.http._handlers import BodyError, Call, authenticate_owner
from fake_leaf.http._routes import Route, build_routes
from fake_leaf.http._types import HttpRequest, HttpResponse, JournalEntry

JOURNAL_LENGTH = 10_000


class LeafApp:
    """Serves one backend under one base URL; the adapters only translate to and from it."""

    def __init__(self, backend: LeafBackend, base_url: str) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.routes = build_routes(backend.providers.values())
        # routes sharing a template share a pattern: match the path once, then pick the method
        self._by_template: dict[str, dict[str, Route]] = {}
        for r in self.routes:
            self._by_template.setdefault(r.template, {})[r.method] = r
        self.journal: deque[JournalEntry] = deque(maxlen=JOURNAL_LENGTH)
        self._patterns: list[tuple[re.Pattern[str], dict[str, Route]]] = [
            (methods[next(iter(methods))].pattern, methods) for methods in self._by_template.values()
        ]

    def implemented(self) -> list[str]:
        """'METHOD /path' for every route, as the not-implemented message lists them."""
        return [f"{r.method} {r.template}" for r in self.routes]

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.path or "/"
        try:
            response = self._dispatch(request, path)
        except Exception as e:  # never let a bug of the fake crash the user's test: a 500 that says so
            response = problems.internal_error(f"{type(e).__name__}: {e}", path)
        self.journal.append(JournalEntry(request.method.upper(), path, request.query, response.status,
                                         _reason(response) if response.status >= 400 else None))
        return response

    def _dispatch(self, request: HttpRequest, path: str) -> HttpResponse:
        method = request.method.upper()
        for pattern, methods in self._patterns:
            match = pattern.match(path)
            if match is None:
                continue
            route = methods.get(method)
            if route is None:
                return problems.method_not_allowed(method, path, sorted(methods))
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            call = Call(request, path.rstrip("/") or "/", params, self.backend, self.base_url, route.provider)
            return self._run(route, call)
        return problems.not_implemented(method, path, self.implemented())

    @staticmethod
    def _run(route: Route, call: Call) -> HttpResponse:
        try:
            if route.authenticated:
                call.owner = authenticate_owner(call)
            return route.handler(call)
        except NotAuthenticatedError as e:
            return problems.not_authenticated(e.reason, call.path)
        except BadCredentialsError:
            return problems.bad_credentials(call.path)
        except BodyError as e:
            return problems.not_json(str(e), call.path)
        except InvalidInputError as e:
            return problems.field_problem(e.field_errors, call.path)
        except BusinessRuleError as e:
            return problems.problem(400, str(e), call.path, error_key=e.error_key, params=e.entity)
        except NotFoundError as e:
            return problems.problem(404, str(e), call.path)



def _reason(response: HttpResponse) -> str:
    """The detail of a problem body (and the fake's own reason header, when there is one)."""
    try:
        detail = str(json.loads(response.body).get("detail", ""))
    except (ValueError, AttributeError):
        detail = response.body[:200].decode("utf-8", "replace")
    extra = response.headers.get("X-Fake-Leaf-Reason")
    return f"{detail} ({extra})" if extra else detail
