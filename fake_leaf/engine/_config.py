"""Leaf's config service: each API owner's settings and a Leaf user's own, which take precedence."""

from __future__ import annotations

from collections.abc import Mapping

from fake_leaf.engine import _errors as err
from fake_leaf.engine._lifecycle import Lifecycle
from fake_leaf.engine._settings import SETTINGS, SETTINGS_BY_NAME

__tracebackhide__ = err.hide_refusals  # pytest shows the test's frames for the fake's refusals


def _settings(body: Mapping[str, object]) -> dict[str, str]:
    """The declared settings a body sets, each checked; other fields are ignored, as Spring does."""
    errors: list[err.FieldError] = []
    values: dict[str, str] = {}
    for name, value in body.items():
        setting = SETTINGS_BY_NAME.get(name)
        if setting is None:
            continue
        if value not in setting.choices:  # null too: a setting can be changed, never emptied
            errors.append(err.FieldError("configuration", name, "Pattern",
                                         f"must be {' or '.join(setting.choices)}, got {str(value)[:100]!r}"))
        else:
            values[name] = str(value)
    if errors:
        raise err.InvalidInputError(errors)
    return values


class ConfigsPart(Lifecycle):
    def owner_config(self, owner: str) -> dict[str, str]:
        """Every setting of the API owner: the ones it changed, the defaults for the rest."""
        with self._lock:
            self._begin()
            changed = self._owner_configs.get(owner, {})
            return {s.name: changed.get(s.name, s.default) for s in SETTINGS}

    def update_owner_config(self, owner: str, body: Mapping[str, object]) -> dict[str, str]:
        values = _settings(body)
        with self._lock:
            self._begin()  # checks that fell due before now ran under the old setting: not retroactive
            self._flush_syncs()  # so did the syncs of the checks that ran
            self._owner_configs.setdefault(owner, {}).update(values)
            return self.owner_config(owner)

    def _own(self, owner: str, leaf_user_id: str) -> dict[str, str] | None:
        """A Leaf user's own settings, or None; the state caught up and the user checked first (lock held)."""
        self._begin()
        self._flush_syncs()  # the syncs of the checks that ran read the settings of their time
        self._user(owner, leaf_user_id)
        return self._user_configs.get(leaf_user_id)

    def user_config(self, owner: str, leaf_user_id: str) -> dict[str, str]:
        """The settings a Leaf user has of its own (the rest it inherits from its API owner)."""
        with self._lock:
            own = self._own(owner, leaf_user_id)
            if own is None:
                raise err.config_not_found(leaf_user_id)
            return dict(own)

    def create_user_config(self, owner: str, leaf_user_id: str, body: Mapping[str, object]) -> dict[str, str]:
        values = _settings(body)
        with self._lock:
            if self._own(owner, leaf_user_id) is not None:
                raise err.config_exists(leaf_user_id)
            self._user_configs[leaf_user_id] = values
            return dict(values)

    def update_user_config(self, owner: str, leaf_user_id: str, body: Mapping[str, object]) -> dict[str, str]:
        values = _settings(body)
        with self._lock:
            own = self._own(owner, leaf_user_id)
            if own is None:
                raise err.config_not_found(leaf_user_id)
            own.update(values)
            return dict(own)

    def delete_user_config(self, owner: str, leaf_user_id: str) -> None:
        with self._lock:
            if self._own(owner, leaf_user_id) is None:
                raise err.config_not_found(leaf_user_id)
            del self._user_configs[leaf_user_id]
