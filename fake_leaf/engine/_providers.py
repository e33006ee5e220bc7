"""Providers as data: a second provider's credentials are a new entry here, not a copy of code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BodyField:
    """One field of a credentials body: a non-empty string, optionally from a fixed set."""

    name: str
    required: bool = True
    choices: tuple[str, ...] | None = None
    default: str | None = None


@dataclass(frozen=True)
class Provider:
    """How one provider's credentials look in Leaf's API."""

    name: str  # the alerts' ``provider`` value
    label: str  # for messages: "John Deere"
    path_segment: str  # /users/{id}/<path_segment>
    user_field: str  # the field embedded in a Leaf user
    body_fields: tuple[BodyField, ...]
    default_scopes: tuple[str, ...]

    def field(self, name: str) -> BodyField:
        for f in self.body_fields:
            if f.name == name:
                return f
        raise KeyError(name)


JOHN_DEERE = Provider(
    name="JohnDeere",
    label="John Deere",
    path_segment="john-deere-credentials",
    user_field="johnDeereCredentials",
    body_fields=(
        BodyField("clientKey"),
        BodyField("clientSecret"),
        BodyField("refreshToken"),
        BodyField("clientEnvironment", required=False, choices=("STAGE", "PRODUCTION"), default="STAGE"),
    ),
    default_scopes=("ag1", "eq1", "files", "offline_access"),
)

PROVIDERS: tuple[Provider, ...] = (JOHN_DEERE,)
