"""FakeLeaf: one fake Leaf (its state, its HTTP surface) and the interceptor that serves it."""

from __future__ import annotations

import datetime as _dt
import functools
import sys
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload
from urllib.parse import urlsplit

import responses

from fake_leaf._clock import Clock, recover, utc_now
from fake_leaf._story import note_story_if_in_hypothesis
from fake_leaf.adapters._responses import BearerAuth, ResponsesInterceptor
from fake_leaf.adapters._senders import DeliveryPolicy, senders
from fake_leaf.engine import (
    JOHN_DEERE,
    PROVIDERS,
    Alert,
    CredentialEvent,
    Credentials,
    CredentialStatus,
    EngineOptions,
    LeafBackend,
    LeafUser,
    Provider,
    Timing,
)
from fake_leaf.engine._controls import JohnDeereControls, UpstreamControls
from fake_leaf.engine._errors import hide_refusals
from fake_leaf.engine._models import OrganizationAlert, ProviderOrganization
from fake_leaf.engine._tokens import REMEMBER_ME_TOKEN_LIFETIME
from fake_leaf.http import JournalEntry, LeafApp
from fake_leaf.http._context import USER_MANAGEMENT
from fake_leaf.http._delivery import DEFAULT_TIMEOUT
from fake_leaf.http._faults import Fault, FaultKind, InjectedFault
from fake_leaf.http._limits import RateLimit, RateLimiter
from fake_leaf.http._serialize import credentials_json, user_json

if TYPE_CHECKING:  # the server adapters and the alerts service are imported when used: they cost import time
    from fake_leaf.adapters._asgi import AsgiApp
    from fake_leaf.adapters._httpx import AsyncLeafTransport, LeafTransport
    from fake_leaf.adapters._others import OtherClients
    from fake_leaf.adapters._server import LeafServer
    from fake_leaf.adapters._wsgi import WsgiApp
    from fake_leaf.engine._webhooks import WebhookDelivery

__tracebackhide__ = hide_refusals  # pytest shows the test's frames for the fake's refusals

DEFAULT_BASE_URL = "https://api.withleaf.io"
DEFAULT_USERNAME = "api-owner@fake-leaf.test"
DEFAULT_PASSWORD = "fake-leaf-password"

T = TypeVar("T")
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect
@functools.lru_cache(maxsize=64)  # a fixture makes a fake per test, nearly always for the same base URL
def _normalise_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must look like 'https://host[:port][/prefix]', got {base_url!r}")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"



def _check_rate_limit(limit: object) -> None:
    if limit is not None and not isinstance(limit, RateLimit):  # a number would fail every request with a 500
        raise TypeError(f"rate_limit must be a RateLimit, e.g. RateLimit(1000) for 1000 requests a minute, or None; "
                        f"got {limit!r}")


class FakeLeaf:
    """An in-memory Leaf API, served to `requests` through `responses`.

    Use it as a context manager (``with FakeLeaf() as leaf:``) or a decorator on a test function
    or class (each decorated test gets a fresh state). The state lives as long as the object:
    entering and leaving keeps it; ``reset()`` empties it.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        requests_mock: responses.RequestsMock | None = None,
        clock: Clock | None = None,
        on_duplicate_credentials: Literal["reject", "replace"] = "reject",
        put_without_credentials: Literal["keep", "drop"] = "drop",
        check_interval: _dt.timedelta = _dt.timedelta(hours=24),
        refresh_token_rotation: bool = False,
        john_deere_stage_default: bool = False,
        seed: int | None = None,
        rate_limit: RateLimit | None = None,
        faults: Sequence[Fault] = (),
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        providers: Sequence[Provider] = PROVIDERS,
        webhook_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if on_duplicate_credentials not in ("reject", "replace"):
            raise ValueError("on_duplicate_credentials must be 'reject' or 'replace', "
                             f"got {on_duplicate_credentials!r}")
        if put_without_credentials not in ("keep", "drop"):
            raise ValueError(f"put_without_credentials must be 'keep' or 'drop', got {put_without_credentials!r}")
        if not isinstance(base_url, str):
            raise TypeError(f"base_url must be a string like 'https://api.withleaf.io', got {base_url!r}")
        # options of the wrong type are refused here, by name, rather than failing later as a 500 or an AttributeError
        if not isinstance(check_interval, _dt.timedelta):
            raise TypeError(f"check_interval must be a datetime.timedelta, e.g. timedelta(hours=6), "
                            f"got {check_interval!r}")
        if isinstance(clock, type):  # clock=ManualClock: every request then failed with an AttributeError
            raise TypeError(f"clock must be a clock, not its class: give {clock.__name__}(), got {clock!r}")
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning an aware datetime (ManualClock(), ShiftedClock()), "
                            f"got {clock!r}")
        _check_rate_limit(rate_limit)
        faults = tuple(faults)
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"faults must be Fault values, e.g. [Fault(\"http_error\", status=503)], got {fault!r}")
        self.base_url = _normalise_base_url(base_url)
        self.username = username
        self.password = password
        self._clock = clock if clock is not None else utc_now
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be a whole number or None, got {seed!r}")
        self._options = EngineOptions(
            on_duplicate_credentials, put_without_credentials, check_interval, refresh_token_rotation, seed=seed,
            # Leaf requires John Deere's environment; the old default, STAGE, is an option for older clients
            environment_defaults={JOHN_DEERE.name: "STAGE"} if john_deere_stage_default else {})
        self._requests_mock = requests_mock
        self._rate_limit = rate_limit
        self._faults = tuple(faults)
        self._providers = tuple(providers)
        if not 0 < webhook_timeout <= 600:  # also refuses NaN
            raise ValueError(f"webhook_timeout must be seconds from 0 (excluded) to 600, got {webhook_timeout!r}")
        self._webhook_timeout = float(webhook_timeout)
        self._delivery_policy = DeliveryPolicy()  # where this fake's servers may deliver webhooks; kept by reset()
        self._delivery_policy.local = lambda path, body, headers: self._app.take_locally(path, body, headers)
        self._interceptor: ResponsesInterceptor | None = None
        self._others: OtherClients | None = None  # httpx and aiohttp, served when they are imported
        self.reset()

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything: a new, empty state with only the default API owner."""
        if self._interceptor is not None and self._interceptor.active:
            raise RuntimeError("reset() a FakeLeaf only while it is not active")
        recover(self._clock)  # a ShiftedClock out of the usable range is put back; a usable one is kept
        self._backend = LeafBackend(clock=self._clock, options=self._options, providers=self._providers)
        self._backend.add_api_owner(self.username, self.password)
        self._app = LeafApp(self._backend, self.base_url, self._rate_limit)
        for fault in self._faults:
            self._app.inject(fault)
        self._app.deliveries.senders.update(senders(self._delivery_policy))
        self._app.deliveries.timeout = self._webhook_timeout
        self._interceptor = ResponsesInterceptor(self._app, self._requests_mock)
        if JOHN_DEERE.name in self._backend.providers:
            self.john_deere = JohnDeereControls(self._backend, self.username, JOHN_DEERE)
        self._token: str | None = None
        self._token_expires: _dt.datetime | None = None

    @property
    def user_management_url(self) -> str:
        """``{base_url}/services/usermanagement/api``: where users and credentials live."""
        return f"{self.base_url}{USER_MANAGEMENT}"

    @property
    def token(self) -> str:
        """A bearer token of the default API owner, valid now (renewed when the clock passes it)."""
        now = self._backend.now()
        if self._token is None or self._token_expires is None or now >= self._token_expires:
            self._token = self._backend.issue_token(self.username, REMEMBER_ME_TOKEN_LIFETIME)
            self._token_expires = now + REMEMBER_ME_TOKEN_LIFETIME - _dt.timedelta(minutes=1)
        return self._token

    @property
    def auth(self) -> BearerAuth:
        """``requests`` auth that always sends a valid token: ``session.auth = leaf.auth``."""
        return BearerAuth(lambda: self.token)

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for the default API owner."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def clock(self) -> Clock:
        """Where the fake reads the time (the ``clock`` option; the system clock by default)."""
        return self._clock

    @property
    def timing(self) -> Timing:
        """When this fake's behaviour changes with its clock: ``check_interval`` (the option), the lifetimes of
        a provider's access token and of Leaf's tokens, and the events window (read-only)."""
        return self._backend.timing

    def now(self) -> _dt.datetime:
        """The fake's current time."""
        return self._backend.now()

    def add_api_owner(self, username: str, password: str) -> str:
        """Add an API owner who can log in; returns a bearer token for it (30-day lifetime)."""
        self._backend.add_api_owner(username, password)
        return self._backend.issue_token(username, REMEMBER_ME_TOKEN_LIFETIME)

    def login(self, username: str | None = None, password: str | None = None, remember_me: bool = False) -> str:
        """What ``POST /api/authenticate`` does, without HTTP: a bearer token."""
        return self._backend.authenticate(username or self.username, password or self.password, remember_me)

    def create_as_json(self, body: Mapping[str, object], leaf_user_id: str | None = None,
                       provider: Provider | str = JOHN_DEERE) -> dict[str, object]:
        """What ``POST /users`` answers (given a user id, the POST of ``provider``'s credentials), without HTTP.

        The plugin's factories use it: the same engine call and JSON as the request, at a fraction of its
        cost per test, and outside the journal, the faults and the rate limit, which are the client's.
        """
        with self._backend.atomic():
            if leaf_user_id is None:
                user = self._backend.create_user(self.username, body)
                return user_json(user, {}, self._backend.providers)
            chosen = self.provider(provider)
            credentials = self._backend.create_credentials(self.username, leaf_user_id, chosen.name, body)
            return credentials_json(credentials, chosen)

    # -- seeding and reading without HTTP (the default API owner unless ``api_owner`` is given)

    def create_user(self, *, api_owner: str | None = None, **fields: str | None) -> LeafUser:
        """Create a Leaf user; ``fields`` are Leaf's names: name, email, phone, address, externalId."""
        return self._backend.create_user(api_owner or self.username, fields)

    def get_user(self, leaf_user_id: str, *, api_owner: str | None = None) -> LeafUser:
        return self._backend.get_user(api_owner or self.username, leaf_user_id)

    def list_users(self, *, api_owner: str | None = None) -> list[LeafUser]:
        """Every Leaf user of the API owner, oldest first."""
        return self._backend.all_users(api_owner or self.username)

    def delete_user(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        """Delete a Leaf user; all of its credentials and their events go with it."""
        self._backend.delete_user(api_owner or self.username, leaf_user_id)

    def update_user(self, leaf_user_id: str, *, api_owner: str | None = None, **fields: str | None) -> LeafUser:
        """What ``PATCH /users/{id}`` does: the named fields change (None clears one), the rest and the
        credentials stay."""
        return self._backend.update_user(api_owner or self.username, leaf_user_id, fields)

    # -- any provider's credentials (``provider``: a name like "Trimble", a slug like "climate-field-view",
    #    or a ``Provider``)

    @property
    def providers(self) -> tuple[Provider, ...]:
        """The providers this fake serves (every Leaf provider unless the ``providers`` option says otherwise)."""
        return tuple(self._backend.providers.values())

    def provider(self, provider: Provider | str) -> Provider:
        """A provider by its name ("ClimateFieldView") or its slug ("climate-field-view")."""
        return self._backend.provider(provider.name if isinstance(provider, Provider) else provider)

    def upstream(self, provider: Provider | str) -> UpstreamControls:
        """Drive a provider's simulated upstream: revoke, rotate_secret, withdraw_permission, outages, ..."""
        return UpstreamControls(self._backend, self.username, self.provider(provider))

    @overload
    def create_credentials(self, provider: Provider | str, leaf_user_id: str, **fields: str) -> Credentials: ...

    @overload
    def create_credentials(self, provider: Provider | str, leaf_user_id: str, *,
                           scopes: tuple[str, ...] | None = None, api_owner: str | None = None,
                           **fields: str) -> Credentials: ...

    # The first form takes a body as it is (``**body``, a dict[str, str]) under a type checker too: only
    # the second names the options, whose types a body's values could not have.
    def create_credentials(self, provider: Provider | str, leaf_user_id: str, **fields: Any) -> Credentials:
        """Attach a provider's credentials to a user exactly as a POST would; ``fields`` are Leaf's names."""
        scopes: tuple[str, ...] | None = fields.pop("scopes", None)
        api_owner: str | None = fields.pop("api_owner", None)
        return self._backend.create_credentials(api_owner or self.username, leaf_user_id,
                                                self.provider(provider).name, fields, scopes=scopes)

    def get_credentials(self, provider: Provider | str, leaf_user_id: str, *,
                        api_owner: str | None = None) -> Credentials:
        return self._backend.get_credentials(api_owner or self.username, leaf_user_id, self.provider(provider).name)

    def delete_credentials(self, provider: Provider | str, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        self._backend.delete_credentials(api_owner or self.username, leaf_user_id, self.provider(provider).name)

    def credential_events(self, provider: Provider | str, leaf_user_id: str, *,
                          api_owner: str | None = None) -> list[CredentialEvent]:
        """The credential's log as the events endpoint lists it: younger than 30 days, newest first."""
        return self._backend.list_events(api_owner or self.username, leaf_user_id, self.provider(provider).name)

    def add_credential_event(
        self,
        provider: Provider | str,
        leaf_user_id: str,
        *,
        status_code: int,
        body: str,
        headers: Mapping[str, str] | str = "{\"Content-Type\": \"application/json\"}",
        created_date: _dt.datetime | None = None,
        api_owner: str | None = None,
    ) -> CredentialEvent:
        """Seed the credential's log with one upstream answer (dated now unless told)."""
        return self._backend.add_event(api_owner or self.username, leaf_user_id, self.provider(provider).name,
                                       status_code=status_code, headers=headers, body=body,
                                       created_date=created_date)

    # -- John Deere's shortcuts ----------------------------------------------------------------

    def create_john_deere_credentials(
        self,
        leaf_user_id: str,
        *,
        client_key: str,
        client_secret: str,
        refresh_token: str,
        client_environment: str = "STAGE",
        scopes: tuple[str, ...] | None = None,
        api_owner: str | None = None,
    ) -> Credentials:
        """Attach John Deere credentials to a user, exactly as a POST would (this shortcut says STAGE unless told)."""
        return self.create_credentials(JOHN_DEERE, leaf_user_id, scopes=scopes, api_owner=api_owner,
                                       clientKey=client_key, clientSecret=client_secret, refreshToken=refresh_token,
                                       clientEnvironment=client_environment)

    def get_john_deere_credentials(self, leaf_user_id: str, *, api_owner: str | None = None) -> Credentials:
        return self.get_credentials(JOHN_DEERE, leaf_user_id, api_owner=api_owner)

    def delete_john_deere_credentials(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        self.delete_credentials(JOHN_DEERE, leaf_user_id, api_owner=api_owner)

    def john_deere_credential_events(self, leaf_user_id: str, *, api_owner: str | None = None) -> list[CredentialEvent]:
        """The credential's log as the events endpoint lists it: younger than 30 days, newest first."""
        return self.credential_events(JOHN_DEERE, leaf_user_id, api_owner=api_owner)

    def add_john_deere_credential_event(
        self,
        leaf_user_id: str,
        *,
        status_code: int,
        body: str,
        headers: Mapping[str, str] | str = "{\"Content-Type\": \"application/json\"}",
        created_date: _dt.datetime | None = None,
        api_owner: str | None = None,
    ) -> CredentialEvent:
        """Seed the credential's log with one John Deere answer (dated now unless told)."""
        return self.add_credential_event(JOHN_DEERE, leaf_user_id, status_code=status_code, body=body,
                                         headers=headers, created_date=created_date, api_owner=api_owner)

    def journal(self, method: str | None = None, path: str | None = None,
                leaf_user_id: str | None = None) -> list[JournalEntry]:
        """The requests the fake received on Leaf's paths (the last 10,000), oldest first, with their answers.

        The control plane's own requests (``/_fake-leaf/...``) are not listed.

        ``method``, ``path`` (a route as in ``inject``: ``"/users/{leafUserId}/john-deere-credentials"``)
        and ``leaf_user_id`` narrow it.
        """
        return self._app.journal_entries(method, path, leaf_user_id)

    def assert_requests(self, times: int, method: str | None = None, path: str | None = None,
                        leaf_user_id: str | None = None) -> list[JournalEntry]:
        """Assert the fake received exactly ``times`` such requests; return them. The message lists them."""
        __tracebackhide__ = True
        found = self.journal(method, path, leaf_user_id)
        if len(found) != times:
            wanted = " ".join(x for x in (method, path, f"for user {leaf_user_id}" if leaf_user_id else None) if x)
            seen = "\n".join(f"  {e}" for e in self._app.journal) or "  (none)"
            raise AssertionError(f"expected {times} request(s) {wanted or '(any)'} but fake-leaf received "
                                 f"{len(found)}; every request it received:\n{seen}")
        return found

    def inject(self, fault: Fault | FaultKind, **options: Any) -> InjectedFault:
        """Break Leaf's own side: ``inject("http_error", status=503, times=1)`` or ``inject(Fault(...))``.

        See ``Fault`` for the kinds and options. Returns a handle with ``hits`` and ``remove()``.
        """
        spec = fault if isinstance(fault, Fault) else Fault(fault, **options)
        return self._app.inject(spec)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._app.faults.clear()

    # -- background processing ------------------------------------------------------------

    def run_john_deere_check(self, leaf_user_id: str, *, api_owner: str | None = None) -> Credentials:
        """Run a background check of the user's John Deere credentials now (schedule unchanged)."""
        return self.upstream(JOHN_DEERE).run_check(leaf_user_id, api_owner=api_owner)

    def set_john_deere_credentials_status(self, leaf_user_id: str, status: CredentialStatus | str, *,
                                          api_owner: str | None = None) -> Credentials:
        """Set the status as a check would (alert included, no event), for tests that skip the cause."""
        return self.upstream(JOHN_DEERE).set_status(leaf_user_id, status, api_owner=api_owner)

    def alerts(self) -> list[Alert]:
        """The alerts Leaf sent (``credentialsUnauthenticated``, ``credentialsLimitedPermission``), oldest first."""
        return self._backend.alerts()

    def organization_alerts(self) -> list[OrganizationAlert]:
        """The organization alerts Leaf sent (``providerOrganizationCreated``, ``...Blocked``, ``...Removed``)."""
        return self._backend.organization_alerts()

    def organizations(self, provider: Provider | str, leaf_user_id: str, *,
                      api_owner: str | None = None) -> list[ProviderOrganization]:
        """Leaf's list of a credential's organizations (John Deere, Trimble), with their statuses."""
        return self._backend.list_organizations(api_owner or self.username, leaf_user_id,
                                                self.provider(provider).name)

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every attempt to deliver to a webhook, oldest first: URL, body bytes, headers, answer or error.

        Deliveries and retries that are due by the fake's now are sent first, so moving the clock
        (freezegun, time-machine, ``leaf_clock``) and then reading this shows them.
        """
        self._app.deliveries.run_due()
        self._app.deliveries.settle()  # and those a server is sending now, after its answer
        return self._backend.webhooks.deliveries()

    @property
    def rate_limit(self) -> RateLimit | None:
        """Leaf's rate limit in force (None: none); set it to change it from the next request on."""
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, limit: RateLimit | None) -> None:
        _check_rate_limit(limit)
        self._rate_limit = limit
        self._app.limiter = RateLimiter(limit) if limit is not None else None

    @property
    def requests_mock(self) -> responses.RequestsMock:
        """The ``responses.RequestsMock`` the active fake is registered in: mock other hosts beside it."""
        mock = self._interceptor.requests_mock if self._interceptor is not None else None
        if mock is None:
            raise RuntimeError("this FakeLeaf is not active: enter it (with FakeLeaf() as leaf:) first")
        return mock

    # -- other transports --------------------------------------------------------------------

    def wsgi_app(self, *, base_url: str | None = None, control_token: str | None = None,
                 deliveries: Literal["in-process", "http"] = "in-process") -> WsgiApp:
        """This fake as a WSGI application (for ``httpx.WSGITransport``, or any WSGI server).

        ``base_url``: where ``Location`` and ``Link`` point (default: the URL the server says it
        serves, else this fake's ``base_url``; never the client's ``Host`` header). ``control_token``:
        every ``/_fake-leaf`` request must send it in the header ``X-Fake-Leaf-Control-Token``.
        ``deliveries``: a webhook registered through it is delivered in-process (to the test's mocks,
        never the network), or with ``"http"`` as real POSTs (behind a WSGI server of your own).
        """
        from fake_leaf.adapters._wsgi import WsgiApp

        return WsgiApp(lambda: self._app, base_url=base_url, control_token=control_token, deliveries=deliveries)

    def server(self, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True,
               control_token: str | None = None, request_timeout: float = 10.0,
               max_connections: int = 64, webhook_allow: Sequence[str] | None = None) -> LeafServer:
        """This fake over real HTTP: ``with leaf.server() as server: ... server.url``.

        Port 0 picks a free port; entering waits until it accepts connections (or raises).
        ``control_token``: see ``wsgi_app``. ``request_timeout``: seconds a client has to send a whole
        request. ``max_connections``: requests served at once (more wait their turn).
        ``webhook_allow``: ``HOST`` or ``HOST:PORT`` entries, the only places webhooks registered
        through the server are delivered to (default: loopback addresses, when listening on one).
        Deliveries never go to the server's own address.
        """
        from fake_leaf.adapters._senders import _host_port
        from fake_leaf.adapters._server import LeafServer

        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be from 0 (a free port) to 65535, got {port!r}")
        if isinstance(webhook_allow, (str, bytes)):  # a string would be read as one destination per letter
            raise TypeError(f"webhook_allow is a list of destinations, e.g. [\"127.0.0.1:9000\"], "
                            f"got {webhook_allow!r}")
        for entry in webhook_allow or ():  # refused before a socket is bound
            _host_port(entry)
        server = LeafServer(self.wsgi_app(control_token=control_token, deliveries="http"), host, port, quiet=quiet,
                            request_timeout=request_timeout, max_connections=max_connections)
        self._delivery_policy.listen(server, webhook_allow)
        return server

    def httpx_transport(self) -> LeafTransport:
        """This fake as an ``httpx`` transport: ``httpx.Client(transport=leaf.httpx_transport(), base_url=...)``.

        No need to activate the fake; the same router answers as on every other transport.
        """
        from fake_leaf.adapters._httpx import LeafTransport

        return LeafTransport(lambda: self._app, self.base_url)

    def httpx_async_transport(self) -> AsyncLeafTransport:
        """This fake as an ``httpx.AsyncClient`` transport; a delay awaits, so other tasks run meanwhile."""
        from fake_leaf.adapters._httpx import AsyncLeafTransport

        return AsyncLeafTransport(lambda: self._app, self.base_url)

    def asgi_app(self, *, base_url: str | None = None) -> AsgiApp:
        """This fake as an ASGI application (``httpx.ASGITransport``, or any ASGI server).

        ``base_url``: where ``Location`` and ``Link`` point (default: this fake's ``base_url``).
        """
        from fake_leaf.adapters._asgi import AsgiApp

        return AsgiApp(lambda: self._app, self.base_url, answer_base_url=base_url)

    # -- activation ------------------------------------------------------------------------

    def start(self) -> FakeLeaf:
        assert self._interceptor is not None
        self._interceptor.start()
        try:
            if self._others is None:
                from fake_leaf.adapters._others import OtherClients

                self._others = OtherClients(lambda: self._app, self.base_url)
            self._others.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        assert self._interceptor is not None
        if self._others is not None:
            self._others.stop()
        self._interceptor.stop()

    def __enter__(self) -> FakeLeaf:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        if exc is not None:  # inside a hypothesis test, the falsifying example shows what the fake did
            note_story_if_in_hypothesis(self)

    def __call__(self, target: T) -> T:
        """Decorate a test function or class: each test runs inside a fresh state of this fake."""
        if isinstance(target, type):
            return cast(T, self._decorate_class(target))
        if not callable(target):
            raise TypeError(f"FakeLeaf decorates functions and classes, not {type(target).__name__}")
        return cast(T, self._decorate_function(target))

    def _decorate_function(self, func: Any) -> Any:
        if getattr(getattr(func, "__code__", None), "co_flags", 0) & _CO_COROUTINE:
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                self.reset()
                with self:
                    return await func(*args, **kwargs)
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.reset()
            with self:
                return func(*args, **kwargs)
        return wrapper

    def _decorate_class(self, cls: Any) -> Any:
        unittest = sys.modules.get("unittest")  # a TestCase class means unittest is imported already
        if unittest is not None and issubclass(cls, unittest.TestCase):
            fake = self
            original_setup = cls.setUp

            def setUp(test: Any) -> None:
                fake.reset()
                fake.start()
                test.addCleanup(fake.stop)
                original_setup(test)

            cls.setUp = setUp
            return cls
        for name, value in list(vars(cls).items()):
            if name.startswith("test") and callable(value):
                setattr(cls, name, self._decorate_function(value))
        return cls

    def __repr__(self) -> str:
        return f"FakeLeaf(base_url={self.base_url!r})"
