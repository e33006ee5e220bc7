"""Realistic sample values shaped per provider, from any ``random.Random`` (no Faker needed)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Protocol, TypeVar

from fake_leaf.engine.providers import Provider

_T = TypeVar("_T")


class Draws(Protocol):
    """Where sample values are drawn from: a ``random.Random``, or anything with its ``choice`` and ``randrange``.

    A source may also draw a whole string at once (``text(alphabet, n)``): the plugin's digest-based one does,
    at a fraction of the cost of ``n`` single choices.
    """

    def choice(self, seq: Sequence[_T]) -> _T: ...

    def randrange(self, start: int, stop: int | None = ..., step: int = ...) -> int: ...

FARM_WORDS = ("Creek", "Ridge", "Valley", "Prairie", "Meadow", "Hollow", "Bend", "Acres", "Fields", "Grove")
_ALNUM = string.ascii_letters + string.digits
_TOKEN = _ALNUM + "-_"


def _pick(rng: Draws, alphabet: str, n: int) -> str:
    text = getattr(rng, "text", None)
    if text is not None:
        return str(text(alphabet, n))
    return "".join(rng.choice(alphabet) for _ in range(n))


def field_value(name: str, rng: Draws) -> str:
    """A value that looks like what a provider's field holds, chosen by the field's name."""
    if name in ("clientKey", "clientId", "publicKey", "apid", "accessTokenClient"):
        return "0oa" + _pick(rng, _ALNUM, 17)
    if name in ("refreshToken", "accessToken"):
        return _pick(rng, _TOKEN, 43)
    if name == "apiKey":
        return _pick(rng, string.hexdigits.lower()[:16], 32)
    if name == "username":
        return f"{_pick(rng, string.ascii_lowercase, 8)}@{rng.choice(('farm', 'agro', 'coop'))}.test"
    if name == "password":
        return _pick(rng, _ALNUM, 12) + rng.choice("!#%&*?") + str(rng.randrange(10))
    if name in ("organizationName", "organizationCode"):
        return f"{rng.choice(('Creek', 'Ridge', 'Prairie', 'Meadow', 'Valley'))} Farms {rng.randrange(1, 999)}"
    if name == "databaseId":
        return str(rng.randrange(10_000, 99_999))
    return _pick(rng, _TOKEN, 40)  # secrets and keys


def credentials_body(provider: Provider, rng: Draws, *,
                     client_environment: str | None = None) -> dict[str, str]:
    """A valid POST body for ``provider``: every field it declares (an environment of its own choices)."""
    body: dict[str, str] = {}
    for f in provider.body_fields:
        if f.choices:
            body[f.name] = client_environment if client_environment in f.choices else f.default or f.choices[0]
        else:
            body[f.name] = field_value(f.name, rng)
    return body
