"""The settings of Leaf's config service that change what the fake does: one declaration each."""

from __future__ import annotations

from typing import NamedTuple


class Setting(NamedTuple):
    """One configuration of Leaf's config service: its name, the values it takes, the API owner's default."""

    name: str
    choices: tuple[str, ...]
    default: str


SETTINGS: tuple[Setting, ...] = (
    # which provider organizations Leaf processes: all of a new one (SELECTED), or only the organization
    # itself until the client selects it (PREVIEW)
    Setting("organizationDataSync", ("ALL", "SELECTED_ONLY"), "ALL"),
)
SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
