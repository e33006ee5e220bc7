"""A Leaf integration written from Leaf's documentation: the client the property-testing kit is tried on.

It logs in and renews its token, manages Leaf users (every page), connects and disconnects a
grower's John Deere account, reads the credential's status and events, and decides what to do
about a status. It retries what is safe to retry, honours ``Retry-After`` (seconds or an
HTTP-date), and never repeats a POST whose answer was lost without looking first. The mutation
benchmark (``bench/bench_mutants.py``) plants one bug at a time in subclasses of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

Decision = str  # "nothing", "reconnect", "ask_for_scopes" or "retry_later"


class LeafError(Exception):
    """Leaf answered something this client cannot carry on from."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"{response.request.method} {response.request.url} -> {response.status_code}: "
                         f"{response.text[:300]}")
        self.response = response


class LeafUnavailableError(Exception):
    """Leaf kept failing after every retry."""


class AnswerLostError(Exception):
    """A POST was sent and its answer never came: it may or may not have been done."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class LeafClient:
    """Leaf's user-management API for one API owner (John Deere credentials by default)."""

    max_attempts = 5
    page_size = 100
    token_margin = dt.timedelta(minutes=1)  # renew a little before the token's own expiry

    def __init__(self, host: str, username: str, password: str, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, now: Callable[[], dt.datetime] = _utc_now,
                 credentials_segment: str = "john-deere-credentials") -> None:
        self.host = host.rstrip("/")
        self.base = f"{self.host}/services/usermanagement/api"
        self.username, self.password = username, password
        self.session = session or requests.Session()
        self.sleep, self.now = sleep, now
        self.segment = credentials_segment
        self.token: str | None = None
        self.token_expires: dt.datetime | None = None
        self.webhook_secret = secrets.token_urlsafe(24)
        self.alerts_seen: set[tuple[str, str, str]] = set()  # (credentialId, type, timestamp): an alert's identity
        self.alerts_acted_on: list[dict[str, Any]] = []  # what the client did something about, once each
        self.newest_alerts: dict[str, dict[str, Any]] = {}  # credentialId -> its newest alert, by timestamp

    # -- authentication: POST /api/authenticate, a JWT whose exp says when to renew ----------

    def login(self) -> None:
        """Log in, with the same patience as any call (a login is safe to repeat)."""
        for attempt in range(self.max_attempts):
            try:
                r = self.session.post(f"{self.host}/api/authenticate", json={
                    "username": self.username, "password": self.password, "rememberMe": "false"}, timeout=10)
            except requests.RequestException:
                self.sleep(self.backoff(attempt))
                continue
            if r.status_code == 429 or r.status_code >= 500:
                self.sleep(self.retry_delay(r, attempt))
                continue
            if r.status_code != 200:
                raise LeafError(r)
            self.token = str(r.json()["id_token"])
            self.token_expires = _expiry(self.token)
            return
        raise LeafUnavailableError(f"log in: no answer after {self.max_attempts} attempts")

    def renew_token(self) -> None:
        self.login()

    def _ensure_token(self) -> None:
        if self.token is None or self.token_expires is None or self.now() >= self.token_expires - self.token_margin:
            self.renew_token()

    # -- transport ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None,
                idempotent: bool = True) -> requests.Response:
        """One API call with Leaf's rules: renew on 401 once, back off on 429 and 5xx, retry a dropped
        connection; a timed-out POST raises ``AnswerLostError`` (the caller checks before repeating it)."""
        renewed = False
        for attempt in range(self.max_attempts):
            self._ensure_token()
            try:
                r = self.session.request(method, f"{self.base}{path}", json=json_body, params=params, timeout=10,
                                         headers={"Authorization": f"Bearer {self.token}"})
            except requests.ReadTimeout as e:
                if not idempotent:
                    raise AnswerLostError(f"{method} {path}") from e
                self.sleep(self.backoff(attempt))
                continue
            except requests.ConnectionError:
                self.sleep(self.backoff(attempt))
                continue
            if r.status_code == 401 and not renewed:
                self.renew_token()
                renewed = True
                continue
            if r.status_code == 429 or r.status_code >= 500:
                self.sleep(self.retry_delay(r, attempt))
                continue
            return r
        raise LeafUnavailableError(f"{method} {path}: no answer after {self.max_attempts} attempts")

    def backoff(self, attempt: int) -> float:
        return float(2**attempt)

    def retry_delay(self, response: requests.Response, attempt: int) -> float:
        value = response.headers.get("Retry-After")
        if value is None:
            return self.backoff(attempt)
        if value.strip().isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return self.backoff(attempt)
        return max(0.0, (when - self.now()).total_seconds())

    # -- Leaf users -----------------------------------------------------------------------

    def create_user(self, body: dict[str, Any]) -> str:
        """POST /users; when the answer is lost, the user's externalId finds it (or proves it was not made)."""
        try:
            r = self.request("POST", "/users", json_body=body, idempotent=False)
        except AnswerLostError:
            found = self.find_user(body["externalId"])
            if found is not None:
                return found
            r = self.request("POST", "/users", json_body=body, idempotent=False)
        if r.status_code != 201:
            raise LeafError(r)
        return str(r.json()["id"])

    def find_user(self, external_id: str) -> str | None:
        r = self.request("GET", "/users", params={"externalId": external_id})
        if r.status_code != 200:
            raise LeafError(r)
        users = r.json()
        return str(users[0]["id"]) if users else None

    def get_user(self, leaf_user_id: str) -> dict[str, Any] | None:
        r = self.request("GET", f"/users/{leaf_user_id}")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise LeafError(r)
        user: dict[str, Any] = r.json()
        return user

    def delete_user(self, leaf_user_id: str) -> None:
        r = self.request("DELETE", f"/users/{leaf_user_id}")
        if r.status_code not in (204, 404):  # 404: gone already (a retried DELETE meets its own success)
            raise LeafError(r)

    def list_users(self) -> list[dict[str, Any]]:
        """Every page, from page 0, until the total in X-Total-Count is read."""
        users: list[dict[str, Any]] = []
        page = 0
        while True:
            r = self.request("GET", "/users", params={"page": page, "size": self.page_size})
            if r.status_code != 200:
                raise LeafError(r)
            batch = r.json()
            users += batch
            if not batch or len(users) >= int(r.headers.get("X-Total-Count", len(users))):
                return users
            page += 1

    # -- John Deere credentials -----------------------------------------------------------

    def _credentials_path(self, leaf_user_id: str) -> str:
        return f"/users/{leaf_user_id}/{self.segment}"

    def connect(self, leaf_user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST the credential; one already there is the user's connection (Leaf keeps one per user)."""
        try:
            r = self.request("POST", self._credentials_path(leaf_user_id), json_body=body, idempotent=False)
        except AnswerLostError:
            existing = self.credentials(leaf_user_id)
            if existing is not None:
                return existing
            r = self.request("POST", self._credentials_path(leaf_user_id), json_body=body, idempotent=False)
        if r.status_code == 400 and r.json().get("errorKey") == "credentialAlreadyExists":
            existing = self.credentials(leaf_user_id)
            if existing is None:
                raise LeafError(r)
            return existing
        if r.status_code != 201:
            raise LeafError(r)
        created: dict[str, Any] = r.json()
        return created

    def disconnect(self, leaf_user_id: str) -> None:
        r = self.request("DELETE", self._credentials_path(leaf_user_id))
        if r.status_code not in (204, 404):
            raise LeafError(r)

    def credentials(self, leaf_user_id: str) -> dict[str, Any] | None:
        r = self.request("GET", self._credentials_path(leaf_user_id))
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise LeafError(r)
        found: dict[str, Any] = r.json()
        return found

    def status(self, leaf_user_id: str) -> str | None:
        found = self.credentials(leaf_user_id)
        return None if found is None else str(found["status"])

    def events(self, leaf_user_id: str) -> list[dict[str, Any]] | None:
        """The credential's events, newest first as Leaf lists them; None without a credential."""
        events: list[dict[str, Any]] = []
        page = 0
        while True:  # Leaf pages them (20 by default, 100 at most): read until an empty page
            r = self.request("GET", f"{self._credentials_path(leaf_user_id)}/events?page={page}&size=100")
            if r.status_code == 404:
                return None
            if r.status_code != 200:
                raise LeafError(r)
            found: list[dict[str, Any]] = r.json()
            if not found:
                return events
            events += found
            page += 1

    # -- John Deere's organizations -------------------------------------------------------------

    def organizations(self, leaf_user_id: str) -> list[dict[str, Any]] | None:
        """Every organization Leaf manages for the user's John Deere account (Leaf's pages of 20)."""
        found: list[dict[str, Any]] = []
        page = 0
        while True:
            r = self.request("GET", f"/users/{leaf_user_id}/JohnDeere/organizations", params={"page": page})
            if r.status_code == 404:
                return None
            if r.status_code != 200:
                raise LeafError(r)
            batch: list[dict[str, Any]] = r.json()
            found += batch
            if not batch or len(found) >= int(r.headers["X-Total-Count"]):
                return found
            page += 1

    def select_organizations(self, leaf_user_id: str, organizations: dict[str, str]) -> None:
        """Process everything Leaf offers: each PREVIEW organization SELECTED. A BLOCKED one needs the grower,
        who fixes it through its managementUri; Leaf refuses a PATCH of it."""
        for org_id, status in organizations.items():
            if status == "PREVIEW":
                self.set_organization_status(leaf_user_id, org_id, "SELECTED")

    def set_organization_status(self, leaf_user_id: str, org_id: str, status: str) -> None:
        r = self.request("PATCH", f"/users/{leaf_user_id}/JohnDeere/organizations/{org_id}/{status}")
        if r.status_code != 200:
            raise LeafError(r)

    # -- Leaf's alerts webhook: told rather than polling --------------------------------------------

    def register_webhook(self, url: str) -> None:
        """Both credential events to ``url``, signed with a secret of this client's own."""
        r = self.session.post(f"{self.host}/services/alerts/api/alerts/webhooks", timeout=10, json={
            "name": "credential alerts", "url": url, "secret": self.webhook_secret,
            "events": ["credentialsUnauthenticated", "credentialsLimitedPermission"]},
            headers={"Authorization": f"Bearer {self._valid_token()}"})
        if r.status_code != 201:
            raise LeafError(r)

    def _valid_token(self) -> str | None:
        self._ensure_token()
        return self.token

    def receive_alert(self, body: bytes, headers: Mapping[str, str]) -> int:
        """One delivery: the signature checked over the raw bytes first; an alert acted on once however many
        times it comes (Leaf delivers at least once); the newest by its own timestamp wins, whatever the order
        of arrival; 2xx for everything handled, a duplicate too, or Leaf sends it again."""
        signature = next((v for k, v in headers.items() if k.lower() == "x-leaf-signature"), "")
        expected = base64.b64encode(hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return 401
        try:
            payload = json.loads(body)
        except ValueError:
            return 400
        if not isinstance(payload, dict) or payload.get("type") not in ALERT_DECISIONS:
            return 200  # the registration's confirmation, or an event this client does not act on
        key = (str(payload["credentialId"]), str(payload["type"]), str(payload["timestamp"]))
        if key in self.alerts_seen:
            return 200
        self.alerts_seen.add(key)
        self.act_on_alert(payload)
        return 200

    def act_on_alert(self, payload: dict[str, Any]) -> None:
        self.alerts_acted_on.append(payload)
        newest = self.newest_alerts.get(payload["credentialId"])
        if newest is None or _when(payload) > _when(newest):
            self.newest_alerts[payload["credentialId"]] = payload

    def alert_decisions(self) -> dict[str, Decision]:
        """What the client will do per credential, from the newest alert it received."""
        return {cid: ALERT_DECISIONS[a["type"]] for cid, a in self.newest_alerts.items()}

    # -- what to do about a status ----------------------------------------------------------

    def decide(self, leaf_user_id: str, status: str) -> Decision:
        """Leaf's statuses: only a new grant cures UNAUTHENTICATED; MISSING_PERMISSION needs the grower
        to grant scopes; TEMPORARILY_UNAVAILABLE passes by itself. Nothing is deleted here: replacing a
        credential is DELETE then POST, when the grower has re-authorised."""
        if status == "OK":
            return "nothing"
        if status == "UNAUTHENTICATED":
            return "reconnect"
        if status == "MISSING_PERMISSION":
            return "ask_for_scopes"
        return "retry_later"


ALERT_DECISIONS = {"credentialsUnauthenticated": "reconnect", "credentialsLimitedPermission": "ask_for_scopes"}


def _when(alert: Mapping[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(alert["timestamp"]).replace("Z", "+00:00"))


def _expiry(token: str) -> dt.datetime | None:
    """The ``exp`` claim of a JWT (Leaf's tokens are JHipster JWTs), or None if it has none."""
    try:
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        return dt.datetime.fromtimestamp(int(claims["exp"]), dt.timezone.utc)
    except (ValueError, KeyError, IndexError):
        return None
