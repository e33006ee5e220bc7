"""A Faker provider of realistic Leaf and John Deere values: ``faker.add_provider(LeafProvider)``."""

from __future__ import annotations

from faker.providers import BaseProvider

from fake_leaf.engine import JOHN_DEERE, Provider
from fake_leaf.engine.providers import PROVIDERS
from fake_leaf.testing import _samples
from fake_leaf.testing._samples import FARM_WORDS

SCOPES = ("ag1", "ag2", "ag3", "eq1", "eq2", "files", "org1", "org2", "work1", "work2", "offline_access")
ORG_WORDS = ("Farms", "Ag", "Land Co.", "Partners", "Family Farm", "Grain")


class LeafProvider(BaseProvider):
    """Values shaped like Leaf's and John Deere's, drawn from the Faker's own (seedable) random."""

    def leaf_user_id(self) -> str:
        """A lower-case UUID, as Leaf makes them."""
        return str(self.generator.uuid4())

    def john_deere_client_key(self) -> str:
        """An application id as John Deere's developer portal shows it (0oa + 17 characters)."""
        return _samples.field_value("clientKey", self.generator.random)

    def john_deere_client_secret(self) -> str:
        return _samples.field_value("clientSecret", self.generator.random)

    def john_deere_refresh_token(self) -> str:
        return _samples.field_value("refreshToken", self.generator.random)

    def john_deere_access_token(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
        return "eyJraWQiOi" + ".".join(self.lexify("?" * n, letters=alphabet) for n in (60, 200, 86))

    def john_deere_scopes(self) -> list[str]:
        chosen = self.random_elements(SCOPES[:-1], length=self.random_int(1, 5), unique=True)
        return [*chosen, "offline_access"]

    def john_deere_organization_id(self) -> str:
        """An organization id as John Deere's Operations Center numbers them."""
        return str(self.random_int(100_000, 9_999_999))

    def organization_name(self) -> str:
        """A grower's organization, as growers name them in John Deere's or Trimble's account."""
        return f"{self.generator.last_name()} {self.random_element(FARM_WORDS)} {self.random_element(ORG_WORDS)}"

    def organization_status(self) -> str:
        """One of Leaf's organization statuses: SELECTED, PREVIEW or BLOCKED."""
        return str(self.random_element(("SELECTED", "PREVIEW", "BLOCKED")))

    def grower_name(self) -> str:
        return str(self.generator.name())

    def farm_name(self) -> str:
        return f"{self.generator.last_name()} {self.random_element(FARM_WORDS)} Farm"

    def leaf_user(self) -> dict[str, str]:
        """A POST /users body: name, email, phone, address, externalId."""
        name = self.grower_name()
        return {
            "name": name,
            "email": str(self.generator.email()),
            "phone": str(self.generator.phone_number()),
            "address": str(self.generator.address()).replace("\n", ", "),
            "externalId": f"{self.farm_name()} #{self.random_int(1, 9999)}",
        }

    def john_deere_credentials_body(self, client_environment: str = "STAGE") -> dict[str, str]:
        """A valid POST body for John Deere credentials."""
        return self.credentials_body(JOHN_DEERE, client_environment)

    def credentials_body(self, provider: Provider | str = "JohnDeere", client_environment: str | None = None
                         ) -> dict[str, str]:
        """A valid POST body for any provider's credentials (a ``Provider``, its name or its slug)."""
        if isinstance(provider, str):
            named = [p for p in PROVIDERS if provider in (p.name, p.slug)]
            if not named:
                raise ValueError(f"no provider {provider!r}; the providers are {', '.join(p.name for p in PROVIDERS)}")
            provider = named[0]
        return _samples.credentials_body(provider, self.generator.random, client_environment=client_environment)
