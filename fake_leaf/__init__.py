"""fake-leaf: an in-memory fake of Leaf Agriculture's user-management API for tests."""

from typing import TYPE_CHECKING

from fake_leaf._clock import ManualClock, ShiftedClock
from fake_leaf._fake import DEFAULT_BASE_URL, FakeLeaf
from fake_leaf.engine import (
    PROVIDERS,
    Alert,
    BadCredentialsError,
    BusinessRuleError,
    ClockOutOfRangeError,
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
    Timing,
)
from fake_leaf.engine._controls import JohnDeereControls, UpstreamControls
from fake_leaf.engine._models import OrganizationAlert, OrganizationStatus, ProviderOrganization
from fake_leaf.engine.providers._base import UpstreamOrganization
from fake_leaf.http import JournalEntry
from fake_leaf.http._faults import Fault, InjectedFault
from fake_leaf.http._limits import RateLimit

__all__ = [
    "DEFAULT_BASE_URL",
    "PROVIDERS",
    "Alert",
    "BadCredentialsError",
    "BusinessRuleError",
    "ClockOutOfRangeError",
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
    "OrganizationAlert",
    "OrganizationStatus",
    "Provider",
    "ProviderOrganization",
    "RateLimit",
    "ShiftedClock",
    "Timing",
    "UpstreamControls",
    "UpstreamOrganization",
    "WebhookDelivery",
    "verify_signature",
]

if TYPE_CHECKING:
    from fake_leaf.engine._webhooks import WebhookDelivery, verify_signature

    __version__: str
else:
    # Resolved on first use, so that `import fake_leaf` pays neither for reading the package metadata
    # nor for the alerts service, which a test that registers no webhook never loads.
    # Hidden from type checkers: a misspelt name imported from fake_leaf must stay an error.
    def __getattr__(name: str) -> object:
        if name in ("WebhookDelivery", "verify_signature"):
            from fake_leaf.engine import _webhooks

            globals()[name] = value = getattr(_webhooks, name)
            return value
        if name != "__version__":
            raise AttributeError(f"module 'fake_leaf' has no attribute {name!r}")
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("fake-leaf")
        except PackageNotFoundError:  # a source tree that is not installed
            found = "0+unknown"
        globals()["__version__"] = found
        return found
