"""A hypothesis state machine to property-test *your* Leaf client against the fake.

Subclass ``LeafClientStateMachine``, override the ``client_*`` methods with calls to your client,
add your own ``@invariant``s, and run ``TestMyClient = MyMachine.TestCase``. Random sequences of
API calls, John Deere events and time moves are run; the fake's own invariants are checked at
every step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from fake_leaf import CredentialStatus, FakeLeaf, ManualClock, NotFoundError
from fake_leaf.testing.strategies import credentials_bodies, john_deere_events, leaf_users, time_moves

START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


class LeafClientStateMachine(RuleBasedStateMachine):
    """Drives a fresh ``FakeLeaf`` (on a ``ManualClock``) for each example."""

    users = Bundle("leaf_users")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.leaf = self.make_fake()
        self.leaf.start()
        self.session = requests.Session()
        self.session.auth = self.leaf.auth

    # -- what a subclass overrides -------------------------------------------------------------

    def make_fake(self) -> FakeLeaf:
        """The fake to test against; override to pass options. Use ``self.clock``."""
        return FakeLeaf(clock=self.clock)

    def client_create_user(self, body: dict[str, Any]) -> str:
        """Create a Leaf user with your client; return its id."""
        r = self.session.post(f"{self.leaf.user_management_url}/users", json=body)
        r.raise_for_status()
        return str(r.json()["id"])

    def client_connect_john_deere(self, leaf_user_id: str, body: dict[str, Any]) -> None:
        """Attach John Deere credentials with your client (Leaf may refuse: a second credential)."""
        self.session.post(f"{self.leaf.user_management_url}/users/{leaf_user_id}/john-deere-credentials", json=body)

    def client_disconnect_john_deere(self, leaf_user_id: str) -> None:
        self.session.delete(f"{self.leaf.user_management_url}/users/{leaf_user_id}/john-deere-credentials")

    def client_delete_user(self, leaf_user_id: str) -> None:
        self.session.delete(f"{self.leaf.user_management_url}/users/{leaf_user_id}")

    def client_credential_status(self, leaf_user_id: str) -> str | None:
        """The credential status as your client reports it; None when there is no credential."""
        r = self.session.get(f"{self.leaf.user_management_url}/users/{leaf_user_id}/john-deere-credentials")
        return None if r.status_code == 404 else str(r.json()["status"])

    # -- the rules ------------------------------------------------------------------------------

    @rule(target=users, body=leaf_users())
    def create_user(self, body: dict[str, Any]) -> str:
        return self.client_create_user(body)

    @rule(leaf_user_id=users, body=credentials_bodies())
    def connect_john_deere(self, leaf_user_id: str, body: dict[str, Any]) -> None:
        self.client_connect_john_deere(leaf_user_id, body)

    @rule(leaf_user_id=users)
    def disconnect_john_deere(self, leaf_user_id: str) -> None:
        self.client_disconnect_john_deere(leaf_user_id)

    @rule(leaf_user_id=consumes(users))
    def delete_user(self, leaf_user_id: str) -> None:
        self.client_delete_user(leaf_user_id)

    @rule(leaf_user_id=users, event=john_deere_events(), status_code=st.sampled_from((503, 429)))
    def john_deere_event(self, leaf_user_id: str, event: str, status_code: int) -> None:
        jd = self.leaf.john_deere
        try:
            if event == "start_outage":
                jd.start_outage(status_code)
            elif event == "end_outage":
                jd.end_outage()
            elif event in ("withdraw_scope", "restore_scope"):
                getattr(jd, event)(leaf_user_id, "ag1")
            else:
                getattr(jd, event)(leaf_user_id)
        except NotFoundError:
            pass  # the user has no credential (or is gone): nothing at John Deere to change

    @rule(move=time_moves())
    def move_time(self, move: dt.timedelta) -> None:
        self.clock.advance(move)

    @rule(leaf_user_id=users)
    def read_status(self, leaf_user_id: str) -> None:
        reported = self.client_credential_status(leaf_user_id)
        try:
            actual: str | None = self.leaf.get_john_deere_credentials(leaf_user_id).status.value
        except NotFoundError:
            actual = None
        assert reported == actual, f"the client reports {reported!r}, the fake holds {actual!r}"

    # -- the fake's own invariants --------------------------------------------------------------

    @invariant()
    def fake_invariants_hold(self) -> None:
        now = self.leaf.now()
        for user in self.leaf.list_users():
            try:
                credentials = self.leaf.get_john_deere_credentials(user.id)
            except NotFoundError:
                continue
            assert credentials.status in CredentialStatus
            events = self.leaf.john_deere_credential_events(user.id)
            dates = [e.created_date for e in events]
            assert dates == sorted(dates, reverse=True), "events are not newest first"
            assert all(now - d < dt.timedelta(days=30) for d in dates), "an event 30 days old is listed"
            assert all(d <= now for d in dates), "an event is dated in the future"

    def teardown(self) -> None:
        self.session.close()
        self.leaf.stop()
