"""A hypothesis state machine that property-tests *your* Leaf integration against the fake.

Subclass ``LeafClientStateMachine`` and override the ``client_*`` hooks that your client implements
(each default calls the API plainly); a hook may be ``async def``: the machine awaits it, on one
event loop of its own that lives as long as the example, so an async client made in one step works
in the next. The machine plays what Leaf and the provider do to a client:
the provider's transitions, time moves that land where behaviour changes, Leaf's faults and its
rate limit; after each step it compares what your client reported with the fake's truth, and on a
failure hypothesis prints the shrunk steps, each followed by the fake's story of it. A client with an
alerts receiver (``client_receive_alert``) also gets Leaf's alerts delivered, duplicated, reordered and
forged (``_webhooks_kit``).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import difflib
import email.utils
import functools
import itertools
import json
import re
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import requests
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidDefinition
from hypothesis.stateful import (
    INITIALIZE_RULE_MARKER,
    INVARIANT_MARKER,
    RULE_MARKER,
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
)

from fake_leaf import CredentialEvent, Credentials, CredentialStatus, FakeLeaf, ManualClock, NotFoundError, RateLimit
from fake_leaf.engine import JOHN_DEERE, PROVIDERS, Provider
from fake_leaf.testing._webhooks_kit import AlertsReceiver
from fake_leaf.testing.strategies import _by_place, organization_changes, sample_credentials_body, sample_user_body

__all__ = ["DECISIONS", "DEFAULT_SETTINGS", "ClientMismatchError", "Decision", "LeafClientStateMachine", "LeafRules",
           "UserRef"]

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)

Decision = Literal["nothing", "reconnect", "ask_for_scopes", "retry_later"]
# what a client should do about each status (Leaf's docs: reconnect is the only cure for UNAUTHENTICATED)
DECISIONS: dict[CredentialStatus, Decision] = {
    CredentialStatus.OK: "nothing",
    CredentialStatus.UNAUTHENTICATED: "reconnect",
    CredentialStatus.MISSING_PERMISSION: "ask_for_scopes",
    CredentialStatus.TEMPORARILY_UNAVAILABLE: "retry_later",
}


@dataclass(frozen=True)
class LeafRules:
    """Which of Leaf's and the provider's doings the machine plays; switch off what your client does
    not handle yet: ``leaf_rules = LeafRules(leaf_faults=False)`` in your subclass."""

    provider_transitions: bool = True  # revoked grants, rotated secrets, withdrawn scopes, outages
    time_moves: bool = True  # to just before/after checks, token expiries and the events window's cut
    leaf_faults: bool = True  # 5xx, connection errors, read timeouts, 429 with and without Retry-After
    rate_limit: bool = True  # Leaf's rate limit switched on (2 requests a minute) and off
    users_elsewhere: bool = True  # users made outside your client (1, 21 or 101: past a page)
    # a grower's account gains (1 or 21: past a page), loses, blocks and unblocks organizations (a provider
    # whose organizations Leaf manages: John Deere)
    organization_changes: bool = True
    # for a client with an alerts receiver (``client_receive_alert``): duplicates, deliveries out of order,
    # forged deliveries, the receiver down for a while, an answer lost (Leaf's retries are played whatever this says)
    webhook_plays: bool = True


class UserRef(str):
    """A Leaf user id that prints as the machine's name for it (``user1``) in the shrunk steps."""

    name: str

    def __new__(cls, leaf_user_id: str, name: str) -> UserRef:
        ref = super().__new__(cls, leaf_user_id)
        ref.name = name
        return ref

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class _Change:
    """A provider transition for one user's credential, as the shrunk steps print it."""

    name: str
    user: UserRef | None = None  # None: the provider as a whole

    def __repr__(self) -> str:
        return f"{self.name}({self.user!r})" if self.user is not None else self.name


# John Deere's transitions: each changes what the next background check finds
JOHN_DEERE_CHANGES = ("revoke_refresh_token", "rotate_client_secret", "withdraw_scope", "restore_scope",
                      "disconnect_organization", "connect_organization")
_EFFECTS = {"revoke_refresh_token": "grant lost", "rotate_client_secret": "grant lost", "revoke": "grant lost",
            "rotate_secret": "grant lost", "withdraw_scope": "permission lost", "disconnect_organization":
            "permission lost", "withdraw_permission": "permission lost", "restore_scope": "permission back",
            "connect_organization": "permission back", "restore_permission": "permission back"}
# any other provider's: what every simulated upstream takes
UPSTREAM_CHANGES = ("revoke", "rotate_secret", "withdraw_permission", "restore_permission")
_UNDOES = {"restore_scope": "withdraw_scope", "connect_organization": "disconnect_organization",
           "restore_permission": "withdraw_permission"}
# a fault the machine injects for the next request: (kind, status, Retry-After)
# ("read_timeout POST /users": the answer to a user's creation lost, and the client creates one right then)
LEAF_FAULTS = ("500", "503", "connection_error", "read_timeout", "read_timeout POST /users", "429",
               "429 Retry-After 7", "429 Retry-After HTTP-date")
LANDMARKS = ("just before the next check", "the next check", "just after the access token expires",
             "just before the Leaf token expires", "the Leaf token expires", "just before the oldest event goes",
             "the oldest event goes")
# the machine's defaults, which every subclass's TestCase starts from (override with @settings or TestCase.settings)
# (no "explain" phase: it replays the failure under a tracer, which costs more than finding and shrinking)
# (one bug at a time: shrinking every distinct failure found on the way costs minutes)
DEFAULT_SETTINGS = settings(max_examples=100, stateful_step_count=15, deadline=None, report_multiple_bugs=False,
                            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
                            suppress_health_check=[HealthCheck.too_slow])
# with Retry-After, as the machine was written for: a 429 without one is its own fault kind above
RATE_LIMIT = RateLimit(requests=2, window=dt.timedelta(minutes=1), retry_after=True)
_SECOND = dt.timedelta(seconds=1)
_MAX_ATTEMPTS = 4
_EVENTS_PAGE = 100  # the largest page Leaf serves
ALERTS_WEBHOOKS = "/services/alerts/api/alerts/webhooks"


class ClientMismatchError(AssertionError):
    """What a client hook reported differs from the fake's truth."""


@dataclass
class _Story:
    """What the fake did, for the final (shrunk) run's notes: what was seen already, to say only what is new."""

    journal_seen: int = 0
    events_seen: dict[str, set[str]] = field(default_factory=dict)
    statuses: dict[str, str | None] = field(default_factory=dict)
    alerts_seen: int = 0
    clock: dt.datetime | None = None


def _released_on_failure(init: Callable[..., None]) -> Callable[..., None]:
    """A machine's ``__init__`` (the base's, or a subclass's, which runs after the fake has started) that stops
    what was started when it raises: hypothesis calls ``teardown`` only for a machine that was made, and a fake
    left active would answer every later test's requests to its host, and stay in memory, to the session's end."""
    @functools.wraps(init)
    def init_or_release(self: LeafClientStateMachine, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except BaseException:
            self._release()
            raise
    return init_or_release


class LeafClientStateMachine(RuleBasedStateMachine):
    """Drives a fresh ``FakeLeaf`` (on a ``ManualClock``, ``self.clock``) for each example.

    Override ``provider`` (a ``Provider``, or a provider's name such as ``"Trimble"``) and ``leaf_rules``
    as class attributes. Hooks receive ``UserRef``s (``str`` subclasses: use them as ids).

    A subclass is checked when it is defined, as hypothesis checks its own machines: a method named
    ``client_*`` that is not one of the hooks, or a name that names no provider, raises
    ``hypothesis.errors.InvalidDefinition`` naming the closest hook or provider.
    """

    provider: ClassVar[Provider] = JOHN_DEERE
    leaf_rules: ClassVar[LeafRules] = LeafRules()
    # few users of the client's own, so that steps meet on one (users_made_elsewhere makes many)
    max_users: ClassVar[int] = 3

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _refuse_unknown_hooks(cls)
        cls.provider = _resolve_provider(cls)
        if cls.client_receive_alert is not LeafClientStateMachine.client_receive_alert:
            for name, webhook_rule in _WEBHOOK_RULES.items():  # a polling machine draws its steps as before
                setattr(cls, name, webhook_rule)
        cls.TestCase.settings = DEFAULT_SETTINGS
        init = cls.__dict__.get("__init__")
        if init is not None:  # the subclass's own, which runs after the fake has started
            cls.__init__ = _released_on_failure(init)  # type: ignore[method-assign]

    @_released_on_failure
    def __init__(self) -> None:
        super().__init__()
        _check_alert_hooks(type(self))  # before the fake starts: a refusal must leave nothing patched behind
        self.clock = ManualClock(START)
        self.leaf = self.make_fake()
        served = [p.name for p in self.leaf.providers]
        if self.provider.name not in served:  # else every step would meet a 404 for the provider's paths
            raise InvalidDefinition(f"{type(self).__name__}.provider is {self.provider.name}, which the fake of its "
                                    f"make_fake() does not serve; it serves {', '.join(served)}")
        self._timing = self.leaf.timing  # where the landmarks lie: this fake's own interval and lifetimes
        self.leaf.start()
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy lookups in the environment: they cost more than the fake
        self.users: list[UserRef] = []  # the users the client made and has not deleted
        self.connected: set[str] = set()  # users with a credential at Leaf
        self._serial = 0
        self._changed: dict[str, set[str]] = {}  # user -> transitions in force
        self._outage = False
        self._rate_limited = False
        self._pending_fault: Any = None
        self._token_expiry: dt.datetime | None = None  # of the last token the fake handed out
        self._journal_read = 0
        self._events_seen: tuple[str, list[list[str] | None]] | None = None  # during client_read_events
        self._landmarks_at: dict[str, dt.datetime] | None = None
        self._story = _Story() if _final_run() else None
        self._loop: asyncio.AbstractEventLoop | None = None  # made for the first async hook
        self.webhook_secret = "machine-webhook-secret"  # what the default client_register_webhook registers
        self.alerts_receiver = self._make_alerts_receiver()

    # -- the hooks: override what your client does --------------------------------------------

    def make_fake(self) -> FakeLeaf:
        """The fake to test against; override to pass options. Use ``self.clock``."""
        return FakeLeaf(clock=self.clock)

    def sleep(self, seconds: float) -> None:
        """Wait by the fake's clock: give this to your client as its sleep (for backoff and Retry-After)."""
        self.clock.advance(dt.timedelta(seconds=max(0.0, seconds)))
        if self._events_seen is not None:  # a read of events waits: what Leaf lists may change meanwhile
            self._events_seen[1].append(self._listed_events(self._events_seen[0]))

    async def async_sleep(self, seconds: float) -> None:
        """``sleep`` for an async client: moves the fake's clock, then lets other tasks run."""
        self.sleep(seconds)
        await asyncio.sleep(0)

    def run(self, awaitable: Any) -> Any:
        """Await ``awaitable`` on the machine's event loop (the one async hooks run on); a plain value is returned."""
        if not hasattr(awaitable, "__await__"):
            return awaitable
        if self._loop is None:
            self._loop = asyncio.new_event_loop()

        async def wait() -> Any:
            return await awaitable

        return self._loop.run_until_complete(wait())

    def _await_hook(self, name: str) -> Any:
        """Call a hook the default client calls itself (login, renewal): awaited when it is async."""
        return self.run(getattr(self, name)())

    def client_login(self) -> None:
        """Log in (``POST /api/authenticate``) and keep the token; a login is safe to repeat."""
        for attempt in range(_MAX_ATTEMPTS):
            try:
                r = self.session.post(f"{self.leaf.base_url}/api/authenticate", timeout=10, json={
                    "username": self.leaf.username, "password": self.leaf.password, "rememberMe": False})
            except requests.RequestException:
                self.sleep(2**attempt)
                continue
            if r.status_code == 429 or r.status_code >= 500:
                self.sleep(_retry_after(r, self.leaf.now()) or 2**attempt)
                continue
            r.raise_for_status()
            self._token = str(r.json()["id_token"])
            return
        raise AssertionError(f"the default client could not log in after {_MAX_ATTEMPTS} attempts")

    def client_renew_token(self) -> None:
        """Get a new token when Leaf answers 401 (the default logs in again)."""
        self._await_hook("client_login")

    def client_create_user(self, body: dict[str, Any]) -> str:
        """Create a Leaf user; return its id. ``body["externalId"]`` is unique: find the user by it when
        the answer was lost."""
        try:
            r = self._request("POST", "/users", json=body, idempotent=False)
        except requests.ReadTimeout:
            r = self._request("GET", "/users", params={"externalId": body["externalId"]})
            found = r.json()
            if found:
                return str(found[0]["id"])
            r = self._request("POST", "/users", json=body, idempotent=False)
        r.raise_for_status()
        return str(r.json()["id"])

    def client_get_user(self, leaf_user_id: str) -> dict[str, Any] | None:
        """The user as Leaf returns it; None when there is none."""
        r = self._request("GET", f"/users/{leaf_user_id}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        user: dict[str, Any] = r.json()
        return user

    def client_delete_user(self, leaf_user_id: str) -> None:
        """Delete a user (gone already is fine)."""
        r = self._request("DELETE", f"/users/{leaf_user_id}")
        if r.status_code != 404:
            r.raise_for_status()

    def client_list_users(self) -> list[str]:
        """The ids of every Leaf user of the API owner, every page."""
        ids: list[str] = []
        page = 0
        while True:
            r = self._request("GET", "/users", params={"page": page, "size": 100})
            r.raise_for_status()
            ids += [u["id"] for u in r.json()]
            if len(ids) >= int(r.headers["X-Total-Count"]) or not r.json():
                return ids
            page += 1

    def client_connect(self, leaf_user_id: str, body: dict[str, Any]) -> None:
        """Post the provider's credentials; a credential already there counts as connected."""
        path = f"/users/{leaf_user_id}/{self.provider.path_segment}"
        try:
            r = self._request("POST", path, json=body, idempotent=False)
        except requests.ReadTimeout:  # the answer was lost: was it created?
            if self._request("GET", path).status_code == 200:
                return
            r = self._request("POST", path, json=body, idempotent=False)
        if r.status_code == 400 and r.json().get("errorKey") == "credentialAlreadyExists":
            return
        r.raise_for_status()

    def client_disconnect(self, leaf_user_id: str) -> None:
        """Delete the credential (none there is fine)."""
        r = self._request("DELETE", f"/users/{leaf_user_id}/{self.provider.path_segment}")
        if r.status_code != 404:
            r.raise_for_status()

    def client_get_credential(self, leaf_user_id: str) -> str | None:
        """The credential's status as your client reports it; None when there is no credential."""
        r = self._request("GET", f"/users/{leaf_user_id}/{self.provider.path_segment}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return str(r.json()["status"])

    def client_read_events(self, leaf_user_id: str) -> list[str] | None:
        """The ids of the credential's events, newest first as your client holds them; None without one."""
        ids: list[str] = []
        for page in itertools.count():  # Leaf pages events like users: read until a short page
            r = self._request("GET", f"/users/{leaf_user_id}/{self.provider.path_segment}/events",
                              params={"page": page, "size": _EVENTS_PAGE})
            if r.status_code == 404:
                return None
            r.raise_for_status()
            ids += [str(e["id"]) for e in r.json()]
            if len(r.json()) < _EVENTS_PAGE:
                return ids
        raise AssertionError("unreachable")

    def client_read_organizations(self, leaf_user_id: str) -> dict[str, str] | None:
        """The organizations your client holds for the user: providerOrgId -> status (every page); None
        without a credential. Called for a provider whose organizations Leaf manages (John Deere)."""
        held: dict[str, str] = {}
        path = f"/users/{leaf_user_id}/{self.provider.name}/organizations"
        for page in itertools.count():
            r = self._request("GET", path, params={"page": page})
            if r.status_code == 404:
                return None
            r.raise_for_status()
            held.update({str(o["providerOrgId"]): str(o["status"]) for o in r.json()})
            if len(held) >= int(r.headers["X-Total-Count"]) or not r.json():
                return held
        raise AssertionError("unreachable")

    def client_select_organizations(self, leaf_user_id: str, organizations: dict[str, str]) -> None:
        """What your client does with the organizations it read: by default it processes everything Leaf may
        (PREVIEW -> SELECTED); a BLOCKED one is the grower's to fix through its managementUri, never a PATCH."""
        for org_id, status in organizations.items():
            if status == "PREVIEW":
                path = f"/users/{leaf_user_id}/{self.provider.name}/organizations/{org_id}/SELECTED"
                self._request("PATCH", path).raise_for_status()

    def client_decide(self, leaf_user_id: str, status: str) -> Decision:
        """What your client does about a status: ``"nothing"``, ``"reconnect"``, ``"ask_for_scopes"`` or
        ``"retry_later"``. It may act, but must leave the credential at Leaf (replacing one is
        DELETE then POST, when the grower comes back)."""
        return DECISIONS[CredentialStatus(status)]

    # -- the hooks of a webhook-driven client (optional: without client_receive_alert it polls) ------------

    def client_register_webhook(self, url: str) -> None:
        """Register your alerts receiver for ``url`` at Leaf's alerts service (both credential events), with
        a secret of your own. The default registers ``self.webhook_secret``."""
        if self._token is None:
            self._await_hook("client_login")
        r = self.session.post(f"{self.leaf.base_url}{ALERTS_WEBHOOKS}", timeout=10,
                              headers={"Authorization": f"Bearer {self._token}"},
                              json={"name": "credential alerts", "url": url, "secret": self.webhook_secret,
                                    "events": ["credentialsUnauthenticated", "credentialsLimitedPermission"]})
        r.raise_for_status()

    def client_receive_alert(self, body: bytes, headers: dict[str, str]) -> int:
        """Your receiver: one POST from Leaf, its raw body and headers; return the HTTP status you answer.

        Override it (with ``client_alerts_acted_on`` and ``client_alert_view``) to have the machine deliver
        Leaf's alerts to your client and play duplicates, late and forged deliveries and a receiver down."""
        raise NotImplementedError("client_receive_alert: the machine plays a polling client unless it is overridden")

    def client_alerts_acted_on(self) -> list[dict[str, Any]]:
        """Every alert your client acted on, once per action, as the JSON it received (oldest first)."""
        raise NotImplementedError("client_alerts_acted_on: override it beside client_receive_alert")

    def client_alert_view(self) -> dict[str, dict[str, Any]]:
        """Your client's view from the alerts: credentialId -> the newest alert of that credential by its
        ``timestamp`` (whatever the order they arrived in), as the JSON it received; its ``type`` says what the
        client does (credentialsUnauthenticated: ask the grower to reconnect; credentialsLimitedPermission: ask
        for scopes). A credential without an alert is left out."""
        raise NotImplementedError("client_alert_view: override it beside client_receive_alert")

    # -- the default client's transport: token, renewal on 401, retries -----------------------

    _token: str | None = None

    def _request(self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any) -> requests.Response:
        url = f"{self.leaf.user_management_url}{path}"
        renewed = False
        for attempt in range(_MAX_ATTEMPTS):
            if self._token is None:
                self._await_hook("client_login")
            try:
                r = self.session.request(method, url, headers={"Authorization": f"Bearer {self._token}"},
                                         timeout=10, **kwargs)
            except requests.ReadTimeout:
                if not idempotent:
                    raise  # the request may have been processed: the caller decides
                self.sleep(2**attempt)
                continue
            except requests.ConnectionError:
                self.sleep(2**attempt)
                continue
            if r.status_code == 401 and not renewed:
                self._await_hook("client_renew_token")
                renewed = True
                continue
            if r.status_code == 429 or r.status_code >= 500:
                self.sleep(_retry_after(r, self.leaf.now()) or 2**attempt)
                continue
            return r
        raise AssertionError(f"the default client gave up on {method} {path} after {_MAX_ATTEMPTS} attempts")

    # -- what the machine reads and changes at the fake, for ``self.provider`` -----------------------

    def truth_status(self, leaf_user_id: str) -> str | None:
        """The credential's status at the fake; None when there is none."""
        held = self.truth_credentials(leaf_user_id)
        return None if held is None else held.status.value

    def truth_credentials(self, leaf_user_id: str) -> Credentials | None:
        try:
            return self.leaf.get_credentials(self.provider, leaf_user_id)
        except NotFoundError:
            return None

    def truth_events(self, leaf_user_id: str) -> list[CredentialEvent] | None:
        """The credential's events at the fake, newest first; None when there is no credential."""
        try:
            return self.leaf.credential_events(self.provider, leaf_user_id)
        except NotFoundError:
            return None

    def provider_changes(self) -> tuple[str, ...]:
        """The provider's transitions the machine plays: John Deere's own, or every upstream's."""
        return JOHN_DEERE_CHANGES if self.provider is JOHN_DEERE else UPSTREAM_CHANGES

    def apply_provider_change(self, name: str, leaf_user_id: str) -> None:
        if self.provider is JOHN_DEERE:  # John Deere's controls speak its own words (scopes, organizations)
            jd = self.leaf.john_deere
            if name in ("withdraw_scope", "restore_scope"):
                getattr(jd, name)(leaf_user_id, "ag1")
            else:
                getattr(jd, name)(leaf_user_id)
        else:
            getattr(self.leaf.upstream(self.provider), name)(leaf_user_id)

    def set_outage(self, status_code: int | None) -> None:
        """Start the provider's outage answering ``status_code``, or end it (None)."""
        upstream = self.leaf.upstream(self.provider)
        if status_code is None:
            upstream.end_outage()
        else:
            upstream.start_outage(status_code)

    # -- the rules: the client's side --------------------------------------------------------

    @initialize()
    def start(self) -> None:
        """The client logs in and connects its first grower (an integration has one from the start)."""
        self._hook("client_login")
        self._register_webhook()
        self.create_user()
        self.connect(self.users[0])

    # bodies are realistic but not drawn: values the client passes through only slow the shrinking
    @precondition(lambda self: len(self.users) < self.max_users)
    @rule()
    def create_user(self) -> None:
        """The client creates a user, then reads it back."""
        self._serial += 1
        body = {**sample_user_body(self._serial), "externalId": f"integration-user-{self._serial}"}
        user_id = self._hook("client_create_user", body)
        made = [u for u in self.leaf.list_users() if u.external_id == body["externalId"]]
        self._expect(len(made) == 1, "client_create_user", f"{len(made)} user(s) with externalId "
                     f"{body['externalId']!r} at Leaf", "exactly 1: a lost answer must not make a second user")
        self._expect(user_id == made[0].id, "client_create_user", f"id {user_id!r}", f"{made[0].id!r}")
        user = UserRef(user_id, f"user{self._serial}")
        self.users.append(user)
        got = self._hook("client_get_user", user)
        self._expect(got is not None and got.get("id") == user, "client_get_user", got, f"the user {user_id}")

    @precondition(lambda self: self.users)
    @rule(user=st.runner().flatmap(lambda m: _by_place(m.users)))
    def delete_user(self, user: UserRef) -> None:
        self._hook("client_delete_user", user)
        self.users.remove(user)
        self.connected.discard(user)
        try:
            self.leaf.get_user(user)
            still_there = True
        except NotFoundError:
            still_there = False
        self._expect(not still_there, "client_delete_user", f"{user!r} still at Leaf", "the user gone")

    @rule()
    def list_users(self) -> None:
        reported = self._hook("client_list_users")
        truth = [u.id for u in self.leaf.list_users()]
        if sorted(reported) != sorted(truth):
            missing, extra = sorted(set(truth) - set(reported)), sorted(set(reported) - set(truth))
            raise ClientMismatchError(self._with_story(
                f"client_list_users reported {len(reported)} user(s), the fake holds {len(truth)}; missing: "
                f"{_few(missing)}; not at Leaf or repeated: {_few(extra) if extra else _repeated(reported)}"))

    @precondition(lambda self: self.users)
    @rule(user=st.runner().flatmap(lambda m: _by_place(m.users)))
    def connect(self, user: UserRef) -> None:
        """The client posts credentials; for a user connected already Leaf answers credentialAlreadyExists."""
        before = self.truth_credentials(user)
        self._serial += 1
        self._hook("client_connect", user, sample_credentials_body(self._serial, self.provider))
        after = self.truth_credentials(user)
        if before is None:
            self._expect(after is not None, "client_connect", f"no credential for {user!r} at Leaf", "a credential")
        else:
            self._expect(after is not None and after.id == before.id, "client_connect",
                         f"credential {getattr(after, 'id', None)}", f"the credential there before, {before.id}")
        self.connected.add(user)
        self._check_events(user)

    @precondition(lambda self: self.users)
    @rule(user=st.runner().flatmap(lambda m: _by_place(m.users)))
    def disconnect(self, user: UserRef) -> None:
        self._hook("client_disconnect", user)
        self.connected.discard(user)
        self._changed.pop(user, None)
        held = self.truth_credentials(user)
        self._expect(held is None, "client_disconnect", f"a credential still at Leaf for {user!r}", "none")

    @precondition(lambda self: self.users)
    @rule(user=st.runner().flatmap(lambda m: _by_place(m.users)))
    def sync(self, user: UserRef) -> None:
        """What an integration's sync does: read the status, decide about it, read the events."""
        reported = self._hook("client_get_credential", user)
        truth = self.truth_status(user)
        self._expect(reported == truth, "client_get_credential", reported, truth, user)
        if truth is not None:
            decision = self._hook("client_decide", user, truth)
            wanted = DECISIONS[CredentialStatus(truth)]
            self._expect(decision == wanted, "client_decide", decision, wanted, user, f" for {truth}")
            self._expect(self.truth_status(user) is not None, "client_decide",
                         f"the credential of {user!r} deleted on {truth}", "the credential left at Leaf")
        # a client that waits (Retry-After, backoff) reads the list as it was when its request got through:
        # any of the lists between the hook's start and its end, since only the clock's moves change it
        self._events_seen = (user, [self._listed_events(user)])
        try:
            read = self._hook("client_read_events", user)
        finally:
            _, seen = self._events_seen
            self._events_seen = None
        listed = self._listed_events(user)
        self._expect(read == listed or read in seen, "client_read_events", read, listed, user,
                     " (Leaf lists events newest first)")
        self._check_events(user)
        if self._manages_organizations():
            self._sync_organizations(user)

    def _listed_events(self, user: str) -> list[str] | None:
        events = self.truth_events(user)
        return None if events is None else [e.id for e in events]

    def _manages_organizations(self) -> bool:
        declared = self.provider.organizations
        return declared is not None and declared.sync_management

    def truth_organizations(self, leaf_user_id: str) -> dict[str, str] | None:
        """Leaf's list of the credential's organizations: providerOrgId -> status; None without a credential."""
        try:
            return {o.provider_org_id: o.status.value for o in self.leaf.organizations(self.provider, leaf_user_id)}
        except NotFoundError:
            return None

    def _sync_organizations(self, user: UserRef) -> None:
        """The client reads the user's organizations and acts on them; then it holds Leaf's list, and nothing
        Leaf offers for processing (PREVIEW) is left unselected, while BLOCKED stays for the grower."""
        read = self._hook("client_read_organizations", user)
        truth = self.truth_organizations(user)
        self._expect(read == truth, "client_read_organizations", read, truth, user, " (every page)")
        if truth is None:
            return
        self._hook("client_select_organizations", user, dict(truth))
        after = self.truth_organizations(user) or {}
        wanted = {k: ("SELECTED" if v == "PREVIEW" else v) for k, v in truth.items()}
        self._expect(after == wanted, "client_select_organizations", after, wanted, user,
                     " (PREVIEW selected, BLOCKED left to the grower)")

    # -- the rules: what Leaf and the provider do ---------------------------------------------

    @precondition(lambda self: self.leaf_rules.users_elsewhere)
    @rule(count=st.sampled_from((1, 21, 101)))
    def users_made_elsewhere(self, count: int) -> None:
        """Users made outside the client (Leaf's dashboard, another service): lists span pages."""
        for _ in range(count):
            self.leaf.create_user(name="made elsewhere")

    @precondition(lambda self: self.leaf_rules.provider_transitions and self.provider_changes())
    @rule(change=st.runner().flatmap(lambda m: m._change_choices()),  # noqa: SLF001 (m is the machine itself)
          then=st.one_of(st.just("the next check and a sync"),  # three times in four
                         st.sampled_from(("the next check and a sync", "nothing yet"))))
    def provider_transition(self, change: _Change, then: str) -> None:
        """The provider changes (for one credential, or an outage for all); then, or not yet, Leaf's next
        check and the client's sync of the credentials it touched (as a sync job after Leaf's would)."""
        if change.user is None:
            self._outage = change.name != "end_outage"
            self.set_outage(int(change.name.rsplit("_", 1)[1]) if self._outage else None)
        else:
            self.apply_provider_change(change.name, change.user)
            done = self._changed.setdefault(change.user, set())
            done.discard(_UNDOES.get(change.name, ""))
            if change.name not in _UNDOES:
                done.add(change.name)
        if then == "nothing yet" or "the next check" not in self._landmarks():
            return
        self.clock.advance(self._landmark_move("the next check"))
        for user in [change.user] if change.user is not None else self.connected_users():
            self.sync(user)

    @precondition(lambda self: self.leaf_rules.organization_changes and self._manages_organizations()
                  and self.connected_users())
    @rule(user=st.runner().flatmap(lambda m: _by_place(m.connected_users())),
          change=organization_changes(),
          then=st.one_of(st.just("the next check and a sync"),
                         st.sampled_from(("the next check and a sync", "nothing yet"))))
    def organization_change(self, user: UserRef, change: str, then: str) -> None:
        """The grower's account changes its organizations (the newest one that can take the change); then,
        or not yet, Leaf's next check and the client's sync."""
        upstream = self.leaf.upstream(self.provider)
        held = upstream.organizations(user)
        if change.startswith("add"):
            for _ in range(int(change.split()[1])):
                self._serial += 1
                upstream.add_organization(user, f"Farm {self._serial}")
        else:
            fits = [o for o in held if change == "remove" or o.blocked == (change == "unblock")]
            if not fits:
                return
            getattr(upstream, f"{change}_organization")(user, fits[-1].id)
        if then == "nothing yet" or "the next check" not in self._landmarks():
            return
        self.clock.advance(self._landmark_move("the next check"))
        self.sync(user)

    @precondition(lambda self: self.leaf_rules.time_moves and self._landmarks())
    @rule(to=st.runner().flatmap(lambda m: m._landmark_choices()))  # noqa: SLF001 (m is the machine itself)
    def move_time(self, to: str) -> None:
        self.clock.advance(self._landmark_move(to))

    @precondition(lambda self: self.leaf_rules.leaf_faults and self._fault_spent())
    @rule(fault=st.runner().flatmap(lambda m: m._fault_choices()))  # noqa: SLF001 (m is the machine itself)
    def leaf_fault(self, fault: str) -> None:
        """Leaf fails the next request once (a read timeout: the next POST is done and its answer lost; aimed
        at ``POST /users``, the client creates a user in the same step)."""
        if fault.startswith("429"):
            headers = None
            if fault.endswith("7"):
                headers = {"Retry-After": "7"}
            elif fault.endswith("HTTP-date"):
                when = self.leaf.now() + dt.timedelta(seconds=7)
                headers = {"Retry-After": email.utils.format_datetime(when, usegmt=True)}
            self._pending_fault = self.leaf.inject("http_error", status=429, headers=headers, times=1)
        elif fault in ("500", "503"):
            self._pending_fault = self.leaf.inject("http_error", status=int(fault), times=1)
        elif fault == "read_timeout":  # the next write is done at Leaf, and its answer lost on the way back
            self._pending_fault = self.leaf.inject("read_timeout", method="POST", times=1, after=True)
        elif fault == "read_timeout POST /users":
            # aimed, and spent in this step: the next POST is most often a login or a credential's, from
            # which clients recover, while a blind retry of this one makes a second user; left pending,
            # a fault aimed at one route would hold back every other fault until that route is called
            self._pending_fault = self.leaf.inject("read_timeout", method="POST", path="/users", times=1, after=True)
            self.create_user()
        else:
            self._pending_fault = self.leaf.inject("connection_error", times=1)

    @precondition(lambda self: self.leaf_rules.rate_limit)
    @rule()
    def rate_limit_switch(self) -> None:
        """Leaf's rate limit (2 requests a minute here, so it bites) switched on, or off again."""
        self._rate_limited = not self._rate_limited
        _set_rate_limit(self.leaf, RATE_LIMIT if self._rate_limited else None)

    # -- the rules: Leaf's alerts webhook, for a client with a receiver -------------------------------

    def _make_alerts_receiver(self) -> AlertsReceiver | None:
        """The receiver's URL, served in-process beside the fake, when the class overrides client_receive_alert."""
        if type(self).client_receive_alert is LeafClientStateMachine.client_receive_alert:
            return None
        receiver = AlertsReceiver(self.leaf.now, self._receive_alert)
        receiver.start()  # after the fake's own mock: every other URL goes on to it
        return receiver

    def _receive_alert(self, body: bytes, headers: dict[str, str]) -> int:
        """The client's hook, called from the fake's delivery thread while the machine's thread waits."""
        answer = self.client_receive_alert(body, headers)
        if hasattr(answer, "__await__"):  # an async receiver: on the machine's loop unless a hook is running on it
            if self._loop is not None and self._loop.is_running():
                return int(asyncio.run(_awaited(answer)))
            return int(self.run(answer))
        return int(answer)

    def _register_webhook(self) -> None:
        if self.alerts_receiver is None:
            return
        self._hook("client_register_webhook", self.alerts_receiver.url)
        self.leaf.webhook_deliveries()  # the confirmation, if it is not sent already
        confirmed = [a for a in self.alerts_receiver.arrivals if a.key is None and a.genuine]
        self._expect(bool(confirmed), "client_register_webhook", f"no webhook for {self.alerts_receiver.url}",
                     "a webhook whose confirmation reached the receiver")

    def plays_webhooks(self) -> bool:
        return self.alerts_receiver is not None and self.leaf_rules.webhook_plays

    @precondition(lambda self: self.plays_webhooks())
    @rule()
    def duplicate_delivery(self) -> None:
        """Leaf delivers at least once: the newest alert delivered again, and the next one twice."""
        assert self.alerts_receiver is not None
        self.alerts_receiver.duplicate()

    def _order_choices(self) -> st.SearchStrategy[str]:
        assert self.alerts_receiver is not None
        hows = [how for how, available in (("a permission flaps", bool(self._flappable())),
                                           ("the next alert late", not self.alerts_receiver.hold_next)) if available]
        return st.sampled_from(hows)

    @precondition(lambda self: self.plays_webhooks() and (not self.alerts_receiver.hold_next or self._flappable()))
    @rule(how=st.runner().flatmap(lambda m: m._order_choices()))  # noqa: SLF001 (m is the machine itself)
    def deliveries_out_of_order(self, how: str) -> None:
        """A permission that flaps (withdrawn, given back, withdrawn, minutes apart, a check after each): its
        first alert arrives after the second; or the next alert held until the credential's next one."""
        assert self.alerts_receiver is not None
        if how == "a permission flaps":
            self._permission_flaps(self._flappable()[-1])
        else:
            self.alerts_receiver.hold_next = True

    @precondition(lambda self: self.plays_webhooks() and self._credential_ids())
    @rule(how=st.sampled_from(("wrong signature", "body changed after signing")))
    def forged_delivery(self, how: str) -> None:
        """An alert Leaf never sent, for a real credential: signed with another secret, or under a genuine
        delivery's signature."""
        assert self.alerts_receiver is not None
        self.alerts_receiver.forge(how, self._credential_ids()[-1], self.provider.name)

    @precondition(lambda self: self.plays_webhooks())
    @rule(how=st.sampled_from(("the next answer lost", "down for 2 deliveries", "down for 5 deliveries")))
    def receiver_trouble(self, how: str) -> None:
        """The client's answer to the next alert lost on the way back (Leaf sends it again); or the receiver
        down for the next deliveries (2: back for Leaf's second retry; 5: every attempt at an alert refused,
        and the alert lost)."""
        assert self.alerts_receiver is not None
        if how == "the next answer lost":
            self.alerts_receiver.lose_next_answer = True
        else:
            self.alerts_receiver.down_for = int(how.split()[-2])

    @precondition(lambda self: self.alerts_receiver is not None and self._next_alert_retry is not None)
    @rule()
    def leaf_retries_delivery(self) -> None:
        """Time moves to Leaf's next retry of a failed delivery (1, 30, 60, 240 minutes after the first failure)."""
        assert self._next_alert_retry is not None
        self.clock.advance(self._next_alert_retry - self.leaf.now())

    _next_alert_retry: dt.datetime | None = None  # when Leaf retries a failed delivery next (read after each step)

    def _flappable(self) -> list[UserRef]:
        """Connected users whose credential is OK, with no provider change in force (nor an outage)."""
        if self._outage:
            return []
        return [u for u in self.connected_users() if self.truth_status(u) == "OK" and not self._changed.get(u)]

    def _permission_changes(self) -> tuple[str, str]:
        return ("withdraw_scope", "restore_scope") if self.provider is JOHN_DEERE else \
            ("withdraw_permission", "restore_permission")

    def _permission_flaps(self, user: UserRef) -> None:
        """The provider withdraws a permission, gives it back and withdraws it again, minutes apart, and Leaf
        checks after each (two alerts); the first alert's delivery arrives after the second's."""
        assert self.alerts_receiver is not None
        withdraw, restore = self._permission_changes()
        receiver = self.alerts_receiver
        receiver.hold_next, receiver.down_for, receiver.lose_next_answer = True, 0, False
        for change in (withdraw, restore, withdraw):
            self.clock.advance(dt.timedelta(minutes=10))
            self.apply_provider_change(change, user)
            self.leaf.upstream(self.provider).run_check(user)
            self.leaf.webhook_deliveries()
        self._changed.setdefault(user, set()).add(withdraw)

    def _credential_ids(self) -> list[str]:
        return [c.id for c in (self.truth_credentials(u) for u in self.connected_users()) if c is not None]

    def check_alerts(self) -> None:
        """After each step: Leaf's due deliveries sent; then the client's actions and view against the alerts
        that reached its receiver."""
        __tracebackhide__ = True
        if self.alerts_receiver is None:
            return
        deliveries = self.leaf.webhook_deliveries()
        self._next_alert_retry = self.alerts_receiver.pending_retry(deliveries)
        acted_on = self._hook("client_alerts_acted_on")
        view = self._hook("client_alert_view")
        mismatch = self.alerts_receiver.check(acted_on, view, self._credential_ids())
        if mismatch is not None:
            raise ClientMismatchError(self._with_story(mismatch))

    # -- checks -----------------------------------------------------------------------------

    def _hook(self, name: str, *args: Any) -> Any:
        __tracebackhide__ = True
        try:
            return self.run(getattr(self, name)(*args))
        except ClientMismatchError:
            raise
        except Exception as e:
            shown = ", ".join(_short(a) for a in args)
            raise ClientMismatchError(self._with_story(f"hook {name}({shown}) raised {type(e).__name__}: {e}")) from e

    def _expect(self, ok: bool, hook: str, reported: object, truth: object, user: UserRef | None = None,
                why: str = "") -> None:
        __tracebackhide__ = True
        if not ok:
            about = f" for {user!r}" if user is not None else ""
            raise ClientMismatchError(self._with_story(
                f"{hook}{about} reported {_short(reported)}; the fake holds {_short(truth)}{why}"))

    def _with_story(self, message: str) -> str:
        """The failing step's own story goes in the message: hypothesis prints no note after it."""
        lines = self._story_lines()
        return message + ("\nwhat the fake did in this step:\n    " + "\n    ".join(lines) if lines else "")

    def _check_events(self, user: str) -> None:
        """The fake's own rules, for the one credential a step touched (not a scan of every one)."""
        events = self.truth_events(user)
        if not events:
            return
        now = self.leaf.now()
        dates = [e.created_date for e in events]
        assert dates == sorted(dates, reverse=True), f"fake-leaf lists the events of {user!r} out of order"
        assert now - dates[-1] < self._timing.events_window, "fake-leaf lists an event past its events window"
        assert dates[0] <= now, "fake-leaf lists an event dated in the future"

    def connected_users(self) -> list[UserRef]:
        return [u for u in self.users if u in self.connected]

    def _change_choices(self) -> st.SearchStrategy[_Change]:
        # by effect first (an outage, a lost grant, a lost permission, a permission back), whatever the
        # number of credentials or of the provider's ways to cause each
        outage = [_Change("end_outage")] if self._outage else [_Change("start_outage_503"),
                                                                _Change("start_outage_429")]
        effects: dict[str, list[_Change]] = {"outage": outage}
        for change in self._available_changes():
            effects.setdefault(_EFFECTS.get(change.name, change.name), []).append(change)
        return st.one_of([_by_place(changes) for changes in effects.values()])

    def _available_changes(self) -> list[_Change]:
        changes = []
        for user in self.connected_users():
            done = self._changed.get(user, set())
            for name in self.provider_changes():
                undoes = _UNDOES.get(name)
                if (undoes is not None and undoes in done) or (undoes is None and name not in done):
                    changes.append(_Change(name, user))
        return changes

    def _fault_choices(self) -> st.SearchStrategy[str]:
        room = len(self.users) < self.max_users  # the aimed read timeout creates a user
        return st.sampled_from([f for f in LEAF_FAULTS if room or f != "read_timeout POST /users"])

    def _fault_spent(self) -> bool:
        return self._pending_fault is None or self._pending_fault.hits > 0

    def _landmarks(self) -> list[str]:
        """The landmarks ahead of now (computed once per step: preconditions ask often)."""
        if self._landmarks_at is None:
            now = self.leaf.now()
            self._landmarks_at = {name: when for name in LANDMARKS
                                  if (when := self._landmark(name)) is not None and when > now}
        return list(self._landmarks_at)

    def _landmark_choices(self) -> st.SearchStrategy[str]:
        ahead = self._landmarks()
        # the next check, where statuses change, half the time; any other landmark the rest
        if "the next check" in ahead:
            return st.one_of(st.just("the next check"), st.sampled_from(ahead))
        return st.sampled_from(ahead)

    def _landmark_move(self, name: str) -> dt.timedelta:
        self._landmarks()
        assert self._landmarks_at is not None
        return self._landmarks_at[name] - self.leaf.now()

    def _landmark(self, name: str) -> dt.datetime | None:
        if "Leaf token" in name:
            expiry = self._leaf_token_expiry()
            return None if expiry is None else expiry - (_SECOND if "before" in name else dt.timedelta(0))
        held = [c for c in (self.truth_credentials(u) for u in self.connected_users()) if c is not None]
        now = self.leaf.now()
        if name.endswith("next check"):
            live = [c for c in held if c.status is not CredentialStatus.UNAUTHENTICATED]
            if not live:
                return None
            interval = self._timing.check_interval
            due = min(c.created_time + ((now - c.created_time) // interval + 1) * interval for c in live)
            return due - (_SECOND if "before" in name else dt.timedelta(0))
        if "access token" in name:
            refreshed = [e.created_date for u in self.connected_users() for e in (self.truth_events(u) or [])
                         if e.status_code == 200 and "access_token" in e.body]
            return max(refreshed) + self._timing.access_token_lifetime + _SECOND if refreshed else None
        dates = [events[-1].created_date for u in self.connected_users() if (events := self.truth_events(u))]
        if not dates:
            return None
        return min(dates) + self._timing.events_window - (_SECOND if "before" in name else dt.timedelta(0))

    def _leaf_token_expiry(self) -> dt.datetime | None:
        """When the last token the fake handed out expires (read from the logins in its journal)."""
        journal = self.leaf.journal()
        for entry in journal[self._journal_read:]:
            if entry.route == "/api/authenticate" and entry.status == 200:
                self._token_expiry = _jwt_expiry(entry.response_body) or self._token_expiry
        self._journal_read = len(journal)
        return self._token_expiry

    # -- the story of each step, in the final run only ------------------------------------------

    def check_invariants(self, *args: Any, **kwargs: Any) -> None:
        super().check_invariants(*args, **kwargs)  # type: ignore[no-untyped-call, unused-ignore]
        self._landmarks_at = None  # the step changed the state
        self.check_alerts()
        self._tell_the_story()  # here, not as an @invariant, so the steps do not print its name

    def _tell_the_story(self) -> None:
        lines = self._story_lines()
        if lines:
            note("    # " + "\n    # ".join(lines))

    def _story_lines(self) -> list[str]:
        """What the fake did since the last call: requests, clock, checks and events, statuses, alerts."""
        story = self._story
        if story is None:
            return []
        lines: list[str] = []
        now = self.leaf.now()
        if story.clock is not None and now != story.clock:
            lines.append(f"clock: {story.clock:%Y-%m-%d %H:%M:%S} -> {now:%Y-%m-%d %H:%M:%S} (+{now - story.clock})")
        story.clock = now
        journal = self.leaf.journal()
        lines += [f"request: {e}" for e in journal[story.journal_seen:]]
        story.journal_seen = len(journal)
        for user in self.users:
            events = self.truth_events(user) or []
            seen = story.events_seen.setdefault(user, set())
            for e in reversed(events):
                if e.id not in seen:
                    lines.append(f"background check of {user!r} at {e.created_date:%Y-%m-%d %H:%M:%S}: "
                                 f"{self.provider.label} answered {e.status_code} {e.body[:120]}")
            story.events_seen[user] = {e.id for e in events}
            status = self.truth_status(user)
            if story.statuses.get(user, None) != status:
                lines.append(f"status of {user!r}: {story.statuses.get(user)} -> {status}")
            story.statuses[user] = status
        alerts = self.leaf.alerts()
        lines += [f"alert: {a.type} {a.message}" for a in alerts[story.alerts_seen:]]
        story.alerts_seen = len(alerts)
        return lines

    def teardown(self) -> None:
        self._release()

    def _release(self) -> None:
        """Stop what ``__init__`` started, as far as it got: the receiver, the session, the fake, the loop."""
        try:
            receiver = getattr(self, "alerts_receiver", None)
            if receiver is not None:
                receiver.stop()
            session = getattr(self, "session", None)
            if session is not None:
                session.close()
        finally:
            leaf = getattr(self, "leaf", None)
            if leaf is not None:
                leaf.stop()
            loop = getattr(self, "_loop", None)
            if loop is not None and not loop.is_closed():
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()


# -- the checks of a subclass, when it is defined ------------------------------------------------

# hypothesis calls these itself: a rule, an initializer or an invariant named client_* is not a misspelt hook
_HYPOTHESIS_MARKERS = (RULE_MARKER, INITIALIZE_RULE_MARKER, INVARIANT_MARKER)


def _hooks() -> list[str]:
    """The machine's hooks: every ``client_*`` name of ``LeafClientStateMachine`` (its own or inherited)."""
    return sorted(name for name in dir(LeafClientStateMachine) if name.startswith("client_"))


def _refuse_unknown_hooks(cls: type[LeafClientStateMachine]) -> None:
    """A ``client_*`` method the machine does not know would never be called: the test would pass while
    testing nothing (a misspelt hook, or one renamed since the subclass was written)."""
    hooks = _hooks()
    for klass in cls.__mro__:
        if klass in LeafClientStateMachine.__mro__:
            continue
        for name, value in vars(klass).items():
            if not name.startswith("client_") or name in hooks or not _is_method(value):
                continue
            if any(hasattr(value, marker) for marker in _HYPOTHESIS_MARKERS):
                continue
            raise InvalidDefinition(
                f"{klass.__name__}.{name} is not a hook of LeafClientStateMachine, so the machine would never call "
                f"it ({_closest_hook(name, hooks)}); the hooks are {', '.join(hooks)}. A method of your own needs a "
                "name that does not start with client_.")


def _closest_hook(name: str, hooks: list[str]) -> str:
    # compared without the prefix they share, which would make every pair look alike
    words = {hook.removeprefix("client_"): hook for hook in hooks}
    wanted = name.removeprefix("client_")
    if close := difflib.get_close_matches(wanted, list(words), n=1, cutoff=0.6):
        return f"did you mean {words[close[0]]}?"
    nearest = difflib.get_close_matches(wanted, list(words), n=1, cutoff=0.0)
    return f"no hook is named alike (the closest is {words[nearest[0]]})" if nearest else "no hook is named alike"


def _is_method(value: object) -> bool:
    return isinstance(value, (types.FunctionType, staticmethod, classmethod, functools.partialmethod))


def _resolve_provider(cls: type[LeafClientStateMachine]) -> Provider:
    """``provider`` as a ``Provider``: given as a name, the registry's provider of that name, label or slug,
    whatever the case, spaces, hyphens or underscores ("Trimble", "john deere", "climate-field-view")."""
    given: object = cls.provider
    if isinstance(given, Provider):
        return given
    if not isinstance(given, str):
        raise InvalidDefinition(
            f"{cls.__name__}.provider must be a Provider (fake_leaf.PROVIDERS) or a provider's name such as "
            f"'Trimble', got {type(given).__name__} {_short(given, 100)}")
    keys = _provider_keys()
    found = keys.get(_key(given))
    if found is not None:
        return found
    ranked = difflib.get_close_matches(_key(given), list(keys), n=len(keys), cutoff=0.0)
    names = list(dict.fromkeys(keys[k].name for k in ranked))  # closest first, each provider once
    names += [p.name for p in PROVIDERS if p.name not in names]
    close = difflib.get_close_matches(_key(given), list(keys), n=1, cutoff=0.6)
    hint = f"did you mean {keys[close[0]].name!r}? " if close else ""
    raise InvalidDefinition(
        f"{cls.__name__}.provider = {_short(given, 100)} names no provider fake-leaf knows; {hint}"
        f"the providers, closest first: {', '.join(names)} (a provider of your own: give its Provider itself)")


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


@functools.cache
def _provider_keys() -> dict[str, Provider]:
    """Every registered provider under its name, its label and its slug, each folded by ``_key``."""
    return {_key(text): p for p in PROVIDERS for text in (p.name, p.label, p.slug)}


def _retry_after(response: requests.Response, now: dt.datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP-date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def _set_rate_limit(leaf: FakeLeaf, limit: RateLimit | None) -> None:
    leaf.rate_limit = limit  # the machine switches it mid-example


# the rules of a webhook-driven client: on the classes that override client_receive_alert only, so that a polling
# machine's rules, and so its examples and their shrinking, are what they were before webhooks
_WEBHOOK_RULES = {name: LeafClientStateMachine.__dict__[name] for name in (
    "duplicate_delivery", "deliveries_out_of_order", "forged_delivery", "receiver_trouble", "leaf_retries_delivery")}
for _name in _WEBHOOK_RULES:
    delattr(LeafClientStateMachine, _name)


def _check_alert_hooks(cls: type[LeafClientStateMachine]) -> None:
    """A receiver without the hooks that report what the client made of the alerts is refused by name."""
    if cls.client_receive_alert is LeafClientStateMachine.client_receive_alert:
        return
    missing = [name for name in ("client_alerts_acted_on", "client_alert_view")
               if getattr(cls, name) is getattr(LeafClientStateMachine, name)]
    if missing:
        raise TypeError(f"{cls.__name__} overrides client_receive_alert but not {' and '.join(missing)}: the "
                        "machine checks what the client made of the alerts through them")


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _jwt_expiry(body: bytes) -> dt.datetime | None:
    try:
        token = json.loads(body)["id_token"]
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        return dt.datetime.fromtimestamp(int(claims["exp"]), dt.timezone.utc)
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _final_run() -> bool:
    from hypothesis.control import current_build_context

    try:
        return bool(current_build_context().is_final)
    except Exception:  # not inside a hypothesis test (a machine built by hand)
        return False


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _few(ids: Iterable[str]) -> str:
    ids = list(ids)
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "") if ids else "none"


def _repeated(ids: list[str]) -> str:
    twice = sorted({i for i in ids if ids.count(i) > 1})
    return f"repeated {_few(twice)}" if twice else "none"



LeafClientStateMachine.TestCase.settings = DEFAULT_SETTINGS
