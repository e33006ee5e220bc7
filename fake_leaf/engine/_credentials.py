"""Provider credentials and their event logs: validated from the provider's declared body fields."""

from __future__ import annotations

import datetime as _dt
import secrets
from collections.abc import Iterable, Mapping

from fake_leaf.engine import _errors as err
from fake_leaf.engine._ids import new_id
from fake_leaf.engine._lifecycle import Lifecycle, _append_event, _prune_events
from fake_leaf.engine._models import CredentialEvent, Credentials, CredentialStatus, _CredentialRecord
from fake_leaf.engine._text import why_not_text
from fake_leaf.engine.providers import OAuth2, Provider


def validate_credentials_body(provider: Provider, body: Mapping[str, object]) -> dict[str, str]:
    """The posted fields, defaults filled in, or InvalidInputError naming every broken field."""
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
        elif (why := why_not_text(value)) is not None:  # could never be given back
            errors.append(err.FieldError(provider.user_field, f.name, "NotReadable", f"the value {why}"))
        elif f.choices is not None and value not in f.choices:
            errors.append(err.FieldError(provider.user_field, f.name, "Pattern",
                                         f"must be one of {' or '.join(f.choices)} exactly, got {value!r}"))
        else:
            values[f.name] = value
    if errors:
        raise err.InvalidInputError(errors)
    return values


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
            values = validate_credentials_body(provider, body)
            if provider.name in user.credentials and self.options.on_duplicate_credentials == "reject":
                raise err.credentials_already_exist(leaf_user_id, provider.label, provider.path_segment)
            up = provider.upstream
            oauth2 = isinstance(up, OAuth2)
            granted = tuple(scopes) if scopes is not None else up.scopes if isinstance(up, OAuth2) else ()
            record = _CredentialRecord(
                id=new_id(), provider=provider, leaf_user_id=user.id, status=CredentialStatus.OK,
                created_time=now, fields=values,
                # the access token is the fake's own until the first check refreshes it, at creation
                access_token=(values.get("accessToken") or secrets.token_urlsafe(48)) if oauth2 else None,
                scopes=granted,
            )
            old = user.credentials.get(provider.name)
            if old is not None:
                self._forget(old)
            user.credentials[provider.name] = record
            self._live[record.id] = record
            self._written(now)
            self.upstreams[provider.name].accept(values, granted, now)
            self._check(record, now)
            if record.status is not CredentialStatus.UNAUTHENTICATED:
                self._schedule_check(record, now + self.options.check_interval)
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
            event = _append_event(record, when, status_code, headers, body)
            _prune_events(record, now)
            return event
