"""Provider credentials and their event logs: validated from the provider's declared body fields."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from fake_leaf.engine import _errors as err
from fake_leaf.engine._lifecycle import Lifecycle, _append_event, _prune_events
from fake_leaf.engine._models import CredentialEvent, Credentials, CredentialStatus, _CredentialRecord
from fake_leaf.engine._text import json_kind, why_not_text
from fake_leaf.engine._upstream import ACCESS_TOKEN_LIFETIME
from fake_leaf.engine.providers import BodyField, OAuth2, Provider
from fake_leaf.engine.providers._base import access_token

__tracebackhide__ = err.hide_refusals  # pytest shows the test's frames for the fake's refusals


def validate_credentials_body(provider: Provider, body: Mapping[str, object],
                              defaults: Mapping[str, str] | None = None) -> dict[str, str]:
    """The posted fields, defaults filled in, or InvalidInputError naming every broken field.

    ``defaults`` fill in fields the body leaves out even where the provider requires them (an option).
    """
    return _validate(provider.body_fields, provider.user_field, body, defaults or {})


def _validate(declared: Iterable[BodyField], object_name: str, body: Mapping[str, object],
              defaults: Mapping[str, str]) -> dict[str, str]:
    errors: list[err.FieldError] = []
    values: dict[str, str] = {}
    for f in declared:
        value = body.get(f.name)
        # the usual field first: ASCII text, not blank, one of the choices if any (what the checks below pass)
        if type(value) is str and value and value.isascii() and not value.isspace() \
                and (f.choices is None or value in f.choices):
            values[f.name] = value
            continue
        if value is None and f.name in defaults:
            value = defaults[f.name]
        if value is None:
            if f.required:
                errors.append(err.FieldError(object_name, f.name, "NotBlank", "is required"))
            elif f.default is not None:
                values[f.name] = f.default
        elif not isinstance(value, str):
            errors.append(err.FieldError(object_name, f.name, "TypeMismatch",
                                         f"must be a string, got {json_kind(value)}"))
        elif not value.strip():
            errors.append(err.FieldError(object_name, f.name, "NotBlank", "must not be blank"))
        elif (why := why_not_text(value)) is not None:  # could never be given back
            errors.append(err.FieldError(object_name, f.name, "NotReadable", f"the value {why}"))
        elif f.choices is not None and value not in f.choices:
            errors.append(err.FieldError(object_name, f.name, "Pattern",
                                         f"must be one of {' or '.join(f.choices)} exactly, got {value!r}"))
        else:
            values[f.name] = value
    if errors:
        raise err.InvalidInputError(errors)
    return values


_NO_DEFAULTS: Mapping[str, str] = MappingProxyType({})


class CredentialsPart(Lifecycle):
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
            values = validate_credentials_body(provider, body, self._defaults(provider))
            return self._attach(user.id, provider, values, scopes, now)

    def connect_in_one_click(self, owner: str, leaf_user_id: str, provider_name: str,
                             body: Mapping[str, object]) -> Credentials:
        """A one-click connection: Leaf resolves the rest of the credential body from the posted one."""
        provider = self.provider(provider_name)
        one_click = provider.one_click
        if one_click is None:
            raise err.no_one_click(provider.label, [p.name for p in self.providers.values() if p.one_click])
        with self._lock:
            now = self._begin()
            user = self._user(owner, leaf_user_id)
            posted = _validate(one_click.body_fields, "oneClickIntegration", body, {})
            values = {**posted, **{name: make(self.random, posted) for name, make in one_click.made}}
            values = validate_credentials_body(provider, values)  # the same credential as the POST makes
            return self._attach(user.id, provider, values, None, now)

    def _defaults(self, provider: Provider) -> Mapping[str, str]:
        env = self.options.environment_defaults.get(provider.name)
        return {"clientEnvironment": env} if env is not None else _NO_DEFAULTS

    def _attach(self, leaf_user_id: str, provider: Provider, values: dict[str, str],
                scopes: Iterable[str] | None, now: _dt.datetime) -> Credentials:
        user = self._users[leaf_user_id]
        if provider.name in user.credentials and self.options.on_duplicate_credentials == "reject":
            raise err.credentials_already_exist(leaf_user_id, provider.label, provider.path_segment)
        up = provider.upstream
        oauth2 = isinstance(up, OAuth2)
        granted = tuple(scopes) if scopes is not None else up.scopes if isinstance(up, OAuth2) else ()
        for name, make in provider.made:  # what Leaf makes itself (a session, an auth token)
            values[name] = make(self.random, values)
        posted_token = values.get("accessToken") if oauth2 else None
        record = _CredentialRecord(
            id=self._new_id(), provider=provider, leaf_user_id=user.id, status=CredentialStatus.OK,
            created_time=now, fields=values,
            # a posted access token is used until it expires; else the check at creation refreshes one
            access_token=posted_token,
            scopes=granted,
            access_token_expires_at=now + ACCESS_TOKEN_LIFETIME if posted_token else None,
        )
        old = user.credentials.get(provider.name)
        if old is not None:
            self._forget(old)
        upstream = self.upstreams[provider.name]
        shared = upstream.grant_of(values)
        if shared is not None:  # another credential carries the grant: its deferred checks run first
            self._bring_up_all(provider.name, shared)
        user.credentials[provider.name] = record
        self._live[record.id] = record
        self._written(now)
        record.grant = upstream.accept(values, granted, now, record.id)
        self._check(record, now)
        if oauth2 and record.access_token is None:  # the refresh at creation failed: the token Leaf minted stays
            record.access_token = access_token(self.random)
        if record.status is not CredentialStatus.UNAUTHENTICATED:
            self._reschedule(record, now + self.options.check_interval)
        return record.snapshot()

    def get_credentials(self, owner: str, leaf_user_id: str, provider_name: str) -> Credentials:
        with self._lock:
            self._begin()
            return self._credentials(owner, leaf_user_id, provider_name).snapshot()

    def find_credentials(self, owner: str, leaf_user_id: str) -> dict[str, Credentials]:
        """Every provider credential of a user, by provider name."""
        with self._lock:
            self._begin()
            user = self._user(owner, leaf_user_id)
            for c in user.credentials.values():
                self._bring_up(c)
            return {name: c.snapshot() for name, c in user.credentials.items()}

    def delete_credentials(self, owner: str, leaf_user_id: str, provider_name: str) -> None:
        """Delete a credential; its events go with it."""
        with self._lock:
            self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            del self._users[leaf_user_id].credentials[record.provider.name]
            self._forget(record)

    def list_events(self, owner: str, leaf_user_id: str, provider_name: str) -> list[CredentialEvent]:
        """The credential's events younger than 30 days, newest first."""
        with self._lock:
            now = self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            _prune_events(record, now)
            return record.events[::-1]

    def events_page(self, owner: str, leaf_user_id: str, provider_name: str, *, page: int = 0, size: int = 20,
                    descending: bool = True) -> tuple[list[CredentialEvent], int]:
        """One page of the credential's events younger than 30 days (by createdDate), and their count.

        ``size`` is capped at 100; a page past the end is empty.
        """
        size = err.page_size(page, size)
        with self._lock:
            now = self._begin()
            record = self._credentials(owner, leaf_user_id, provider_name)
            _prune_events(record, now)
            events, total = record.events, len(record.events)
            start = page * size  # slices clip numbers of any size
            if not descending:
                return events[start:start + size], total
            if start >= total:
                return [], total
            return events[max(total - start - size, 0):total - start][::-1], total

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
            for name, text in (("body", body), ("headers", headers if isinstance(headers, str) else "")):
                why = why_not_text(text)
                if why is not None:
                    raise ValueError(f"the event's {name} {why}")
            event = _append_event(record, self._event_id(record, when), when, status_code, headers, body)
            _prune_events(record, now)
            return event
