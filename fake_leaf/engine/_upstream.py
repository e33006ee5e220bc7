"""A provider's simulated upstream: what Leaf's background checks call, and what tests change.

One class serves the three kinds of upstream a provider declares (``OAuth2``, ``ApiKey``,
``UsernamePassword``); the provider module gives the field roles and the upstream's own bodies.
John Deere's is the model: a token endpoint (refresh) and a platform API, STAGE and PRODUCTION.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import random
from collections.abc import Callable, Mapping

from fake_leaf.engine._errors import UnsupportedControlError, hide_refusals
from fake_leaf.engine._text import why_not_text
from fake_leaf.engine.providers import ApiKey, OAuth2, Provider
from fake_leaf.engine.providers._base import (
    DrawnAccessToken,
    UpstreamOrganization,
    access_token,
    compact,
    opaque_token,
    seeded_refresh_token,
    token_text,
)

__tracebackhide__ = hide_refusals  # pytest shows the test's frames for the fake's refusals

ACCESS_TOKEN_LIFETIME = _dt.timedelta(hours=12)
REFRESH_TOKEN_IDLE_LIMIT = _dt.timedelta(days=365)
JSON_HEADERS = {"Content-Type": "application/json;charset=UTF-8"}
_JSON_HEADERS = json.dumps(JSON_HEADERS)  # as an event holds them
WHOLE_ACCESS = ""  # the permission that stands for the whole grant (an organization, an account's access)

INVALID_GRANT = {"error": "invalid_grant", "error_description": "The refresh token is invalid or expired."}
INVALID_CLIENT = {"error": "invalid_client", "error_description": "Client authentication failed. Either the "
                  "client or the client credentials are invalid."}
INVALID_KEY = {"error": "invalid_api_key", "message": "The API key is invalid or has been revoked."}
INVALID_SECRET = {"error": "invalid_credentials", "message": "The secret or password sent with the key is wrong."}
INVALID_LOGIN = {"error": "invalid_credentials", "message": "The username or password is incorrect."}
# grants no credential holds any more (the credential was deleted or replaced) that the provider keeps, so
# that the grant posted again finds the account as it was; the oldest forgotten first beyond either bound
MAX_ORPHAN_GRANTS = 1_000
MAX_ORPHAN_TEXT = 4_000_000  # characters of their tokens and client ids
ACCOUNT_DISABLED = {"error": "account_disabled", "message": "This account has been disabled."}


class RefreshBody:
    """A token endpoint's 200 answer, held in parts: the tokens are the credential's own (same objects), so
    an event keeps about 60 bytes instead of its 0.9 KB of JSON. ``text()`` writes the JSON the endpoint sent."""

    __slots__ = ("access_token", "refresh_token", "scopes")

    def __init__(self, access_token: str | DrawnAccessToken, scopes: tuple[str, ...], refresh_token: str) -> None:
        self.access_token, self.scopes, self.refresh_token = access_token, scopes, refresh_token

    def text(self) -> str:
        return _written(self)

    def write(self) -> str:
        return compact({"token_type": "Bearer", "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
                         "access_token": token_text(self.access_token), "scope": " ".join(self.scopes),
                         "refresh_token": self.refresh_token})


class ListBody:
    """An answer that lists the account's organizations, held as the organizations (immutable tuples the
    grant holds too) and written out by the provider's ``list_body`` when read."""

    __slots__ = ("list_body", "organizations")

    def __init__(self, list_body: Callable[[tuple[UpstreamOrganization, ...]], str],
                 organizations: tuple[UpstreamOrganization, ...]) -> None:
        self.list_body, self.organizations = list_body, organizations

    def text(self) -> str:
        return _written(self)

    def write(self) -> str:
        return self.list_body(self.organizations)


# the bodies read last, written out: a client that reads the same events page again pays a lookup
@functools.lru_cache(maxsize=4096)
def _written(body: RefreshBody | ListBody) -> str:
    return body.write()


class Answer:
    """One upstream HTTP answer, as Leaf's events record it (and, for a refresh, the new tokens).

    ``headers`` is the JSON text an event keeps of them: the upstreams answer a few fixed sets, written once.
    """

    __slots__ = ("access_token", "body", "headers", "refresh_token", "scopes", "status_code")

    def __init__(self, status_code: int, headers: str, body: str | RefreshBody | ListBody,
                 access_token: str | DrawnAccessToken | None = None, refresh_token: str | None = None,
                 scopes: tuple[str, ...] | None = None) -> None:
        self.status_code, self.headers, self.body = status_code, headers, body
        self.access_token, self.refresh_token, self.scopes = access_token, refresh_token, scopes

    def text(self) -> str:
        return self.body if isinstance(self.body, str) else self.body.text()


_NOTHING: frozenset[str] = frozenset()


class _Grant:
    """What a grower granted: an OAuth2 refresh token, an API key, or an account's access (one per credential:
    slots keep 100,000 of them small)."""

    __slots__ = ("client", "holders", "key", "last_used", "organizations", "revoked", "scopes", "version",
                 "withdrawn", "withdrawn_organizations")

    def __init__(self, client: str, scopes: tuple[str, ...], last_used: _dt.datetime, *,
                 key: tuple[str, str] = ("", "")) -> None:
        self.client = client
        self.scopes = scopes
        self.last_used = last_used
        self.revoked = False
        self.withdrawn: frozenset[str] = _NOTHING  # scopes or permissions; WHOLE_ACCESS for all
        # the account's organizations, by id in the order they came (a provider with organizations only)
        self.organizations: dict[str, UpstreamOrganization] = {}
        # what a withdrawal of the whole access blocked (immutable: the empty one is shared by every grant)
        self.withdrawn_organizations: frozenset[str] = _NOTHING
        self.key = key  # (environment, token): where the upstream keeps it
        self.holders: list[str] = []  # the ids of the live credentials that carry it
        self.version = 0  # changed by every control of it: a check's outcome may differ after

    def no_organization_reachable(self) -> bool:
        return not any(not o.blocked for o in self.organizations.values())


class SimulatedUpstream:
    """One provider's side. By default it accepts every credential posted to Leaf."""

    def __init__(self, provider: Provider, refresh_token_rotation: bool = False,
                 rng: random.Random | None = None) -> None:
        self.provider = provider
        self._rotation = refresh_token_rotation
        self._random = rng
        # where the fake's generator comes from when none was given: tokens repeat with its seed
        self.random_of: Callable[[], random.Random] | None = None
        self._secrets: dict[tuple[str, str], str | None] = {}  # (environment, client) -> secret or password
        self._grants: dict[tuple[str, str], _Grant] = {}  # (environment, token, key or username) -> grant
        self._outages: dict[str, int] = {}  # environment -> status code
        self._clients: dict[tuple[str, str], int] = {}  # (environment, client) -> grants kept that name it
        self._orphans: dict[tuple[str, str], int] = {}  # grants no credential holds, oldest first -> text size
        self._orphan_text = 0
        self.version = 0  # changed by every control of the provider as a whole (outages, secrets)
        # called before a control changes the provider as a whole, or a grant (with it): the engine
        # brings the checks it left for later up to date first, as they ran before the change
        self.before_change: Callable[[_Grant | None], None] | None = None
        # the fields' roles, read once: every check reads them several times
        up = provider.upstream
        self._oauth2 = isinstance(up, OAuth2)
        self._client_field = up.client_id if isinstance(up, OAuth2) else up.key if isinstance(up, ApiKey) \
            else up.username
        self._token_field = up.refresh_token if isinstance(up, OAuth2) else up.key if isinstance(up, ApiKey) \
            else up.username
        self._secret_field = provider.secret_field
        self._default_environment = provider.environments[0]

    @property
    def random(self) -> random.Random:
        """The generator the provider draws from: the fake's, made when first drawn from."""
        rng = self._random
        if rng is None:
            rng = self._random = self.random_of() if self.random_of is not None else random.Random()
        return rng

    @property
    def refresh_token_rotation(self) -> bool:
        """Whether each refresh hands out a new refresh token."""
        return self._rotation

    @refresh_token_rotation.setter
    def refresh_token_rotation(self, on: bool) -> None:
        if on != self._rotation:
            self._changing(None)
            self._rotation = on

    # -- the roles the provider module gives its fields -------------------------------------

    def environment(self, fields: Mapping[str, str]) -> str:
        return fields.get("clientEnvironment", self._default_environment)

    def _client(self, fields: Mapping[str, str]) -> str:
        return fields[self._client_field]

    def _secret(self, fields: Mapping[str, str]) -> str | None:
        name = self._secret_field
        return fields[name] if name is not None else None

    def token_field(self) -> str:
        """The body field that names the grant (the refresh token; the key or username otherwise)."""
        return self._token_field

    def _grant_of(self, fields: Mapping[str, str]) -> _Grant | None:
        return self._grants.get((fields.get("clientEnvironment", self._default_environment),
                                 fields[self._token_field]))

    # -- what Leaf does ------------------------------------------------------------------------

    def grant_of(self, fields: Mapping[str, str]) -> _Grant | None:
        """The grant a credential's fields name, if the provider knows it."""
        return self._grant_of(fields)

    def accept(self, fields: Mapping[str, str], scopes: tuple[str, ...], now: _dt.datetime,
               holder: str = "") -> _Grant:
        """A credential was posted to Leaf: unknown clients and grants become known as they are."""
        env = fields.get("clientEnvironment", self._default_environment)
        client = fields[self._client_field]
        if (env, client) not in self._secrets:
            self._secrets[(env, client)] = self._secret(fields)
        key = (env, fields[self._token_field])
        grant = self._grants.get(key)
        if grant is None:
            grant = self._grants[key] = _Grant(client, scopes, now, key=key)
            self._clients[(env, client)] = self._clients.get((env, client), 0) + 1
            orgs = self.provider.organizations
            if orgs is not None:  # a new account holds one organization, connected
                first = UpstreamOrganization(orgs.new_id(self.random), orgs.first_name)
                grant.organizations[first.id] = first
        elif key in self._orphans:
            self._orphan_text -= self._orphans.pop(key)
        if holder and holder not in grant.holders:
            grant.holders.append(holder)
        return grant

    def release(self, grant: _Grant, holder: str) -> None:
        """A credential that carried the grant is gone: kept while bounded, the oldest forgotten first."""
        if holder in grant.holders:
            grant.holders.remove(holder)
        if grant.holders or self._grants.get(grant.key) is not grant or grant.key in self._orphans:
            return
        size = len(grant.key[1]) + len(grant.client)
        self._orphans[grant.key] = size
        self._orphan_text += size
        while self._orphans and (len(self._orphans) > MAX_ORPHAN_GRANTS or self._orphan_text > MAX_ORPHAN_TEXT):
            key = next(iter(self._orphans))
            self._orphan_text -= self._orphans.pop(key)
            self._drop_grant(key)

    def _drop_grant(self, key: tuple[str, str]) -> None:
        grant = self._grants.pop(key)
        client = (key[0], grant.client)
        left = self._clients.get(client, 1) - 1
        if left > 0:
            self._clients[client] = left
        else:  # no grant names the client any more: the provider forgets it, and its secret
            self._clients.pop(client, None)
            self._secrets.pop(client, None)

    def _changing(self, grant: _Grant | None) -> None:
        if self.before_change is not None:
            self.before_change(grant)
        if grant is None:
            self.version += 1
        else:
            grant.version += 1

    def check(self, fields: Mapping[str, str], access_token_valid: bool, now: _dt.datetime,
              seed: int | None = None) -> list[Answer]:
        """The calls one background check makes, in order; it stops at the first that fails.

        OAuth2: a refresh when the access token has expired, then a platform call. Otherwise one
        call carrying the key or the login.
        """
        if not self._oauth2:
            return [self._keyed_call(fields)]
        token = fields[self._token_field]
        if not access_token_valid:
            refresh = self.refresh(fields, now, seed)
            if refresh.status_code != 200:
                return [refresh]
            return [refresh, self._platform_call(self.environment(fields), refresh.refresh_token or token)]
        return [self._platform_call(self.environment(fields), token)]

    def refresh(self, fields: Mapping[str, str], now: _dt.datetime, seed: int | None = None) -> Answer:
        """POST to the token endpoint with grant_type=refresh_token; new tokens drawn from a generator seeded
        with ``seed`` (the access token is then held as that seed), else from the fake's own."""
        env = fields.get("clientEnvironment", self._default_environment)
        if env in self._outages:
            return _outage_answer(self._outages[env])
        client = fields[self._client_field]
        secret_field = self._secret_field
        if self._secrets.get((env, client), "\0unknown") != (fields[secret_field] if secret_field is not None
                                                             else None):
            return Answer(401, _JSON_HEADERS, compact(INVALID_CLIENT))
        token = fields[self._token_field]
        grant = self._grants.get((env, token))
        if grant is None or grant.revoked or grant.client != client \
                or now - grant.last_used >= REFRESH_TOKEN_IDLE_LIMIT:
            return Answer(400, _JSON_HEADERS, compact(INVALID_GRANT))
        grant.last_used = now
        new_token = token
        if self._rotation:
            new_token = seeded_refresh_token(seed) if seed is not None else opaque_token(self.random)
            del self._grants[(env, token)]
            grant.key = (env, new_token)
            self._grants[grant.key] = grant
        # the grant's own tuple while nothing is withdrawn: every credential and event that holds it shares it
        scopes = tuple(s for s in grant.scopes if s not in grant.withdrawn) if grant.withdrawn else grant.scopes
        access = DrawnAccessToken(seed, self._rotation) if seed is not None else access_token(self.random)
        return Answer(200, _JSON_HEADERS, RefreshBody(access, scopes, new_token), access, new_token, scopes)

    def _platform_call(self, env: str, token: str) -> Answer:
        if env in self._outages:
            return _outage_answer(self._outages[env])
        grant = self._grants.get((env, token))
        orgs = self.provider.organizations
        if grant is not None:
            if grant.withdrawn:
                return self._denied(grant)
            if orgs is not None:  # the check lists the account's organizations; none reachable: denied
                held = tuple(grant.organizations.values())
                for org in held:
                    if not org.blocked:
                        return Answer(200, _JSON_HEADERS, ListBody(orgs.list_body, held))
                return self._denied(grant)
        return Answer(200, _JSON_HEADERS, self.provider.upstream.ok_body)

    def _keyed_call(self, fields: Mapping[str, str]) -> Answer:
        env = self.environment(fields)
        if env in self._outages:
            return _outage_answer(self._outages[env])
        is_key = isinstance(self.provider.upstream, ApiKey)
        grant = self._grant_of(fields)
        if grant is None or grant.revoked:
            return Answer(401, _JSON_HEADERS, compact(INVALID_KEY if is_key else ACCOUNT_DISABLED))
        if self._secrets.get((env, self._client(fields))) != self._secret(fields):
            return Answer(401, _JSON_HEADERS, compact(INVALID_SECRET if is_key else INVALID_LOGIN))
        if grant.withdrawn:
            return self._denied(grant)
        return Answer(200, _JSON_HEADERS, self.provider.upstream.ok_body)

    def _denied(self, grant: _Grant) -> Answer:
        scopes = sorted(s for s in grant.withdrawn if s != WHOLE_ACCESS)
        if scopes:
            reason = f"The access token lacks the scope(s) {', '.join(scopes)}"
        elif self.provider.oauth2:
            reason = "The organization is not connected to this application"
        else:
            reason = "This key or account no longer has permission to the grower's data"
        return Answer(403, _JSON_HEADERS, self.provider.upstream.denied_body(self.provider.label, reason))

    def mark_used(self, fields: Mapping[str, str], at: _dt.datetime) -> None:
        """A successful refresh at ``at`` that the fake skipped simulating (its event had expired)."""
        grant = self._grant_of(fields)
        if grant is not None and grant.last_used < at:
            grant.last_used = at

    # -- what tests do ---------------------------------------------------------------------------

    def _grant(self, fields: Mapping[str, str]) -> _Grant:
        grant = self._grant_of(fields)
        if grant is None:
            raise UnsupportedControlError(f"{self.provider.label} knows no {self.token_field()} "
                             f"{fields[self.token_field()]!r} (it was replaced or rotated away)")
        return grant

    def revoke(self, fields: Mapping[str, str]) -> None:
        """The grower withdrew the grant, or the key or account was revoked."""
        grant = self._grant(fields)
        self._changing(grant)
        grant.revoked = True

    def rotate_secret(self, fields: Mapping[str, str]) -> str:
        """The client secret, shared secret or password changed upstream; returns the new one."""
        if self._secret(fields) is None:
            raise UnsupportedControlError(f"{self.provider.label} is a public client: its credentials have no "
                                          "secret to rotate; revoke the grant instead")
        key = (self.environment(fields), self._client(fields))
        if key not in self._secrets:
            raise UnsupportedControlError(f"{self.provider.label} knows no client {key[1]!r}")
        self._changing(None)
        secret = self.random.randbytes(24).hex()
        self._secrets[key] = secret
        return secret

    def withdraw(self, fields: Mapping[str, str], permission: str | None) -> None:
        """Take back a scope (``permission``) or, with None, the whole access: calls answer 403.

        Where the account has organizations, the whole access is its organizations: each is blocked.
        """
        grant = self._grant(fields)
        self._changing(grant)
        if permission is None and self.provider.organizations is not None:
            for org in list(grant.organizations.values()):
                if not org.blocked:
                    self._set_blocked(grant, org.id, True)
                    grant.withdrawn_organizations |= {org.id}
        else:
            grant.withdrawn = grant.withdrawn | {permission or WHOLE_ACCESS}

    def restore(self, fields: Mapping[str, str], permission: str | None) -> None:
        """Give back what ``withdraw`` took: a scope, or the organizations the withdrawal blocked (not
        those a test blocked one by one)."""
        grant = self._grant(fields)
        self._changing(grant)
        if permission is None and self.provider.organizations is not None:
            for org_id in grant.withdrawn_organizations:
                if org_id in grant.organizations:
                    self._set_blocked(grant, org_id, False)
            grant.withdrawn_organizations = frozenset()
        else:
            grant.withdrawn = grant.withdrawn - {permission or WHOLE_ACCESS}

    # -- the account's organizations (a provider with organizations) ------------------------------------

    def organizations(self, fields: Mapping[str, str]) -> tuple[UpstreamOrganization, ...]:
        """The grower's account's organizations, in the order they came; () for a grant the provider lost."""
        grant = self._grant_of(fields)
        return tuple(grant.organizations.values()) if grant is not None else ()

    def account_organizations(self, fields: Mapping[str, str]) -> tuple[UpstreamOrganization, ...]:
        """What a test reads: the same, refused for a provider whose accounts have no organizations."""
        return tuple(self._with_organizations(fields).organizations.values())

    def _with_organizations(self, fields: Mapping[str, str]) -> _Grant:
        if self.provider.organizations is None:
            raise UnsupportedControlError(f"{self.provider.label} accounts have no organizations in Leaf; "
                                          "John Deere's and Trimble's have")
        return self._grant(fields)

    def add_organization(self, fields: Mapping[str, str], name: str, org_id: str | None = None) -> str:
        """The grower's account gained an organization, connected to the application; returns its id."""
        grant = self._with_organizations(fields)
        self._changing(grant)
        orgs = self.provider.organizations
        assert orgs is not None
        if not isinstance(name, str) or not name.strip() or why_not_text(name) is not None:
            raise UnsupportedControlError(f"an organization needs a name of readable text, got {name!r}")
        if org_id is None:
            org_id = orgs.new_id(self.random)
        elif not isinstance(org_id, str) or not org_id.strip() or "/" in org_id or why_not_text(org_id) is not None \
                or org_id in (".", "..", "sync"):  # each would be another route, or no path at all
            raise UnsupportedControlError(f"an organization id is a non-blank string of readable text without "
                                          f"'/', and not '.', '..' or 'sync' (Leaf's paths name those); got "
                                          f"{org_id[:100] if isinstance(org_id, str) else org_id!r}")
        if org_id in grant.organizations:
            raise UnsupportedControlError(f"the account already has an organization {org_id!r}")
        grant.organizations[org_id] = UpstreamOrganization(org_id, name)
        return org_id

    def remove_organization(self, fields: Mapping[str, str], org_id: str) -> None:
        grant = self._with_organizations(fields)
        self._organization(grant, org_id)
        self._changing(grant)
        del grant.organizations[org_id]

    def block_organization(self, fields: Mapping[str, str], org_id: str) -> None:
        """The grower withdrew the application's access to the organization."""
        self._set_blocked(self._with_organizations(fields), org_id, True)

    def unblock_organization(self, fields: Mapping[str, str], org_id: str) -> None:
        """The grower granted the access again (through the managementUri)."""
        self._set_blocked(self._with_organizations(fields), org_id, False)

    def _organization(self, grant: _Grant, org_id: str) -> UpstreamOrganization:
        found = grant.organizations.get(org_id)
        if found is None:
            known = ", ".join(repr(o) for o in grant.organizations) or "none"
            raise UnsupportedControlError(f"the grower's {self.provider.label} account has no organization "
                                          f"{org_id!r}; it has {known}")
        return found

    def _set_blocked(self, grant: _Grant, org_id: str, blocked: bool) -> None:
        self._changing(grant)
        grant.organizations[org_id] = self._organization(grant, org_id)._replace(blocked=blocked)

    def start_outage(self, environment: str, status_code: int) -> None:
        if not (status_code == 429 or 500 <= status_code <= 599):
            raise UnsupportedControlError(f"an outage answers 5xx or 429, not {status_code}")
        self._check_environment(environment)
        self._changing(None)
        self._outages[environment] = status_code

    def end_outage(self, environment: str) -> None:
        self._check_environment(environment)
        self._changing(None)
        self._outages.pop(environment, None)

    def _check_environment(self, environment: str) -> None:
        if environment not in self.provider.environments:
            known = " or ".join(repr(e) for e in self.provider.environments)
            raise UnsupportedControlError(f"{self.provider.label} has no environment {environment!r}; it has {known}")


def _outage_answer(status_code: int) -> Answer:
    if status_code == 429:
        return Answer(429, _TOO_MANY_HEADERS, _TOO_MANY_BODY)
    return Answer(status_code, _UNAVAILABLE_HEADERS, "Service Unavailable")


_TOO_MANY_HEADERS = json.dumps({"Content-Type": "application/json", "Retry-After": "60"})
_TOO_MANY_BODY = compact({"error": "Too Many Requests"})
_UNAVAILABLE_HEADERS = json.dumps({"Content-Type": "text/plain"})
