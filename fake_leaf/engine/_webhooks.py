"""Leaf's alerts service as state: webhooks per API owner, the delivery queue, attempts, failed calls.

It decides *what* to deliver and *when* (on the fake's clock); it never sends. Whoever sends takes
the due attempts (``take_due``), sends them without holding the engine's lock, and hands back what
happened (``record``). Alerts come from the engine's alert log, read from a cursor, so this module
does not care where or how an alert is raised.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import heapq
import hmac
import itertools
import json
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from fake_leaf.engine import _errors as err
from fake_leaf.engine._ids import new_id
from fake_leaf.engine._models import Alert, OrganizationAlert

__tracebackhide__ = err.hide_refusals  # pytest shows the test's frames for the fake's refusals

SIGNATURE_HEADER = "X-Leaf-Signature"
CONFIRMATION = {"message": "confirmation of webhook upon registration"}
# after the first failure, Leaf retries 1, 30, 60 and 240 minutes later; then it gives up
RETRY_DELAYS: tuple[_dt.timedelta, ...] = tuple(_dt.timedelta(minutes=m) for m in (1, 30, 60, 240))
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS)
# deliveries, and each owner's failed calls, kept for reading like the request journal: the newest 10,000, fewer
# past 8 MiB of their bodies, answers, errors and URLs; the oldest are dropped first, the newest always stays
KEPT_ATTEMPTS = 10_000
KEPT_BYTES = 8 * 1024 * 1024
# attempts waiting for their time (first attempts and retries), bounded the same way: beyond 11,000 or 8 MiB of
# their bodies and URLs, those queued longest ago are dropped (never sent), down to 10,000 and 90% of the bytes
KEPT_WAITING = 10_000
MAX_URL_LENGTH = 2048

# The event names of Leaf's alerts service, as its events page lists them (its EventDto enum), in that order.
# Any may be registered; the fake sends the credential ones and the provider organizations' ones.
CREDENTIAL_EVENTS: tuple[str, ...] = ("credentialsLimitedPermission", "credentialsUnauthenticated")
ORGANIZATION_EVENTS: tuple[str, ...] = ("providerOrganizationCreated", "providerOrganizationBlocked",
                                        "providerOrganizationRemoved")
EVENTS: tuple[str, ...] = (
    *CREDENTIAL_EVENTS,
    "fieldCreated", "fieldUpdated", "mergedFieldCreated", "mergedFieldUpdated",
    "fieldBoundaryCreated", "fieldBoundaryUpdated", "fieldBoundaryDeleted",
    "batchUploadProcessingFinished", "uploadedFileProcessingFinished", "uploadedFileProcessingFailed",
    "providerFileProcessingFinished", "providerFileProcessingFailed",
    "mergedFileProcessingFinished", "mergedFileProcessingFailed",
    "automergedFileProcessingFinished", "automergedFileProcessingFailed",
    "operationCreated", "operationUpdated", "operationProcessingFinished", "operationProcessingFailed",
    "workflowProcessingFinished", "workflowProcessingFailed",
    "newSatelliteImage", "satelliteSubscriptionFailed",
    "newIrrigationActivity", "newFieldIrrigationActivity",
    "machineCreated", "machineUpdated", "machineDeleted", "implementCreated", "implementUpdated",
    "operatorCreated", "operatorUpdated",
    *ORGANIZATION_EVENTS,
)
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?$")


def leaf_body(payload: Mapping[str, object]) -> bytes:
    """The exact bytes Leaf sends and signs: one line, ``", "`` and ``": "``, non-ASCII escaped.

    A receiver that parses the body and serialises it again with Python's ``json.dumps``
    defaults gets these very bytes, so its signature check passes too.
    """
    return json.dumps(dict(payload)).encode("ascii")


def sign(body: bytes, secret: str) -> str:
    """``X-Leaf-Signature``: standard base64 of HMAC-SHA256 over the body, keyed with the secret as UTF-8."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify_signature(raw_body: bytes | str, secret: str, header: str | None) -> bool:
    """Whether ``header`` (``X-Leaf-Signature``) signs ``raw_body`` with ``secret``: the check a receiver makes.

    ``raw_body`` must be the bytes as received, before any parsing. Constant-time; a missing or
    malformed header is ``False``, never an exception.
    """
    if not isinstance(header, str) or not isinstance(secret, str):
        return False
    body = raw_body.encode("utf-8") if isinstance(raw_body, str) else bytes(raw_body)
    try:
        received = base64.b64decode(header.strip(), validate=True)
    except (ValueError, TypeError):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, received)


@dataclass(frozen=True)
class Webhook:
    """A registered webhook, as Leaf echoes it: ``{id, events, name, secret, url}``."""

    id: str
    api_owner: str
    name: str
    url: str
    secret: str
    events: tuple[str, ...]
    transport: str  # how deliveries leave: the transport the webhook was registered through


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver to a webhook: what was sent, and the answer or the error.

    ``status`` and ``response`` are the receiver's answer; ``connection_error`` says why there was
    none (refused, timed out, no mock for the URL). ``attempt`` counts from 1 (5 at most).
    """

    delivery_id: str  # the same for every attempt of one message
    webhook_id: str
    api_owner: str
    url: str
    body: bytes
    headers: Mapping[str, str]
    attempt: int
    event: str | None  # the alert's type; None for the registration's confirmation
    sent_at: _dt.datetime  # the fake's time the attempt was due (checks and retries keep their own times)
    status: int | None = None
    response: str | None = None
    connection_error: str | None = None

    @property
    def ok(self) -> bool:
        """The receiver answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


@dataclass(frozen=True)
class FailedCall:
    """A failed attempt as Leaf's ``/webhooks/failed-calls`` lists it."""

    api_owner: str
    created_at: _dt.datetime
    url: str
    request_body: str
    status: int | None
    response: str | None
    connection_error: str | None


@dataclass(frozen=True)
class Outcome:
    """What the sender saw: an answer (``status``, ``response``) or ``connection_error``."""

    status: int | None = None
    response: str | None = None
    connection_error: str | None = None


@dataclass(frozen=True)
class PendingAttempt:
    """An attempt that is due, taken for sending: send ``body`` with ``headers`` to ``url``."""

    delivery_id: str
    webhook_id: str
    api_owner: str
    url: str
    body: bytes
    headers: Mapping[str, str]
    attempt: int
    event: str | None
    due: _dt.datetime
    first_failure: _dt.datetime | None
    transport: str


_T = TypeVar("_T", WebhookDelivery, FailedCall)


class _Kept(Generic[_T]):
    """The newest attempts or failed calls: at most ``KEPT_ATTEMPTS`` and ``KEPT_BYTES`` of their texts."""

    def __init__(self) -> None:
        self._items: deque[_T] = deque()
        self._bytes = 0

    def append(self, item: _T) -> None:
        self._items.append(item)
        self._bytes += _size(item)
        while len(self._items) > KEPT_ATTEMPTS or (self._bytes > KEPT_BYTES and len(self._items) > 1):
            self._bytes -= _size(self._items.popleft())

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    def __iter__(self) -> Iterator[_T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def _queued_size(pending: PendingAttempt) -> int:
    return len(pending.body) + len(pending.url)


def _size(item: WebhookDelivery | FailedCall) -> int:
    """What an attempt or failed call holds that a sender or receiver chose the size of."""
    body = item.body if isinstance(item, WebhookDelivery) else item.request_body
    return len(body) + len(item.url) + len(item.response or "") + len(item.connection_error or "")


@dataclass(eq=False, repr=False)
class _Owner:
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    failed_calls: _Kept[FailedCall] = field(default_factory=_Kept)


_NOBODY = _Owner()  # what reads see of an owner that never registered a webhook (reads do not add owners)


class AlertLog(Protocol):
    """What the alerts service reads of the engine: its time, its lock and its alert log."""

    def now(self) -> _dt.datetime: ...

    def atomic(self) -> AbstractContextManager[bool]: ...

    def alert_log(self) -> list[Alert | OrganizationAlert]: ...

    def alerts_since(self, cursor: int) -> tuple[list[Alert | OrganizationAlert], int]: ...

    @property
    def alert_payload(self) -> Callable[[Alert | OrganizationAlert], Mapping[str, object]] | None: ...


class Webhooks:
    """The alerts service of one backend, guarded by the backend's lock."""

    def __init__(self, backend: AlertLog) -> None:
        self._backend = backend
        self._lock = backend.atomic()
        self._owners: dict[str, _Owner] = {}
        self._queue: list[tuple[_dt.datetime, int, PendingAttempt]] = []  # a heap by due time
        self._queued_bytes = 0  # the bodies and URLs of the attempts in the queue
        self._sequence = itertools.count()
        self._alert_cursor = 0  # how many of the backend's alerts have become deliveries
        self._deliveries: _Kept[WebhookDelivery] = _Kept()
        self._registered = 0  # webhooks in all owners: no webhook, no alert to read
        # the alert's wire shape, as the router handed it to the backend (the engine imports no HTTP)
        self.alert_payload: Callable[[Alert | OrganizationAlert], Mapping[str, object]] | None = \
            backend.alert_payload

    def clear(self) -> None:
        """Forget every webhook, pending delivery, attempt and failed call (the alert log is cleared too)."""
        with self._lock:
            self._owners.clear()
            self._queue.clear()
            self._queued_bytes = 0
            self._alert_cursor = 0
            self._deliveries.clear()
            self._registered = 0

    def _owner(self, api_owner: str) -> _Owner:
        return self._owners.setdefault(api_owner, _Owner())

    def _known(self, api_owner: str) -> _Owner:
        return self._owners.get(api_owner, _NOBODY)

    # -- the API -----------------------------------------------------------------------------

    def register(self, api_owner: str, body: Mapping[str, object], transport: str = "in-process") -> Webhook:
        """POST /webhooks: validate, refuse an event another webhook listens to, queue the confirmation."""
        name, url, secret, events = _validate(body)
        with self._lock:
            now = self._backend.now()
            self._collect_alerts()  # alerts raised before this webhook existed are not its business
            owner = self._owner(api_owner)
            for other in owner.webhooks.values():
                taken = [e for e in events if e in other.events]
                if taken:
                    raise err.event_registered_twice(taken[0], other.id, other.name)
            webhook = Webhook(new_id(), api_owner, name, url, secret, events, transport)
            owner.webhooks[webhook.id] = webhook
            self._registered += 1
            self._enqueue(webhook, CONFIRMATION, None, now)
            return webhook

    def list_webhooks(self, api_owner: str) -> list[Webhook]:
        """The owner's webhooks, oldest first."""
        with self._lock:
            return list(self._known(api_owner).webhooks.values())

    def get_webhook(self, api_owner: str, webhook_id: str) -> Webhook:
        with self._lock:
            webhook = self._known(api_owner).webhooks.get(webhook_id)
            if webhook is None:  # another owner's webhook is answered like one that does not exist
                raise err.webhook_not_found(webhook_id)
            return webhook

    def delete_webhook(self, api_owner: str, webhook_id: str) -> None:
        """DELETE /webhooks/{id}: alerts raised before now are still delivered; later ones are not."""
        with self._lock:
            self.get_webhook(api_owner, webhook_id)
            self._collect_alerts()
            del self._owner(api_owner).webhooks[webhook_id]
            self._registered -= 1
            # its retries have nowhere to go once it is gone
            self._queue = [item for item in self._queue if item[2].webhook_id != webhook_id]
            heapq.heapify(self._queue)
            self._queued_bytes = sum(_queued_size(item[2]) for item in self._queue)

    def failed_calls(self, api_owner: str) -> list[FailedCall]:
        """Every failed attempt to deliver to the owner's webhooks, oldest first."""
        with self._lock:
            return list(self._known(api_owner).failed_calls)

    def deliveries(self) -> list[WebhookDelivery]:
        """Every attempt made, whatever the owner, in the order they were made."""
        with self._lock:
            return list(self._deliveries)

    # -- delivering ------------------------------------------------------------------------

    def take_due(self) -> list[PendingAttempt]:
        """Turn new alerts into deliveries, then take every attempt due by now, in due order."""
        with self._lock:
            if not self._registered and not self._queue:
                return []  # the common case: nothing registered, so nothing to read either
            now = self._backend.now()
            self._collect_alerts()
            due: list[PendingAttempt] = []
            while self._queue and self._queue[0][0] <= now:
                taken = heapq.heappop(self._queue)[2]
                self._queued_bytes -= _queued_size(taken)
                due.append(taken)
            return due

    def record(self, pending: PendingAttempt, outcome: Outcome) -> WebhookDelivery:
        """What happened to one attempt: list it, and on failure list a failed call and queue the retry."""
        delivery = WebhookDelivery(
            pending.delivery_id, pending.webhook_id, pending.api_owner, pending.url, pending.body,
            pending.headers, pending.attempt, pending.event, pending.due, outcome.status, outcome.response,
            outcome.connection_error)
        with self._lock:
            self._deliveries.append(delivery)
            if delivery.ok:
                return delivery
            self._owner(pending.api_owner).failed_calls.append(FailedCall(
                pending.api_owner, pending.due, pending.url, pending.body.decode("utf-8", "replace"),
                outcome.status, outcome.response, outcome.connection_error))
            first_failure = pending.first_failure or pending.due
            webhook = self._owner(pending.api_owner).webhooks.get(pending.webhook_id)
            if pending.attempt < MAX_ATTEMPTS and webhook is not None:
                retry = PendingAttempt(
                    pending.delivery_id, pending.webhook_id, pending.api_owner, pending.url, pending.body,
                    pending.headers, pending.attempt + 1, pending.event,
                    first_failure + RETRY_DELAYS[pending.attempt - 1], first_failure, pending.transport)
                self._queue_attempt(retry)
            return delivery

    def _enqueue(self, webhook: Webhook, payload: Mapping[str, object], event: str | None,
                 due: _dt.datetime) -> None:
        body = leaf_body(payload)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, webhook.secret)}
        pending = PendingAttempt(new_id(), webhook.id, webhook.api_owner, webhook.url, body, headers, 1, event, due,
                                 None, webhook.transport)
        self._queue_attempt(pending)

    def _queue_attempt(self, pending: PendingAttempt) -> None:
        heapq.heappush(self._queue, (pending.due, next(self._sequence), pending))
        self._queued_bytes += _queued_size(pending)
        if len(self._queue) > KEPT_WAITING + KEPT_WAITING // 10 or self._queued_bytes > KEPT_BYTES:
            self._drop_oldest_queued()

    def _drop_oldest_queued(self) -> None:
        """Keep the attempts queued last: at most KEPT_WAITING and 90% of KEPT_BYTES (the newest always stays)."""
        kept: list[tuple[_dt.datetime, int, PendingAttempt]] = []
        size = 0
        for item in sorted(self._queue, key=lambda item: item[1], reverse=True):  # newest first
            item_size = _queued_size(item[2])
            if kept and (len(kept) >= KEPT_WAITING or size + item_size > KEPT_BYTES * 9 // 10):
                break
            kept.append(item)
            size += item_size
        heapq.heapify(kept)
        self._queue, self._queued_bytes = kept, size

    def _collect_alerts(self) -> None:
        """Read the alert log from the cursor: each new alert goes to its owner's webhook for its event."""
        if self.alert_payload is None:
            return  # nobody said yet how an alert reads on the wire: the alerts wait in the log
        # catches the state up to now, so due checks raise theirs first; the cursor counts every alert ever raised
        new, cursor = self._backend.alerts_since(self._alert_cursor)
        if cursor < self._alert_cursor:  # the log was cleared behind our back
            new, cursor = self._backend.alerts_since(0)
        self._alert_cursor = cursor
        for alert in new:
            owner = self._owners.get(alert.api_owner)
            if owner is None:
                continue
            for webhook in owner.webhooks.values():
                if alert.type in webhook.events:
                    self._enqueue(webhook, self.alert_payload(alert), alert.type, alert.timestamp)


def _validate(body: Mapping[str, object]) -> tuple[str, str, str, tuple[str, ...]]:
    """The registration body, described once: each broken field named with what was expected."""
    errors: list[err.FieldError] = []

    def text(name: str) -> str:
        value = body.get(name)
        if value is None:
            errors.append(err.FieldError("webhook", name, "NotBlank", "is required"))
        elif not isinstance(value, str):
            errors.append(err.FieldError("webhook", name, "TypeMismatch", f"must be a string, got {_kind(value)}"))
        elif not value.strip():
            errors.append(err.FieldError("webhook", name, "NotBlank", "must not be blank"))
        else:
            return value
        return ""

    name, url, secret = text("name"), text("url"), text("secret")
    if url:
        reason = _url_problem(url)
        if reason:
            errors.append(err.FieldError("webhook", "url", "URL", reason))
    events: list[str] = []
    raw = body.get("events")
    if raw is None:
        errors.append(err.FieldError("webhook", "events", "NotEmpty",
                                     f"is required: a list of event names, such as {list(CREDENTIAL_EVENTS)}"))
    elif not isinstance(raw, list) or not raw:
        errors.append(err.FieldError("webhook", "events", "NotEmpty" if raw == [] else "TypeMismatch",
                                     f"must be a non-empty list of event names, got {_kind(raw)}"))
    else:
        for event in raw:
            if not isinstance(event, str):
                errors.append(err.FieldError("webhook", "events", "TypeMismatch",
                                             f"must hold event names (strings), got {_kind(event)}"))
            elif event not in EVENTS:
                errors.append(err.FieldError("webhook", "events", "UnknownEvent",
                                             f"{event!r} is not an event of Leaf's alerts service; "
                                             f"the events are {', '.join(EVENTS)}"))
            elif event in events:
                errors.append(err.FieldError("webhook", "events", "Duplicate", f"lists {event!r} twice"))
            else:
                events.append(event)
    if errors:
        raise err.InvalidInputError(errors)
    return name, url, secret, tuple(events)


def _url_problem(url: str) -> str | None:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return f"must be an absolute http:// or https:// URL, got {url[:100]!r}"
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters, got {len(url)}"
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return f"must be ASCII without spaces or control characters (percent-encode them), got {url[:100]!r}"
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in host:
        return f"must not carry a user or password before the host, got {url[:100]!r}"
    if not _HOST.match(host) or (":" in host.rsplit("]", 1)[-1] and not 0 < int(host.rsplit(":", 1)[1]) < 65536):
        return f"must name a host (and optionally a port from 1 to 65535), got {host[:100]!r} in {url[:100]!r}"
    return None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)
