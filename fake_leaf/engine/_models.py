"""What the engine holds (mutable records) and what it hands out (frozen snapshots)."""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field

from fake_leaf.engine._providers import Provider

USER_FIELDS: tuple[str, ...] = ("name", "email", "phone", "address", "externalId")


class CredentialStatus(str, enum.Enum):
    """Leaf's published credential statuses."""

    OK = "OK"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    MISSING_PERMISSION = "MISSING_PERMISSION"
    TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"


@dataclass(frozen=True)
class LeafUser:
    """A Leaf user as the fake holds it. ``fields`` uses Leaf's names (``externalId``)."""

    id: str
    api_owner: str
    name: str | None
    email: str | None
    phone: str | None
    address: str | None
    external_id: str | None


@dataclass(frozen=True)
class Credentials:
    """A provider credential (John Deere's) as the fake holds it."""

    id: str
    provider: str
    leaf_user_id: str
    status: CredentialStatus
    created_time: _dt.datetime
    client_key: str
    client_secret: str
    access_token: str
    refresh_token: str
    client_environment: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class CredentialEvent:
    """One call Leaf made to the provider for a credential: the provider's answer."""

    id: str
    created_date: _dt.datetime
    status_code: int
    headers: str
    body: str


@dataclass(eq=False, repr=False)
class _Owner:
    username: str
    password: str


@dataclass(eq=False, repr=False)
class _UserRecord:
    id: str
    owner: str
    fields: dict[str, str | None]
    credentials: dict[str, _CredentialRecord] = field(default_factory=dict)

    def snapshot(self) -> LeafUser:
        f = self.fields
        return LeafUser(self.id, self.owner, f["name"], f["email"], f["phone"], f["address"], f["externalId"])


@dataclass(eq=False, repr=False)
class _CredentialRecord:
    id: str
    provider: Provider
    leaf_user_id: str
    status: CredentialStatus
    created_time: _dt.datetime
    client_key: str
    client_secret: str
    access_token: str
    refresh_token: str
    client_environment: str
    scopes: tuple[str, ...]
    # oldest first; kept sorted by (created_date, order of arrival)
    events: list[CredentialEvent] = field(default_factory=list)
    access_token_expires_at: _dt.datetime | None = None
    refresh_token_last_used: _dt.datetime | None = None
    next_check_at: _dt.datetime | None = None

    def snapshot(self) -> Credentials:
        return Credentials(
            self.id, self.provider.name, self.leaf_user_id, self.status, self.created_time,
            self.client_key, self.client_secret, self.access_token, self.refresh_token,
            self.client_environment, self.scopes,
        )


@dataclass(eq=False, repr=False)
class _Alert:
    type: str
    credential: str
    provider: str
    credential_id: str
    leaf_user_id: str
    status: CredentialStatus
    timestamp: _dt.datetime
    message: str
