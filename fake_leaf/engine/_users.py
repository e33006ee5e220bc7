"""Leaf users: create, read, replace, delete, and pages of them that cost the same at any size."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping

from fake_leaf.engine import _errors as err
from fake_leaf.engine._lifecycle import Lifecycle
from fake_leaf.engine._models import USER_FIELDS, LeafUser, _UserRecord
from fake_leaf.engine._text import json_kind, shorten, why_not_text

__tracebackhide__ = err.hide_refusals  # pytest shows the test's frames for the fake's refusals

SORTABLE_USER_FIELDS: tuple[str, ...] = ("id", *USER_FIELDS)
MAX_PAGE_SIZE = err.MAX_PAGE_SIZE


def _user_fields(body: Mapping[str, object]) -> dict[str, str | None]:
    fields = {name: body.get(name) for name in USER_FIELDS}
    for value in fields.values():
        if value is not None and (type(value) is not str or not value.isascii()):
            return _checked_user_fields(body)  # the usual body (ASCII strings or nulls) needs no more look
    return fields  # type: ignore[return-value]  # every value is a str or None (checked just above)


def _checked_user_fields(body: Mapping[str, object]) -> dict[str, str | None]:
    errors: list[err.FieldError] = []
    fields: dict[str, str | None] = {}
    for name in USER_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(err.FieldError("leafUser", name, "TypeMismatch",
                                         f"must be a string or null, got {json_kind(value)}"))
        elif value is not None and (why := why_not_text(value)) is not None:  # could never be given back
            errors.append(err.FieldError("leafUser", name, "NotReadable", f"the value {why}"))
        fields[name] = value if isinstance(value, str) else None
    if errors:
        raise err.InvalidInputError(errors)
    return fields


def _sort_value(user: _UserRecord, name: str) -> str | None:
    return user.id if name == "id" else user.fields[name]


class Users(Lifecycle):
    """Each owner's users in creation order, with an exact-match index per field for the filters."""

    def _owner_users(self, owner: str) -> dict[str, _UserRecord]:
        try:
            return self._users_by_owner[owner]
        except KeyError:
            raise ValueError(f"no API owner {owner!r}; add it with add_api_owner") from None

    def _index(self, user: _UserRecord, add: bool) -> None:
        """Add the user to (or take it from) its owner's index, once a filter has made it (``_owner_index``)."""
        by_field = self._user_index.get(user.owner)
        if by_field is not None:
            _index_into(by_field, user, add)
        if add:
            self._indexed += 1
            user.indexed = self._indexed
        self._user_versions[user.owner] = self._user_versions.get(user.owner, 0) + 1

    def _owner_index(self, owner: str) -> dict[str, dict[str | None, _UserRecord | dict[str, _UserRecord]]]:
        """The owner's index: field -> value -> the users with it, in the order they came (to it: a user whose
        fields were replaced comes again). Made at the first filter on the owner's users, from the order each
        user was last indexed in, so it is the index that indexing every user as it came would have made;
        kept up to date from then on. A value only one user has maps to that user alone: most names and
        emails are unique, and a dict each would cost 100,000 users 17 MB."""
        by_field = self._user_index.get(owner)
        if by_field is None:
            by_field = {}
            for user in sorted(self._owner_users(owner).values(), key=_indexed):
                _index_into(by_field, user, True)
            self._user_index[owner] = by_field
        return by_field

    def owner_of(self, leaf_user_id: str) -> str:
        """The API owner of a Leaf user (for the control plane, which acts for every owner)."""
        with self._lock:
            user = self._users.get(leaf_user_id)
            if user is None:
                raise err.user_not_found(leaf_user_id)
            return user.owner

    def create_user(self, owner: str, body: Mapping[str, object]) -> LeafUser:
        """Create a Leaf user from a body of Leaf fields (all optional strings, no ``id``)."""
        with self._lock:
            now = self._begin()
            users = self._owner_users(owner)
            if body.get("id") is not None:
                raise err.id_exists()
            user = _UserRecord(self._new_id(), owner, _user_fields(body))
            self._users[user.id] = user
            users[user.id] = user
            self._index(user, add=True)
            self._written(now)
            return user.snapshot()

    def get_user(self, owner: str, leaf_user_id: str) -> LeafUser:
        with self._lock:
            self._begin()
            return self._user(owner, leaf_user_id).snapshot()

    def replace_user(self, owner: str, body: Mapping[str, object]) -> LeafUser:
        """PUT semantics: every user field is replaced, and so are the credentials.

        A provider's field that carries ``{"id": <the user's credential id>}`` keeps that credential;
        one left out or null drops it with its events (unless ``put_without_credentials`` is "keep").
        """
        with self._lock:
            now = self._begin()
            leaf_user_id = body.get("id")
            if leaf_user_id is None:
                raise err.id_null()
            if not isinstance(leaf_user_id, str):
                raise err.InvalidInputError([err.FieldError("leafUser", "id", "TypeMismatch", "must be a string")])
            user = self._user(owner, leaf_user_id)
            fields = _user_fields(body)
            dropped = self._dropped_by_put(user, body)  # checked before anything changes
            self._set_fields(user, fields)
            for name in dropped:
                self._forget(user.credentials.pop(name))
            self._written(now)
            return user.snapshot()

    def _dropped_by_put(self, user: _UserRecord, body: Mapping[str, object]) -> list[str]:
        """The providers whose credentials a PUT body drops; a 400 for a field that names no credential of the user."""
        errors: list[err.FieldError] = []
        dropped: list[str] = []
        for provider in self.providers.values():
            value = body.get(provider.user_field)
            record = user.credentials.get(provider.name)
            if value is None:
                if record is not None and self.options.put_without_credentials == "drop":
                    dropped.append(provider.name)
            elif not isinstance(value, dict):
                errors.append(err.FieldError("leafUser", provider.user_field, "TypeMismatch",
                                             f"must be an object with the id of the user's {provider.label} "
                                             f"credentials, or null, got {json_kind(value)}"))
            elif record is None or value.get("id") != record.id:
                has = (f"its {provider.label} credentials have the id {record.id!r}" if record is not None
                       else f"it has no {provider.label} credentials")
                sent = value.get("id")
                got = f"the id {shorten(sent, 100)!r}" if isinstance(sent, str) else f"{json_kind(sent)} as id" \
                    if "id" in value else "no id"
                errors.append(err.FieldError(
                    "leafUser", provider.user_field, "Invalid",
                    f"keeps credentials by their id, got {got} but {has}; leave the field out (or null) to drop "
                    f"them, and POST new ones to /users/{{id}}/{provider.path_segment}"))
        if errors:
            raise err.InvalidInputError(errors)
        return dropped

    def update_user(self, owner: str, leaf_user_id: str, body: Mapping[str, object]) -> LeafUser:
        """PATCH semantics (JSON merge patch): the body's user fields replace the user's, null clears one, the
        rest stays, credentials included."""
        with self._lock:
            now = self._begin()
            user = self._user(owner, leaf_user_id)
            body_id = body.get("id")
            if body_id is not None and body_id != user.id:
                raise err.id_invalid(user.id, body_id)
            fields = _user_fields({**user.fields, **{k: body[k] for k in USER_FIELDS if k in body}})
            self._set_fields(user, fields)
            self._written(now)
            return user.snapshot()

    def _set_fields(self, user: _UserRecord, fields: dict[str, str | None]) -> None:
        self._index(user, add=False)
        user.fields = fields
        user._snapshot = None  # noqa: SLF001 (the record's cache, kept by this service)
        self._index(user, add=True)

    def delete_user(self, owner: str, leaf_user_id: str) -> None:
        """Delete a user; all of its credentials and their events go with it."""
        with self._lock:
            self._begin()
            user = self._user(owner, leaf_user_id)
            # first: a credential's deferred checks run as they would have, while its user (and its
            # settings, which an organization sync reads) still exists
            for record in user.credentials.values():
                self._forget(record)
            self._flush_syncs()  # those of credentials replaced earlier too, while the user exists
            user.credentials.clear()
            del self._users[user.id]
            del self._users_by_owner[owner][user.id]
            self._index(user, add=False)
            self._user_configs.pop(user.id, None)

    def all_users(self, owner: str) -> list[LeafUser]:
        """Every user of the owner, oldest first."""
        with self._lock:
            self._begin()
            return [u.snapshot() for u in self._owner_users(owner).values()]

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
        most significant; a null sorts after every value (before, descending). ``size`` is capped at 100.
        """
        filters = dict(filters or {})
        order = tuple(sort)
        for name in filters:
            if name not in USER_FIELDS:
                raise err.bad_query(name, f"cannot filter on {shorten(name, 100)!r}; filters are "
                                    f"{', '.join(USER_FIELDS)}")
        for name, _ in order:
            if name not in SORTABLE_USER_FIELDS:
                raise err.bad_query("sort", f"cannot sort on {shorten(name, 100)!r}; sortable fields are "
                                    f"{', '.join(SORTABLE_USER_FIELDS)}")
        size = err.page_size(page, size)
        with self._lock:
            self._begin()
            if order:
                users = self._sorted(owner, filters, order)
                start = page * size
                return [u.snapshot() for u in users[start:start + size]], len(users)
            matching = self._matching(owner, filters)
            start = page * size
            if start >= len(matching):  # past the end, however far (islice refuses numbers past sys.maxsize)
                return [], len(matching)
            chosen = itertools.islice(matching, start, start + size)
            return [u.snapshot() for u in chosen], len(matching)

    def _matching(self, owner: str, filters: dict[str, str]) -> Collection[_UserRecord]:
        users = self._owner_users(owner)
        if not filters:
            return users.values()
        index = self._owner_index(owner)
        candidates = [_members(index.get(name, {}).get(value)) for name, value in filters.items()]
        smallest = min(candidates, key=len)
        if len(candidates) == 1:
            return smallest.values()
        return [u for u in smallest.values() if all(u.fields[k] == v for k, v in filters.items())]

    def _sorted(self, owner: str, filters: dict[str, str], order: tuple[tuple[str, bool], ...]) -> list[_UserRecord]:
        """The owner's users that match, in ``order``: kept until the owner's users change, so a client
        paging through one query pays for the sort once."""
        version = self._user_versions.get(owner, 0)
        key = (owner, tuple(sorted(filters.items())), order)
        cached = self._sorted_cache.get(key)
        if cached is None or cached[0] != version:
            cached = (version, _sort(list(self._matching(owner, filters)), order))
            if len(self._sorted_cache) >= 64:  # a few queries at a time are what clients page through
                self._sorted_cache.clear()
            self._sorted_cache[key] = cached
        return cached[1]


def _indexed(user: _UserRecord) -> int:
    return user.indexed


def _index_into(by_field: dict[str, dict[str | None, _UserRecord | dict[str, _UserRecord]]], user: _UserRecord,
                add: bool) -> None:
    for name in USER_FIELDS:
        by_value = by_field.setdefault(name, {})
        value = user.fields[name]
        same = by_value.get(value)
        if add:
            if same is None:
                by_value[value] = user
            elif isinstance(same, _UserRecord):
                by_value[value] = {same.id: same, user.id: user}
            else:
                same[user.id] = user
        elif same is user:
            del by_value[value]
        elif isinstance(same, dict):
            same.pop(user.id, None)
            if len(same) == 1:
                by_value[value] = next(iter(same.values()))


def _members(entry: _UserRecord | dict[str, _UserRecord] | None) -> dict[str, _UserRecord]:
    """The users an index entry stands for, in the order they came."""
    if entry is None:
        return {}
    return {entry.id: entry} if isinstance(entry, _UserRecord) else entry


def _sort(users: list[_UserRecord], order: tuple[tuple[str, bool], ...]) -> list[_UserRecord]:
    for name, descending in reversed(order):  # stable sorts, least significant first
        present = [u for u in users if _sort_value(u, name) is not None]
        absent = [u for u in users if _sort_value(u, name) is None]
        present.sort(key=lambda u: str(_sort_value(u, name)), reverse=descending)
        users = present + absent if not descending else absent + present
    return users

