"""The engine's errors; every message a user can read is written here, in one catalogue."""

from __future__ import annotations

import datetime
import os
from typing import Any

from fake_leaf.engine._record import frozen
from fake_leaf.engine._text import shorten


class FakeLeafError(Exception):
    """Base of every error fake-leaf raises on purpose; ``status`` is the HTTP status Leaf answers it with."""

    status: int = 400


def hide_refusals(excinfo: Any) -> bool:
    """pytest's ``__tracebackhide__``: a refusal by the fake is told in the test's frames, not ours."""
    return isinstance(getattr(excinfo, "value", None), FakeLeafError)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # fake_leaf/
_LIBRARIES: tuple[str, ...] | None = None  # the standard library's and the installed packages' folders


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning name the user's own line, for ``warnings.warn`` called by the function
    calling this: the first frame outside fake-leaf, the installed packages and the standard library (a request
    reaches the fake through a client library's frames), else the first outside fake-leaf."""
    import inspect  # only when a warning is given: not at import
    import sysconfig

    global _LIBRARIES
    if _LIBRARIES is None:
        paths = sysconfig.get_paths()
        _LIBRARIES = tuple({os.path.abspath(paths[k]) + os.sep for k in ("stdlib", "platstdlib", "purelib", "platlib")
                            if k in paths})
    outside_the_fake = None
    here = inspect.currentframe()
    level, frame = 1, here.f_back if here is not None else None
    while frame is not None:
        name = frame.f_code.co_filename
        if not os.path.abspath(name).startswith(_PACKAGE):
            if outside_the_fake is None:
                outside_the_fake = level
            if not (name.startswith("<") or os.path.abspath(name).startswith(_LIBRARIES)):
                return level
        level, frame = level + 1, frame.f_back
    return outside_the_fake or 1


class NotAuthenticatedError(FakeLeafError):
    """The bearer token is missing, malformed, unknown or expired."""

    status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(f"Not Authenticated: {reason}")
        self.reason = reason


class BadCredentialsError(FakeLeafError):
    """Wrong username or password at login."""

    status = 401

    def __init__(self, username: str) -> None:
        super().__init__(f"Bad credentials: no API owner {username!r} with that password")


class UnsupportedControlError(FakeLeafError, ValueError):
    """A test asked an upstream for something it cannot do (rotate a public client's secret, say)."""


class ClockOutOfRangeError(FakeLeafError):
    """The fake's clock reads a time it cannot serve at (freezegun at ``datetime.max``, say)."""

    status = 503  # not 4xx: the request is fine, the fake cannot serve at the time its clock reads


def clock_out_of_range(now: object, usable_range: str) -> ClockOutOfRangeError:
    reads = f"reads {now.isoformat()}" if hasattr(now, "isoformat") else "overflowed (past year 9999)"
    return ClockOutOfRangeError(
        f"The fake's clock {reads}, out of the usable range {usable_range}: fake-leaf keeps room for "
        "30-day windows and token lifetimes. Move freezegun or time-machine back into the range; a "
        "ShiftedClock moved out of it is put back by a reset")


class NotFoundError(FakeLeafError):
    """The thing asked for does not exist for this API owner."""

    status = 404


def user_not_found(leaf_user_id: str) -> NotFoundError:
    return NotFoundError(f"Leaf user {shorten(leaf_user_id, 100)!r} does not exist (for this API owner)")


def unknown_provider(name: str, known: list[str]) -> NotFoundError:
    return NotFoundError(f"fake-leaf knows no provider {shorten(name, 100)!r}; the providers are {', '.join(known)}")


def clock_went_back(held: datetime.datetime, now: datetime.datetime) -> str:
    return (f"fake-leaf's clock moved back from {held.isoformat()} to {now.isoformat()}: state the fake already "
            "holds (users, credentials, events) now lies in the future, so checks and expiry will look wrong. "
            "Freeze or move time before the fake's fixtures make data (e.g. freezegun in a fixture that "
            "fake_leaf depends on, or the leaf_clock fixture) rather than with a decorator on the test.")


def credentials_not_found(leaf_user_id: str, provider_label: str) -> NotFoundError:
    return NotFoundError(f"Leaf user {shorten(leaf_user_id, 100)!r} has no {provider_label} credentials")


@frozen
class FieldError:
    """One rejected field: JHipster's ``fieldErrors`` entry plus a sentence for people."""

    object_name: str
    field: str
    message: str
    reason: str


class InvalidInputError(FakeLeafError):
    """A body or parameter broke a rule; ``field_errors`` says which and why."""

    def __init__(self, field_errors: list[FieldError]) -> None:
        self.field_errors = field_errors
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in field_errors))


class BusinessRuleError(FakeLeafError):
    """A request that is well formed but not allowed now; ``error_key`` is Leaf's key."""

    def __init__(self, error_key: str, entity: str, detail: str) -> None:
        super().__init__(detail)
        self.error_key = error_key
        self.entity = entity


def credentials_already_exist(leaf_user_id: str, provider_label: str, path_segment: str) -> BusinessRuleError:
    return BusinessRuleError(
        "credentialAlreadyExists",
        path_segment,
        f"Leaf user {leaf_user_id!r} already has {provider_label} credentials; "
        f"DELETE them first, or create the fake with on_duplicate_credentials='replace'",
    )


def id_exists() -> BusinessRuleError:
    return BusinessRuleError("idexists", "leafUser",
                             "A new Leaf user cannot already have an id; leave 'id' out of the body")


def id_null() -> BusinessRuleError:
    return BusinessRuleError("idnull", "leafUser", "Invalid id: PUT /users needs the user's 'id' in the body")


def id_invalid(path_id: str, body_id: object) -> BusinessRuleError:
    return BusinessRuleError("idinvalid", "leafUser",
                             f"Invalid ID: the body's id {body_id!r} is not the path's {path_id!r}; leave 'id' out "
                             "of a PATCH body or send the same one")


def no_one_click(provider_label: str, offered: list[str]) -> NotFoundError:
    return NotFoundError(f"Leaf offers no one-click integration for {provider_label}; it offers one for "
                         f"{', '.join(offered) or 'no provider'}")


def no_organizations(provider_label: str, managed: bool, offered: list[str]) -> NotFoundError:
    what = "manages the organizations" if managed else "lists organizations"
    return NotFoundError(f"Leaf {what} of {', '.join(offered)} only, not of {provider_label}")


def organizations_without_credentials(leaf_user_id: str, provider_label: str) -> NotFoundError:
    return NotFoundError(f"Leaf user {leaf_user_id!r} has no {provider_label} credentials, so Leaf holds no "
                         f"{provider_label} organizations for it; POST the credentials first")


def organization_not_found(org_id: str, provider_label: str, known: list[str]) -> NotFoundError:
    return NotFoundError(f"Leaf lists no {provider_label} organization {org_id[:100]!r} for this Leaf user; it lists "
                         f"{', '.join(repr(k) for k in known) or 'none'}")


def organization_status_not_settable(org_id: str, status: str, current: str) -> BusinessRuleError:
    if current == "BLOCKED":
        why = (f"organization {org_id!r} is BLOCKED: Leaf cannot reach it until the grower grants the access again "
               "through its managementUri, and the next sync makes it PREVIEW")
    else:
        why = ("BLOCKED is set by Leaf when the provider refuses the access, never by a client; a client sets "
               "SELECTED or PREVIEW")
    return BusinessRuleError("organizationStatusNotChangeable", "providerOrganization",
                             f"cannot set {status}: {why}")


def config_not_found(leaf_user_id: str) -> NotFoundError:
    return NotFoundError(f"Leaf user {leaf_user_id!r} has no configuration of its own: it inherits its API owner's "
                         f"(GET /configs); POST /configs/{leaf_user_id} makes one")


def config_exists(leaf_user_id: str) -> BusinessRuleError:
    return BusinessRuleError("configurationAlreadyExists", "configuration",
                             f"Leaf user {leaf_user_id!r} already has a configuration; PATCH it, or DELETE it first")


def bad_query(parameter: str, reason: str) -> InvalidInputError:
    return InvalidInputError([FieldError("query", parameter, "Invalid", reason)])


MAX_PAGE_SIZE = 100


def page_size(page: int, size: int) -> int:
    """Leaf's paging, checked: ``page`` from 0, ``size`` from 1; the size to use, capped at 100."""
    if page < 0:
        raise bad_query("page", f"must be 0 or more, got {page}")
    if size < 1:
        raise bad_query("size", f"must be 1 or more, got {size}")
    return min(size, MAX_PAGE_SIZE)


def event_registered_twice(event: str, webhook_id: str, webhook_name: str) -> BusinessRuleError:
    return BusinessRuleError(
        "eventRegisteredTwice", "webhook",
        f"event {event!r} is already registered by webhook {webhook_id!r} ({webhook_name!r}); an event goes to "
        "one webhook of an API owner: delete that one first, or leave the event out")


def webhook_not_found(webhook_id: str) -> NotFoundError:
    return NotFoundError(f"webhook {webhook_id!r} does not exist (for this API owner)")
