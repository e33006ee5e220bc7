"""fake-leaf: an in-memory fake of Leaf Agriculture's user-management API for tests."""

from fake_leaf._clock import ManualClock, ShiftedClock
from fake_leaf._fake import DEFAULT_BASE_URL, FakeLeaf
from fake_leaf.engine import (
    PROVIDERS,
    Alert,
    BadCredentialsError,
    BusinessRuleError,
    ClockWentBackWarning,
    CredentialEvent,
    Credentials,
    CredentialStatus,
    FakeLeafError,
    InvalidInputError,
    LeafUser,
    NotAuthenticatedError,
    NotFoundError,
    Provider,
)
from fake_leaf.engine._controls import JohnDeereControls, UpstreamControls
from fake_leaf.http import JournalEntry
from fake_leaf.http._faults import Fault, InjectedFault
from fake_leaf.http._limits import RateLimit

__all__ = [
    "DEFAULT_BASE_URL",
    "PROVIDERS",
    "Alert",
    "BadCredentialsError",
    "BusinessRuleError",
    "ClockWentBackWarning",
    "CredentialEvent",
    "CredentialStatus",
    "Credentials",
    "FakeLeaf",
    "FakeLeafError",
    "Fault",
    "InjectedFault",
    "InvalidInputError",
    "JohnDeereControls",
    "JournalEntry",
    "LeafUser",
    "ManualClock",
    "NotAuthenticatedError",
    "NotFoundError",
    "Provider",
    "RateLimit",
    "ShiftedClock",
    "UpstreamControls",
]
