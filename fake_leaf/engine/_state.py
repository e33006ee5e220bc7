"""The one state object of a fake: every part of the engine works on it, under its one lock."""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import random
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal

from fake_leaf._clock import EARLIEST, LATEST, USABLE_RANGE, Clock, utc_now
from fake_leaf.engine._errors import clock_out_of_range
from fake_leaf.engine._models import Alert, OrganizationAlert, _CredentialRecord, _Owner, _UserRecord
from fake_leaf.engine._upstream import SimulatedUpstream
from fake_leaf.engine.providers import PROVIDERS, Provider

OnDuplicate = Literal["reject", "replace"]
PutWithoutCredentials = Literal["keep", "drop"]
MAX_CHECK_INTERVAL = _dt.timedelta(days=36525)


@dataclass(eq=False, repr=False)
class EngineOptions:
    """The [choice] behaviours of the contract, as options."""

    on_duplicate_credentials: OnDuplicate = "reject"
    put_without_credentials: PutWithoutCredentials = "drop"
    check_interval: _dt.timedelta = _dt.timedelta(hours=24)
    refresh_token_rotation: bool = False
    # the values the fake makes where Leaf makes them (access tokens, session ids): the same seed, the same
    # values for the same calls; None draws a fresh seed
    seed: int | None = None
    # provider name -> the environment a body without clientEnvironment gets, though the provider requires it
    environment_defaults: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _dt.timedelta(0) < self.check_interval <= MAX_CHECK_INTERVAL:  # the clock's headroom
            raise ValueError(f"check_interval must be positive and at most {MAX_CHECK_INTERVAL.days} days (a "
                             f"century), got {self.check_interval}")


class EngineState:
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
        self.providers: dict[str, Provider] = {}
        for p in providers:
            if p.name in self.providers:
                raise ValueError(f"two providers are named {p.name!r}")
            self.providers[p.name] = p
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        # an alert's wire shape is the HTTP layer's; the router hands it over (the engine imports no HTTP)
        self.alert_payload: Callable[[Alert | OrganizationAlert], Mapping[str, object]] | None = None
        # bearer tokens whose signature checked out: their (owner, expiry), so a request skips the HMAC
        self._verified_tokens: dict[str, tuple[str, int]] = {}
        self._owners: dict[str, _Owner] = {}
        self._users: dict[str, _UserRecord] = {}
        self._users_by_owner: dict[str, dict[str, _UserRecord]] = {}
        self._new_world()

    def _new_world(self) -> None:
        """Everything but the API owners: users, credentials, schedules, alerts, the upstreams."""
        self._users.clear()
        self._users_by_owner = {owner: {} for owner in self._owners}
        self.random = random.Random(self.options.seed)  # reseeded with the world: a reset fake makes the same values
        self._user_index: dict[str, dict[str, dict[str | None, dict[str, _UserRecord]]]] = {}
        self._sorted_cache: dict[tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, bool], ...]],
                                 tuple[int, list[_UserRecord]]] = {}
        self._user_versions: dict[str, int] = {}
        self.upstreams: dict[str, SimulatedUpstream] = {
            name: SimulatedUpstream(p, self.options.refresh_token_rotation, self.random)
            for name, p in self.providers.items()}
        self._live: dict[str, _CredentialRecord] = {}  # credential id -> record, while it exists
        self._schedule: list[tuple[_dt.datetime, int, str]] = []  # (due, tie-break, credential id)
        self._sequence = itertools.count()
        self._alerts: list[Alert | OrganizationAlert] = []  # one log, oldest first: what webhooks deliver
        self._owner_configs: dict[str, dict[str, str]] = {}  # the settings an API owner changed
        self._user_configs: dict[str, dict[str, str]] = {}  # a Leaf user's own settings, by its id
        self._held_since: _dt.datetime | None = None  # the newest time the state was written at
        self._warned_clock_back = False

    def atomic(self) -> AbstractContextManager[bool]:
        """Hold the engine's lock so that several calls act as one (``with backend.atomic(): ...``)."""
        return self._lock

    def now(self) -> _dt.datetime:
        """The fake's current time (UTC, aware)."""
        try:
            now = self.clock()
            if now.tzinfo is None:  # a naive clock is taken to be UTC
                now = now.replace(tzinfo=_dt.timezone.utc)
            # the one check per operation that keeps the engine's date arithmetic from overflowing
            if EARLIEST <= now <= LATEST:
                return now
        except OverflowError:  # a ShiftedClock whose base moved too far for its offset
            now = None
        raise clock_out_of_range(now, USABLE_RANGE)

    def _schedule_check(self, record: _CredentialRecord, due: _dt.datetime) -> None:
        record.next_check_at = due
        heapq.heappush(self._schedule, (due, next(self._sequence), record.id))

    def _forget(self, record: _CredentialRecord) -> None:
        """A credential is gone (deleted, replaced, its user deleted): no more checks, no events."""
        self._live.pop(record.id, None)
        record.next_check_at = None
