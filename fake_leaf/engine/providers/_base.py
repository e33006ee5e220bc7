"""What a provider module declares: its body fields, its names, and how its upstream authenticates."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field

ENVIRONMENTS: tuple[str, ...] = ("STAGE", "PRODUCTION")
NO_ENVIRONMENT = ""  # the one environment of a provider whose body has no clientEnvironment
# the fields that identify the client, in the contract's order of preference (§7: an alert's ``credential``)
IDENTIFYING_FIELDS: tuple[str, ...] = ("clientKey", "clientId", "apiKey", "username")


@dataclass(frozen=True)
class BodyField:
    """One field of a credentials POST body: a non-blank string, optionally from a fixed set."""

    name: str
    required: bool = True
    choices: tuple[str, ...] | None = None
    default: str | None = None


def required(name: str) -> BodyField:
    """A required, non-blank string field."""
    return BodyField(name)


def optional(name: str) -> BodyField:
    return BodyField(name, required=False)


def client_environment(*, required: bool) -> BodyField:
    """``clientEnvironment``: STAGE or PRODUCTION exactly; required, or STAGE when left out."""
    return BodyField("clientEnvironment", required=required, choices=ENVIRONMENTS,
                     default=None if required else "STAGE")


def _compact(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


def _generic_denied(provider_label: str, reason: str) -> str:
    return _compact({"error": "forbidden", "message": f"{provider_label}: {reason}"})


GENERIC_OK = _compact({"status": "ok", "items": [{"id": "412345", "name": "Fake Leaf Farms"}]})


@dataclass(frozen=True)
class OAuth2:
    """An OAuth2 upstream: a token endpoint that refreshes, then a platform API.

    ``client_id``/``client_secret`` name the body fields the token endpoint checks (no secret for a
    public client: PKCE, Cognito); ``refresh_token`` the grant; ``scopes`` what a new grant carries.
    """

    client_id: str
    client_secret: str | None
    refresh_token: str = "refreshToken"
    scopes: tuple[str, ...] = ("read", "write", "offline_access")
    # the platform API's 403 body, from the reason: the provider's own shape where it is known
    denied_body: Callable[[str, str], str] = _generic_denied
    ok_body: str = GENERIC_OK  # what the platform API answers a working credential
    kind: str = field(default="oauth2", init=False)


@dataclass(frozen=True)
class ApiKey:
    """An API-key upstream: every call carries the key (revocable) and a secret (rotatable) if any."""

    key: str
    secret: str | None = None
    denied_body: Callable[[str, str], str] = _generic_denied
    ok_body: str = GENERIC_OK
    kind: str = field(default="api_key", init=False)


@dataclass(frozen=True)
class UsernamePassword:
    """An account upstream: every call signs in with a username and a password (changeable)."""

    username: str = "username"
    password: str = "password"
    denied_body: Callable[[str, str], str] = _generic_denied
    ok_body: str = GENERIC_OK
    kind: str = field(default="password", init=False)


Upstream = OAuth2 | ApiKey | UsernamePassword


@dataclass(frozen=True)
class Provider:
    """How one provider's credentials look in Leaf's API, and how its upstream behaves."""

    name: str  # the alerts' ``provider`` value: "JohnDeere"
    label: str  # for people: "John Deere"
    path_segment: str  # /users/{leafUserId}/<path_segment>
    user_field: str  # the field embedded in a Leaf user
    body_fields: tuple[BodyField, ...]
    upstream: Upstream

    def __post_init__(self) -> None:
        names = [f.name for f in self.body_fields]
        roles = [getattr(self.upstream, r) for r in ("client_id", "client_secret", "refresh_token", "key",
                                                       "secret", "username", "password")
                 if getattr(self.upstream, r, None) is not None]
        missing = [r for r in roles if r not in names]
        if missing:
            raise ValueError(f"provider {self.name}: its upstream uses {', '.join(missing)}, which its body "
                             f"does not declare ({', '.join(names)})")

    @functools.cached_property
    def slug(self) -> str:
        """The provider in the control plane's paths: ``john-deere``."""
        return self.path_segment.removesuffix("-credentials")

    @functools.cached_property
    def oauth2(self) -> bool:
        return isinstance(self.upstream, OAuth2)

    @functools.cached_property  # read on every check and answer; a provider never changes
    def environments(self) -> tuple[str, ...]:
        """The upstream's environments: STAGE and PRODUCTION, or one when the body names none."""
        env = self.optional_field("clientEnvironment")
        return env.choices if env is not None and env.choices else (NO_ENVIRONMENT,)

    @functools.cached_property
    def identifying_field(self) -> str:
        """The body field an alert's ``credential`` carries: clientKey, clientId, apiKey or username, else
        the field the upstream identifies the client by (AgLeader's publicKey)."""
        names = {f.name for f in self.body_fields}
        found = [n for n in IDENTIFYING_FIELDS if n in names]
        if found:
            return found[0]
        up = self.upstream
        return up.client_id if isinstance(up, OAuth2) else up.key if isinstance(up, ApiKey) else up.username

    @functools.cached_property
    def response_fields(self) -> tuple[str, ...]:
        """The credential fields of GET and POST answers, in order (after id, status, createdTime, tokenMetadata)."""
        names = [f.name for f in self.body_fields]
        if isinstance(self.upstream, OAuth2) and "accessToken" not in names:
            names.insert(names.index(self.upstream.refresh_token), "accessToken")
        return tuple(names)

    @functools.cached_property
    def secret_field(self) -> str | None:
        """The body field that holds what ``rotate_secret`` changes: client secret, shared secret, password."""
        up = self.upstream
        return up.client_secret if isinstance(up, OAuth2) else up.secret if isinstance(up, ApiKey) else up.password

    def optional_field(self, name: str) -> BodyField | None:
        return next((f for f in self.body_fields if f.name == name), None)

    def field(self, name: str) -> BodyField:
        found = self.optional_field(name)
        if found is None:
            raise KeyError(name)
        return found
