"""fake-leaf: an in-memory fake of Leaf Agriculture's user-management API for tests."""

from typing import TYPE_CHECKING

from fake_leaf._clock import Clock, ManualClock, ShiftedClock
from fake_leaf._fake import DEFAULT_BASE_URL, FakeLeaf
from fake_leaf.adapters._responses import BearerAuth
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
from fake_leaf.engine.providers._base import (
    ApiKey,
    BodyField,
    Draw,
    Maker,
    OAuth2,
    OneClick,
    Organizations,
    UpstreamOrganization,
    UsernamePassword,
    access_token,
    client_environment,
    drawn,
    hex_token,
    opaque_token,
    optional,
    required,
    uuid4,
)
from fake_leaf.http import JournalEntry
from fake_leaf.http._faults import Fault, FaultKind, InjectedFault
from fake_leaf.http._limits import RateLimit

# a failure names an error as a test imports it (fake_leaf.NotFoundError), not by the private module it lives in
for _error in (FakeLeafError, NotFoundError, InvalidInputError, BusinessRuleError, NotAuthenticatedError,
               BadCredentialsError, ClockOutOfRangeError, ClockWentBackWarning):
    _error.__module__ = __name__
del _error

__all__ = [
    "DEFAULT_BASE_URL",
    "PROVIDERS",
    "Alert",
    "ApiKey",
    "AsgiApp",
    "AsyncLeafTransport",
    "BadCredentialsError",
    "BearerAuth",
    "BodyField",
    "BusinessRuleError",
    "Clock",
    "ClockOutOfRangeError",
    "ClockWentBackWarning",
    "CredentialEvent",
    "CredentialStatus",
    "Credentials",
    "Draw",
    "FakeLeaf",
    "FakeLeafError",
    "Fault",
    "FaultKind",
    "HttpReceiver",
    "HttpxBearerAuth",
    "InProcessReceiver",
    "InjectedFault",
    "InvalidInputError",
    "JohnDeereControls",
    "JournalEntry",
    "LeafServer",
    "LeafTransport",
    "LeafUser",
    "Maker",
    "ManualClock",
    "NotAuthenticatedError",
    "NotFoundError",
    "OAuth2",
    "OneClick",
    "OrganizationAlert",
    "OrganizationStatus",
    "Organizations",
    "Provider",
    "ProviderOrganization",
    "RateLimit",
    "ReceivedWebhook",
    "ShiftedClock",
    "Timing",
    "UpstreamControls",
    "UpstreamOrganization",
    "UsernamePassword",
    "WebhookDelivery",
    "WebhookReceiver",
    "WsgiApp",
    "access_token",
    "client_environment",
    "drawn",
    "hex_token",
    "opaque_token",
    "optional",
    "required",
    "uuid4",
    "verify_signature",
]

if TYPE_CHECKING:
    from fake_leaf.adapters._asgi import AsgiApp
    from fake_leaf.adapters._httpx import AsyncLeafTransport, LeafTransport
    from fake_leaf.adapters._httpx import BearerAuth as HttpxBearerAuth
    from fake_leaf.adapters._receiver import HttpReceiver, InProcessReceiver, ReceivedWebhook, WebhookReceiver
    from fake_leaf.adapters._server import LeafServer
    from fake_leaf.adapters._wsgi import WsgiApp
    from fake_leaf.engine._webhooks import WebhookDelivery, verify_signature

    __version__: str
else:
    # public name -> (module, its name there): imported on first use, so that `import fake_leaf` pays
    # neither for the server, the other transports (httpx), the receivers nor the alerts service
    _LAZY = {
        "AsgiApp": ("fake_leaf.adapters._asgi", "AsgiApp"),
        "AsyncLeafTransport": ("fake_leaf.adapters._httpx", "AsyncLeafTransport"),
        "LeafTransport": ("fake_leaf.adapters._httpx", "LeafTransport"),
        "HttpxBearerAuth": ("fake_leaf.adapters._httpx", "BearerAuth"),
        "HttpReceiver": ("fake_leaf.adapters._receiver", "HttpReceiver"),
        "InProcessReceiver": ("fake_leaf.adapters._receiver", "InProcessReceiver"),
        "ReceivedWebhook": ("fake_leaf.adapters._receiver", "ReceivedWebhook"),
        "WebhookReceiver": ("fake_leaf.adapters._receiver", "WebhookReceiver"),
        "LeafServer": ("fake_leaf.adapters._server", "LeafServer"),
        "WsgiApp": ("fake_leaf.adapters._wsgi", "WsgiApp"),
        "WebhookDelivery": ("fake_leaf.engine._webhooks", "WebhookDelivery"),
        "verify_signature": ("fake_leaf.engine._webhooks", "verify_signature"),
    }

    # Hidden from type checkers: a misspelt name imported from fake_leaf must stay an error.
    def __getattr__(name: str) -> object:
        if name in _LAZY:
            from importlib import import_module

            module, attribute = _LAZY[name]
            globals()[name] = value = getattr(import_module(module), attribute)
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

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
