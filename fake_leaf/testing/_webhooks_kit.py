"""The alerts-webhook side of ``LeafClientStateMachine``: the URL the client's receiver listens at, and the truth.

The fake delivers Leaf's alerts with its own machinery (signing, retries 1, 30, 60 and 240 minutes
after a failure, failed calls); its in-process sender POSTs through `requests`, and a `responses`
callback of this module hands each POST, raw body and headers, to the client's hook and gives its
status back to the fake. Between the two the machine plays what a network and Leaf do to a receiver:
a duplicate, a delivery that arrives after a newer one, a forged delivery, a receiver that is down,
an answer lost on the way back (so Leaf sends the alert again).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import responses
from requests.adapters import HTTPAdapter

from fake_leaf.engine._ids import new_id
from fake_leaf.engine._webhooks import CREDENTIAL_EVENTS, RETRY_DELAYS, SIGNATURE_HEADER, leaf_body, sign
from fake_leaf.http._serialize import leaf_timestamp

_FORGED_SECRET = "not the webhook's secret"

AlertKey = tuple[str, str, str]  # (credentialId, type, timestamp): what makes an alert the same alert


def alert_key(payload: object) -> AlertKey | None:
    """The identity of a credential alert (Leaf's payload carries no id of its own); None for anything else."""
    if not isinstance(payload, dict) or payload.get("type") not in CREDENTIAL_EVENTS:
        return None
    return str(payload.get("credentialId")), str(payload["type"]), str(payload.get("timestamp"))


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass(frozen=True)
class Arrival:
    """One POST that reached the client's receiver hook, and what it answered."""

    body: bytes
    headers: Mapping[str, str]
    how: str  # "Leaf's delivery", "Leaf's retry", "a duplicate", "late", "forged: ..."
    genuine: bool  # sent by Leaf as it is (a duplicate or a late one too), not forged
    status: int | None  # None: the hook raised

    @property
    def key(self) -> AlertKey | None:
        return alert_key(_parse(self.body))

    def __str__(self) -> str:
        return f"{self.how} answered {self.status}"


@dataclass
class AlertsReceiver:
    """The client's webhook URL, in-process: a `responses` callback beside the fake's own mock.

    ``receive`` calls the client's hook with the raw body and headers and returns its status.
    """

    now: Callable[[], dt.datetime]
    receive: Callable[[bytes, dict[str, str]], int]
    url: str = field(default_factory=lambda: f"https://integration.example.test/leaf-alerts/{new_id()}")
    arrivals: list[Arrival] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # what the hook raised
    down_for: int = 0  # deliveries refused (Leaf retries 1, 30, 60, 240 minutes after the first failure)
    lose_next_answer: bool = False
    twice_next: bool = False
    hold_next: bool = False
    held: list[tuple[AlertKey, bytes, dict[str, str]]] = field(default_factory=list)
    _mock: responses.RequestsMock | None = None

    def start(self) -> None:
        """Serve the URL; every other URL goes on to what served `requests` before (the fake's own mock)."""
        ours = re.escape(self.url)
        self._mock = responses.RequestsMock(
            assert_all_requests_are_fired=False,
            passthru_prefixes=(re.compile(f"^(?!{ours})"),),  # type: ignore[arg-type]  # responses takes patterns
            real_adapter_send=HTTPAdapter.send, target="requests.adapters:HTTPAdapter.send")
        self._mock.add_callback("POST", self.url, callback=self._callback)
        self._mock.start()

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop(allow_assert=False)
            self._mock = None

    # -- what arrives from the fake ------------------------------------------------------------

    def _callback(self, request: requests.PreparedRequest) -> Any:
        body = request.body
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "user-agent")}
        if self.down_for:
            self.down_for -= 1
            return requests.ConnectionError("the client's receiver is down: connection refused")
        key = alert_key(_parse(raw))
        retry = any(a.body == raw and a.genuine for a in self.arrivals)
        if key is not None and self.hold_next:
            self.hold_next = False
            self.held.append((key, raw, headers))
            return 200, {}, ""  # on its way: it reaches the client after the credential's next alert
        status = self.hand(raw, headers, "Leaf's retry" if retry else "Leaf's delivery", genuine=True)
        if key is not None and self.twice_next:
            self.twice_next = False
            status = self.hand(raw, headers, "a duplicate", genuine=True)
        if key is not None:
            for late in [h for h in self.held if h[0][0] == key[0] and h[0] != key]:
                self.held.remove(late)
                self.hand(late[1], late[2], "late: after a newer alert", genuine=True)
            if self.lose_next_answer:
                self.lose_next_answer = False
                return requests.ReadTimeout("the client's answer was lost on the way back to Leaf")
        return status, {}, ""

    def hand(self, body: bytes, headers: dict[str, str], how: str, *, genuine: bool) -> int:
        """Give one POST to the client's hook; keep what it answered."""
        try:
            status: int | None = int(self.receive(body, dict(headers)))
        except Exception as e:  # reported by the machine at the end of the step, with the step's story
            self.failures.append(f"client_receive_alert raised {type(e).__name__}: {e} ({how})")
            status = None
        self.arrivals.append(Arrival(body, dict(headers), how, genuine, status))
        return 500 if status is None else status

    # -- the machine's plays -----------------------------------------------------------------

    def genuine_alerts(self) -> list[Arrival]:
        return [a for a in self.arrivals if a.genuine and a.key is not None]

    def duplicate(self) -> None:
        """The newest genuine alert delivered again, the same bytes and headers (Leaf delivers at least once),
        and the next alert delivered twice."""
        self.twice_next = True
        alerts = self.genuine_alerts()
        if alerts:
            self.hand(alerts[-1].body, dict(alerts[-1].headers), "a duplicate", genuine=True)

    def forge(self, kind: str, credential_id: str, provider: str) -> None:
        """An alert Leaf never sent, for a real credential: signed with another secret, or a genuine delivery's
        signature kept over a changed body."""
        payload = {"credential": "forged", "provider": provider, "credentialId": credential_id,
                   "message": "Credentials are no longer valid", "status": "UNAUTHENTICATED",
                   "type": "credentialsUnauthenticated",
                   # a microsecond on: never the very alert a check raised at this instant
                   "timestamp": leaf_timestamp(self.now() + dt.timedelta(microseconds=1))}
        body = leaf_body(payload)
        genuine = [a for a in self.arrivals if a.genuine]
        if kind == "wrong signature" or not genuine:
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, _FORGED_SECRET)}
        else:
            headers = dict(genuine[-1].headers)
        self.hand(body, headers, f"forged: {kind}", genuine=False)

    # -- the truth -------------------------------------------------------------------------------

    def check(self, acted_on: list[Any], view: Mapping[str, Any], credential_ids: list[str]) -> str | None:
        """What the client did against what the alerts that reached it imply; None when it agrees."""
        if self.failures:
            return self.failures[0]
        for i, a in enumerate(self.arrivals):
            if a.genuine and not (a.status is not None and 200 <= a.status < 300):
                what = f"alert {_show(a.key)}" if a.key is not None else "registration's confirmation"
                handled = any(b.genuine and b.key == a.key for b in self.arrivals[:i])
                return (f"client_receive_alert answered {a.status} to a genuine delivery of the {what} ({a.how}"
                        f"{', already handled' if handled else ''}): Leaf counts it failed and sends it again; "
                        "answer 2xx to every delivery whose signature is right, a duplicate too")
        reached: dict[AlertKey, list[Arrival]] = {}
        for a in self.arrivals:
            if a.key is not None:
                reached.setdefault(a.key, []).append(a)
        counts = Counter(alert_key(p) for p in acted_on)
        for key, times in counts.items():
            arrivals = reached.get(key, []) if key is not None else []
            shown = ", ".join(str(a) for a in arrivals) or "never delivered"
            if key is None or not any(a.genuine for a in arrivals):
                return (f"client_alerts_acted_on reported an alert Leaf never sent: {_show(key)} ({shown}); "
                        f"check {SIGNATURE_HEADER} over the raw body before acting")
            if times > 1:
                return (f"client_alerts_acted_on reported {times} actions for alert {_show(key)} ({shown}); "
                        "act once per alert however many times it is delivered")
        for key, arrivals in reached.items():
            if any(a.genuine for a in arrivals) and not counts[key]:
                return (f"client_alerts_acted_on has no action for alert {_show(key)}, which reached the "
                        f"receiver ({', '.join(str(a) for a in arrivals)})")
        for credential_id in credential_ids:
            newest = _newest([k for k, arrivals in reached.items() if k[0] == credential_id
                              and any(a.genuine for a in arrivals)])
            reported = view.get(credential_id)
            key = alert_key(reported)
            if (reported is None and newest) or (reported is not None and key not in newest):
                order = ", ".join(f"{k[1]} of {k[2]}" for k, _ in sorted(
                    ((k, min(self.arrivals.index(a) for a in v)) for k, v in reached.items() if k[0] == credential_id),
                    key=lambda item: item[1]))
                said = "nothing" if reported is None else _show(key)
                wanted = " or ".join(_show(k) for k in newest) or "nothing"
                return (f"client_alert_view for credential {credential_id} reported {said}; the newest alert it "
                        f"received is {wanted} (received in this order: {order or 'none'}; the alert's timestamp "
                        "says which is newest, not the order of arrival)")
        return None

    def pending_retry(self, deliveries: list[Any]) -> dt.datetime | None:
        """When Leaf retries next, read from the fake's deliveries (``leaf.webhook_deliveries()``)."""
        last: dict[str, Any] = {}
        first: dict[str, Any] = {}
        for d in deliveries:
            if d.url != self.url:
                continue
            first.setdefault(d.delivery_id, d)
            last[d.delivery_id] = d
        due = [first[i].sent_at + RETRY_DELAYS[d.attempt - 1] for i, d in last.items()
               if not d.ok and d.attempt <= len(RETRY_DELAYS)]
        now = self.now()
        return min((when for when in due if when > now), default=None)


def _newest(keys: list[AlertKey]) -> list[AlertKey]:
    if not keys:
        return []
    when = {k: dt.datetime.fromisoformat(k[2]) for k in keys}
    latest = max(when.values())
    return [k for k in keys if when[k] == latest]


def _show(key: AlertKey | None) -> str:
    return "(none)" if key is None else f"{key[1]} of credential {key[0]} at {key[2]}"
