"""Background processing: checks against each provider's simulated upstream, statuses, alerts, events."""

from __future__ import annotations

import bisect
import datetime as _dt
import heapq
import json
import warnings
from collections.abc import Callable, Mapping
from typing import TypeVar

from fake_leaf.engine import _errors as err
from fake_leaf.engine._ids import new_id
from fake_leaf.engine._models import (
    Alert,
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
from fake_leaf.engine._upstream import ACCESS_TOKEN_LIFETIME, REFRESH_TOKEN_IDLE_LIMIT, Answer, SimulatedUpstream
from fake_leaf.engine.providers import Provider

EVENT_RETENTION = _dt.timedelta(days=30)
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
        if held is not None and now < held - CLOCK_SLACK and not self._warned_clock_back:
            self._warned_clock_back = True
            warnings.warn(err.clock_went_back(held, now), ClockWentBackWarning, stacklevel=4)
        self._catch_up(now)
        return now

    def _written(self, now: _dt.datetime) -> None:
        if self._held_since is None or now > self._held_since:
            self._held_since = now

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
            _prune_events(record, now)
            if record.status is CredentialStatus.UNAUTHENTICATED:
                continue  # final until deleted: no more checks
            following = due + interval
            if credential_id in checked_once and following < horizon and interval < REFRESH_TOKEN_IDLE_LIMIT:
                skipped = (horizon - following) // interval
                last_skipped = following + (skipped - 1) * interval
                self._replay_refresh(record, last_skipped)
                following += skipped * interval
            checked_once.add(credential_id)
            self._schedule_check(record, following)

    def _upstream(self, record: _CredentialRecord) -> SimulatedUpstream:
        return self.upstreams[record.provider.name]

    def _check(self, record: _CredentialRecord, at: _dt.datetime) -> None:
        """One background check: the upstream calls it makes, each an event; the last sets the status."""
        valid = record.access_token_expires_at is not None and record.access_token_expires_at > at
        answers = self._upstream(record).check(record.fields, valid, at)
        for answer in answers:
            _append_event(record, at, answer.status_code, answer.headers, answer.body)
            if answer.access_token is not None:
                self._take_tokens(record, answer, at)
        last = answers[-1]
        self._set_status(record, _status_for(last.status_code), at, last)
        if record.status is CredentialStatus.UNAUTHENTICATED:
            record.next_check_at = None  # final until the credential is deleted
        elif last.status_code in (200, 403) and record.provider.organizations is not None:
            self._sync_organizations(record, at)  # the token works: Leaf reads the account's organizations

    def _setting(self, leaf_user_id: str, name: str) -> str:
        """A config service setting for a Leaf user: its own, else its API owner's, else the default."""
        own = self._user_configs.get(leaf_user_id, {})
        if name in own:
            return own[name]
        owner = self._users[leaf_user_id].owner
        return self._owner_configs.get(owner, {}).get(name, SETTINGS_BY_NAME[name].default)

    def _sync_organizations(self, record: _CredentialRecord, at: _dt.datetime) -> None:
        """Bring Leaf's list of the account's organizations up to date, each change an alert.

        A new organization starts SELECTED (organizationDataSync ALL) or PREVIEW (SELECTED_ONLY), or
        BLOCKED when the application cannot reach it; a blocked one becomes BLOCKED, and PREVIEW once
        the grower has granted the access again; one gone from the account leaves the list.
        """
        declared = record.provider.organizations
        assert declared is not None
        found = self._upstream(record).organizations(record.fields)
        reachable = any(not o.blocked for o in found)
        fresh = OrganizationStatus.SELECTED if self._setting(record.leaf_user_id, "organizationDataSync") == "ALL" \
            else OrganizationStatus.PREVIEW
        held = record.organizations
        for org in found:
            uri = declared.management_uri(record.fields, org.id, reachable)
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
            now_held = ProviderOrganization(org.id, org.name, status, uri)
            if now_held != before:
                held[org.id] = now_held
            if kind is not None:
                self._organization_alert(record, kind, now_held, at)
        present = {o.id for o in found}
        for org_id in [i for i in held if i not in present]:
            self._organization_alert(record, "providerOrganizationRemoved", held.pop(org_id), at)

    def _organization_alert(self, record: _CredentialRecord, kind: str, org: ProviderOrganization,
                            at: _dt.datetime) -> None:
        self._alerts.append(OrganizationAlert(
            type=kind, leaf_user_id=record.leaf_user_id, provider=record.provider.name,
            provider_org_id=org.provider_org_id, provider_org_name=org.provider_org_name, status=org.status,
            timestamp=at, api_owner=self._users[record.leaf_user_id].owner))

    def _replay_refresh(self, record: _CredentialRecord, at: _dt.datetime) -> None:
        # OK or MISSING_PERMISSION: the refreshes of the skipped checks succeeded, each using the token
        refreshing = record.status in (CredentialStatus.OK, CredentialStatus.MISSING_PERMISSION)
        if refreshing and record.provider.oauth2 and record.access_token_expires_at is not None \
                and record.access_token_expires_at <= at:
            upstream = self._upstream(record)
            upstream.mark_used(record.fields, at - self.options.check_interval)
            answer = upstream.refresh(record.fields, at)
            if answer.status_code == 200:
                self._take_tokens(record, answer, at)

    def _take_tokens(self, record: _CredentialRecord, answer: Answer, at: _dt.datetime) -> None:
        assert answer.access_token is not None and answer.refresh_token is not None
        record.access_token = answer.access_token
        record.access_token_expires_at = at + ACCESS_TOKEN_LIFETIME
        record.fields[self._upstream(record).token_field()] = answer.refresh_token
        if answer.scopes is not None:
            record.scopes = answer.scopes

    def _set_status(self, record: _CredentialRecord, status: CredentialStatus, at: _dt.datetime,
                    answer: Answer | None) -> None:
        changed = status is not record.status
        record.status = status
        if changed and status in _ALERT_TYPES:
            provider = record.provider
            cause = (f"{provider.label} answered {answer.status_code}: {answer.body}"
                     if answer is not None else "the status was set by the test")
            self._alerts.append(Alert(
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
            if status is CredentialStatus.UNAUTHENTICATED:
                record.next_check_at = None
            elif was_final:
                self._schedule_check(record, now + self.options.check_interval)
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
        """Every alert of either kind, oldest first: what the webhooks deliver."""
        with self._lock:
            self._begin()
            return list(self._alerts)


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


def _append_event(record: _CredentialRecord, when: _dt.datetime, status_code: int,
                  headers: Mapping[str, str] | str, body: str) -> CredentialEvent:
    event = CredentialEvent(new_id(), when.astimezone(_dt.timezone.utc), status_code, _headers_text(headers), body)
    # keep arrival order among equal timestamps: insert after every event not newer
    if not record.events or record.events[-1].created_date <= event.created_date:
        record.events.append(event)
    else:
        index = bisect.bisect_right(record.events, event.created_date, key=lambda e: e.created_date)
        record.events.insert(index, event)
    return event
