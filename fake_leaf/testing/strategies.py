"""Hypothesis strategies for Leaf data, requests and scenarios (imports hypothesis and faker).

Realistic values come from fake-leaf's Faker provider, seeded from hypothesis's own randomness so
that every example replays and shrinks; raw text still reaches the edge cases (unicode, very long).
Every strategy narrows by its parameters (``invalid_credentials_bodies(problems={"blank"})``), so a
test never needs a ``.filter`` that throws most examples away.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from faker import Faker
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from fake_leaf.engine import JOHN_DEERE, Provider
from fake_leaf.engine._models import OrganizationStatus, Timing
from fake_leaf.testing._samples import credentials_body
from fake_leaf.testing.faker import LeafProvider

__all__ = [
    "JOHN_DEERE_EVENTS",
    "PROBLEMS",
    "InvalidBody",
    "credentials_bodies",
    "fakers",
    "invalid_credentials_bodies",
    "john_deere_events",
    "leaf_user_ids",
    "leaf_users",
    "organization_changes",
    "organization_statuses",
    "time_moves",
]

S = TypeVar("S", bound=str)
_T = TypeVar("_T")
# what a grower's account does to its organizations: 21 added at once span two of Leaf's pages
ORGANIZATION_CHANGES = ("add 1", "add 21", "block", "unblock", "remove")
JOHN_DEERE_EVENTS = ("revoke_refresh_token", "rotate_client_secret", "withdraw_scope", "restore_scope",
                     "disconnect_organization", "connect_organization", "start_outage", "end_outage")
Problem = Literal["missing field", "blank", "wrong type", "bad environment", "not JSON", "not an object"]
PROBLEMS: tuple[Problem, ...] = ("missing field", "blank", "wrong type", "bad environment", "not JSON",
                                 "not an object")
ValueKind = Literal["realistic", "unicode", "long"]
VALUE_KINDS: tuple[ValueKind, ...] = ("realistic", "unicode", "long")
UserValueKind = Literal["realistic", "text", "null", "absent"]
USER_VALUE_KINDS: tuple[UserValueKind, ...] = ("realistic", "text", "null", "absent")
# the Faker provider's realistic value for each of John Deere's fields
_REALISTIC = {"clientKey": "john_deere_client_key", "clientSecret": "john_deere_client_secret",
              "refreshToken": "john_deere_refresh_token"}


def _faker(seed: int) -> Any:
    faker = Faker()
    faker.add_provider(LeafProvider)
    faker.seed_instance(seed)
    return faker


_local = threading.local()


def _realistic(method: str, seed: int) -> Any:
    """``method`` of a Faker seeded with ``seed``: one Faker per thread, reseeded (a new one costs ms)."""
    faker = getattr(_local, "faker", None)
    if faker is None:
        faker = _local.faker = _faker(0)
    faker.seed_instance(seed)
    return getattr(faker, method)()


def sample_user_body(seed: int) -> dict[str, Any]:
    """A realistic POST /users body, the same for the same seed (no draw: nothing for hypothesis to shrink)."""
    body: dict[str, Any] = _realistic("leaf_user", seed)
    return body


def sample_credentials_body(seed: int, provider: Provider = JOHN_DEERE) -> dict[str, Any]:
    """A realistic valid credentials body for ``provider``, the same for the same seed."""
    return dict(credentials_body(provider, random.Random(seed)))


def _seeded(method: str) -> st.SearchStrategy[Any]:
    return st.integers(min_value=0, max_value=2**32 - 1).map(lambda seed: _realistic(method, seed))


def fakers() -> st.SearchStrategy[Any]:
    """A Faker with fake-leaf's provider, seeded by hypothesis."""
    return st.integers(min_value=0, max_value=2**32 - 1).map(_faker)


def _subset(name: str, given: Collection[S] | None, allowed: tuple[S, ...]) -> tuple[S, ...]:
    """The chosen options in their canonical order, or InvalidArgument naming the unknown ones."""
    if given is None:
        return allowed
    if isinstance(given, str):  # {"blank"} meant, "blank" written: a string is a collection of letters
        given = (given,)  # type: ignore[assignment]
    unknown = sorted(set(given) - set(allowed))
    if unknown or not given:
        raise InvalidArgument(f"{name} must be a non-empty subset of {allowed}; got {sorted(given)!r}"
                              + (f" (unknown: {unknown})" if unknown else ""))
    return tuple(a for a in allowed if a in given)


def _non_blank_text(max_size: int) -> st.SearchStrategy[str]:
    """Unicode text with at least one non-space character, built so (no filter throws examples away)."""
    visible = st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs"))
    return st.tuples(st.text(max_size=max_size // 2), visible, st.text(max_size=max_size // 2)).map("".join)


def _long_text() -> st.SearchStrategy[str]:
    """2,000 to 5,000 characters: a short drawn pattern repeated (drawing each character costs seconds)."""
    return st.tuples(_non_blank_text(8), st.integers(min_value=2000, max_value=5000)).map(
        lambda p: (p[0] * (p[1] // len(p[0]) + 1))[:p[1]])


def _field_values(field: str, kinds: tuple[ValueKind, ...]) -> st.SearchStrategy[str]:
    realistic = _REALISTIC.get(field)
    options: dict[ValueKind, st.SearchStrategy[str]] = {
        "realistic": _seeded(realistic or "john_deere_client_secret").map(str),
        "unicode": _non_blank_text(40),
        "long": _long_text(),
    }
    return st.one_of([options[k] for k in kinds])


@st.composite
def _credentials_bodies(draw: st.DrawFn, provider: Provider, kinds: tuple[ValueKind, ...],
                        unknown_fields: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for f in provider.body_fields:
        if f.choices is not None:
            value = draw(st.sampled_from((*f.choices, None)) if not f.required else st.sampled_from(f.choices))
            if value is not None:
                body[f.name] = value
        elif f.required or draw(st.booleans()):
            body[f.name] = draw(_field_values(f.name, kinds))
    if unknown_fields and draw(st.booleans()):
        body[draw(st.sampled_from(("tokenId", "tokenSecretKey", "extra")))] = draw(st.text(max_size=10))
    return body


def credentials_bodies(*, provider: Provider = JOHN_DEERE, values: Collection[ValueKind] | None = None,
                       unknown_fields: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """A valid credentials POST body for ``provider`` (John Deere's by default).

    ``values``: which kinds of field values to draw, from ``"realistic"`` (the Faker provider's),
    ``"unicode"`` (any non-blank text) and ``"long"`` (thousands of characters); all by default.
    ``unknown_fields``: sometimes add a field Leaf ignores.
    """
    return _credentials_bodies(provider, _subset("values", values, VALUE_KINDS), unknown_fields)


@dataclass(frozen=True)
class InvalidBody:
    """A request body Leaf must refuse with 400, and what is wrong with it."""

    raw: bytes
    problem: Problem
    field: str | None = None

    def __repr__(self) -> str:
        return f"InvalidBody(problem={self.problem!r}, field={self.field!r}, raw={self.raw[:80]!r})"


_WRONG_TYPES = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_BLANKS = ("", " ", "\t", "\n  ")


def _not_a_choice(choices: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Non-blank text that is none of ``choices`` (near misses first: case, abbreviations)."""
    near = [c.lower() for c in choices] + [c.title() for c in choices] + [c[:4] for c in choices] + ["SANDBOX"]
    return st.one_of(st.sampled_from(near), _non_blank_text(10).map(lambda t: t + "?" if t in choices else t))


@st.composite
def _invalid_bodies(draw: st.DrawFn, provider: Provider, problems: tuple[Problem, ...],
                    fields: tuple[str, ...] | None) -> InvalidBody:
    problem = draw(st.sampled_from(problems))
    body = draw(_credentials_bodies(provider, ("realistic",), True))
    if problem == "not JSON":
        text = draw(st.sampled_from(("{", "{'clientKey': 'x'}", "clientKey=x", "", "{\"a\": }", "nul")))
        raw = text.encode() if draw(st.booleans()) else b"\xff\xfe" + text.encode()
        return InvalidBody(raw, problem)
    if problem == "not an object":
        value = draw(st.one_of(st.lists(st.integers(), max_size=3), st.text(max_size=5), st.integers(),
                               st.just(None), st.just([body])))
        return InvalidBody(json.dumps(value).encode(), problem)
    if problem == "bad environment":
        field = draw(st.sampled_from(_choice_fields(provider, fields)))
        body[field] = draw(_not_a_choice(provider.field(field).choices or ()))
        return InvalidBody(json.dumps(body).encode(), problem, field)
    eligible = _required_fields(provider, fields) if problem == "missing field" else _string_fields(provider, fields)
    field = draw(st.sampled_from(eligible))
    if problem == "missing field":
        del body[field]
    elif problem == "blank":
        body[field] = draw(st.sampled_from(_BLANKS))
    else:
        body[field] = draw(_WRONG_TYPES)
    return InvalidBody(json.dumps(body).encode(), problem, field)


def _required_fields(provider: Provider, fields: tuple[str, ...] | None) -> tuple[str, ...]:
    return tuple(f.name for f in provider.body_fields if f.required and (fields is None or f.name in fields))


def _string_fields(provider: Provider, fields: tuple[str, ...] | None) -> tuple[str, ...]:
    # a blank or wrong-typed optional field is refused too, so every field can carry these problems
    return tuple(f.name for f in provider.body_fields if fields is None or f.name in fields)


def _choice_fields(provider: Provider, fields: tuple[str, ...] | None) -> tuple[str, ...]:
    return tuple(f.name for f in provider.body_fields if f.choices and (fields is None or f.name in fields))


def invalid_credentials_bodies(*, problems: Collection[Problem] | None = None,
                               fields: Collection[str] | None = None,
                               provider: Provider = JOHN_DEERE) -> st.SearchStrategy[InvalidBody]:
    """A credentials body with exactly one labelled fault, which Leaf refuses with 400.

    ``problems``: which faults to draw, from ``PROBLEMS`` (all by default):
    ``invalid_credentials_bodies(problems={"blank"})``. ``fields``: which fields may carry a
    field's fault (every field of the provider by default).
    """
    chosen = _subset("problems", problems, PROBLEMS)
    names = tuple(f.name for f in provider.body_fields)
    wanted = _subset("fields", fields, names) if fields is not None else None
    eligible = {"missing field": _required_fields(provider, wanted), "blank": _string_fields(provider, wanted),
                "wrong type": _string_fields(provider, wanted), "bad environment": _choice_fields(provider, wanted)}
    possible = tuple(p for p in chosen if eligible.get(p, True))
    if not possible:
        raise InvalidArgument(f"none of the problems {list(chosen)} can be put in the fields {list(wanted or names)} "
                              f"of {provider.label}'s body (missing field needs a required field, bad environment "
                              "a field with fixed choices)")
    return _invalid_bodies(provider, possible, wanted)


@st.composite
def _leaf_users(draw: st.DrawFn, kinds: tuple[UserValueKind, ...]) -> dict[str, Any]:
    realistic: dict[str, Any] = draw(_seeded("leaf_user"))
    body: dict[str, Any] = {}
    for name, value in realistic.items():
        choice = draw(st.sampled_from(kinds))
        if choice == "realistic":
            body[name] = value
        elif choice == "text":
            body[name] = draw(st.text(max_size=50))
        elif choice == "null":
            body[name] = None
    return body


def leaf_users(*, values: Collection[UserValueKind] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """A POST /users body. ``values``: per field, any of ``"realistic"``, ``"text"``, ``"null"``, ``"absent"``."""
    return _leaf_users(_subset("values", values, USER_VALUE_KINDS))


def _by_place(values: Sequence[_T]) -> st.SearchStrategy[_T]:
    """``st.sampled_from(values)`` for values an example makes (ids, changes naming them), drawn by their
    place: hypothesis labels a ``sampled_from`` by its values, and keeps every label it meets for the rest
    of the process (a state machine's test of 100 examples left about 400, never freed). A ``range`` is
    labelled by its length, and drawn from exactly as the values were: the same examples, the same shrinking."""
    return st.sampled_from(range(len(values))).map(values.__getitem__)


def leaf_user_ids(existing: list[str] | tuple[str, ...] = (),
                  other_owner: list[str] | tuple[str, ...] = ()) -> st.SearchStrategy[tuple[str, str]]:
    """``(kind, id)``: ids that exist, that don't (``missing``), and another API owner's."""
    options = [st.tuples(st.just("missing"), st.one_of(st.uuids().map(str), st.text(
        alphabet="abcdef0123456789-", min_size=1, max_size=40)))]
    if existing:
        options.append(st.tuples(st.just("existing"), _by_place(list(existing))))
    if other_owner:
        options.append(st.tuples(st.just("other_owner"), _by_place(list(other_owner))))
    return st.one_of(options)


_SECOND = dt.timedelta(seconds=1)
# where Leaf's behaviour changes, measured from a credential's creation or a fresh login (a default fake's)
LANDMARKS: tuple[dt.timedelta, ...] = (
    dt.timedelta(hours=12),  # John Deere's access token expires
    dt.timedelta(hours=24),  # the background check; a Leaf token without rememberMe expires
    dt.timedelta(days=30),  # an event leaves the log; a rememberMe token expires
)


def _landmarks(timing: Timing | None) -> tuple[dt.timedelta, ...]:
    if timing is None:
        return LANDMARKS
    if not isinstance(timing, Timing):
        raise InvalidArgument(f"timing must be a fake's timing (FakeLeaf(...).timing), got {timing!r}")
    return tuple(sorted(set(timing)))


def time_moves(max_days: int = 400, *, timing: Timing | None = None) -> st.SearchStrategy[dt.timedelta]:
    """Moves of the clock, never zero: one second either side of where behaviour changes, minutes to hours,
    and jumps of days up to ``max_days``.

    Where behaviour changes: a default fake's 12 h, 24 h and 30 days, or, given a fake's ``timing``, its own
    check interval, token lifetimes and events window (a ``check_interval`` of 6 h moves to 6 h).
    """
    if max_days < 1:
        raise InvalidArgument(f"max_days must be 1 or more, got {max_days}")
    around = [move for landmark in _landmarks(timing) for offset in (-_SECOND, _SECOND)
              if (move := landmark + offset) > dt.timedelta(0)]  # a check interval of a second or less: after it
    return st.one_of(
        st.sampled_from(around),
        st.integers(min_value=1, max_value=36 * 60).map(lambda m: dt.timedelta(minutes=m)),
        st.integers(min_value=1, max_value=max_days).map(lambda d: dt.timedelta(days=d)),
    )


def john_deere_events() -> st.SearchStrategy[str]:
    """The names of the simulated John Deere's controls (``leaf.john_deere.<name>``)."""
    return st.sampled_from(JOHN_DEERE_EVENTS)


def organization_statuses(*, settable: bool = False) -> st.SearchStrategy[OrganizationStatus]:
    """Leaf's organization statuses; ``settable``: only what a client may PATCH (SELECTED, PREVIEW)."""
    chosen = [s for s in OrganizationStatus if not settable or s is not OrganizationStatus.BLOCKED]
    return st.sampled_from(chosen)


def organization_changes() -> st.SearchStrategy[str]:
    """What a grower's account does to its organizations, as the state machine plays it: ``"add 1"``,
    ``"add 21"`` (past one of Leaf's pages), ``"block"``, ``"unblock"``, ``"remove"``."""
    return st.sampled_from(ORGANIZATION_CHANGES)
