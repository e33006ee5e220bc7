"""The fixtures' sample data: plain but realistic values drawn from digests of one seed.

It needs nothing beyond the standard library, so the fixtures work without faker, and a seed gives
the same data whether or not faker is installed. Phone numbers are in the fictional 555-01xx range,
e-mail addresses under the reserved example domains.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from fake_leaf import Provider

FIRST_NAMES = ("Ada", "Ben", "Carla", "Dale", "Elena", "Frank", "Grace", "Hank", "Iris", "Jake", "Kara", "Luis",
               "Maya", "Nate", "Olga", "Paul", "Rosa", "Sam", "Tess", "Walt")
LAST_NAMES = ("Andersen", "Becker", "Carlson", "Dietrich", "Eriksen", "Fischer", "Garcia", "Hansen", "Johnson",
              "Krause", "Larsen", "Miller", "Nielsen", "Olson", "Peterson", "Schmidt", "Thompson", "Vogel",
              "Weber", "Yoder")
ROADS = ("County Road {n}", "Highway {n}", "Prairie Lane", "Section Line Road", "{n}th Street", "Township Road {n}")
# (town, state, the first three digits of its ZIP codes)
TOWNS = (("Ames", "IA", "500"), ("Hastings", "NE", "689"), ("Salina", "KS", "674"), ("Champaign", "IL", "618"),
         ("Brookings", "SD", "570"), ("Fargo", "ND", "581"), ("Mankato", "MN", "560"), ("Lafayette", "IN", "479"))
AREA_CODES = ("515", "402", "785", "217", "605", "701", "507", "765")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

_T = TypeVar("_T")
_TABLES: dict[str, bytes] = {}  # alphabet -> each byte's character, made once per process


class _Stream:
    """Draws from a stream of SHAKE-256 bytes: a byte a character of a string, eight bytes a number.

    A character is its byte modulo the alphabet's size (a slight bias, nothing a sample value minds), so a
    string is one ``bytes.translate``: a client key and a secret cost about a microsecond, against some
    fifty for as many ``random.Random.choice`` calls.
    """

    __slots__ = ("_at", "_bytes")

    def __init__(self, key: bytes) -> None:
        self._bytes = hashlib.shake_256(key).digest(256)  # a John Deere body takes 100
        self._at = 0

    def _take(self, n: int) -> bytes:
        if self._at + n > len(self._bytes):  # a provider with many long fields: extend the stream
            self._bytes += hashlib.shake_256(self._bytes).digest(len(self._bytes) + n)
        taken = self._bytes[self._at:self._at + n]
        self._at += n
        return taken

    def text(self, alphabet: str, n: int) -> str:
        table = _TABLES.get(alphabet)
        if table is None:
            table = _TABLES[alphabet] = bytes(ord(alphabet[i % len(alphabet)]) for i in range(256))
        return self._take(n).translate(table).decode("ascii")

    def choice(self, seq: Sequence[_T]) -> _T:
        return seq[self.randrange(len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        low, high = (0, start) if stop is None else (start, stop)
        span = -(-(high - low) // step)
        if span <= 0:
            raise ValueError(f"empty range for randrange({start}, {stop}, {step})")
        return low + step * (int.from_bytes(self._take(8), "big") % span)


class SampleData:
    """POST bodies for a Leaf user and John Deere credentials, drawn from digests of the seed and a counter.

    One BLAKE2b digest a record instead of a seeded ``random.Random`` (setting one up and drawing a
    dozen values from it cost a fixture about 30 us): the same seed gives the same records, in order.
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._drawn = 0

    def _digest(self, size: int) -> bytes:
        self._drawn += 1
        return hashlib.blake2b(f"{self._seed}:{self._drawn}".encode(), digest_size=size).digest()

    def leaf_user(self) -> dict[str, str]:
        """name, email, phone, address and externalId, like a grower's record."""
        from fake_leaf.testing._samples import FARM_WORDS

        # each draw the remainder of a division of the digest's 128 bits by the number of choices, in turn (the
        # draws take 87 bits)
        n = int.from_bytes(self._digest(16), "big")
        n, first = divmod(n, len(FIRST_NAMES))
        n, last = divmod(n, len(LAST_NAMES))
        n, town = divmod(n, len(TOWNS))
        n, road = divmod(n, len(ROADS))
        n, road_number = divmod(n, 96)
        n, email_number = divmod(n, 99)
        n, domain = divmod(n, len(EMAIL_DOMAINS))
        n, area = divmod(n, len(AREA_CODES))
        n, line = divmod(n, 100)
        n, house = divmod(n, 29900)
        n, zip_end = divmod(n, 100)
        n, farm_name = divmod(n, len(LAST_NAMES))
        n, farm_word = divmod(n, len(FARM_WORDS))
        farm_number = n % 9999
        first_name, last_name = FIRST_NAMES[first], LAST_NAMES[last]
        town_name, state, zip_prefix = TOWNS[town]
        return {
            "name": f"{first_name} {last_name}",
            "email": f"{first_name.lower()}.{last_name.lower()}{1 + email_number}@{EMAIL_DOMAINS[domain]}",
            "phone": f"+1 {AREA_CODES[area]}-555-01{line:02d}",
            "address": f"{100 + house} {ROADS[road].format(n=4 + road_number)}, {town_name}, {state} "
                       f"{zip_prefix}{zip_end:02d}",
            "externalId": f"{LAST_NAMES[farm_name]} {FARM_WORDS[farm_word]} Farm #{1 + farm_number}",
        }

    def credentials_body(self, provider: Provider) -> dict[str, str]:
        """A valid POST body for any provider (John Deere's: a client key shaped like 0oa + 17, a secret...)."""
        from fake_leaf.testing._samples import credentials_body

        return credentials_body(provider, _Stream(self._digest(16)))
