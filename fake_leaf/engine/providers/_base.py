"""What a provider module declares: its body fields, its names, and how its upstream authenticates."""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
import random
from collections.abc import Callable, Mapping
from typing import NamedTuple
from urllib.parse import quote

from fake_leaf.engine._record import frozen

ENVIRONMENTS: tuple[str, ...] = ("STAGE", "PRODUCTION")
NO_ENVIRONMENT = ""  # the one environment of a provider whose body has no clientEnvironment
# the fields that identify the client, in the contract's order of preference (§7: an alert's ``credential``)
IDENTIFYING_FIELDS: tuple[str, ...] = ("clientKey", "clientId", "apiKey", "username")
# answer fields the credential record fills in (not the body): its id, status, creation time, and an OAuth2
# grant's scopes; ``accessToken`` is the current token of an OAuth2 provider
RECORD_FIELDS: tuple[str, ...] = ("id", "status", "createdTime", "tokenMetadata")
ALWAYS_ANSWERED: tuple[str, ...] = ("id", "status", "createdTime")

Draw = Callable[[random.Random], str]
"""A value drawn from the fake's seeded random (an organization id, a token)."""
Maker = Callable[[random.Random, Mapping[str, str]], str]
"""How the fake makes a value Leaf makes at creation, from its seeded random and the credential's fields."""


def drawn(draw: Draw) -> Maker:
    """A value Leaf makes that depends on nothing posted (a session id): drawn at random."""
    def make(rng: random.Random, fields: Mapping[str, str]) -> str:
        return draw(rng)
    return make


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _b64url(data: bytes) -> str:
    return _b64url_bytes(data).decode("ascii")


def _b64url_bytes(data: bytes) -> bytes:
    # base64.urlsafe_b64encode's own steps without its Python wrappers, padding and newline deleted by the
    # translation itself: two C calls (a token takes five of these)
    return binascii.b2a_base64(data).translate(_URL_SAFE, b"=\n")


def access_token(rng: random.Random) -> str:
    """An OAuth2 access token shaped like the providers' own: a signed JWT (header.claims.signature)."""
    return _jwt(rng.randbytes(30), rng.randbytes(33), rng.randbytes(256))


def _jwt(kid: bytes, jti: bytes, signature: bytes) -> str:
    # the JSON written out by hand: json.dumps twice would double what minting a token costs a POST
    header = _b64url_bytes(b'{"kid":"' + _b64url_bytes(kid) + b'","alg":"RS256"}')
    claims = _b64url_bytes(b'{"ver":1,"jti":"AT.' + _b64url_bytes(jti) + b'"}')
    return b".".join((header, claims, _b64url_bytes(signature))).decode("ascii")


# a check's tokens: the bytes of one SHAKE-256 stream of its seed, a rotated refresh token's first (a seeded
# random.Random cost a check about 10 us to set up and draw from; the stream about 2)
_REFRESH_TOKEN_BYTES = 32
_ACCESS_TOKEN_BYTES = (30, 33, 256)  # the key id, the token id, the signature


def seeded_bytes(seed: int, n: int) -> bytes:
    """The first ``n`` bytes the seed's stream holds: the same seed, the same bytes."""
    return hashlib.shake_256(b"%d" % seed).digest(n)


def seeded_refresh_token(seed: int) -> str:
    """The rotated refresh token a check with this seed draws (43 characters, like ``opaque_token``)."""
    return _b64url(seeded_bytes(seed, _REFRESH_TOKEN_BYTES))


class DrawnAccessToken:
    """An access token held as the seed of the bytes it was drawn from (0.1 KB instead of 0.6 KB), drawn
    again when read: the same characters every time. ``after_refresh_token``: a rotated refresh token was
    drawn from the seed's bytes first."""

    __slots__ = ("after_refresh_token", "seed")

    def __init__(self, seed: int, after_refresh_token: bool) -> None:
        self.seed, self.after_refresh_token = seed, after_refresh_token

    def text(self) -> str:
        return _draw_access_token(self.seed, self.after_refresh_token)


@functools.lru_cache(maxsize=4096)  # a pure function of its arguments: the tokens a test reads again cost nothing
def _draw_access_token(seed: int, after_refresh_token: bool) -> str:
    kid, jti, signature = _ACCESS_TOKEN_BYTES
    start = _REFRESH_TOKEN_BYTES if after_refresh_token else 0
    raw = seeded_bytes(seed, start + kid + jti + signature)
    return _jwt(raw[start:start + kid], raw[start + kid:start + kid + jti], raw[start + kid + jti:])


def token_text(token: str | DrawnAccessToken) -> str:
    return token if isinstance(token, str) else token.text()


def opaque_token(rng: random.Random) -> str:
    """A refresh token or other opaque secret: 43 characters of URL-safe base64 (256 bits)."""
    return _b64url(rng.randbytes(32))


def hex_token(length: int) -> Maker:
    """``length`` lower-case hex digits: an API session or auth token."""
    def make(rng: random.Random, fields: Mapping[str, str]) -> str:
        return rng.randbytes((length + 1) // 2).hex()[:length]
    return make


def uuid4(rng: random.Random) -> str:
    """A lower-case random UUID (version 4), as the providers' .NET and Java backends make them."""
    raw = bytearray(rng.randbytes(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@frozen  # made once, at import: a dataclass's generated methods would cost import time
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


def quoted_segment(text: str) -> str:
    """``text`` percent-encoded as one URL path segment (``urllib.parse.quote(text, safe="")``); a client id is
    quoted at every organization sync, so short ones are kept once quoted."""
    return _quoted(text) if len(text) <= 256 else quote(text, safe="")


@functools.lru_cache(maxsize=1024)
def _quoted(text: str) -> str:
    return quote(text, safe="")


def compact(data: object) -> str:
    """JSON without spaces, as the providers' APIs answer."""
    return json.dumps(data, separators=(",", ":"))


def _generic_denied(provider_label: str, reason: str) -> str:
    return compact({"error": "forbidden", "message": f"{provider_label}: {reason}"})


GENERIC_OK = compact({"status": "ok", "items": [{"id": "412345", "name": "Fake Leaf Farms"}]})


@frozen
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
    kind = "oauth2"  # not a field: the same for every one


@frozen
class ApiKey:
    """An API-key upstream: every call carries the key (revocable) and a secret (rotatable) if any."""

    key: str
    secret: str | None = None
    denied_body: Callable[[str, str], str] = _generic_denied
    ok_body: str = GENERIC_OK
    kind = "api_key"  # not a field: the same for every one


@frozen
class UsernamePassword:
    """An account upstream: every call signs in with a username and a password (changeable)."""

    username: str = "username"
    password: str = "password"
    denied_body: Callable[[str, str], str] = _generic_denied
    ok_body: str = GENERIC_OK
    kind = "password"  # not a field: the same for every one


Upstream = OAuth2 | ApiKey | UsernamePassword


class UpstreamOrganization(NamedTuple):  # a tuple: cheaper to define at import than a dataclass
    """An organization of a grower's account at the provider: ``blocked`` when the grower withdrew the
    application's access to it (or never granted it)."""

    id: str
    name: str
    blocked: bool = False


class Organizations(NamedTuple):  # a tuple: cheaper to define at import than a dataclass
    """A provider whose accounts span organizations, which Leaf lists (John Deere, Trimble).

    ``management_uri(fields, org_id, connected)`` is where the grower manages the application's access
    (``connected`` False: the account connects no organization yet, the application's set-up is
    incomplete); ``list_body`` is the provider's answer to the organization list call a check makes.
    """

    new_id: Draw  # the provider's id of an organization
    management_uri: Callable[[Mapping[str, str], str, bool], str]
    list_body: Callable[[tuple[UpstreamOrganization, ...]], str]
    sync_management: bool = False  # Leaf's SELECTED/PREVIEW/BLOCKED management (John Deere only)
    tells_connection: bool = True  # False: Leaf lists every organization as connected (Trimble)
    first_name: str = "Fake Leaf Farms"  # the one organization a new account holds


class OneClick(NamedTuple):  # a tuple: cheaper to define at import than a dataclass
    """A one-click connection (``POST /users/{leafUserId}/one-click-integration/<provider name>``).

    ``body_fields`` are what the client posts; ``made`` are the credential body fields that Leaf
    resolves itself from them (the sharing link stands for the organization and the grant).
    """

    body_fields: tuple[BodyField, ...]
    made: tuple[tuple[str, Maker], ...]


@frozen
class Provider:
    """How one provider's credentials look in Leaf's API, and how its upstream behaves.

    ``body_fields`` is what a POST may carry (validation); ``answer_fields`` is exactly what POST and
    GET answer, in order (serialisation, the OpenAPI schema, the Leaf user's embedding): the two lists
    differ, since Leaf keeps some posted secrets to itself and adds values of its own, which ``made``
    says how to make.
    """

    name: str  # the alerts' ``provider`` value: "JohnDeere"
    label: str  # for people: "John Deere"
    path_segment: str  # /users/{leafUserId}/<path_segment>
    user_field: str  # the field embedded in a Leaf user
    body_fields: tuple[BodyField, ...]
    upstream: Upstream
    answer_fields: tuple[str, ...]
    made: tuple[tuple[str, Maker], ...] = ()  # answer fields Leaf makes at creation, and how
    one_click: OneClick | None = None
    organizations: Organizations | None = None

    def __post_init__(self) -> None:
        names = [f.name for f in self.body_fields]
        roles = [getattr(self.upstream, r) for r in ("client_id", "client_secret", "refresh_token", "key",
                                                       "secret", "username", "password")
                 if getattr(self.upstream, r, None) is not None]
        missing = [r for r in roles if r not in names]
        if missing:
            raise ValueError(f"provider {self.name}: its upstream uses {', '.join(missing)}, which its body "
                             f"does not declare ({', '.join(names)})")
        made = [n for n, _ in self.made]
        known = {*ALWAYS_ANSWERED, *names, *made}
        if self.oauth2:
            known |= {"tokenMetadata", "accessToken"}
        unknown = [n for n in self.answer_fields if n not in known]
        if unknown or len(set(self.answer_fields)) != len(self.answer_fields):
            raise ValueError(f"provider {self.name}: its answer_fields {self.answer_fields} name "
                             f"{', '.join(unknown) or 'a field twice'}; an answer field is one of "
                             f"{', '.join(sorted(known))}")
        absent = [n for n in ALWAYS_ANSWERED if n not in self.answer_fields]
        if absent:
            raise ValueError(f"provider {self.name}: its answer_fields lack {', '.join(absent)}, which every "
                             "credential answer carries")
        if set(made) & set(names):
            raise ValueError(f"provider {self.name}: made fields {made} clash with its body fields")
        if self.one_click is not None:
            posted = {f.name for f in self.one_click.body_fields} | {n for n, _ in self.one_click.made}
            lacking = [n for n in names if n not in posted and self.field(n).required]
            if lacking:
                raise ValueError(f"provider {self.name}: its one-click body neither carries nor makes "
                                 f"{', '.join(lacking)}")

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
