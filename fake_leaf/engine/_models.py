"""What the engine holds (mutable records) and what it hands out (frozen snapshots)."""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from fake_leaf.engine.providers import Provider
from fake_leaf.engine.providers._base import DrawnAccessToken, token_text

USER_FIELDS: tuple[str, ...] = ("name", "email", "phone", "address", "externalId")


class CredentialStatus(str, enum.Enum):
    """Leaf's published credential statuses."""

    OK = "OK"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    MISSING_PERMISSION = "MISSING_PERMISSION"
    TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"


class OrganizationStatus(str, enum.Enum):
    """What Leaf processes of a provider organization (John Deere's sync management)."""

    SELECTED = "SELECTED"  # everything of the organization
    PREVIEW = "PREVIEW"  # the organization itself only
    BLOCKED = "BLOCKED"  # nothing: Leaf lacks the access; the grower fixes it through the managementUri


class ProviderOrganization(NamedTuple):  # a tuple: cheaper to define at import than a dataclass
    """A provider organization as Leaf lists it for a Leaf user's credential."""

    provider_org_id: str
    provider_org_name: str
    status: OrganizationStatus
    management_uri: str


class Timing(NamedTuple):  # a tuple: cheaper to define at import than a dataclass
    """When a fake's behaviour changes with its clock: its options and Leaf's and the providers' lifetimes."""

    check_interval: _dt.timedelta  # a credential's background checks: at its creation, then every interval
    access_token_lifetime: _dt.timedelta  # a provider's OAuth2 access token, from the refresh that made it
    leaf_token_lifetime: _dt.timedelta  # a Leaf token from POST /api/authenticate without rememberMe
    remember_me_token_lifetime: _dt.timedelta  # with rememberMe (and FakeLeaf.token's)
    events_window: _dt.timedelta  # an event is listed while younger than this


class OrganizationAlert(NamedTuple):  # a tuple: cheaper to define at import than a dataclass
    """An alert Leaf sends when a sync finds an organization new, blocked or removed."""

    type: str  # providerOrganizationCreated, providerOrganizationBlocked or providerOrganizationRemoved
    leaf_user_id: str
    provider: str
    provider_org_id: str
    provider_org_name: str
    status: OrganizationStatus  # its status in Leaf's list (for a removed one, the last it had)
    timestamp: _dt.datetime
    api_owner: str = ""


@dataclass(frozen=True, slots=True)  # each user's record keeps its snapshot: slots keep it small
class LeafUser:
    """A Leaf user as the fake holds it."""

    id: str
    api_owner: str
    name: str | None
    email: str | None
    phone: str | None
    address: str | None
    external_id: str | None


@dataclass(frozen=True)
class Credentials:
    """A provider credential as the fake holds it.

    ``fields`` are the posted fields under Leaf's names (defaults filled in; a rotated refresh token
    is the current one) and the values Leaf made itself (Sentera's ``authToken``, Agvance's
    ``sessionId``); what the API answers is the provider's ``answer_fields`` of them. ``access_token``
    and ``scopes`` are an OAuth2 provider's current token (None and () for the others).
    """

    id: str
    provider: str
    leaf_user_id: str
    status: CredentialStatus
    created_time: _dt.datetime
    fields: Mapping[str, str] = field(hash=False)
    access_token: str | None = None
    scopes: tuple[str, ...] = ()

    # John Deere's fields by their Python names (None for a provider whose body lacks the field)
    @property
    def client_key(self) -> str | None:
        return self.fields.get("clientKey")

    @property
    def client_secret(self) -> str | None:
        return self.fields.get("clientSecret")

    @property
    def refresh_token(self) -> str | None:
        return self.fields.get("refreshToken")

    @property
    def client_environment(self) -> str | None:
        return self.fields.get("clientEnvironment")


class BodyInParts(Protocol):
    """An event body the fake holds in parts (values the credential holds anyway) and writes out when read."""

    def text(self) -> str: ...


class CredentialEvent:
    """One call Leaf made to the provider for a credential: the provider's answer.

    Frozen, compared and hashed by its five values, like a frozen dataclass. The fake may hold a body in
    parts (a token endpoint's answer: the tokens the credential holds anyway), written out when read: a
    month of events over 100,000 credentials would otherwise hold every access token twice.
    """

    __slots__ = ("_body", "_id", "created_date", "headers", "status_code")
    __match_args__ = ("id", "created_date", "status_code", "headers", "body")
    created_date: _dt.datetime
    status_code: int
    headers: str
    _id: str | BodyInParts
    _body: str | BodyInParts

    def __init__(self, id: str | BodyInParts, created_date: _dt.datetime, status_code: int, headers: str,
                 body: str | BodyInParts) -> None:
        # the slots' own setters (object.__setattr__ would look each up by name; the class refuses assignment)
        _set_event_id(self, id)
        _set_created_date(self, created_date)
        _set_status_code(self, status_code)
        _set_headers(self, headers)
        _set_body(self, body)

    @property
    def id(self) -> str:
        """The event's id. The fake may hold how to derive it (a check's event ids are digests of the fake's
        seed) and derive it when first read: most events are never listed."""
        found = self._id
        if not isinstance(found, str):
            found = found.text()
            _set_event_id(self, found)
        return found

    @property
    def body(self) -> str:
        body: str | BodyInParts = self._body
        return body if isinstance(body, str) else body.text()

    def _values(self) -> tuple[str, _dt.datetime, int, str, str]:
        return self.id, self.created_date, self.status_code, self.headers, self.body

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, CredentialEvent)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (f"CredentialEvent(id={self.id!r}, created_date={self.created_date!r}, "
                f"status_code={self.status_code!r}, headers={self.headers!r}, body={self.body!r})")

    def __reduce__(self) -> tuple[type[CredentialEvent], tuple[str, _dt.datetime, int, str, str]]:
        return CredentialEvent, self._values()


_set_event_id, _set_created_date, _set_status_code, _set_headers, _set_body = (
    CredentialEvent.__dict__[name].__set__ for name in ("_id", "created_date", "status_code", "headers", "_body"))


@dataclass(frozen=True)
class Alert:
    """An alert Leaf sends when a check makes a credential UNAUTHENTICATED or MISSING_PERMISSION."""

    type: str  # credentialsUnauthenticated or credentialsLimitedPermission
    credential: str  # the identifying field's value (clientKey, clientId, apiKey or username)
    provider: str  # the provider's name: JohnDeere
    credential_id: str
    leaf_user_id: str
    status: CredentialStatus
    timestamp: _dt.datetime
    message: str
    api_owner: str = ""  # whose webhooks it goes to


# The engine's own records below are plain slotted classes: a dataclass's generated methods cost `import
# fake_leaf` about 0.6 ms a class, and these need none of them (identity equality, no repr).


class _Owner:
    __slots__ = ("password", "username")

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password


class _UserRecord:
    __slots__ = ("_snapshot", "credentials", "fields", "id", "indexed", "owner")

    def __init__(self, id: str, owner: str, fields: dict[str, str | None]) -> None:
        self.id, self.owner, self.fields = id, owner, fields
        self.credentials: dict[str, _CredentialRecord] = {}  # provider name -> record
        self._snapshot: LeafUser | None = None
        self.indexed = 0  # when it was last indexed (Users._index): its place among the users with a value

    def snapshot(self) -> LeafUser:
        made = self._snapshot
        if made is None:
            # the frozen dataclass's __init__ sets each slot through object.__setattr__: its slots' own setters
            # cost half
            f = self.fields
            made = _new_object(LeafUser)
            _set_user_id(made, self.id)
            _set_api_owner(made, self.owner)
            _set_name(made, f["name"])
            _set_email(made, f["email"])
            _set_phone(made, f["phone"])
            _set_address(made, f["address"])
            _set_external_id(made, f["externalId"])
            self._snapshot = made
        return made


class _CredentialRecord:
    __slots__ = ("access_token", "access_token_expires_at", "created_time", "events", "fields", "grant", "id",
                 "leaf_user_id", "next_check_at", "organizations", "provider", "rank", "scopes", "settled", "status")

    def __init__(self, id: str, provider: Provider, leaf_user_id: str, status: CredentialStatus,
                 created_time: _dt.datetime, fields: dict[str, str], access_token: str | DrawnAccessToken | None,
                 scopes: tuple[str, ...], access_token_expires_at: _dt.datetime | None = None) -> None:
        self.id, self.provider, self.leaf_user_id, self.status = id, provider, leaf_user_id, status
        self.created_time, self.fields, self.scopes = created_time, fields, scopes
        self.access_token = access_token  # as the check drew it (see DrawnAccessToken)
        self.access_token_expires_at = access_token_expires_at
        self.events: list[CredentialEvent] = []  # oldest first; kept sorted by (created_date, order of arrival)
        self.next_check_at: _dt.datetime | None = None
        # Leaf's list of the account's organizations, by id in the order found (a provider with organizations)
        self.organizations: dict[str, ProviderOrganization] = {}
        self.grant: Any = None  # the upstream's grant the credential carries (engine._upstream._Grant)
        # (the provider's version, the grant's version) when a check last made every call a check makes and
        # left the credential not final: until either changes, every check repeats that one's outcome
        self.settled: tuple[int, int] | None = None
        self.rank = -1  # its place among checks due at the same instant (EngineState._schedule_check)

    def snapshot(self) -> Credentials:
        # the frozen dataclass's own __init__ sets each field through object.__setattr__: filling the instance's
        # dict directly costs a third (every POST and GET of a credential makes one)
        made = _new_object(Credentials)
        values = made.__dict__
        values["id"] = self.id
        values["provider"] = self.provider.name
        values["leaf_user_id"] = self.leaf_user_id
        values["status"] = self.status
        values["created_time"] = self.created_time
        values["fields"] = MappingProxyType(dict(self.fields))
        values["access_token"] = None if self.access_token is None else token_text(self.access_token)
        values["scopes"] = self.scopes
        return made


_new_object = object.__new__
_set_user_id, _set_api_owner, _set_name, _set_email, _set_phone, _set_address, _set_external_id = (
    LeafUser.__dict__[name].__set__ for name in ("id", "api_owner", "name", "email", "phone", "address",
                                                  "external_id"))
