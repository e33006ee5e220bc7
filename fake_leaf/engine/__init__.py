"""State and rules, no HTTP: API owners, tokens, Leaf users, provider credentials, events."""

from fake_leaf.engine._backend import EngineOptions, LeafBackend
from fake_leaf.engine._errors import (
    BadCredentialsError,
    BusinessRuleError,
    FakeLeafError,
    FieldError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
)
from fake_leaf.engine._models import CredentialEvent, Credentials, CredentialStatus, LeafUser
from fake_leaf.engine._providers import JOHN_DEERE, PROVIDERS, BodyField, Provider

__all__ = [
    "JOHN_DEERE",
    "PROVIDERS",
    "BadCredentialsError",
    "BodyField",
    "BusinessRuleError",
    "CredentialEvent",
    "CredentialStatus",
    "Credentials",
    "EngineOptions",
    "FakeLeafError",
    "FieldError",
    "InvalidInputError",
    "LeafBackend",
    "LeafUser",
    "NotAuthenticatedError",
    "NotFoundError",
    "Provider",
]
