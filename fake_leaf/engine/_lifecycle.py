"""Background processing: checks against each provider's simulated upstream, statuses, alerts, events."""

from __future__ import annotations

import bisect
import datetime as _dt
import hashlib
import heapq
import json
import warnings
from collections.abc import Callable, Mapping
from typing import TypeVar

from fake_leaf.engine import _errors as err
from fake_leaf.engine._ids import id_from
from fake_leaf.engine._models import (
    Alert,
    BodyInParts,
    CredentialEvent,
    Credentials,
    CredentialStatus,
    OrganizationAlert,
    OrganizationStatus,
    ProviderOrganization,
    _CredentialRecord,
    _UserRecord,
)
from fake_leaf.engine._settings import SETTINGS_BY_NAME
from fake_leaf.engine._state import EngineState
from fake_leaf.engine._upstream import (
    ACCESS_TOKEN_LIFETIME,
    REFRESH_TOKEN_IDLE_LIMIT,
    Answer,
    ListBody,
    SimulatedUpstream,
    _Grant,
)
from fake_leaf.engine.providers import Provider
from fake_leaf.engine.providers._base import UpstreamOrganization

__tracebackhide__ = err.hide_refusals  # pytest shows the test's frames for the fake's refusals

EVENT_RETENTION = _dt.timedelta(days=30)
# the alert log keeps the newest, like the request journal: 10,000, fewer past 8 MiB of their texts (a
# credential's identifying value can be long, and a deleted credential's stays in its alerts); the oldest go first
MAX_ALERTS = 10_000
MAX_ALERT_TEXT = 8 * 1024 * 1024
# organization syncs left for later (Lifecycle._defer_sync): beyond this many, they are run
MAX_UNSYNCED = 1024
CLOCK_SLACK = _dt.timedelta(seconds=1)  # clocks read in different threads may disagree by this much
T = TypeVar("T")

_ALERT_TYPES = {
    CredentialStatus.UNAUTHENTICATED: "credentialsUnauthenticated",
    CredentialStatus.MISSING_PERMISSION: "credentialsLimitedPermission",
}


class ClockWentBackWarning(UserWarning):
    """The fake's clock moved back before state the fake already holds (freezegun started late?)."""


class Lifecycle(EngineState):
    """Checks run lazily, in due order, each at its own due time, on the next read of the state."""

    def _begin(self) -> _dt.datetime:
        """Start of every public operation (lock held): bring the state up to now."""
        now = self.now()
        held = self._held_since
        if held is not None and now < held and now < held - CLOCK_SLACK and not self._warned_clock_back:
            self._warned_clock_back = True
            warnings.warn(err.clock_went_back(held, now), ClockWentBackWarning, stacklevel=err.user_stacklevel())
        schedule = self._schedule
        if schedule and schedule[0][0] <= now:
            self._catch_up(now)
        elif self._caught_up_to is None or now > self._caught_up_to:  # nothing due: all a catch-up would do
            self._caught_up_to = now
        return now

    def _written(self, now: _dt.datetime) -> None:
        if self._held_since is None or now > self._held_since:
            self._held_since = now

    # False: every check runs in the catch-up that finds it due (the eager reference the tests compare with)
    _lazy = True
    # False: every check syncs the organizations at once (with _lazy False, the tests' eager reference)
    _sync_later = True

    def _catch_up(self, now: _dt.datetime) -> None:
        """Run, in time order and each at its own due time, every background check due by ``now``.

        Nothing outside changes during one catch-up (every control first catches up), so after a
        credential's first check here the following ones repeat its outcome: those whose events
        would already be past the 30-day window are skipped, and only the last skipped refresh is
        replayed (without its event), so a jump of years costs what a jump of 30 days does.

        A settled credential (see ``_may_defer``) is not checked here at all: its checks can only
        repeat the last one, raise no alert and touch nothing another credential sees, so they are
        run when it is next read (``_bring_up``), exactly as they would have run here. A jump costs
        a heap entry per settled credential, and the checks of those that change.
        """
        if self._caught_up_to is None or now > self._caught_up_to:
            self._caught_up_to = now
        interval = self.options.check_interval
        horizon = now - EVENT_RETENTION - interval
        checked_once: set[str] = set()
        lazy = self._lazy and interval < REFRESH_TOKEN_IDLE_LIMIT
        while self._schedule and self._schedule[0][0] <= now:
            due, _, credential_id = heapq.heappop(self._schedule)
            record = self._live.get(credential_id)
            if record is None or record.next_check_at != due:
                if self._stale_entries:
                    self._stale_entries -= 1
                continue  # deleted or rescheduled since
            if lazy and self._may_defer(record):
                self._deferred[credential_id] = record  # next_check_at stays: the first check it owes
                continue
            self._check(record, due)
            _prune_events(record, now)
            if record.status is CredentialStatus.UNAUTHENTICATED:
                continue  # final until deleted: no more checks
            following = due + interval
            if credential_id in checked_once and following < horizon and interval < REFRESH_TOKEN_IDLE_LIMIT:
                following = self._skip(record, following, horizon)
            checked_once.add(credential_id)
            self._reschedule(record, following)

    def _reschedule(self, record: _CredentialRecord, due: _dt.datetime) -> None:
        """The next check after a regular one; a settled credential's wait for its next read, off the schedule."""
        if self._lazy and self.options.check_interval < REFRESH_TOKEN_IDLE_LIMIT and self._may_defer(record):
            record.next_check_at = due
            if record.rank < 0:
                record.rank = next(self._sequence)
            self._deferred[record.id] = record
        else:
            self._schedule_check(record, due)

    def _may_defer(self, record: _CredentialRecord) -> bool:
        """Whether the credential's checks may wait until it is read: its last check made every call a check
        makes, nothing changed its provider or its grant since, and no other live credential carries the grant."""
        grant: _Grant | None = record.grant
        return (record.settled is not None and grant is not None and len(grant.holders) == 1
                and record.settled == (self._upstream(record).version, grant.version))

    def _bring_up(self, record: _CredentialRecord, leaving: bool = False) -> None:
        """Run the checks a deferred credential owes, as the catch-ups that found them due would have.

        ``leaving``: the credential is being forgotten: its next check is not scheduled (it has none).
        """
        if self._deferred.pop(record.id, None) is None:
            return
        now = self._caught_up_to
        assert now is not None
        interval = self.options.check_interval
        horizon = now - EVENT_RETENTION - interval
        first = True
        due = record.next_check_at
        while due is not None and due <= now:
            self._check(record, due)
            _prune_events(record, now)
            if record.status is CredentialStatus.UNAUTHENTICATED:
                return  # not settled after all? _check made it final: no more checks
            following = due + interval
            if not first and following < horizon:
                following = self._skip(record, following, horizon)
            first = False
            due = record.next_check_at = following
        if leaving:  # a deferred credential has no entry in the schedule: none to drop
            record.next_check_at = None
        elif due is not None:
            self._schedule_check(record, due)

    def _bring_up_all(self, provider_name: str, grant: _Grant | None) -> None:
        """Before a control changes a provider (``grant`` None) or a grant: deferred checks run first."""
        if grant is not None:
            for holder in list(grant.holders):
                found = self._deferred.get(holder)
                if found is not None:
                    self._bring_up(found)
            return
        for found in [r for r in self._deferred.values() if r.provider.name == provider_name]:
            self._bring_up(found)

    def _forget(self, record: _CredentialRecord) -> None:
        """A credential is gone (deleted, replaced, its user deleted): no more checks, no events; its grant
        is released (the provider keeps it, bounded, for a credential that posts it again)."""
        self._bring_up(record, leaving=True)  # the checks it owes did happen, as far as the provider can tell
        self._flush_syncs()  # and their syncs, while its user and settings exist
        self._live.pop(record.id, None)
        if record.next_check_at is not None:
            record.next_check_at = None
            self._drop_schedule_entry()
        if record.grant is not None:
            self._upstream(record).release(record.grant, record.id)
            record.grant = None

    def _upstream(self, record: _CredentialRecord) -> SimulatedUpstream:
        return self.upstreams[record.provider.name]

    def _derived(self, record: _CredentialRecord, at: _dt.datetime, position: int, what: bytes) -> bytes:
        """Bytes that the fake's seed, the credential, the instant (from the credential's creation) and the place
        among the credential's events at that instant determine: the same check makes the same values, however
        late it runs, and the same calls at the same times make the same values with the same seed."""
        return self._derive(_age_text(record, at), position, what)

    def _derive(self, age_text: bytes, position: int, what: bytes) -> bytes:
        # the seed's keyed hash, set up once and copied: a keyed BLAKE2b set up anew costs twice as much
        h = self._keyed_hash.copy()
        h.update(b"%s%d|%s" % (age_text, position, what))
        return h.digest()

    def _event_id(self, record: _CredentialRecord, at: _dt.datetime) -> str:
        return id_from(self._derived(record, at, _events_at(record, at), b"event"))

    def _check(self, record: _CredentialRecord, at: _dt.datetime) -> None:
        """One background check: the upstream calls it makes, each an event; the last sets the status."""
        expires = record.access_token_expires_at
        valid = expires is not None and expires > at
        upstream = self.upstreams[record.provider.name]
        events = record.events
        base = 0 if not events or events[-1].created_date < at else _events_at(record, at)
        age_text = _age_text(record, at)
        keyed = self._keyed_hash
        answers = upstream.check(record.fields, valid, at, int.from_bytes(self._derive(age_text, base, b"tokens")))
        when = at  # the events' date: the check's own instant, one object for all its events, in UTC
        if when.tzinfo is not _dt.timezone.utc or type(when) is not _dt.datetime:
            when = when.astimezone(_dt.timezone.utc)
        position = base
        for answer in answers:
            # the event's id is derived when first read (most events never are): the same digest as _derived's
            event = CredentialEvent(_DerivedId(keyed, b"%s%d|event" % (age_text, position)), when,
                                    answer.status_code, answer.headers, answer.body)
            position += 1
            if not events or events[-1].created_date <= when:
                events.append(event)
            else:  # keep arrival order among equal timestamps: after every event not newer
                events.insert(bisect.bisect_right(events, when, key=_created_date), event)
            if answer.access_token is not None:
                self._take_tokens(record, answer, at, upstream)
        last = answers[-1]
        status = _status_for(last.status_code)
        if status is not record.status:
            self._set_status(record, status, at, last)
        grant: _Grant | None = record.grant
        if status is CredentialStatus.UNAUTHENTICATED:
            record.settled = None
            record.next_check_at = None  # final until the credential is deleted
            return
        # settled: a check that made every call a check makes (a refresh, for OAuth2) repeats while nothing changes
        complete = not valid or not record.provider.oauth2
        record.settled = _versions(upstream.version, grant.version) if complete and grant is not None else None
        if last.status_code in (200, 403) and record.provider.organizations is not None:
            # the token works: Leaf reads the account's organizations (those the platform call listed); Leaf's
            # list is brought up to date when something could tell (see _defer_sync)
            body = last.body
            self._defer_sync(record, at, body.organizations if type(body) is ListBody else
                             upstream.organizations(record.fields), upstream)

    def _defer_sync(self, record: _CredentialRecord, at: _dt.datetime, found: tuple[UpstreamOrganization, ...],
                    upstream: SimulatedUpstream) -> None:
        """Leave a check's organization sync until something could tell it ran (``_flush_syncs``).

        What a sync makes (Leaf's list, its alerts) follows from what the check found (kept here, immutable),
        Leaf's list before it (only syncs change it, in order, and the readers and writers of the list run the
        syncs left first), the user's settings (their writers run them first), the credential's fields (only its
        grant's token changes: the one of the time is kept) and the user's owner (never changes; deleting
        a credential or a user runs them first). So the syncs run later, in order, make exactly the lists and
        alerts they made at once: a credential created and read, and never asked for its organizations or the
        alerts, skips its sync. At most MAX_UNSYNCED wait.
        """
        if not self._sync_later:  # the eager reference the tests compare with: at once
            self._sync_organizations(record, at, found, record.fields)
            return
        unsynced = self._unsynced
        unsynced.append((record, at, found, record.fields.get(upstream.token_field())))
        if len(unsynced) > MAX_UNSYNCED:
            self._flush_syncs()

    def _flush_syncs(self) -> None:
        """Run the organization syncs left for later, in the order their checks ran."""
        unsynced = self._unsynced
        if not unsynced:
            return
        self._unsynced = []
        live = self._live
        for record, at, found, token in unsynced:
            fields: Mapping[str, str] | None = None  # a deleted credential's list is never read: no managementUri
            if record.id in live:
                fields = record.fields
                name = self._upstream(record).token_field()
                if fields.get(name) != token:  # rotated since: the sync read the token of its check
                    fields = {**fields, name: token} if token is not None else \
                        {k: v for k, v in fields.items() if k != name}
            self._sync_organizations(record, at, found, fields)

    def _setting(self, leaf_user_id: str, name: str) -> str:
        """A config service setting for a Leaf user: its own, else its API owner's, else the default."""
        own = self._user_configs.get(leaf_user_id)
        if own is not None and name in own:
            return own[name]
        owner = self._users[leaf_user_id].owner
        changed = self._owner_configs.get(owner)
        return changed[name] if changed is not None and name in changed else SETTINGS_BY_NAME[name].default

    def _sync_organizations(self, record: _CredentialRecord, at: _dt.datetime,
                            found: tuple[UpstreamOrganization, ...], fields: Mapping[str, str] | None) -> None:
        """Bring Leaf's list of the account's organizations up to date with ``found`` (the account's, as the
        check found them), each change an alert; ``fields``: the credential's at the check (None: the credential
        is gone, and so is its list: only the alerts are made as they were).

        A new organization starts SELECTED (organizationDataSync ALL) or PREVIEW (SELECTED_ONLY), or
        BLOCKED when the application cannot reach it; a blocked one becomes BLOCKED, and PREVIEW once
        the grower has granted the access again; one gone from the account leaves the list.
        """
        declared = record.provider.organizations
        assert declared is not None
        reachable = False
        for org in found:
            if not org.blocked:
                reachable = True
                break
        fresh = OrganizationStatus.SELECTED if self._setting(record.leaf_user_id, "organizationDataSync") == "ALL" \
            else OrganizationStatus.PREVIEW
        held = record.organizations
        for org in found:
            before = held.get(org.id)
            if before is None:
                status = OrganizationStatus.BLOCKED if org.blocked else fresh
                kind: str | None = "providerOrganizationCreated"
            elif org.blocked and before.status is not OrganizationStatus.BLOCKED:
                status, kind = OrganizationStatus.BLOCKED, "providerOrganizationBlocked"
            elif not org.blocked and before.status is OrganizationStatus.BLOCKED:
                status, kind = OrganizationStatus.PREVIEW, None  # fixed by the grower: back, to be selected
            else:
                status, kind = before.status, None
            uri = declared.management_uri(fields, org.id, reachable) if fields is not None else ""
            now_held = ProviderOrganization(org.id, org.name, status, uri)
            if now_held != before:
                held[org.id] = now_held
            if kind is not None:
                self._organization_alert(record, kind, now_held, at)
        if len(held) == len(found):  # each found one is held: none is gone
            return
        present = {o.id for o in found}
        for org_id in [i for i in held if i not in present]:
            self._organization_alert(record, "providerOrganizationRemoved", held.pop(org_id), at)

    def _organization_alert(self, record: _CredentialRecord, kind: str, org: ProviderOrganization,
                            at: _dt.datetime) -> None:
        self._add_alert(OrganizationAlert(kind, record.leaf_user_id, record.provider.name, org.provider_org_id,
                                          org.provider_org_name, org.status, at,
                                          self._users[record.leaf_user_id].owner))

    def _add_alert(self, alert: Alert | OrganizationAlert) -> None:
        if self._unsynced:  # their alerts came first
            self._flush_syncs()
        alerts = self._alerts
        alerts.append(alert)
        self._alert_text += _alert_text(alert)
        # dropped in batches, to 10,000 and to 90% of the text bound: appending stays O(1)
        if len(alerts) > MAX_ALERTS + MAX_ALERTS // 10 or self._alert_text > MAX_ALERT_TEXT:
            cut, text = 0, self._alert_text
            while cut < len(alerts) - 1 and (len(alerts) - cut > MAX_ALERTS
                                             or text > MAX_ALERT_TEXT - MAX_ALERT_TEXT // 10):
                text -= _alert_text(alerts[cut])
                cut += 1
            del alerts[:cut]
            self._alerts_dropped += cut
            self._alert_text = text

    def _skip(self, record: _CredentialRecord, following: _dt.datetime, horizon: _dt.datetime) -> _dt.datetime:
        """Skip the checks from ``following`` on whose events would be past the window at once; the first
        check not skipped is returned. Their outcome repeats, so only the last refresh among them is replayed
        (without its event), at the check where running every one of them would have made it."""
        interval = self.options.check_interval
        skipped = (horizon - following) // interval
        refreshing = record.status in (CredentialStatus.OK, CredentialStatus.MISSING_PERMISSION)
        expires = record.access_token_expires_at
        if refreshing and record.provider.oauth2 and expires is not None:
            # every check refreshes once the token has expired: the first at or after ``expires``, then
            # one every ``every`` checks (the token lasts ACCESS_TOKEN_LIFETIME)
            first = max(-((following - expires) // interval), 0)
            every = -(-ACCESS_TOKEN_LIFETIME // interval)
            if first < skipped:
                self._replay_refresh(record, following + (first + (skipped - 1 - first) // every * every) * interval,
                                     every)
        return following + skipped * interval

    def _replay_refresh(self, record: _CredentialRecord, at: _dt.datetime, every: int) -> None:
        # OK or MISSING_PERMISSION: the refreshes of the skipped checks succeeded, each using the token
        upstream = self._upstream(record)
        upstream.mark_used(record.fields, at - every * self.options.check_interval)
        seed = int.from_bytes(self._derived(record, at, _events_at(record, at), b"tokens"))
        answer = upstream.refresh(record.fields, at, seed)
        if answer.status_code == 200:
            self._take_tokens(record, answer, at)

    def _take_tokens(self, record: _CredentialRecord, answer: Answer, at: _dt.datetime,
                     upstream: SimulatedUpstream | None = None) -> None:
        assert answer.access_token is not None and answer.refresh_token is not None
        record.access_token = answer.access_token
        record.access_token_expires_at = at + ACCESS_TOKEN_LIFETIME
        record.fields[(upstream or self._upstream(record)).token_field()] = answer.refresh_token
        if answer.scopes is not None:
            record.scopes = answer.scopes

    def _set_status(self, record: _CredentialRecord, status: CredentialStatus, at: _dt.datetime,
                    answer: Answer | None) -> None:
        changed = status is not record.status
        record.status = status
        if changed and status in _ALERT_TYPES:
            provider = record.provider
            cause = (f"{provider.label} answered {answer.status_code}: {answer.text()}"
                     if answer is not None else "the status was set by the test")
            self._add_alert(Alert(
                type=_ALERT_TYPES[status], credential=record.fields[provider.identifying_field],
                provider=provider.name, credential_id=record.id, leaf_user_id=record.leaf_user_id, status=status,
                api_owner=self._users[record.leaf_user_id].owner,
                timestamp=at, message=f"The {provider.label} credentials of Leaf user {record.leaf_user_id} are "
                                      f"now {status.value}: {cause}",
            ))

    def provider(self, name: str) -> Provider:
        """A provider by its name (``JohnDeere``) or its slug (``john-deere``)."""
        found = self.providers.get(name)
        if found is None:
            found = next((p for p in self.providers.values() if p.slug == name), None)
        if found is None:
            raise err.unknown_provider(name, [p.name for p in self.providers.values()])
        return found

    def _user(self, owner: str, leaf_user_id: str) -> _UserRecord:
        user = self._users.get(leaf_user_id)
        # another owner's user is answered exactly like one that does not exist
        if user is None or user.owner != owner:
            raise err.user_not_found(leaf_user_id)
        return user

    def _credentials(self, owner: str, leaf_user_id: str, provider_name: str) -> _CredentialRecord:
        provider = self.provider(provider_name)
        record = self._user(owner, leaf_user_id).credentials.get(provider.name)
        if record is None:
            raise err.credentials_not_found(leaf_user_id, provider.label)
        self._bring_up(record)
        return record

    # -- direct controls ----------------------------------------------------------------------

    def run_check(self, owner: str, leaf_user_id: str, provider_name: str) -> Credentials:
        """Run a background check now (the regular schedule is unchanged). UNAUTHENTICATED stays."""
        with self._lock:
            now = self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            if record.status is not CredentialStatus.UNAUTHENTICATED:
                self._check(record, now)
            return record.snapshot()

    def set_status(self, owner: str, leaf_user_id: str, provider_name: str, status: CredentialStatus) -> Credentials:
        """Set a credential's status as background processing would, alert included; no event."""
        status = CredentialStatus(status)
        with self._lock:
            now = self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            was_final = record.status is CredentialStatus.UNAUTHENTICATED
            self._set_status(record, status, now, None)
            record.settled = None  # the next check may answer otherwise than the status set here
            if status is CredentialStatus.UNAUTHENTICATED:
                if record.next_check_at is not None:
                    record.next_check_at = None
                    self._drop_schedule_entry()
            elif was_final:
                self._schedule_check(record, now + self.options.check_interval, fresh=True)
            return record.snapshot()

    def control_credential_upstream(self, owner: str, leaf_user_id: str, provider_name: str,
                                    action: Callable[[SimulatedUpstream, Mapping[str, str]], T]) -> T:
        """Change a credential's upstream: ``action(upstream, the credential's current fields)``.

        The state is caught up first, so checks that fell due before now see the old state.
        """
        with self._lock:
            self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            return action(self._upstream(record), record.fields)

    def control_upstream(self, provider_name: str, action: Callable[[SimulatedUpstream], T]) -> T:
        """Change a provider's upstream as a whole (outages, rotation), after catching up."""
        with self._lock:
            self._begin()
            return action(self.upstreams[self.provider(provider_name).name])

    def alerts(self) -> list[Alert]:
        """Every credential alert background processing sent, oldest first."""
        return [a for a in self.alert_log() if isinstance(a, Alert)]

    def organization_alerts(self) -> list[OrganizationAlert]:
        """Every provider organization alert the syncs sent, oldest first."""
        return [a for a in self.alert_log() if isinstance(a, OrganizationAlert)]

    def alert_log(self) -> list[Alert | OrganizationAlert]:
        """The alerts of either kind, oldest first: the newest ``MAX_ALERTS`` (10,000) are kept."""
        with self._lock:
            self._begin()
            self._flush_syncs()
            return list(self._alerts)

    def alerts_since(self, cursor: int) -> tuple[list[Alert | OrganizationAlert], int]:
        """The alerts raised since ``cursor`` (a count of alerts ever raised) that are still kept, and the
        new cursor: what the webhooks read."""
        with self._lock:
            self._begin()
            self._flush_syncs()
            start = max(cursor - self._alerts_dropped, 0)
            return self._alerts[start:], self._alerts_dropped + len(self._alerts)


_UNCHANGED = (0, 0)  # the versions of a provider and a grant no control has touched: most credentials'


def _versions(provider: int, grant: int) -> tuple[int, int]:
    """The pair a settled credential keeps; the common one shared (100,000 credentials: 5.6 MB less)."""
    return _UNCHANGED if provider == 0 and grant == 0 else (provider, grant)


def _alert_text(alert: Alert | OrganizationAlert) -> int:
    """The characters of an alert whose size a client chose."""
    if isinstance(alert, Alert):
        return len(alert.credential) + len(alert.message)
    return len(alert.provider_org_id) + len(alert.provider_org_name)


def _status_for(status_code: int) -> CredentialStatus:
    if status_code == 200:
        return CredentialStatus.OK
    if status_code in (400, 401):
        return CredentialStatus.UNAUTHENTICATED
    if status_code == 403:
        return CredentialStatus.MISSING_PERMISSION
    return CredentialStatus.TEMPORARILY_UNAVAILABLE


def _prune_events(record: _CredentialRecord, now: _dt.datetime) -> None:
    cutoff = now - EVENT_RETENTION  # an event is kept while now - createdDate < 30 days
    cut = bisect.bisect_right(record.events, cutoff, key=lambda e: e.created_date)
    if cut:
        del record.events[:cut]


_encoded_headers: dict[tuple[tuple[str, str], ...], str] = {}  # upstream answers repeat a few header sets


def _headers_text(headers: Mapping[str, str] | str) -> str:
    if isinstance(headers, str):
        return headers
    key = tuple(headers.items())
    text = _encoded_headers.get(key)
    if text is None:
        text = json.dumps(dict(headers))
        if len(_encoded_headers) < 256:
            _encoded_headers[key] = text
    return text


class _DerivedId:
    """An id to derive from the fake's seed when first read: the keyed hash of what names it."""

    __slots__ = ("keyed", "named")

    def __init__(self, keyed: hashlib.blake2b, named: bytes) -> None:
        self.keyed, self.named = keyed, named

    def text(self) -> str:
        h = self.keyed.copy()
        h.update(self.named)
        return id_from(h.digest())


def _created_date(event: CredentialEvent) -> _dt.datetime:
    return event.created_date


def _age_text(record: _CredentialRecord, at: _dt.datetime) -> bytes:
    """The credential and the instant, as the values a check derives name them (see Lifecycle._derived)."""
    age = at - record.created_time
    return f"{record.id}|{age.days}|{age.seconds}|{age.microseconds}|".encode()


def _events_at(record: _CredentialRecord, at: _dt.datetime) -> int:
    """How many of the credential's events are dated ``at``."""
    events = record.events
    if not events or events[-1].created_date < at:
        return 0
    key = lambda e: e.created_date  # noqa: E731
    return bisect.bisect_right(events, at, key=key) - bisect.bisect_left(events, at, key=key)


def _append_event(record: _CredentialRecord, event_id: str, when: _dt.datetime, status_code: int,
                  headers: Mapping[str, str] | str, body: str | BodyInParts) -> CredentialEvent:
    if when.tzinfo is not _dt.timezone.utc or type(when) is not _dt.datetime:
        when = when.astimezone(_dt.timezone.utc)  # else the check's own instant: one object for all its events
    event = CredentialEvent(event_id, when, status_code, _headers_text(headers), body)
    # keep arrival order among equal timestamps: insert after every event not newer
    if not record.events or record.events[-1].created_date <= event.created_date:
        record.events.append(event)
    else:
        index = bisect.bisect_right(record.events, event.created_date, key=lambda e: e.created_date)
        record.events.insert(index, event)
    return event
