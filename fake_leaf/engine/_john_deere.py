"""The simulated John Deere: client apps, refresh-token grants, scopes, organizations, outages.

It answers what Leaf's background processing asks (a token refresh, a platform call) in John
Deere's own shapes; tests change its state to cause every credential status Leaf knows.
"""

from __future__ import annotations

import datetime as _dt
import json
import secrets
from dataclasses import dataclass, field

from fake_leaf.engine._ids import new_id

ACCESS_TOKEN_LIFETIME = _dt.timedelta(hours=12)
REFRESH_TOKEN_IDLE_LIMIT = _dt.timedelta(days=365)
JSON_HEADERS = {"Content-Type": "application/json;charset=UTF-8"}

INVALID_GRANT = {"error": "invalid_grant", "error_description": "The refresh token is invalid or expired."}
INVALID_CLIENT = {"error": "invalid_client", "error_description": "Client authentication failed. Either the "
                  "client or the client credentials are invalid."}


def _compact(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


@dataclass(eq=False, repr=False)
class Answer:
    """One John Deere HTTP answer, as Leaf's events record it."""

    status_code: int
    headers: dict[str, str]
    body: str
    access_token: str | None = None
    refresh_token: str | None = None
    scopes: tuple[str, ...] | None = None


@dataclass(eq=False, repr=False)
class _Grant:
    """What a grower granted an app through one refresh token."""

    client_key: str
    scopes: tuple[str, ...]
    last_used: _dt.datetime
    revoked: bool = False
    withdrawn_scopes: set[str] = field(default_factory=set)
    organization_connected: bool = True


@dataclass(eq=False, repr=False)
class _Outage:
    status_code: int  # 5xx or 429


class SimulatedJohnDeere:
    """John Deere's side for STAGE and PRODUCTION. By default it accepts every credential posted."""

    def __init__(self, refresh_token_rotation: bool = False) -> None:
        self.refresh_token_rotation = refresh_token_rotation
        self._client_secrets: dict[tuple[str, str], str] = {}  # (environment, clientKey) -> secret
        self._grants: dict[tuple[str, str], _Grant] = {}  # (environment, refreshToken) -> grant
        self._outages: dict[str, _Outage] = {}  # environment -> outage

    # -- what Leaf does --------------------------------------------------------------------

    def accept(self, env: str, client_key: str, client_secret: str, refresh_token: str,
               scopes: tuple[str, ...], now: _dt.datetime) -> None:
        """A credential was posted to Leaf: unknown apps and tokens become known as they are."""
        self._client_secrets.setdefault((env, client_key), client_secret)
        self._grants.setdefault((env, refresh_token), _Grant(client_key, scopes, now))

    def refresh(self, env: str, client_key: str, client_secret: str, refresh_token: str,
                now: _dt.datetime) -> Answer:
        """POST to the token endpoint with grant_type=refresh_token."""
        outage = self._outages.get(env)
        if outage is not None:
            return _outage_answer(outage)
        if self._client_secrets.get((env, client_key)) != client_secret:
            return Answer(401, dict(JSON_HEADERS), _compact(INVALID_CLIENT))
        grant = self._grants.get((env, refresh_token))
        if grant is None or grant.revoked or grant.client_key != client_key \
                or now - grant.last_used >= REFRESH_TOKEN_IDLE_LIMIT:
            return Answer(400, dict(JSON_HEADERS), _compact(INVALID_GRANT))
        grant.last_used = now
        new_refresh = refresh_token
        if self.refresh_token_rotation:
            new_refresh = secrets.token_urlsafe(32)
            del self._grants[(env, refresh_token)]
            self._grants[(env, new_refresh)] = grant
        scopes = tuple(s for s in grant.scopes if s not in grant.withdrawn_scopes)
        access = secrets.token_urlsafe(48)
        body: dict[str, object] = {"token_type": "Bearer", "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
                "access_token": access, "scope": " ".join(scopes), "refresh_token": new_refresh}
        return Answer(200, dict(JSON_HEADERS), _compact(body), access, new_refresh, scopes)

    def platform_call(self, env: str, refresh_token: str) -> Answer:
        """GET /platform/organizations with the current access token."""
        outage = self._outages.get(env)
        if outage is not None:
            return _outage_answer(outage)
        grant = self._grants.get((env, refresh_token))
        if grant is not None and (grant.withdrawn_scopes or not grant.organization_connected):
            reason = (f"The access token lacks the scope(s) {', '.join(sorted(grant.withdrawn_scopes))}"
                      if grant.withdrawn_scopes else "The organization is not connected to this application")
            errors = {"@type": "Errors", "errors": [{"@type": "Error", "guid": new_id(), "message": reason}]}
            return Answer(403, dict(JSON_HEADERS), _compact(errors))
        body: dict[str, object] = {"@type": "OrganizationList", "total": 1,
                "values": [{"@type": "Organization", "id": "412345", "name": "Fake Leaf Farms", "member": True}]}
        return Answer(200, dict(JSON_HEADERS), _compact(body))

    def mark_used(self, env: str, refresh_token: str, at: _dt.datetime) -> None:
        """A successful refresh at ``at`` that the fake skipped simulating (its event had expired)."""
        grant = self._grants.get((env, refresh_token))
        if grant is not None and grant.last_used < at:
            grant.last_used = at

    # -- what tests do ---------------------------------------------------------------------

    def _grant(self, env: str, refresh_token: str) -> _Grant:
        try:
            return self._grants[(env, refresh_token)]
        except KeyError:
            raise ValueError(f"John Deere ({env}) knows no refresh token {refresh_token!r}") from None

    def revoke_refresh_token(self, env: str, refresh_token: str) -> None:
        self._grant(env, refresh_token).revoked = True

    def rotate_client_secret(self, env: str, client_key: str) -> str:
        if (env, client_key) not in self._client_secrets:
            raise ValueError(f"John Deere ({env}) knows no client {client_key!r}")
        secret = secrets.token_hex(24)
        self._client_secrets[(env, client_key)] = secret
        return secret

    def withdraw_scope(self, env: str, refresh_token: str, scope: str) -> None:
        self._grant(env, refresh_token).withdrawn_scopes.add(scope)

    def restore_scope(self, env: str, refresh_token: str, scope: str) -> None:
        self._grant(env, refresh_token).withdrawn_scopes.discard(scope)

    def set_organization_connected(self, env: str, refresh_token: str, connected: bool) -> None:
        self._grant(env, refresh_token).organization_connected = connected

    def start_outage(self, env: str, status_code: int) -> None:
        if not (status_code == 429 or 500 <= status_code <= 599):
            raise ValueError(f"an outage answers 5xx or 429, not {status_code}")
        self._outages[env] = _Outage(status_code)

    def end_outage(self, env: str) -> None:
        self._outages.pop(env, None)


def _outage_answer(outage: _Outage) -> Answer:
    if outage.status_code == 429:
        return Answer(429, {"Content-Type": "application/json", "Retry-After": "60"},
                      _compact({"error": "Too Many Requests"}))
    return Answer(outage.status_code, {"Content-Type": "text/plain"}, "Service Unavailable")
