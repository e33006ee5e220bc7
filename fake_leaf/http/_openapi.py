"""The OpenAPI 3 document of everything the fake serves, built from the one route table."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from fake_leaf.engine import BodyField, CredentialStatus, Provider
from fake_leaf.engine._models import USER_FIELDS, OrganizationStatus
from fake_leaf.engine._webhooks import EVENTS, WebhookDelivery
from fake_leaf.http._context import Route, is_control
from fake_leaf.http._faults import Fault
from fake_leaf.http._handlers import credentials_schema
from fake_leaf.http._organization_handlers import config_schema
from fake_leaf.http._serialize import _camel
from fake_leaf.http._types import JournalEntry

NULLABLE_STRING = {"type": ["string", "null"]}
STRING = {"type": "string"}
TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"}


def _credentials_schemas(p: Provider) -> dict[str, Any]:
    """A provider's input and answer schemas, from the same declaration that drives validation."""
    name = credentials_schema(p)
    body_properties = {f.name: _body_field_schema(f) for f in p.body_fields}
    special: dict[str, Any] = {
        "status": {"type": "string", "enum": [s.value for s in CredentialStatus]}, "createdTime": TIMESTAMP,
        "tokenMetadata": {"type": "object", "required": ["scopes"], "additionalProperties": False,
                          "properties": {"scopes": {"type": "array", "items": STRING}}}}
    answer = {n: special.get(n, STRING) for n in p.answer_fields}
    schemas = {
        f"{name}Input": {"type": "object", "properties": body_properties,
                         "required": [f.name for f in p.body_fields if f.required]},
        # exactly the answer fields: a client generated from this document inherits no field Leaf lacks
        name: {"type": "object", "required": list(answer), "properties": answer, "additionalProperties": False},
    }
    if p.one_click is not None:
        schemas[f"{p.name}OneClickInput"] = {
            "type": "object", "required": [f.name for f in p.one_click.body_fields if f.required],
            "properties": {f.name: _body_field_schema(f) for f in p.one_click.body_fields}}
    return schemas


def _body_field_schema(f: BodyField) -> dict[str, Any]:
    if f.choices:
        return {"type": "string", "enum": list(f.choices)}
    return {"type": "string", "minLength": 1, "pattern": r"\S"}


def _json_type(hint: Any) -> dict[str, Any]:
    """A JSON schema from a dataclass field's annotation (Literal, unions with None, plain types)."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_json_type(a) for a in typing.get_args(hint)]}
    if origin in (dict, Mapping):
        return {"type": "object", "additionalProperties": _json_type(typing.get_args(hint)[1])}
    simple = {str: "string", bytes: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    return {"type": simple[hint]} if hint in simple else {}


def dataclass_schema(cls: type, *, camel: bool = False, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The schema of a wire shape declared as a dataclass: every field, under its JSON name."""
    hints = typing.get_type_hints(cls)
    properties = {(_camel(f.name) if camel else f.name): _json_type(hints[f.name]) for f in dataclasses.fields(cls)}
    properties.update(extra or {})
    return {"type": "object", "properties": properties}


def _webhook_schemas() -> dict[str, Any]:
    text = {"type": "string", "minLength": 1, "pattern": r"\S"}
    events = {"type": "array", "items": {"type": "string", "enum": list(EVENTS)}}
    return {
        "WebhookInput": {"type": "object", "required": ["name", "url", "secret", "events"], "properties": {
            "name": text, "secret": text, "url": {"type": "string", "pattern": r"^https?://"},
            "events": {**events, "minItems": 1, "uniqueItems": True}}},
        "Webhook": {"type": "object", "required": ["id", "events", "name", "secret", "url"], "properties": {
            "id": STRING, "events": events, "name": STRING, "secret": STRING, "url": STRING}},
        "FailedCalls": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["apiOwner", "createdAt", "url", "requestBody"], "properties": {
                "apiOwner": STRING, "url": STRING, "requestBody": STRING,
                "createdAt": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
                "status": {"type": "integer"}, "response": STRING, "connectionError": STRING}}}}},
        "WebhookDelivery": {**dataclass_schema(WebhookDelivery, camel=True, extra={"sentAt": TIMESTAMP}),
                            "required": [_camel(f.name) for f in dataclasses.fields(WebhookDelivery)]},
    }


def _schemas(providers: list[Provider]) -> dict[str, Any]:
    user_props: dict[str, Any] = {"id": {"type": "string"}, **{f: NULLABLE_STRING for f in USER_FIELDS}}
    schemas: dict[str, Any] = {
        "Any": {},
        "Login": {"type": "object", "required": ["username", "password"], "properties": {
            "username": {"type": "string"}, "password": {"type": "string"},
            "rememberMe": {"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]}}},
        "Token": {"type": "object", "required": ["id_token"], "properties": {"id_token": {"type": "string"}}},
        "LeafUserInput": {"type": "object", "properties": {"id": {"type": "string"},
                                                            **{f: NULLABLE_STRING for f in USER_FIELDS}}},
        "LeafUserReplacement": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string"}, **{f: NULLABLE_STRING for f in USER_FIELDS},
            # a provider's field keeps the user's credential by its id; left out or null drops it
            **{p.user_field: {"oneOf": [{"type": "null"}, {"type": "object", "required": ["id"],
                                                            "properties": {"id": STRING}}]} for p in providers}}},
        "LeafUserPatch": {"type": "object", "properties": {"id": {"type": "string"},
                                                            **{f: NULLABLE_STRING for f in USER_FIELDS}}},
        "LeafUser": {"type": "object", "required": ["id", *USER_FIELDS], "properties": user_props},
        "CredentialEvent": {"type": "object", "required": ["id", "createdDate", "statusCode", "headers", "body"],
                            "properties": {"id": {"type": "string"}, "createdDate": TIMESTAMP,
                                           "statusCode": {"type": "integer"}, "headers": {"type": "string"},
                                           "body": {"type": "string"}}},
        "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "path": {"type": "string"}, "message": {"type": "string"},
            "errorKey": {"type": "string"}, "fieldErrors": {"type": "array"}}},
        "Alert": {"anyOf": [
            {"type": "object", "required": ["credential", "provider", "credentialId", "message", "status", "type",
                                            "timestamp"]},
            {"type": "object", "required": ["leafUserId", "provider", "providerOrgId", "providerOrgName", "status",
                                            "type", "timestamp"]}]},
        "ProviderOrganization": {
            "type": "object", "required": ["providerOrgId", "providerOrgName", "status", "managementUri"],
            "additionalProperties": False, "properties": {
                "providerOrgId": STRING, "providerOrgName": STRING, "managementUri": STRING,
                "status": {"type": "string", "enum": [s.value for s in OrganizationStatus]}}},
        "OrganizationLists": {
            "type": "object", "required": ["connectedOrganizations", "notConnectedOrganizations"],
            "properties": {name: {"type": "array", "items": {
                "type": "object", "required": ["id", "name", "managementUri"], "additionalProperties": False,
                "properties": {"id": STRING, "name": STRING, "managementUri": STRING}}}
                for name in ("connectedOrganizations", "notConnectedOrganizations")}},
        "Config": config_schema(),
        "UpstreamOrganization": {"type": "object", "required": ["id", "name", "blocked"], "properties": {
            "id": STRING, "name": STRING, "blocked": {"type": "boolean"}}},
        "NewOrganization": {"type": "object", "required": ["name"], "properties": {"name": STRING, "id": STRING}},
        "NewOrganizationId": {"type": "object", "required": ["id"], "properties": {"id": STRING}},
        "Clock": {"type": "object", "required": ["now"], "properties": {"now": TIMESTAMP}},
        "Advance": {"type": "object", "required": ["seconds"], "properties": {"seconds": {"type": "number",
                                                                                          "minimum": 0}}},
        "Received": {"type": "object", "required": ["body", "bodyBase64", "headers", "receivedAt", "status"],
                     "properties": {"body": {"type": "string"}, "bodyBase64": {"type": "string"},
                                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                                    "receivedAt": {"type": "string"}, "status": {"type": "integer"}}},
        "FailNext": {"type": "object", "properties": {"times": {"type": "integer", "minimum": 1, "maximum": 1000},
                                                      "status": {"type": "integer", "minimum": 400, "maximum": 599}}},
        "ApiOwner": {"type": "object", "required": ["username", "password"], "properties": {
            "username": {"type": "string", "minLength": 1}, "password": {"type": "string", "minLength": 1}}},
        "OwnerToken": {"type": "object", "required": ["username", "token"], "properties": {
            "username": {"type": "string"}, "token": {"type": "string"}}},
        "RateLimit": {"type": "object", "properties": {
            "requests": {"type": ["integer", "null"], "minimum": 1},
            "window_seconds": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "retry_after": {"type": "boolean"}}},
        "Outage": {"type": "object", "properties": {"status_code": {"type": "integer"},
                                                    "environment": NULLABLE_STRING}},
        "Scope": {"type": "object", "properties": {"scope": {"type": "string"}}},
        "StatusChange": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": [s.value for s in CredentialStatus]}}},
        "Rotation": {"type": "object", "required": ["enabled"], "properties": {"enabled": {"type": "boolean"}}},
        "Fault": {**dataclass_schema(Fault), "required": ["kind"], "additionalProperties": False},
        "InjectedFault": {**dataclass_schema(Fault, extra={"id": STRING, "hits": {"type": "integer"},
                                                           "route": NULLABLE_STRING}),
                          "required": ["id", "kind", "hits"]},
        "JournalEntry": {**dataclass_schema(JournalEntry, camel=True),
                         "required": [_camel(f.name) for f in dataclasses.fields(JournalEntry)]},
        "ProviderInfo": {"type": "object", "required": ["name", "slug", "pathSegment", "userField", "upstream"]},
    }
    schemas.update(_webhook_schemas())
    for p in providers:
        schemas.update(_credentials_schemas(p))
        schemas["LeafUser"]["properties"][p.user_field] = {"oneOf": [
            {"$ref": f"#/components/schemas/{credentials_schema(p)}"}, {"type": "null"}]}
    return schemas


def _content(name: str) -> dict[str, Any]:
    if name.startswith("["):
        schema: dict[str, Any] = {"type": "array", "items": {"$ref": f"#/components/schemas/{name[1:-1]}"}}
    else:
        schema = {"$ref": f"#/components/schemas/{name}"}
    return {"application/json": {"schema": schema}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _operation(route: Route) -> dict[str, Any]:
    success: dict[str, Any] = {"description": route.summary or "success"}
    if route.response:
        success["content"] = _content(route.response)
    if "page" in route.query_params:  # a paged list, as JHipster answers one
        success["headers"] = {
            "X-Total-Count": {"description": "how many there are in all", "schema": {"type": "integer"}},
            "Link": {"description": 'the next, prev, last and first pages (rel="next", ...)',
                     "schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(route.success): success, "404": _problem("not found, or not implemented")}
    if route.no_content_too:
        responses["204"] = {"description": "done, nothing to answer"}
    # any request, with a body or not, can carry a Content-Length or a chunked body that cannot be read
    framing = "a Content-Length that is not a plain number or promises more bytes than arrive, or a broken chunked body"
    if route.request:
        refused = "a control request the fake refuses" if is_control(route.template) else "a body or field Leaf refuses"
        responses["400"] = _problem(f"{refused}; or {framing}")
    else:
        responses["400"] = _problem(framing)
    responses["413"] = {"description": "the body is too large"}
    if route.authenticated:
        responses["401"] = _problem("a missing, malformed, unknown or expired token")
    for status, why in route.errors.items():
        responses[str(status)] = _problem(why)
    if not is_control(route.template):  # the control plane is the test's own: never limited, never faulted
        if route.authenticated:
            responses["429"] = {
                "description": "Leaf's rate limit, when it is turned on (RateLimit, --rate-limit-per-minute)",
                "headers": {"Retry-After": {"description": "seconds until a request may pass, when it is sent",
                                            "schema": {"type": "integer", "minimum": 1}}},
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error", "message", "status_code"],
                    "properties": {"error": STRING, "message": STRING,
                                   "status_code": {"type": "integer", "const": 429}}}}}}
        for status_range in ("4XX", "5XX"):  # an injected http_error takes any status of either
            responses[status_range] = _problem("a fault injected on Leaf's side (FakeLeaf.inject, "
                                               "POST /_fake-leaf/faults)")
    operation: dict[str, Any] = {"summary": route.summary, "responses": responses,
                                 "operationId": f"{route.method.lower()}{re.sub(r'[^A-Za-z]', '_', route.template)}"}
    parameters = [{"name": n, "in": "path", "required": True, "schema": route.path_params.get(n, STRING)}
                  for n in re.findall(r"\{(\w+)\}", route.template)]
    parameters += [{"name": n, "in": "query", "required": False, "schema": schema}
                   for n, schema in route.query_params.items()]
    if parameters:
        operation["parameters"] = parameters
    if route.request:
        operation["requestBody"] = {"required": not route.body_optional, "content": _content(route.request)}
    if route.authenticated:
        operation["security"] = [{"bearer": []}]
    return operation


def openapi_document(routes: Sequence[Route], providers: list[Provider], server_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.template, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "fake-leaf: Leaf's user-management API and the fake's control plane", "version": "1"},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": _schemas(providers),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
