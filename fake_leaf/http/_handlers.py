"""Leaf's own routes: one function per operation (parse the request, call the engine, shape the answer)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from fake_leaf.engine import FieldError, InvalidInputError, NotAuthenticatedError, Provider
from fake_leaf.engine._errors import bad_query
from fake_leaf.engine._text import shorten
from fake_leaf.engine._users import MAX_PAGE_SIZE
from fake_leaf.http._context import JSON_TYPE, USER_MANAGEMENT, Call, Route, ok
from fake_leaf.http._serialize import credentials_json, events_json_text, user_json
from fake_leaf.http._types import HttpResponse, header_value

USERS_PATH = f"{USER_MANAGEMENT}/users"


def authenticate_owner(call: Call) -> str:
    header = header_value(call.request.headers, "authorization")
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
    return user_json(user, backend.find_credentials(call.owner, leaf_user_id), backend.providers)


# ASCII digits only, as Java reads them (no '_', no other script's digits); a page far past the end is only empty
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,1000}")


def int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    if not _WHOLE_NUMBER.fullmatch(values[0]):
        raise bad_query(name, f"must be a whole number (ASCII digits, at most 1000 of them), got "
                              f"{shorten(values[0], 100)!r}")
    return int(values[0])


def _sort_param(values: list[str]) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for value in values:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        descending = False
        if parts and parts[-1].lower() in ("asc", "desc"):
            descending = parts.pop().lower() == "desc"
        if not parts:
            raise bad_query("sort", f"expected 'field,asc' or 'field,desc', got {shorten(value, 100)!r}")
        order.extend((p, descending) for p in parts)
    return order


def list_users(call: Call) -> HttpResponse:
    query = call.query()
    filters = {k: v[0] for k, v in query.items() if k in ("email", "name", "externalId")}
    page = int_param(query, "page", 0)
    size = int_param(query, "size", 20)
    users, total = call.backend.list_users(call.owner, filters=filters, sort=_sort_param(query.get("sort", [])),
                                           page=page, size=size)
    backend = call.backend  # the listed users, with their credentials, from the same operation
    body = [user_json(u, backend.find_credentials(call.owner, u.id), backend.providers) for u in users]
    return page_answer(call, query, body, page, size, total)


def page_answer(call: Call, query: dict[str, list[str]], body: list[dict[str, object]] | bytes, page: int,
                size: int, total: int) -> HttpResponse:
    """A page of a list as JHipster answers it: a bare array, ``X-Total-Count`` and ``Link`` (for the size served).

    ``body``: the items, or the array's JSON already written."""
    size = min(size, MAX_PAGE_SIZE)
    headers = {"X-Total-Count": str(total), "Link": _link_header(call, query, page, size, total)}
    if isinstance(body, bytes):
        return HttpResponse(200, {"Content-Type": JSON_TYPE, **headers}, body)
    return ok(200, body, headers)


def _link_header(call: Call, query: dict[str, list[str]], page: int, size: int, total: int) -> str:
    """JHipster's PaginationUtil: next, prev, last, first."""
    last = max((total + size - 1) // size - 1, 0)

    # the request's other parameters, encoded once; then page and size, as urlencode would append them
    rest = urlencode({k: v for k, v in query.items() if k not in ("page", "size")}, doseq=True)
    start = f"{call.base_url}{call.path}?{rest}{'&' if rest else ''}page="

    def link(target: int, rel: str) -> str:
        return f'<{start}{target}&size={size}>; rel="{rel}"'

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


def update_user(call: Call) -> HttpResponse:
    user = call.backend.update_user(call.owner, call.params["leafUserId"], call.json_body())
    return ok(200, _user_body(call, user.id))


def delete_user(call: Call) -> HttpResponse:
    call.backend.delete_user(call.owner, call.params["leafUserId"])
    return HttpResponse(204)


# -- provider credentials ----------------------------------------------------------------------


def get_credentials(call: Call) -> HttpResponse:
    p = call.the_provider()
    return ok(200, credentials_json(call.backend.get_credentials(call.owner, call.params["leafUserId"], p.name), p))


def create_credentials(call: Call) -> HttpResponse:
    p = call.the_provider()
    body = call.json_body()
    return ok(201, credentials_json(call.backend.create_credentials(call.owner, call.params["leafUserId"], p.name,
                                                                    body), p))


def delete_credentials(call: Call) -> HttpResponse:
    call.backend.delete_credentials(call.owner, call.params["leafUserId"], call.the_provider().name)
    return HttpResponse(204)


def connect_in_one_click(call: Call) -> HttpResponse:
    p = call.the_provider()
    body = call.json_body()
    return ok(201, credentials_json(call.backend.connect_in_one_click(call.owner, call.params["leafUserId"], p.name,
                                                                      body), p))


def list_events(call: Call) -> HttpResponse:
    query = call.query()
    page = int_param(query, "page", 0)
    size = int_param(query, "size", 20)
    descending = True  # newest first unless asked
    for field_name, desc in _sort_param(query.get("sort", [])):
        if field_name != "createdDate":
            raise bad_query("sort", f"events sort on createdDate only ('createdDate,asc' or 'createdDate,desc'), "
                            f"got {field_name[:100]!r}")
        descending = desc
    events, total = call.backend.events_page(call.owner, call.params["leafUserId"], call.the_provider().name,
                                             page=page, size=size, descending=descending)
    return page_answer(call, query, events_json_text(events), page, size, total)


# -- the table's lines for Leaf's own routes -------------------------------------------------------

_PAGING: dict[str, dict[str, Any]] = {"page": {"type": "integer", "minimum": 0},
                                      "size": {"type": "integer", "minimum": 1}}
_USER_QUERY: dict[str, dict[str, Any]] = {**{n: {"type": "string"} for n in ("email", "name", "externalId")},
                                          **_PAGING, "sort": {"type": "string"}}
_EVENTS_QUERY: dict[str, dict[str, Any]] = {
    **_PAGING, "sort": {"type": "string", "enum": ["createdDate", "createdDate,asc", "createdDate,desc"]}}


def routes(providers: Iterable[Provider]) -> list[Route]:
    """Login, users, and the four credential routes of every provider (the same four for each)."""
    users = USERS_PATH
    table = [
        Route("POST", "/api/authenticate", login, authenticated=False, summary="Log in as an API owner",
              request="Login", response="Token", errors={401: "bad credentials"}),
        Route("GET", users, list_users, summary="List Leaf users", response="[LeafUser]", query_params=_USER_QUERY,
              errors={400: "bad paging, filter or sort"}),
        Route("POST", users, create_user, summary="Create a Leaf user", success=201, request="LeafUserInput",
              response="LeafUser"),
        Route("PUT", users, replace_user, summary="Replace a Leaf user (credentials left out are dropped)",
              request="LeafUserReplacement", response="LeafUser"),
        Route("PATCH", f"{users}/{{leafUserId}}", update_user, summary="Partially update a Leaf user",
              request="LeafUserPatch", response="LeafUser"),
        Route("GET", f"{users}/{{leafUserId}}", get_user, summary="Get a Leaf user", response="LeafUser"),
        Route("DELETE", f"{users}/{{leafUserId}}", delete_user, summary="Delete a Leaf user", success=204),
    ]
    for p in providers:
        base = f"{users}/{{leafUserId}}/{p.path_segment}"
        name = credentials_schema(p)
        table += [
            Route("GET", base, get_credentials, provider=p, summary=f"Get the {p.label} credentials",
                  response=name),
            Route("POST", base, create_credentials, provider=p, summary=f"Create {p.label} credentials",
                  success=201, request=f"{name}Input", response=name),
            Route("DELETE", base, delete_credentials, provider=p, summary=f"Delete the {p.label} credentials",
                  success=204),
            Route("GET", f"{base}/events", list_events, provider=p, query_params=_EVENTS_QUERY,
                  summary=f"The {p.label} credentials' events", response="[CredentialEvent]",
                  errors={400: "bad paging or sort"}),
        ]
        if p.one_click is not None:
            table.append(Route("POST", f"{users}/{{leafUserId}}/one-click-integration/{p.name}", connect_in_one_click,
                               provider=p, summary=f"Connect {p.label} in one click", success=201,
                               request=f"{p.name}OneClickInput", response=name))
    return table


def credentials_schema(p: Provider) -> str:
    """The OpenAPI schema name of a provider's credentials: ``JohnDeereCredentials``."""
    return f"{p.user_field[0].upper()}{p.user_field[1:]}"
