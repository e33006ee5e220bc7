"""The fixtures' sample data: plain but realistic values from one seeded ``random.Random``.

It needs nothing beyond the standard library, so the fixtures work without faker, and a seed gives
the same data whether or not faker is installed. Phone numbers are in the fictional 555-01xx range,
e-mail addresses under the reserved example domains.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

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


class SampleData:
    """POST bodies for a Leaf user and John Deere credentials, drawn from ``random.Random(seed)``."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def leaf_user(self) -> dict[str, str]:
        """name, email, phone, address and externalId, like a grower's record."""
        from fake_leaf.testing._samples import FARM_WORDS

        r = self._random
        first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
        town, state, zip_prefix = r.choice(TOWNS)
        road = r.choice(ROADS).format(n=r.randint(4, 99))
        return {
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{r.randint(1, 99)}@{r.choice(EMAIL_DOMAINS)}",
            "phone": f"+1 {r.choice(AREA_CODES)}-555-01{r.randint(0, 99):02d}",
            "address": f"{r.randint(100, 29999)} {road}, {town}, {state} {zip_prefix}{r.randint(0, 99):02d}",
            "externalId": f"{r.choice(LAST_NAMES)} {r.choice(FARM_WORDS)} Farm #{r.randint(1, 9999)}",
        }

    def credentials_body(self, provider: Provider) -> dict[str, str]:
        """A valid POST body for any provider (John Deere's: a client key shaped like 0oa + 17, a secret...)."""
        from fake_leaf.testing._samples import credentials_body

        return credentials_body(provider, self._random)
