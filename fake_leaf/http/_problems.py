"""The catalogue of Leaf's error bodies: every problem document is built here and only here."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from http import HTTPStatus

from fake_leaf.engine import (
    BadCredentialsError,
    BusinessRuleError,
    FakeLeafError,
    FieldError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
)
from fake_leaf.engine._text import shorten
from fake_leaf.http._body import BodyError
from fake_leaf.http._limits import RateLimit
from fake_leaf.http._types import HttpResponse

PROBLEM_WITH_MESSAGE = "https://www.jhipster.tech/problem/problem-with-message"
CONSTRAINT_VIOLATION = "https://www.jhipster.tech/problem/constraint-violation"
PROBLEM_CONTENT_TYPE = "application/problem+json"


def reason_phrase(status: int) -> str:
    """The reason phrase of a status, also for codes without a registered name (a test's 499)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Error" if status < 500 else "Server Error"


def problem(
    status: int,
    detail: str,
    path: str,
    *,
    error_key: str | None = None,
    params: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """A JHipster problem document: ``message`` is ``error.<errorKey>`` or ``error.http.<status>``."""
    body: dict[str, object] = {
        "type": PROBLEM_WITH_MESSAGE,
        "title": reason_phrase(status),
        "status": status,
        "detail": detail,
        "path": path,
        "message": f"error.{error_key}" if error_key else f"error.http.{status}",
    }
    if error_key:
        body["errorKey"] = error_key
        if params:
            body["params"] = params
    return _respond(status, body, headers)


def field_problem(field_errors: list[FieldError], path: str) -> HttpResponse:
    """400 for broken fields, in JHipster's constraint-violation shape."""
    body: dict[str, object] = {
        "type": CONSTRAINT_VIOLATION,
        "title": "Method argument not valid",
        "status": 400,
        "detail": "; ".join(f"{e.field}: {e.reason}" for e in field_errors),
        "path": path,
        "message": "error.validation",
        "fieldErrors": [{"objectName": e.object_name, "field": e.field, "message": e.message}
                        for e in field_errors],
    }
    return _respond(400, body, None)


def for_error(error: FakeLeafError, path: str) -> HttpResponse:
    """Any refusal of the engine or the HTTP layer as Leaf's problem body, with the status it carries."""
    if isinstance(error, NotAuthenticatedError):
        return not_authenticated(error.reason, path)
    if isinstance(error, BadCredentialsError):
        return bad_credentials(path)
    if isinstance(error, InvalidInputError):
        return field_problem(error.field_errors, path)
    if isinstance(error, BusinessRuleError):
        return problem(error.status, str(error), path, error_key=error.error_key, params=error.entity)
    if isinstance(error, BodyError):
        return not_json(str(error), path)
    return problem(error.status, str(error), path)


def fault_not_found(fault_id: str) -> NotFoundError:
    return NotFoundError(f"no fault {fault_id!r} is in force (a fault given times=N ends by itself)")


def _respond(status: int, body: dict[str, object], headers: dict[str, str] | None) -> HttpResponse:
    all_headers = {"Content-Type": PROBLEM_CONTENT_TYPE}
    all_headers.update(headers or {})
    return HttpResponse(status, all_headers, json.dumps(body).encode())


def not_authenticated(reason: str, path: str) -> HttpResponse:
    # Leaf's detail is fixed; the reason goes in a header so the body stays as Leaf's. The reason may quote what
    # the client sent: escaped to ASCII, the only header text every client library reads (httpx refuses the rest)
    return problem(401, "Not Authenticated", path, headers={"X-Fake-Leaf-Reason": _header_text(reason)})


def _header_text(text: str) -> str:
    return text if text.isascii() else text.encode("ascii", "backslashreplace").decode("ascii")


def bad_credentials(path: str) -> HttpResponse:
    return problem(401, "Bad credentials", path)


def not_json(reason: str, path: str) -> HttpResponse:
    return problem(400, f"The request body must be a JSON object: {reason}", path)


def method_not_allowed(method: str, path: str, allowed: list[str]) -> HttpResponse:
    return problem(405, f"Request method '{method}' is not supported here; this path takes "
                   f"{', '.join(allowed)}", path, headers={"Allow": ", ".join(allowed)})


def not_implemented(method: str, path: str, implemented: list[str], closest: list[str]) -> HttpResponse:
    return problem(404, f"fake-leaf does not implement {shorten(method)} {shorten(path, 200)}. "
                   f"Closest routes: {'; '.join(closest)}. "
                   f"It implements: {'; '.join(implemented)}", path)


def too_large(size: int, limit: int, path: str) -> HttpResponse:
    told = f"{size}" if size < 2**63 else "more than 2^63"
    return problem(413, f"The request body has {told} bytes; fake-leaf takes at most {limit}", path)


def bad_content_length(value: str, path: str) -> HttpResponse:
    return problem(400, f"The request's Content-Length is {value!r}; fake-leaf expects a plain decimal number of "
                   "bytes (digits only, as HTTP/1.1 defines it), so it cannot tell where the body ends", path)


def short_body(declared: int, received: int, path: str) -> HttpResponse:
    return problem(400, f"The request declared a Content-Length of {declared} bytes but its body had {received} "
                   "bytes when the client stopped sending; send the whole body, or the length of the body sent",
                   path)


def bad_transfer_encoding(value: str, why: str, path: str) -> HttpResponse:
    return problem(400, f"The request's Transfer-Encoding is {shorten(value, 100)!r}: {why}, so fake-leaf cannot "
                   "tell where its body ends (RFC 9112 6.3); send the body chunked, or with a Content-Length", path)


def unsupported_transfer_coding(coding: str, path: str) -> HttpResponse:
    return problem(501, f"The request's body is sent with the {shorten(coding)!r} transfer coding, which fake-leaf "
                   "does not decode; send it chunked only, or with a Content-Length", path)


def bad_chunked_body(reason: str, path: str) -> HttpResponse:
    return problem(400, f"The request's chunked body cannot be read: {reason}", path)


def request_timeout(seconds: float, path: str) -> HttpResponse:
    return problem(408, f"The request did not arrive whole within {seconds:g} s (headers and body together); "
                   "fake-leaf closes the connection", path)


def control_token_required(sent: bool, header: str, path: str) -> HttpResponse:
    why = "the token sent does not match" if sent else "no token was sent"
    return problem(401, f"The control plane of this fake-leaf needs the token it was started with ({why}): send "
                   f"it in the header '{header}: <token>'", path, headers={"X-Fake-Leaf-Reason": why})


# Leaf's published 429 body (its rate-limit draft), for a 429 a test injects
LEAF_RATE_LIMIT_BODY = {
    "error": "Request limit exceeded",
    "message": "You have exceeded the maximum allowed requests of 1000 per minute. Please reduce your request "
               "rate and try again after a short delay.",
    "status_code": 429,
}


def injected_error(status: int, path: str, headers: Mapping[str, str] | None = None,
                   body: str | None = None) -> HttpResponse:
    """An injected http_error: Leaf's problem body (its 429 body for a 429), with the test's overrides."""
    if status == 429:
        response = HttpResponse(429, {"Content-Type": "application/json"}, json.dumps(LEAF_RATE_LIMIT_BODY).encode())
    else:
        response = problem(status, f"{reason_phrase(status)} (a fault injected by the test)", path)
    response.headers.update(headers or {})
    if body is not None:
        response.body = body.encode("utf-8")
    return response


def rate_limited(limit: RateLimit, wait_seconds: int) -> HttpResponse:
    """Leaf's 429, word for word (contract §6 "Rate limit"), with the configured limit in ``message``."""
    body = {"error": "Request limit exceeded",
            "message": f"You have exceeded the maximum allowed requests of {limit.requests} per "
                       f"{_per(limit.window)}. Please reduce your request rate and try again after a short delay.",
            "status_code": 429}
    headers = {"Content-Type": "application/json"}
    if limit.retry_after:
        headers["Retry-After"] = str(max(wait_seconds, 1))
    return HttpResponse(429, headers, json.dumps(body).encode())


def _per(window: datetime.timedelta) -> str:
    """``minute`` for Leaf's window; ``hour``, ``30 seconds``, ... for another."""
    seconds = window.total_seconds()
    for unit, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds % unit == 0:
            count = int(seconds // unit)
            return name if count == 1 else f"{count} {name}s"
    return f"{seconds:g} seconds"


def internal_error(reason: str, path: str) -> HttpResponse:
    return problem(500, f"fake-leaf failed on this request (a bug in fake-leaf, please report it): {reason}",
                   path)


def warning_as_error(reason: str, path: str) -> HttpResponse:
    return problem(500, f"fake-leaf's warning was raised as an error by the test's warning filters (such as -W error "
                        f"or filterwarnings = error): {reason}", path)
