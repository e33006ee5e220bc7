"""Mutation benchmark of the property-testing kit: does the state machine catch realistic client bugs?

Each mutant is the reference client (``tests/reference_client.py``) with one bug planted. Each is run
through ``LeafClientStateMachine`` at the kit's default settings, once per seed: caught or not, the
seconds until hypothesis first fails (find), the seconds from there to the end (shrink and the final
replay), and the number of steps of the shrunk example.

    python bench/bench_mutants.py [--seeds 10] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import seed as hypothesis_seed
from hypothesis.database import InMemoryExampleDatabase
from hypothesis.stateful import run_state_machine_as_test

from fake_leaf.testing.state_machine import DEFAULT_SETTINGS
from tests.reference_client import LeafClient, LeafError
from tests.testing.reference_machine import ReferenceClientMachine, WebhookReferenceClientMachine

TARGETS = {"caught": 9, "find": 5.0, "shrink": 10.0, "steps": 8}


# -- the mutants: one planted bug each --------------------------------------------------------------

class NotFoundIsAnError(LeafClient):
    """A 404 treated as an error: a user without a credential breaks the status read."""

    def credentials(self, leaf_user_id: str) -> dict[str, Any] | None:
        r = self.request("GET", self._credentials_path(leaf_user_id))
        if r.status_code != 200:
            raise LeafError(r)
        found: dict[str, Any] = r.json()
        return found


class IgnoresRetryAfter(LeafClient):
    """``Retry-After`` ignored: backs off 1, 2, 4 s whatever Leaf asks."""

    def retry_delay(self, response: Any, attempt: int) -> float:
        return self.backoff(attempt)


class RetryAfterOnlyInSeconds(LeafClient):
    """``Retry-After`` read as seconds only: an HTTP-date breaks it."""

    def retry_delay(self, response: Any, attempt: int) -> float:
        value = response.headers.get("Retry-After")
        return float(value) if value is not None else self.backoff(attempt)


class NeverRenewsTheToken(LeafClient):
    """An expired Leaf token not renewed: logs in once, then trusts the token forever."""

    def _ensure_token(self) -> None:
        if self.token is None:
            self.login()

    def renew_token(self) -> None:
        pass


class UnavailableIsUnauthenticated(LeafClient):
    """``TEMPORARILY_UNAVAILABLE`` treated as ``UNAUTHENTICATED``: asks growers to reconnect during an outage."""

    def decide(self, leaf_user_id: str, status: str) -> str:
        return "reconnect" if status == "TEMPORARILY_UNAVAILABLE" else super().decide(leaf_user_id, status)


class IgnoresMissingPermission(LeafClient):
    """``MISSING_PERMISSION`` ignored: only UNAUTHENTICATED is looked at."""

    def decide(self, leaf_user_id: str, status: str) -> str:
        return "nothing" if status == "MISSING_PERMISSION" else super().decide(leaf_user_id, status)


class PagesFromOne(LeafClient):
    """Paging from 1: the first page (page 0 at Leaf) is never read."""

    def list_users(self) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.request("GET", "/users", params={"page": page, "size": self.page_size}).json()
            users += batch
            if len(batch) < self.page_size:
                return users
            page += 1


class StopsAfterTheFirstPage(LeafClient):
    """Stopping after the first page."""

    def list_users(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.request("GET", "/users", params={"size": self.page_size}).json()
        return result


class EventsReadOldestFirst(LeafClient):
    """Events read oldest-first: reverses Leaf's list, believing it is in time order."""

    def events(self, leaf_user_id: str) -> list[dict[str, Any]] | None:
        events = super().events(leaf_user_id)
        return None if events is None else list(reversed(events))


class StatusCachedForever(LeafClient):
    """A status cached forever: the first answer per user is kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._statuses: dict[str, str | None] = {}

    def status(self, leaf_user_id: str) -> str | None:
        if self._statuses.get(leaf_user_id) is None:
            self._statuses[leaf_user_id] = super().status(leaf_user_id)
        return self._statuses[leaf_user_id]


class DeletesOnAnyNonOk(LeafClient):
    """Credentials deleted on any non-OK status, an outage included."""

    def decide(self, leaf_user_id: str, status: str) -> str:
        if status != "OK":
            self.disconnect(leaf_user_id)
        return super().decide(leaf_user_id, status)


class NoRetryOnConnectionError(LeafClient):
    """No retry on a connection error: only HTTP answers are retried."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        real_request = self.session.request

        def no_retry(*args: Any, **kw: Any) -> Any:
            try:
                return real_request(*args, **kw)
            except requests.ReadTimeout:
                raise
            except requests.ConnectionError as e:
                raise RuntimeError(f"connection lost: {e}") from e

        self.session.request = no_retry  # type: ignore[method-assign]
        try:
            return super().request(method, path, **kwargs)
        finally:
            del self.session.request


class BlindPostRetry(LeafClient):
    """A blind retry of a POST whose answer was lost: a second Leaf user is made."""

    def create_user(self, body: dict[str, Any]) -> str:
        r = self.request("POST", "/users", json_body=body, idempotent=True)
        if r.status_code != 201:
            raise LeafError(r)
        return str(r.json()["id"])


class AlreadyExistsIsAFailure(LeafClient):
    """``credentialAlreadyExists`` treated as a failure."""

    def connect(self, leaf_user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.request("POST", self._credentials_path(leaf_user_id), json_body=body, idempotent=False)
        if r.status_code != 201:
            raise LeafError(r)
        created: dict[str, Any] = r.json()
        return created


class SelectsBlockedOrganizations(LeafClient):
    """A BLOCKED organization patched to SELECTED: every organization not selected yet is selected."""

    def select_organizations(self, leaf_user_id: str, organizations: dict[str, str]) -> None:
        for org_id, status in organizations.items():
            if status != "SELECTED":
                self.set_organization_status(leaf_user_id, org_id, "SELECTED")


class OrganizationsFromTheFirstPageOnly(LeafClient):
    """Organizations read from the first page only (Leaf's pages hold 20)."""

    def organizations(self, leaf_user_id: str) -> list[dict[str, Any]] | None:
        r = self.request("GET", f"/users/{leaf_user_id}/JohnDeere/organizations")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise LeafError(r)
        found: list[dict[str, Any]] = r.json()
        return found


class SignatureNotChecked(LeafClient):
    """The signature not checked: a forged delivery is acted on."""

    def receive_alert(self, body: bytes, headers: Mapping[str, str]) -> int:
        signed = {**headers, "X-Leaf-Signature": base64.b64encode(
            hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()).decode()}
        return super().receive_alert(body, signed)


class DuplicateActsTwice(LeafClient):
    """A duplicate delivery acts twice: alerts are not deduplicated."""

    def receive_alert(self, body: bytes, headers: Mapping[str, str]) -> int:
        self.alerts_seen.clear()
        return super().receive_alert(body, headers)


class ErrorForAHandledDelivery(LeafClient):
    """A 5xx answered for a delivery already handled: a duplicate is refused as a conflict, and Leaf sends it again."""

    def receive_alert(self, body: bytes, headers: Mapping[str, str]) -> int:
        seen = len(self.alerts_seen)
        status = super().receive_alert(body, headers)
        duplicate = status == 200 and len(self.alerts_seen) == seen and b'"type": "credentials' in body
        return 500 if duplicate else status


class TrustsDeliveryOrder(LeafClient):
    """The delivery order trusted over the alert's timestamp: the last alert to arrive is taken as the newest."""

    def act_on_alert(self, payload: dict[str, Any]) -> None:
        self.alerts_acted_on.append(payload)
        self.newest_alerts[payload["credentialId"]] = payload


MUTANTS: tuple[type[LeafClient], ...] = (
    NotFoundIsAnError, IgnoresRetryAfter, RetryAfterOnlyInSeconds, NeverRenewsTheToken,
    UnavailableIsUnauthenticated, IgnoresMissingPermission, PagesFromOne, StopsAfterTheFirstPage,
    EventsReadOldestFirst, StatusCachedForever, DeletesOnAnyNonOk, NoRetryOnConnectionError, BlindPostRetry,
    AlreadyExistsIsAFailure, SelectsBlockedOrganizations, OrganizationsFromTheFirstPageOnly,
    SignatureNotChecked, DuplicateActsTwice, ErrorForAHandledDelivery, TrustsDeliveryOrder,
)
# bugs of a webhook receiver: run on the machine that delivers Leaf's alerts (the others on the polling one)
WEBHOOK_MUTANTS = (SignatureNotChecked, DuplicateActsTwice, ErrorForAHandledDelivery, TrustsDeliveryOrder)


# -- the measurement -------------------------------------------------------------------------------

class _FirstFailureClock(InMemoryExampleDatabase):
    """Hypothesis saves a failing example the moment it finds one: that moment is the find time."""

    def __init__(self) -> None:
        super().__init__()
        self.first_save: float | None = None

    def save(self, key: bytes, value: bytes) -> None:
        if self.first_save is None:
            self.first_save = time.perf_counter()
        super().save(key, value)


@dataclass
class Run:
    caught: bool
    find: float | None = None
    shrink: float | None = None
    steps: int | None = None
    error: str = ""


def run_once(client: type[LeafClient], seed: int) -> Run:
    steps: list[int] = []

    base: type[ReferenceClientMachine] = WebhookReferenceClientMachine if client in WEBHOOK_MUTANTS \
        else ReferenceClientMachine

    class Machine(base):  # type: ignore[valid-type, misc]  # a base chosen at run time
        client_class = client

        def __init__(self) -> None:
            super().__init__()
            steps.append(0)

        def check_invariants(self, *args: Any, **kwargs: Any) -> None:
            steps[-1] += 1  # once after each step (and once before the first)
            super().check_invariants(*args, **kwargs)

    Machine.__name__ = f"{client.__name__}Machine"
    database = _FirstFailureClock()
    hypothesis_seed(seed)(Machine)
    start = time.perf_counter()
    try:
        run_state_machine_as_test(Machine, settings=DEFAULT_SETTINGS.__class__(DEFAULT_SETTINGS, database=database))
    except BaseException as e:  # whatever the mutant raised is the catch
        end = time.perf_counter()
        found = database.first_save or end
        # the final replay's steps: it is the last machine; a failing step skips its invariant check
        return Run(True, found - start, end - found, steps[-1], f"{type(e).__name__}: {str(e).splitlines()[0]}")
    return Run(False)


def main(seeds: int = 10, only: list[str] | None = None) -> bool:
    rows = []
    for mutant in MUTANTS:
        if only and mutant.__name__ not in only:
            continue
        runs = []
        for s in range(seeds):
            run = run_once(mutant, s)
            runs.append(run)
            print(f"  {mutant.__name__} seed {s}: " + (f"caught in {run.find:.1f} s + shrink {run.shrink:.1f} s, "
                                                        f"{run.steps} steps ({run.error[:100]})" if run.caught
                                                        else "MISSED"), file=sys.stderr, flush=True)
        caught = [r for r in runs if r.caught]
        rows.append((mutant, len(caught), runs,
                     statistics.median(r.find for r in caught if r.find is not None) if caught else None,
                     statistics.median(r.shrink for r in caught if r.shrink is not None) if caught else None,
                     statistics.median(r.steps for r in caught if r.steps is not None) if caught else None,
                     max((r.steps for r in caught if r.steps is not None), default=None)))
    print(f"| mutant | caught (of {seeds}) | median find (s) | median shrink (s) | shrunk steps (median / max) |")
    print("|---|---|---|---|---|")
    ok = True
    for mutant, n, _runs, find, shrink, steps, most in rows:
        doc = (mutant.__doc__ or "").split(":")[0].strip().rstrip(".")
        print(f"| {doc} | {n} | {_num(find)} | {_num(shrink)} | {_num(steps, 0)} / {_num(most, 0)} |")
        ok = ok and n >= TARGETS["caught"] and find is not None and find <= TARGETS["find"] \
            and shrink is not None and shrink <= TARGETS["shrink"] and most is not None and most <= TARGETS["steps"]
    print(f"targets: caught in >= {TARGETS['caught']} of 10, median find <= {TARGETS['find']} s, "
          f"median shrink <= {TARGETS['shrink']} s, shrunk <= {TARGETS['steps']} steps: {'met' if ok else 'NOT met'}")
    return ok


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--only", nargs="*", help="mutant class names")
    args = parser.parse_args()
    sys.exit(0 if main(args.seeds, args.only) else 1)
