"""The provider registry: every provider fake-leaf serves, one module each, one line here each."""

from __future__ import annotations

from fake_leaf.engine.providers import (
    ag_leader,
    agvance,
    claas,
    climate_field_view,
    cnhi,
    cnhi_field_ops,
    john_deere,
    lindsay,
    panorama,
    raven,
    raven_slingshot,
    sentera,
    stara,
    trimble,
    valley,
)
from fake_leaf.engine.providers._base import (
    ENVIRONMENTS,
    ApiKey,
    BodyField,
    OAuth2,
    Provider,
    Upstream,
    UsernamePassword,
)

PROVIDERS: tuple[Provider, ...] = (
    john_deere.PROVIDER,
    climate_field_view.PROVIDER,
    cnhi.PROVIDER,
    cnhi_field_ops.PROVIDER,
    trimble.PROVIDER,
    ag_leader.PROVIDER,
    raven.PROVIDER,
    raven_slingshot.PROVIDER,
    stara.PROVIDER,
    sentera.PROVIDER,
    agvance.PROVIDER,
    lindsay.PROVIDER,
    valley.PROVIDER,
    panorama.PROVIDER,
    claas.PROVIDER,
)
JOHN_DEERE = john_deere.PROVIDER

__all__ = ["ENVIRONMENTS", "JOHN_DEERE", "PROVIDERS", "ApiKey", "BodyField", "OAuth2", "Provider", "Upstream",
           "UsernamePassword"]
