"""The state engine: API owners, tokens, Leaf users, provider credentials and their events.

It knows nothing of HTTP. One re-entrant lock guards all state: every public method is atomic.
"""

from __future__ import annotations

import base64
import bisect
import datetime as _dt
import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, TypeVar

from fake_leaf._clock import Clock, utc_now
from fake_leaf.engine import _errors as err
from fake_leaf.engine._errors import hide_refusals
from fake_leaf.engine._ids import new_id
from fake_leaf.engine._john_deere import ACCESS_TOKEN_LIFETIME, REFRESH_TOKEN_IDLE_LIMIT, Answer, SimulatedJohnDeere
from fake_leaf.engine._models import (
    USER_FIELDS,
    CredentialEvent,
    Credentials,
    CredentialStatus,
    LeafUser,
    _Alert,
    _CredentialRecord,
    _Owner,
    _UserRecord,
)
from fake_leaf.engine._providers import PROVIDERS, Provider

__tracebackhide__ = hide_refusals  # pytest shows the test's frames for the fake's refusals

EVENT_RETENTION = _dt.timedelta(days=30)
TOKEN_LIFETIME = _dt.timedelta(hours=24)
REMEMBER_ME_TOKEN_LIFETIME = _dt.timedelta(days=30)
SORTABLE_USER_FIELDS: tuple[str, ...] = ("id", *USER_FIELDS)
MAX_PAGE_SIZE = 100

T = TypeVar("T")
OnDuplicate = Literal["reject", "replace"]
PutWithoutCredentials = Literal["keep", "drop"]


@dataclass(eq=False, repr=False)
class EngineOptions:
    """The [choice] behaviours of the contract, as options."""

    on_duplicate_credentials: OnDuplicate = "reject"
    put_without_credentials: PutWithoutCredentials = "keep"
    check_interval: _dt.timedelta = _dt.timedelta(hours=24)
    refresh_token_rotation: bool = False

    def __post_init__(self) -> None:
        if self.check_interval <= _dt.timedelta(0):
            raise ValueError(f"check_interval must be positive, got {self.check_interval}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_JWT_HEADER = _b64(json.dumps({"alg": "HS512"}, separators=(",", ":")).encode())


class LeafBackend:
    """All of one fake's state. Create one per fake; share it only on purpose."""

    def __init__(
        self,
        *,
        clock: Clock = utc_now,
        options: EngineOptions | None = None,
        providers: Iterable[Provider] = PROVIDERS,
    ) -> None:
        self.clock = clock
        self.options = options or EngineOptions()
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._owners: dict[str, _Owner] = {}
        self._users: dict[str, _UserRecord] = {}
        self._users_by_owner: dict[str, dict[str, _UserRecord]] = {}
        # one simulated provider per provider (John Deere's is the one there is)
        self.simulators: dict[str, SimulatedJohnDeere] = {
            name: SimulatedJohnDeere(self.options.refresh_token_rotation) for name in self.providers}
        self._live: dict[str, _CredentialRecord] = {}  # credential id -> record, while it exists
        self._schedule: list[tuple[_dt.datetime, int, str]] = []  # (due, tie-break, credential id)
        self._sequence = itertools.count()
        self._alerts: list[_Alert] = []

    def atomic(self) -> AbstractContextManager[bool]:
        """Hold the engine's lock so that several calls act as one (``with backend.atomic(): ...``)."""
        return self._lock

    # -- time ------------------------------------------------------------------------------

    def now(self) -> _dt.datetime:
        """The fake's current time (UTC, aware)."""
        now = self.clock()
        if now.tzinfo is None:  # a naive clock is taken to be UTC
            now = now.replace(tzinfo=_dt.timezone.utc)
        return now

    def _begin(self) -> _dt.datetime:
        """Start of every public operation (lock held): bring the state up to now."""
        now = self.now()
        self._catch_up(now)
        return now

    def _catch_up(self, now: _dt.datetime) -> None:
        """Run, in time order and each at its own due time, every background check due by ``now``.

        Nothing outside changes during one catch-up (every control first catches up), so after a
        credential's first check here the following ones repeat its outcome: those whose events
        would already be past the 30-day window are skipped, and only the last skipped refresh is
        replayed (without its event), so a jump of years costs what a jump of 30 days does.
        """
        interval = self.options.check_interval
        horizon = now - EVENT_RETENTION - interval
        checked_once: set[str] = set()
        while self._schedule and self._schedule[0][0] <= now:
            due, _, credential_id = heapq.heappop(self._schedule)
            record = self._live.get(credential_id)
            if record is None or record.next_check_at != due:
                continue  # deleted or rescheduled since
            self._check(record, due)
            self._prune_events(record, now)
            if record.status is CredentialStatus.UNAUTHENTICATED:
                record.next_check_at = None  # final until deleted
                continue
            following = due + interval
            if credential_id in checked_once and following < horizon and interval < REFRESH_TOKEN_IDLE_LIMIT:
                skipped = (horizon - following) // interval
                last_skipped = following + (skipped - 1) * interval
                self._replay_refresh(record, last_skipped)
                following += skipped * interval
            checked_once.add(credential_id)
            self._schedule_check(record, following)

    def _schedule_check(self, record: _CredentialRecord, due: _dt.datetime) -> None:
        record.next_check_at = due
        heapq.heappush(self._schedule, (due, next(self._sequence), record.id))

    def _check(self, record: _CredentialRecord, at: _dt.datetime) -> None:
        """One background check: refresh the access token if it expired, then call the platform."""
        sim = self.simulators[record.provider.name]
        env = record.client_environment
        if record.access_token_expires_at is None or record.access_token_expires_at <= at:
            answer = sim.refresh(env, record.client_key, record.client_secret, record.refresh_token, at)
            self._append_event(record, at, answer.status_code, answer.headers, answer.body)
            if answer.status_code != 200:
                self._set_status(record, _status_for(answer.status_code), at, answer)
                return
            self._take_tokens(record, answer, at)
        answer = sim.platform_call(env, record.refresh_token)
        self._append_event(record, at, answer.status_code, answer.headers, answer.body)
        self._set_status(record, _status_for(answer.status_code), at, answer)

    def _replay_refresh(self, record: _CredentialRecord, at: _dt.datetime) -> None:
        # OK or MISSING_PERMISSION: the refreshes of the skipped checks succeeded, each using the token
        refreshing = record.status in (CredentialStatus.OK, CredentialStatus.MISSING_PERMISSION)
        if refreshing and record.access_token_expires_at is not None and record.access_token_expires_at <= at:
            sim = self.simulators[record.provider.name]
            sim.mark_used(record.client_environment, record.refresh_token, at - self.options.check_interval)
            answer = sim.refresh(record.client_environment, record.client_key, record.client_secret,
                                 record.refresh_token, at)
            if answer.status_code == 200:
                self._take_tokens(record, answer, at)

    @staticmethod
    def _take_tokens(record: _CredentialRecord, answer: Answer, at: _dt.datetime) -> None:
        assert answer.access_token is not None and answer.refresh_token is not None
        record.access_token = answer.access_token
        record.access_token_expires_at = at + ACCESS_TOKEN_LIFETIME
        record.refresh_token = answer.refresh_token
        if answer.scopes is not None:
            record.scopes = answer.scopes

    def _set_status(self, record: _CredentialRecord, status: CredentialStatus, at: _dt.datetime,
                    answer: Answer | None) -> None:
        changed = status is not record.status
        record.status = status
        if changed and status in _ALERT_TYPES:
            cause = (f"{record.provider.label} answered {answer.status_code}: {answer.body}"
                     if answer is not None else "the status was set by the test")
            self._alerts.append(_Alert(
                type=_ALERT_TYPES[status], credential=record.client_key, provider=record.provider.name,
                credential_id=record.id, leaf_user_id=record.leaf_user_id, status=status, timestamp=at,
                message=f"The {record.provider.label} credentials of Leaf user {record.leaf_user_id} are now "
                        f"{status.value}: {cause}",
            ))

    def clear(self) -> None:
        """Forget every Leaf user, credential, event and alert, and John Deere's state; owners stay."""
        with self._lock:
            self._users.clear()
            for users in self._users_by_owner.values():
                users.clear()
            self._live.clear()
            self._schedule.clear()
            self._alerts.clear()
            self.simulators = {name: SimulatedJohnDeere(self.options.refresh_token_rotation)
                               for name in self.providers}

    def owner_of(self, leaf_user_id: str) -> str:
        """The API owner of a Leaf user (for the control plane, which acts for every owner)."""
        with self._lock:
            user = self._users.get(leaf_user_id)
            if user is None:
                raise err.user_not_found(leaf_user_id)
            return user.owner

    # -- API owners and tokens -------------------------------------------------------------

    def add_api_owner(self, username: str, password: str) -> None:
        """Register an API owner who can log in with ``username`` and ``password``."""
        if not username or not password:
            raise ValueError("an API owner needs a non-empty username and password")
        with self._lock:
            if username in self._owners:
                raise ValueError(f"API owner {username!r} already exists")
            self._owners[username] = _Owner(username, password)
            self._users_by_owner[username] = {}

    def api_owners(self) -> list[str]:
        with self._lock:
            return list(self._owners)

    def authenticate(self, username: str, password: str, remember_me: bool = False) -> str:
        """Log in: a token for the owner, or BadCredentialsError."""
        with self._lock:
            owner = self._owners.get(username)
            if owner is None or not hmac.compare_digest(owner.password, password):
                raise err.BadCredentialsError(username)
            lifetime = REMEMBER_ME_TOKEN_LIFETIME if remember_me else TOKEN_LIFETIME
            return self.issue_token(username, lifetime)

    def issue_token(self, username: str, lifetime: _dt.timedelta) -> str:
        """A JHipster-shaped JWT (HS512; ``sub``, ``auth``, ``exp``) for an existing owner."""
        with self._lock:
            if username not in self._owners:
                raise ValueError(f"no API owner {username!r}")
            exp = int((self.now() + lifetime).timestamp())
        claims = {"sub": username, "auth": "ROLE_USER", "exp": exp}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{_JWT_HEADER}.{payload}"
        return f"{signing_input}.{self._sign(signing_input)}"

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha512).digest())

    def owner_for_token(self, token: str) -> str:
        """The API owner a bearer token stands for, or NotAuthenticatedError saying why not."""
        parts = token.split(".")
        if len(parts) != 3 or not token.isascii():
            raise err.NotAuthenticatedError("the bearer token is not a JWT (three dot-separated parts)")
        signing_input = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signing_input), parts[2]):
            raise err.NotAuthenticatedError("the bearer token was not issued by this fake (log in first)")
        claims = json.loads(_unb64(parts[1]))
        with self._lock:
            now = self.now()
            if now.timestamp() >= claims["exp"]:
                expired = _dt.datetime.fromtimestamp(claims["exp"], _dt.timezone.utc).isoformat()
                raise err.NotAuthenticatedError(f"the bearer token expired at {expired}; log in again")
            if claims["sub"] not in self._owners:
                raise err.NotAuthenticatedError(f"API owner {claims['sub']!r} no longer exists")
            return str(claims["sub"])

    # -- Leaf users ------------------------------------------------------------------------

    @staticmethod
    def _user_fields(body: Mapping[str, object]) -> dict[str, str | None]:
        errors: list[err.FieldError] = []
        fields: dict[str, str | None] = {}
        for name in USER_FIELDS:
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                errors.append(err.FieldError("leafUser", name, "TypeMismatch",
                                             f"must be a string or null, got {type(value).__name__}"))
            fields[name] = value if isinstance(value, str) else None
        if errors:
            raise err.InvalidInputError(errors)
        return fields

    def _user(self, owner: str, leaf_user_id: str) -> _UserRecord:
        user = self._users.get(leaf_user_id)
        # another owner's user is answered exactly like one that does not exist
        if user is None or user.owner != owner:
            raise err.user_not_found(leaf_user_id)
        return user

    def create_user(self, owner: str, body: Mapping[str, object]) -> LeafUser:
        """Create a Leaf user from a body of Leaf fields (all optional strings, no ``id``)."""
        with self._lock:
            self._begin()
            self._owner(owner)
            if body.get("id") is not None:
                raise err.id_exists()
            fields = self._user_fields(body)
            user = _UserRecord(new_id(), owner, fields)
            self._users[user.id] = user
            self._users_by_owner[owner][user.id] = user
            return user.snapshot()

    def _owner(self, owner: str) -> _Owner:
        try:
            return self._owners[owner]
        except KeyError:
            raise ValueError(f"no API owner {owner!r}; add it with add_api_owner") from None

    def get_user(self, owner: str, leaf_user_id: str) -> LeafUser:
        with self._lock:
            self._begin()
            return self._user(owner, leaf_user_id).snapshot()

    def replace_user(self, owner: str, body: Mapping[str, object]) -> LeafUser:
        """PUT semantics: every user field is replaced; credentials follow ``put_without_credentials``."""
        with self._lock:
            self._begin()
            leaf_user_id = body.get("id")
            if leaf_user_id is None:
                raise err.id_null()
            if not isinstance(leaf_user_id, str):
                raise err.InvalidInputError([err.FieldError("leafUser", "id", "TypeMismatch", "must be a string")])
            user = self._user(owner, leaf_user_id)
            fields = self._user_fields(body)
            user.fields = fields
            if self.options.put_without_credentials == "drop":
                for provider in self.providers.values():
                    if body.get(provider.user_field) is None and provider.name in user.credentials:
                        self._live.pop(user.credentials.pop(provider.name).id, None)
            return user.snapshot()

    def delete_user(self, owner: str, leaf_user_id: str) -> None:
        """Delete a user; its credentials and their events go with it."""
        with self._lock:
            self._begin()
            user = self._user(owner, leaf_user_id)
            del self._users[user.id]
            del self._users_by_owner[owner][user.id]
            for record in user.credentials.values():
                self._live.pop(record.id, None)
            user.credentials.clear()

    def list_users(
        self,
        owner: str,
        *,
        filters: Mapping[str, str] | None = None,
        sort: Iterable[tuple[str, bool]] = (),
        page: int = 0,
        size: int = 20,
    ) -> tuple[list[LeafUser], int]:
        """One page of the owner's users and the total count.

        ``filters`` match Leaf fields exactly; ``sort`` is (field, descending) pairs, the first
        most significant; a null sorts after every value. ``size`` is capped at 100.
        """
        filters = dict(filters or {})
        sort = list(sort)
        for name in filters:
            if name not in USER_FIELDS:
                raise err.bad_query(name, f"cannot filter on {name!r}; filters are {', '.join(USER_FIELDS)}")
        for name, _ in sort:
            if name not in SORTABLE_USER_FIELDS:
                raise err.bad_query("sort", f"cannot sort on {name!r}; sortable fields are "
                                    f"{', '.join(SORTABLE_USER_FIELDS)}")
        if page < 0:
            raise err.bad_query("page", f"must be 0 or more, got {page}")
        if size < 1:
            raise err.bad_query("size", f"must be 1 or more, got {size}")
        size = min(size, MAX_PAGE_SIZE)
        with self._lock:
            self._begin()
            users = [u for u in self._users_by_owner[owner].values()
                     if all(u.fields[k] == v for k, v in filters.items())]
            for name, descending in reversed(sort):  # stable sorts, least significant first
                present = [u for u in users if _sort_value(u, name) is not None]
                absent = [u for u in users if _sort_value(u, name) is None]
                present.sort(key=lambda u: str(_sort_value(u, name)), reverse=descending)
                users = present + absent if not descending else absent + present
            return [u.snapshot() for u in users[page * size:(page + 1) * size]], len(users)

    # -- provider credentials --------------------------------------------------------------

    def provider(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise ValueError(f"unknown provider {name!r}; known: {', '.join(self.providers)}") from None

    def _validate_credentials_body(self, provider: Provider, body: Mapping[str, object]) -> dict[str, str]:
        errors: list[err.FieldError] = []
        values: dict[str, str] = {}
        for f in provider.body_fields:
            value = body.get(f.name)
            if value is None:
                if f.required:
                    errors.append(err.FieldError(provider.user_field, f.name, "NotBlank", "is required"))
                elif f.default is not None:
                    values[f.name] = f.default
            elif not isinstance(value, str):
                errors.append(err.FieldError(provider.user_field, f.name, "TypeMismatch",
                                             f"must be a string, got {type(value).__name__}"))
            elif not value.strip():
                errors.append(err.FieldError(provider.user_field, f.name, "NotBlank", "must not be blank"))
            elif f.choices is not None and value not in f.choices:
                errors.append(err.FieldError(provider.user_field, f.name, "Pattern",
                                             f"must be one of {' or '.join(f.choices)} exactly, got {value!r}"))
            else:
                values[f.name] = value
        if errors:
            raise err.InvalidInputError(errors)
        return values

    def create_credentials(
        self,
        owner: str,
        leaf_user_id: str,
        provider_name: str,
        body: Mapping[str, object],
        *,
        scopes: Iterable[str] | None = None,
    ) -> Credentials:
        """Attach credentials to a user from a POST body; validated before anything changes."""
        provider = self.provider(provider_name)
        with self._lock:
            now = self._begin()
            user = self._user(owner, leaf_user_id)
            values = self._validate_credentials_body(provider, body)
            if provider.name in user.credentials and self.options.on_duplicate_credentials == "reject":
                raise err.credentials_already_exist(leaf_user_id, provider.label, provider.path_segment)
            record = _CredentialRecord(
                id=new_id(),
                provider=provider,
                leaf_user_id=user.id,
                status=CredentialStatus.OK,
                created_time=now,
                client_key=values["clientKey"],
                client_secret=values["clientSecret"],
                access_token=_mint_access_token(),
                refresh_token=values["refreshToken"],
                client_environment=values["clientEnvironment"],
                scopes=tuple(scopes) if scopes is not None else provider.default_scopes,
            )
            old = user.credentials.get(provider.name)
            if old is not None:
                self._live.pop(old.id, None)
            user.credentials[provider.name] = record
            self._live[record.id] = record
            self.simulators[provider.name].accept(record.client_environment, record.client_key,
                                                  record.client_secret, record.refresh_token, record.scopes, now)
            # the access token is the fake's own until the first check refreshes it, at creation
            self._check(record, now)
            if record.status is not CredentialStatus.UNAUTHENTICATED:
                self._schedule_check(record, now + self.options.check_interval)
            return record.snapshot()

    def _credentials(self, owner: str, leaf_user_id: str, provider_name: str) -> _CredentialRecord:
        provider = self.provider(provider_name)
        record = self._user(owner, leaf_user_id).credentials.get(provider.name)
        if record is None:
            raise err.credentials_not_found(leaf_user_id, provider.label)
        return record

    def get_credentials(self, owner: str, leaf_user_id: str, provider_name: str) -> Credentials:
        with self._lock:
            self._begin()
            return self._credentials(owner, leaf_user_id, provider_name).snapshot()

    def find_credentials(self, owner: str, leaf_user_id: str) -> dict[str, Credentials]:
        """Every provider credential of a user, by provider name."""
        with self._lock:
            self._begin()
            return {name: c.snapshot() for name, c in self._user(owner, leaf_user_id).credentials.items()}

    def delete_credentials(self, owner: str, leaf_user_id: str, provider_name: str) -> None:
        """Delete a credential; its events go with it."""
        with self._lock:
            self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            del self._users[leaf_user_id].credentials[record.provider.name]
            self._live.pop(record.id, None)

    # -- background processing: direct controls and the simulated provider -----------------

    def run_check(self, owner: str, leaf_user_id: str, provider_name: str) -> Credentials:
        """Run a background check now (the regular schedule is unchanged). UNAUTHENTICATED stays."""
        with self._lock:
            now = self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            if record.status is not CredentialStatus.UNAUTHENTICATED:
                self._check(record, now)
                self._stop_checks_if_final(record)
            return record.snapshot()

    @staticmethod
    def _stop_checks_if_final(record: _CredentialRecord) -> None:
        if record.status is CredentialStatus.UNAUTHENTICATED:
            record.next_check_at = None

    def set_status(self, owner: str, leaf_user_id: str, provider_name: str, status: CredentialStatus) -> Credentials:
        """Set a credential's status as background processing would, alert included; no event."""
        status = CredentialStatus(status)
        with self._lock:
            now = self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            was_final = record.status is CredentialStatus.UNAUTHENTICATED
            self._set_status(record, status, now, None)
            if status is CredentialStatus.UNAUTHENTICATED:
                record.next_check_at = None
            elif was_final:
                self._schedule_check(record, now + self.options.check_interval)
            return record.snapshot()

    def control_credential_provider(
        self, owner: str, leaf_user_id: str, provider_name: str,
        action: Callable[[SimulatedJohnDeere, Credentials], T],
    ) -> T:
        """Change the simulated provider for one credential: ``action(simulator, credentials)``.

        The state is caught up first, so checks that fell due before now see the old state.
        """
        with self._lock:
            self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            return action(self.simulators[record.provider.name], record.snapshot())

    def control_provider(self, provider_name: str, action: Callable[[SimulatedJohnDeere], T]) -> T:
        """Change the simulated provider as a whole (outages, rotation), after catching up."""
        with self._lock:
            self._begin()
            return action(self.simulators[self.provider(provider_name).name])

    def alerts(self) -> list[_Alert]:
        """Every alert background processing sent, oldest first."""
        with self._lock:
            self._begin()
            return list(self._alerts)

    # -- events ----------------------------------------------------------------------------

    def list_events(self, owner: str, leaf_user_id: str, provider_name: str) -> list[CredentialEvent]:
        """The credential's events younger than 30 days, newest first."""
        with self._lock:
            now = self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            self._prune_events(record, now)
            return list(reversed(record.events))

    @staticmethod
    def _prune_events(record: _CredentialRecord, now: _dt.datetime) -> None:
        cutoff = now - EVENT_RETENTION  # an event is kept while now - createdDate < 30 days
        cut = bisect.bisect_right(record.events, cutoff, key=lambda e: e.created_date)
        if cut:
            del record.events[:cut]

    def add_event(
        self,
        owner: str,
        leaf_user_id: str,
        provider_name: str,
        *,
        status_code: int,
        headers: Mapping[str, str] | str,
        body: str,
        created_date: _dt.datetime | None = None,
    ) -> CredentialEvent:
        """Record a provider answer in a credential's log (what background processing does)."""
        with self._lock:
            now = self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            when = created_date if created_date is not None else now
            if when.tzinfo is None:
                raise ValueError("created_date must be an aware datetime")
            event = self._append_event(record, when, status_code, headers, body)
            self._prune_events(record, now)
            return event

    @staticmethod
    def _append_event(
        record: _CredentialRecord,
        when: _dt.datetime,
        status_code: int,
        headers: Mapping[str, str] | str,
        body: str,
    ) -> CredentialEvent:
        headers_text = headers if isinstance(headers, str) else json.dumps(dict(headers))
        event = CredentialEvent(new_id(), when.astimezone(_dt.timezone.utc), status_code,
                                headers_text, body)
        # keep arrival order among equal timestamps: insert after every event not newer
        index = bisect.bisect_right(record.events, event.created_date, key=lambda e: e.created_date)
        record.events.insert(index, event)
        return event


_ALERT_TYPES = {
    CredentialStatus.UNAUTHENTICATED: "credentialsUnauthenticated",
    CredentialStatus.MISSING_PERMISSION: "credentialsLimitedPermission",
}


def _status_for(status_code: int) -> CredentialStatus:
    if status_code == 200:
        return CredentialStatus.OK
    if status_code in (400, 401):
        return CredentialStatus.UNAUTHENTICATED
    if status_code == 403:
        return CredentialStatus.MISSING_PERMISSION
    return CredentialStatus.TEMPORARILY_UNAVAILABLE


def _sort_value(user: _UserRecord, name: str) -> str | None:
    return user.id if name == "id" else user.fields[name]


def _mint_access_token() -> str:
    return secrets.token_urlsafe(48)
