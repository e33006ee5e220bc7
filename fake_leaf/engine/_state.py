"""The one state object of a fake: every part of the engine works on it, under its one lock."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import heapq
import itertools
import random
import secrets
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Literal

from fake_leaf._clock import EARLIEST, LATEST, USABLE_RANGE, Clock, utc_now
from fake_leaf.engine._errors import clock_out_of_range, hide_refusals
from fake_leaf.engine._ids import id_from
from fake_leaf.engine._models import Alert, OrganizationAlert, _CredentialRecord, _Owner, _UserRecord
from fake_leaf.engine._upstream import SimulatedUpstream, _Grant
from fake_leaf.engine.providers import PROVIDERS, Provider
from fake_leaf.engine.providers._base import UpstreamOrganization

__tracebackhide__ = hide_refusals  # pytest shows the test's frames for the fake's refusals

OnDuplicate = Literal["reject", "replace"]
PutWithoutCredentials = Literal["keep", "drop"]
MAX_CHECK_INTERVAL = _dt.timedelta(days=36525)


class EngineOptions:
    """The [choice] behaviours of the contract, as options."""

    def __init__(self, on_duplicate_credentials: OnDuplicate = "reject",
                 put_without_credentials: PutWithoutCredentials = "drop",
                 check_interval: _dt.timedelta = _dt.timedelta(hours=24), refresh_token_rotation: bool = False,
                 seed: int | None = None, environment_defaults: Mapping[str, str] | None = None) -> None:
        if not _dt.timedelta(0) < check_interval <= MAX_CHECK_INTERVAL:  # the clock's headroom
            raise ValueError(f"check_interval must be positive and at most {MAX_CHECK_INTERVAL.days} days (a "
                             f"century), got {check_interval}")
        self.on_duplicate_credentials = on_duplicate_credentials
        self.put_without_credentials = put_without_credentials
        self.check_interval = check_interval
        self.refresh_token_rotation = refresh_token_rotation
        # the values the fake makes where Leaf makes them (access tokens, session ids): the same seed, the same
        # values for the same calls; None draws a fresh seed
        self.seed = seed
        # provider name -> the environment a body without clientEnvironment gets, though the provider requires it
        self.environment_defaults: Mapping[str, str] = {} if environment_defaults is None else environment_defaults


_BY_NAME: dict[int, tuple[tuple[Provider, ...], dict[str, Provider]]] = {}  # the providers option's few values


def _by_name(providers: Iterable[Provider]) -> dict[str, Provider]:
    """The providers by name (a fresh dict); two of one name are refused. The dict of a tuple seen before is
    copied from the one made then (the same objects in the same order): most fakes serve the default 15."""
    given = providers if isinstance(providers, tuple) else tuple(providers)
    known = _BY_NAME.get(id(given))
    if known is not None and known[0] is given:
        return dict(known[1])
    found: dict[str, Provider] = {}
    for p in given:
        if p.name in found:
            raise ValueError(f"two providers are named {p.name!r}")
        found[p.name] = p
    if len(_BY_NAME) < 16:  # the tuple is kept alive with its entry, so its id cannot be reused
        _BY_NAME[id(given)] = (given, dict(found))
    return found


@functools.lru_cache(maxsize=64)
def _seed_hashes(seed: int) -> tuple[hashlib.blake2b, hashlib.blake2b]:
    return _hashes(hashlib.blake2b(repr(seed).encode(), digest_size=16).digest())


def _hashes(key: bytes) -> tuple[hashlib.blake2b, hashlib.blake2b]:
    """The keyed hashes derived values (32 bytes) and user and credential ids (16 bytes) are digests of."""
    return hashlib.blake2b(key=key, digest_size=32), hashlib.blake2b(key=key, digest_size=16)


_UNSEEDED: list[random.Random] = []


def _unseeded() -> random.Random:
    if not _UNSEEDED:
        _UNSEEDED.append(random.Random())
    return _UNSEEDED[0]


class _Upstreams(Mapping[str, SimulatedUpstream]):
    """Each provider's side, made the first time it is used: a fake (one a test) uses one or two of fifteen.

    Iterating goes through every provider, in order, making those not made yet.
    """

    def __init__(self, names: Collection[str], make: Callable[[str], SimulatedUpstream]) -> None:
        self._names = names
        self._make = make
        self._made: dict[str, SimulatedUpstream] = {}

    def __getitem__(self, name: str) -> SimulatedUpstream:
        try:
            return self._made[name]
        except KeyError:
            if name not in self._names:
                raise
            # setdefault: two threads that make it at once get the same one
            return self._made.setdefault(name, self._make(name))

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


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
        self.providers: dict[str, Provider] = _by_name(providers)
        self._lock = threading.RLock()
        self._signing_key: bytes | None = None  # made on the first token signed (see _secret)
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
        # reseeded with the world (a reset fake makes the same values); made when first drawn from (see random)
        self._random: random.Random | None = None
        seed = self.options.seed
        # what checks mint (tokens, event ids) and credential ids derive from this, per credential and instant,
        # so that a credential's checks make the same values whenever (and however lazily) they are run
        # keyed with them, set up once and copied for each value (a keyed BLAKE2b set up anew costs twice as much);
        # only ever copied, so a seed's are shared by every fake with that seed
        self._keyed_hash, self._keyed_id_hash = (_seed_hashes(seed) if seed is not None
                                                 else _hashes(secrets.token_bytes(16)))
        self._ids_made = 0  # user and credential ids: digests of the seed and this count (no seeded Random to set up)
        # owner -> field -> value -> the one user with it, or the users with it by id (Users._index)
        self._user_index: dict[str, dict[str, dict[str | None, _UserRecord | dict[str, _UserRecord]]]] = {}
        self._sorted_cache: dict[tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, bool], ...]],
                                 tuple[int, list[_UserRecord]]] = {}
        self._user_versions: dict[str, int] = {}
        self._indexed = 0  # users indexed so far (Users._index)
        self.upstreams: Mapping[str, SimulatedUpstream] = _Upstreams(self.providers.keys(), self._new_upstream)
        self._live: dict[str, _CredentialRecord] = {}  # credential id -> record, while it exists
        self._schedule: list[tuple[_dt.datetime, int, str]] = []  # (due, tie-break, credential id)
        self._stale_entries = 0  # entries of the schedule whose credential was deleted or rescheduled
        # credentials whose due checks are left to be run when they are read (see Lifecycle._catch_up)
        self._deferred: dict[str, _CredentialRecord] = {}
        self._caught_up_to: _dt.datetime | None = None
        self._alerts_dropped = 0  # alerts dropped from the front of the log (it keeps MAX_ALERTS)
        self._alert_text = 0  # the characters of the kept alerts' client-sized texts (it keeps MAX_ALERT_TEXT)
        self._sequence = itertools.count()
        self._alerts: list[Alert | OrganizationAlert] = []  # one log, oldest first: what webhooks deliver
        # the organization syncs of checks that ran, left for later (Lifecycle._defer_sync): (the credential,
        # the check's instant, the organizations it found, its grant's token then)
        self._unsynced: list[tuple[_CredentialRecord, _dt.datetime, tuple[UpstreamOrganization, ...],
                                   str | None]] = []
        self._owner_configs: dict[str, dict[str, str]] = {}  # the settings an API owner changed
        self._user_configs: dict[str, dict[str, str]] = {}  # a Leaf user's own settings, by its id
        self._held_since: _dt.datetime | None = None  # the newest time the state was written at
        self._warned_clock_back = False

    @property
    def random(self) -> random.Random:
        """What the fake draws the values Leaf and the providers make (organization ids, made fields) from.

        Seeded: a ``random.Random(seed)`` made at its first draw, so it gives what one made with the world gives
        (seeding one costs 6 us, and most fakes never draw). Unseeded: one generator shared by every unseeded fake
        (seeding one from the system costs 13 us; its values are unpredictable either way).
        """
        rng = self._random
        if rng is None:
            with self._lock:  # two threads' first draws: one generator, one sequence
                rng = self._random
                if rng is None:
                    seed = self.options.seed
                    rng = self._random = random.Random(seed) if seed is not None else _unseeded()
        return rng

    @property
    def _secret(self) -> bytes:
        """The key the fake signs its bearer tokens with: random, made at the first token (under the lock, so
        that every token of the fake is signed with the same one)."""
        key = self._signing_key
        if key is None:
            with self._lock:
                key = self._signing_key
                if key is None:
                    key = self._signing_key = secrets.token_bytes(32)
        return key

    def _new_id(self) -> str:
        """The next user or credential id: the same seed makes the same ids in the same order."""
        self._ids_made += 1
        h = self._keyed_id_hash.copy()
        h.update(b"id|%d" % self._ids_made)
        return id_from(h.digest())

    def _new_upstream(self, name: str) -> SimulatedUpstream:
        upstream = SimulatedUpstream(self.providers[name], self.options.refresh_token_rotation)
        upstream.random_of = lambda: self.random  # the fake's generator, made when the upstream first draws
        upstream.before_change = functools.partial(self._bring_up_all, name)
        return upstream

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

    def _schedule_check(self, record: _CredentialRecord, due: _dt.datetime, fresh: bool = False) -> None:
        """Schedule the credential's next check. Checks due at the same instant run in the order their
        credentials joined the schedule (``fresh``: at creation, or back from UNAUTHENTICATED), however
        late each was run: so a check deferred and run later keeps its place."""
        if fresh or record.rank < 0:
            record.rank = next(self._sequence)
        record.next_check_at = due
        heapq.heappush(self._schedule, (due, record.rank, record.id))

    def _bring_up_all(self, provider_name: str, grant: _Grant | None) -> None:
        """Before a control changes a provider or a grant (the lifecycle runs the checks it deferred)."""

    def _drop_schedule_entry(self) -> None:
        """A credential left the schedule: its entry stays in the heap until popped, or until a compaction."""
        self._stale_entries += 1
        if self._stale_entries > 64 and self._stale_entries > len(self._schedule) // 2:
            self._schedule = [e for e in self._schedule
                              if (r := self._live.get(e[2])) is not None and r.next_check_at == e[0]]
            heapq.heapify(self._schedule)
            self._stale_entries = 0
