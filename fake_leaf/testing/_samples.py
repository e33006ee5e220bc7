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


def _client_id(rng: Draws) -> str:
    return "0oa" + _pick(rng, _ALNUM, 17)


def _token(rng: Draws) -> str:
    return _pick(rng, _TOKEN, 43)


def _api_key(rng: Draws) -> str:
    return _pick(rng, string.hexdigits.lower()[:16], 32)


def _username(rng: Draws) -> str:
    return f"{_pick(rng, string.ascii_lowercase, 8)}@{rng.choice(('farm', 'agro', 'coop'))}.test"


def _password(rng: Draws) -> str:
    return _pick(rng, _ALNUM, 12) + rng.choice("!#%&*?") + str(rng.randrange(10))


def _organization(rng: Draws) -> str:
    return f"{rng.choice(('Creek', 'Ridge', 'Prairie', 'Meadow', 'Valley'))} Farms {rng.randrange(1, 999)}"


def _database_id(rng: Draws) -> str:
    return str(rng.randrange(10_000, 99_999))


def _secret(rng: Draws) -> str:
    return _pick(rng, _TOKEN, 40)


# a field's value by its name (any other name: a secret or key)
_BY_NAME = {
    **dict.fromkeys(("clientKey", "clientId", "publicKey", "apid", "accessTokenClient"), _client_id),
    **dict.fromkeys(("refreshToken", "accessToken"), _token),
    "apiKey": _api_key,
    "username": _username,
    "password": _password,
    **dict.fromkeys(("organizationName", "organizationCode"), _organization),
    "databaseId": _database_id,
}


def field_value(name: str, rng: Draws) -> str:
    """A value that looks like what a provider's field holds, chosen by the field's name."""
    return _BY_NAME.get(name, _secret)(rng)


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
