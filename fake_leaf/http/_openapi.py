"""The OpenAPI 3 document of everything the fake serves, built from the one route table."""

from __future__ import annotations

import re
from typing import Any

from fake_leaf.engine import CredentialStatus, Provider
from fake_leaf.engine._models import USER_FIELDS
from fake_leaf.http._control import CREDENTIAL_ACTIONS
from fake_leaf.http._faults import HTTP_ERROR_STATUSES, KINDS
from fake_leaf.http._routes import Route, credentials_schema, is_control

NULLABLE_STRING = {"type": ["string", "null"]}
STRING = {"type": "string"}
_PATH_PARAMETERS: dict[str, Any] = {"action": {"type": "string", "enum": ["check", *CREDENTIAL_ACTIONS]}}
TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"}


def _credentials_schemas(p: Provider) -> dict[str, Any]:
    name = credentials_schema(p)
    body_properties: dict[str, Any] = {}
    for f in p.body_fields:  # the same declarative description that drives validation
        schema: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": r"\S"}
        if f.choices:
            schema = {"type": "string", "enum": list(f.choices)}
        body_properties[f.name] = schema
    return {
        f"{name}Input": {"type": "object", "properties": body_properties,
                         "required": [f.name for f in p.body_fields if f.required]},
        name: {"type": "object", "required": ["id", "status", "createdTime", "tokenMetadata", "clientKey",
                                              "clientSecret", "accessToken", "refreshToken", "clientEnvironment"],
               "properties": {
                   "id": {"type": "string"},
                   "status": {"type": "string", "enum": [s.value for s in CredentialStatus]},
                   "createdTime": TIMESTAMP,
                   "tokenMetadata": {"type": "object", "properties": {
                       "scopes": {"type": "array", "items": {"type": "string"}}}},
                   "clientKey": {"type": "string"}, "clientSecret": {"type": "string"},
                   "accessToken": {"type": "string"}, "refreshToken": {"type": "string"},
                   "clientEnvironment": {"type": "string"}}},
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
        "LeafUser": {"type": "object", "required": ["id", *USER_FIELDS], "properties": user_props},
        "CredentialEvent": {"type": "object", "required": ["id", "createdDate", "statusCode", "headers", "body"],
                            "properties": {"id": {"type": "string"}, "createdDate": TIMESTAMP,
                                           "statusCode": {"type": "integer"}, "headers": {"type": "string"},
                                           "body": {"type": "string"}}},
        "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "path": {"type": "string"}, "message": {"type": "string"},
            "errorKey": {"type": "string"}, "fieldErrors": {"type": "array"}}},
        "Alert": {"type": "object", "required": ["credential", "provider", "credentialId", "message", "status",
                                                 "type", "timestamp"]},
        "Clock": {"type": "object", "required": ["now"], "properties": {"now": TIMESTAMP}},
        "Advance": {"type": "object", "required": ["seconds"], "properties": {"seconds": {"type": "number",
                                                                                          "minimum": 0}}},
        "Outage": {"type": "object", "properties": {"status_code": {"type": "integer"},
                                                    "environment": {"enum": ["STAGE", "PRODUCTION", None]}}},
        "Scope": {"type": "object", "properties": {"scope": {"type": "string"}}},
        "StatusChange": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": [s.value for s in CredentialStatus]}}},
        "Rotation": {"type": "object", "required": ["enabled"], "properties": {"enabled": {"type": "boolean"}}},
        "Fault": {"type": "object", "required": ["kind"], "additionalProperties": False, "properties": {
            "kind": {"type": "string", "enum": list(KINDS)},
            "method": {"type": ["string", "null"]}, "path": {"type": ["string", "null"]},
            "times": {"type": ["integer", "null"], "minimum": 1},
            "status": {"type": "integer", "enum": list(HTTP_ERROR_STATUSES)},
            "seconds": {"type": "number", "minimum": 0}, "rate": {"type": ["number", "null"], "minimum": 0,
                                                                  "maximum": 1},
            "seed": {"type": "integer"}, "after": {"type": "boolean"}}},
        "InjectedFault": {"type": "object", "required": ["id", "kind", "hits"], "properties": {
            "id": {"type": "string"}, "kind": {"type": "string"}, "hits": {"type": "integer"},
            "route": {"type": ["string", "null"]}}},
        "JournalEntry": {"type": "object", "required": ["method", "path", "query", "status", "route"],
                         "properties": {"method": {"type": "string"}, "path": {"type": "string"},
                                        "query": {"type": "string"}, "status": {"type": "integer"},
                                        "reason": {"type": ["string", "null"]}, "route": {"type": ["string", "null"]},
                                        "leafUserId": {"type": ["string", "null"]},
                                        "fault": {"type": ["string", "null"]},
                                        "requestBody": {"type": "string"}, "responseBody": {"type": "string"}}},
    }
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
    responses: dict[str, Any] = {str(route.success): success, "404": _problem("not found, or not implemented")}
    if route.no_content_too:
        responses["204"] = {"description": "done, nothing to answer"}
    if route.request:
        responses["400"] = _problem("a body or field Leaf refuses")
        responses["413"] = {"description": "the body is too large"}
    if route.authenticated:
        responses["401"] = _problem("a missing, malformed, unknown or expired token")
    if route.template == "/api/authenticate":
        responses["401"] = _problem("bad credentials")
    if is_control(route.template) and route.request:
        responses["400"] = _problem("a control request the fake refuses")
    operation: dict[str, Any] = {"summary": route.summary, "responses": responses,
                                 "operationId": f"{route.method.lower()}{re.sub(r'[^A-Za-z]', '_', route.template)}"}
    params = re.findall(r"\{(\w+)\}", route.template)
    if params:
        operation["parameters"] = [{"name": n, "in": "path", "required": True,
                                    "schema": _PATH_PARAMETERS.get(n, STRING)} for n in params]
    if route.template.endswith("/users") and route.method == "GET":
        operation["parameters"] = [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            for n in ("email", "name", "externalId")] + [
            {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
            {"name": "size", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}}]
        responses["400"] = _problem("bad paging or sort")
    if route.request:
        operation["requestBody"] = {"required": route.request not in ("Scope", "Outage"),
                                    "content": _content(route.request)}
    if route.authenticated:
        operation["security"] = [{"bearer": []}]
    return operation


def openapi_document(routes: list[Route], providers: list[Provider], server_url: str) -> dict[str, Any]:
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
