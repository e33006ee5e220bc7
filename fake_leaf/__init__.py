"""fake-leaf: an in-memory fake of Leaf Agriculture's user-management API for tests."""

from fake_leaf._clock import ManualClock
from fake_leaf._fake import DEFAULT_BASE_URL, FakeLeaf
from fake_leaf.engine import (
    BadCredentialsError,
    BusinessRuleError,
    CredentialEvent,
    Credentials,
    CredentialStatus,
    FakeLeafError,
    InvalidInputError,
    LeafUser,
    NotAuthenticatedError,
    NotFoundError,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "BadCredentialsError",
    "BusinessRuleError",
    "CredentialEvent",
    "CredentialStatus",
    "Credentials",
    "FakeLeaf",
    "FakeLeafError",
    "InvalidInputError",
    "LeafUser",
    "ManualClock",
    "NotAuthenticatedError",
    "NotFoundError",
]
