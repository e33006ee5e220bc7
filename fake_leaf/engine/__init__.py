"""State and rules, no HTTP: API owners, tokens, Leaf users, provider credentials, events."""

from fake_leaf.engine._backend import LeafBackend
from fake_leaf.engine._errors import (
    BadCredentialsError,
    BusinessRuleError,
    ClockOutOfRangeError,
    FakeLeafError,
    FieldError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
)
from fake_leaf.engine._lifecycle import ClockWentBackWarning
from fake_leaf.engine._models import Alert, CredentialEvent, Credentials, CredentialStatus, LeafUser, Timing
from fake_leaf.engine._state import EngineOptions
from fake_leaf.engine.providers import JOHN_DEERE, PROVIDERS, BodyField, Provider

__all__ = [
    "JOHN_DEERE",
    "PROVIDERS",
    "Alert",
    "BadCredentialsError",
    "BodyField",
    "BusinessRuleError",
    "ClockOutOfRangeError",
    "ClockWentBackWarning",
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
    "Timing",
]
