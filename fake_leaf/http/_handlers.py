"""One function per operation: parse the request, call the engine, shape Leaf's answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode

from fake_leaf.engine import (
    FieldError,
    InvalidInputError,
    LeafBackend,
    NotAuthenticatedError,
    Provider,
)
from fake_leaf.engine._errors import bad_query
from fake_leaf.http._serialize import credentials_json, dumps, event_json, user_json
from fake_leaf.http._types import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from fake_leaf.http._app import LeafApp

USERS_PATH = "/services/usermanagement/api/users"
JSON_TYPE = "application/json"


class BodyError(Exception):
    """The body could not be read as a JSON object."""


@dataclass(eq=False, repr=False)
class Call:
    """What a handler gets: the request, its path parameters and the engine."""

    request: HttpRequest
    path: str  # the path Leaf would report in a problem body
    params: dict[str, str]
    backend: LeafBackend
    base_url: str
    provider: Provider | None = None
    owner: str = ""
    app: LeafApp | None = None  # for the control plane, which also drives faults and the journal

    def json_body(self) -> dict[str, object]:
        try:
            text = self.request.body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BodyError(f"it is not UTF-8 ({e.reason} at byte {e.start})") from None
        if not text.strip():
            raise BodyError("the body is empty")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise BodyError(f"it is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
        except RecursionError:
            raise BodyError("it is nested too deeply") from None
        if not isinstance(data, dict):
            raise BodyError(f"got a JSON {type(data).__name__.replace('dict', 'object')}, not an object")
        return data

    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.request.query, keep_blank_values=True)


Handler = Callable[[Call], HttpResponse]


def ok(status: int, data: object, headers: dict[str, str] | None = None) -> HttpResponse:
    all_headers = {"Content-Type": JSON_TYPE}
    all_headers.update(headers or {})
    return HttpResponse(status, all_headers, dumps(data))


def authenticate_owner(call: Call) -> str:
    header = call.request.header("Authorization")
    if header is None:
        raise NotAuthenticatedError("no Authorization header; send 'Authorization: Bearer <token>'")
    if not header.startswith("Bearer "):
        raise NotAuthenticatedError(f"the Authorization header must read 'Bearer <token>', got {header[:20]!r}")
    return call.backend.owner_for_token(header[len("Bearer "):].strip())


# -- login -------------------------------------------------------------------------------------

_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


def login(call: Call) -> HttpResponse:
    body = call.json_body()
    errors: list[FieldError] = []
    for name in ("username", "password"):
        value = body.get(name)
        if value is None:
            errors.append(FieldError("loginVM", name, "NotNull", "is required"))
        elif not isinstance(value, str):
            errors.append(FieldError("loginVM", name, "TypeMismatch", "must be a string"))
    remember = body.get("rememberMe")
    remember_me = False
    if isinstance(remember, bool):
        remember_me = remember
    elif isinstance(remember, str) and remember in _TRUE | _FALSE:
        remember_me = remember in _TRUE
    elif remember is not None:
        errors.append(FieldError("loginVM", "rememberMe", "TypeMismatch",
                                 f"must be true, false, \"true\" or \"false\", got {remember!r}"))
    if errors:
        raise InvalidInputError(errors)
    token = call.backend.authenticate(str(body["username"]), str(body["password"]), remember_me)
    return ok(200, {"id_token": token}, {"Authorization": f"Bearer {token}"})


# -- Leaf users --------------------------------------------------------------------------------


def _user_body(call: Call, leaf_user_id: str) -> dict[str, object]:
    backend = call.backend
    user = backend.get_user(call.owner, leaf_user_id)
    return user_json(user, backend.find_credentials(call.owner, leaf_user_id), list(backend.providers.values()))


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        raise bad_query(name, f"must be a whole number, got {values[0]!r}") from None


def _sort_param(values: list[str]) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for value in values:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        descending = False
        if parts and parts[-1].lower() in ("asc", "desc"):
            descending = parts.pop().lower() == "desc"
        if not parts:
            raise bad_query("sort", f"expected 'field,asc' or 'field,desc', got {value!r}")
        order.extend((p, descending) for p in parts)
    return order


def list_users(call: Call) -> HttpResponse:
    query = call.query()
    filters = {k: v[0] for k, v in query.items() if k in ("email", "name", "externalId")}
    page = _int_param(query, "page", 0)
    size = _int_param(query, "size", 20)
    users, total = call.backend.list_users(call.owner, filters=filters, sort=_sort_param(query.get("sort", [])),
                                           page=page, size=size)
    size = min(size, 100)
    body = [_user_body(call, u.id) for u in users]
    return ok(200, body, {"X-Total-Count": str(total), "Link": _link_header(call, query, page, size, total)})


def _link_header(call: Call, query: dict[str, list[str]], page: int, size: int, total: int) -> str:
    """JHipster's PaginationUtil: next, prev, last, first."""
    last = max((total + size - 1) // size - 1, 0)

    def link(target: int, rel: str) -> str:
        q = {k: v for k, v in query.items() if k not in ("page", "size")}
        q["page"], q["size"] = [str(target)], [str(size)]
        return f'<{call.base_url}{call.path}?{urlencode(q, doseq=True)}>; rel="{rel}"'

    links = []
    if page < last:
        links.append(link(page + 1, "next"))
    if page > 0:
        links.append(link(page - 1, "prev"))
    links += [link(last, "last"), link(0, "first")]
    return ",".join(links)


def create_user(call: Call) -> HttpResponse:
    user = call.backend.create_user(call.owner, call.json_body())
    return ok(201, _user_body(call, user.id), {"Location": f"{call.base_url}{USERS_PATH}/{user.id}"})


def get_user(call: Call) -> HttpResponse:
    return ok(200, _user_body(call, call.params["leafUserId"]))


def replace_user(call: Call) -> HttpResponse:
    user = call.backend.replace_user(call.owner, call.json_body())
    return ok(200, _user_body(call, user.id))


def delete_user(call: Call) -> HttpResponse:
    call.backend.delete_user(call.owner, call.params["leafUserId"])
    return HttpResponse(204)


# -- provider credentials ----------------------------------------------------------------------


def _provider(call: Call) -> Provider:
    assert call.provider is not None, "credential routes are built with their provider"
    return call.provider


def get_credentials(call: Call) -> HttpResponse:
    c = call.backend.get_credentials(call.owner, call.params["leafUserId"], _provider(call).name)
    return ok(200, credentials_json(c))


def create_credentials(call: Call) -> HttpResponse:
    body = call.json_body()
    c = call.backend.create_credentials(call.owner, call.params["leafUserId"], _provider(call).name, body)
    return ok(201, credentials_json(c))


def delete_credentials(call: Call) -> HttpResponse:
    call.backend.delete_credentials(call.owner, call.params["leafUserId"], _provider(call).name)
    return HttpResponse(204)


def list_events(call: Call) -> HttpResponse:
    events = call.backend.list_events(call.owner, call.params["leafUserId"], _provider(call).name)
    return ok(200, [event_json(e) for e in events])

