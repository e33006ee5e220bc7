"""Hypothesis strategies for Leaf data, requests and scenarios (imports hypothesis and faker).

Realistic values come from fake-leaf's Faker provider, seeded from hypothesis's own randomness so
that every example replays and shrinks; raw text still reaches the edge cases (unicode, very long).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from faker import Faker
from hypothesis import strategies as st

from fake_leaf.engine import JOHN_DEERE
from fake_leaf.testing.faker import LeafProvider

ENVIRONMENTS = ("STAGE", "PRODUCTION")
JOHN_DEERE_EVENTS = ("revoke_refresh_token", "rotate_client_secret", "withdraw_scope", "restore_scope",
                     "disconnect_organization", "connect_organization", "start_outage", "end_outage")


def _faker(seed: int) -> Any:
    faker = Faker()
    faker.add_provider(LeafProvider)
    faker.seed_instance(seed)
    return faker


def fakers() -> st.SearchStrategy[Any]:
    """A Faker with fake-leaf's provider, seeded by hypothesis."""
    return st.integers(min_value=0, max_value=2**32 - 1).map(_faker)


def _non_blank(text: str) -> bool:
    return bool(text.strip())


def _field_values(realistic: str) -> st.SearchStrategy[str]:
    provider_values = fakers().map(lambda f: str(getattr(f, realistic)()))
    return st.one_of(
        provider_values,
        st.text(min_size=1, max_size=40).filter(_non_blank),  # unicode
        st.text(alphabet="abc", min_size=2000, max_size=5000),  # very long
    )


@st.composite
def credentials_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid John Deere credentials POST body (sometimes with unknown fields, ignored by Leaf)."""
    body: dict[str, Any] = {
        "clientKey": draw(_field_values("john_deere_client_key")),
        "clientSecret": draw(_field_values("john_deere_client_secret")),
        "refreshToken": draw(_field_values("john_deere_refresh_token")),
    }
    environment = draw(st.sampled_from((*ENVIRONMENTS, None)))
    if environment is not None:
        body["clientEnvironment"] = environment
    if draw(st.booleans()):
        body[draw(st.sampled_from(("tokenId", "tokenSecretKey", "extra")))] = draw(st.text(max_size=10))
    return body


@dataclass(frozen=True)
class InvalidBody:
    """A request body Leaf must refuse with 400, and what is wrong with it."""

    raw: bytes
    problem: str  # missing field, blank, wrong type, bad environment, not JSON, not an object
    field: str | None = None

    def __repr__(self) -> str:
        return f"InvalidBody(problem={self.problem!r}, field={self.field!r}, raw={self.raw[:80]!r})"


_REQUIRED = tuple(f.name for f in JOHN_DEERE.body_fields if f.required)
_WRONG_TYPES = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@st.composite
def invalid_credentials_bodies(draw: st.DrawFn) -> InvalidBody:
    """A credentials body with exactly one labelled fault."""
    problem = draw(st.sampled_from(("missing field", "blank", "wrong type", "bad environment", "not JSON",
                                    "not an object")))
    body = draw(credentials_bodies())
    if problem == "not JSON":
        text = draw(st.sampled_from(("{", "{'clientKey': 'x'}", "clientKey=x", "", "{\"a\": }", "nul")))
        raw = text.encode() if draw(st.booleans()) else b"\xff\xfe" + text.encode()
        return InvalidBody(raw, problem)
    if problem == "not an object":
        value = draw(st.one_of(st.lists(st.integers(), max_size=3), st.text(max_size=5), st.integers(),
                               st.just(None), st.just([body])))
        return InvalidBody(json.dumps(value).encode(), problem)
    if problem == "bad environment":
        env = draw(st.one_of(st.sampled_from(("stage", "production", "Stage", "PROD", "SANDBOX", "")),
                             st.text(max_size=10).filter(lambda t: t not in ENVIRONMENTS)))
        body["clientEnvironment"] = env
        if env == "" or not env.strip():
            problem = "blank"
        return InvalidBody(json.dumps(body).encode(), problem, "clientEnvironment")
    field = draw(st.sampled_from(_REQUIRED))
    if problem == "missing field":
        del body[field]
    elif problem == "blank":
        body[field] = draw(st.sampled_from(("", " ", "\t", "\n  ")))
    else:
        body[field] = draw(_WRONG_TYPES)
    return InvalidBody(json.dumps(body).encode(), problem, field)


@st.composite
def leaf_users(draw: st.DrawFn) -> dict[str, Any]:
    """A POST /users body: realistic values or raw text, some fields left out or null."""
    realistic: dict[str, Any] = draw(fakers()).leaf_user()
    body: dict[str, Any] = {}
    for name, value in realistic.items():
        choice = draw(st.sampled_from(("realistic", "text", "null", "absent")))
        if choice == "realistic":
            body[name] = value
        elif choice == "text":
            body[name] = draw(st.text(max_size=50))
        elif choice == "null":
            body[name] = None
    return body


def leaf_user_ids(existing: list[str] | tuple[str, ...] = (),
                  other_owner: list[str] | tuple[str, ...] = ()) -> st.SearchStrategy[tuple[str, str]]:
    """``(kind, id)``: ids that exist, that don't (``missing``), and another API owner's."""
    options = [st.tuples(st.just("missing"), st.one_of(st.uuids().map(str), st.text(
        alphabet="abcdef0123456789-", min_size=1, max_size=40)))]
    if existing:
        options.append(st.tuples(st.just("existing"), st.sampled_from(list(existing))))
    if other_owner:
        options.append(st.tuples(st.just("other_owner"), st.sampled_from(list(other_owner))))
    return st.one_of(options)


def time_moves(max_days: int = 400) -> st.SearchStrategy[dt.timedelta]:
    """Moves of the clock: minutes to hours, around the 24-hour checks, and jumps of months."""
    return st.one_of(
        st.integers(min_value=0, max_value=36 * 60).map(lambda m: dt.timedelta(minutes=m)),
        st.sampled_from((dt.timedelta(hours=24), dt.timedelta(days=30), dt.timedelta(days=30, seconds=-1))),
        st.integers(min_value=1, max_value=max_days).map(lambda d: dt.timedelta(days=d)),
    )


def john_deere_events() -> st.SearchStrategy[str]:
    """The names of the simulated John Deere's controls (``leaf.john_deere.<name>``)."""
    return st.sampled_from(JOHN_DEERE_EVENTS)
