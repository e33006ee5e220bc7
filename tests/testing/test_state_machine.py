"""The shipped state machine: its default client and the reference client pass; a client that misreports,
mishandles or is not ready for faults is caught or spared as documented; failures tell the fake's story."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, settings

from fake_leaf import PROVIDERS
from fake_leaf.testing.state_machine import START, ClientMismatchError, LeafClientStateMachine, LeafRules, _Change
from tests.conftest import examples
from tests.testing.reference_machine import ReferenceClientMachine

# modest on purpose: the suite's time budget (the mutation benchmark in bench/ runs the defaults)
MODEST = settings(max_examples=examples(5), stateful_step_count=10, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])

TestDefaultClient = LeafClientStateMachine.TestCase
TestDefaultClient.settings = MODEST

TestReferenceClient = ReferenceClientMachine.TestCase
TestReferenceClient.settings = MODEST


class _ClientWithoutRetries(LeafClientStateMachine):
    """Not ready for Leaf's faults or its rate limit: any answer but the expected one raises."""

    leaf_rules = LeafRules(leaf_faults=False, rate_limit=False)

    def _request(self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any) -> requests.Response:
        if self._token is None:
            self.client_login()
        r = self.session.request(method, f"{self.leaf.user_management_url}{path}",
                                 headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
        if r.status_code == 401:
            self.client_renew_token()
            return self._request(method, path, **kwargs)
        assert r.status_code < 429, r.text
        return r


TestClientWithoutRetriesWithFaultsOff = _ClientWithoutRetries.TestCase
TestClientWithoutRetriesWithFaultsOff.settings = MODEST


class _ClimateFieldViewClient(LeafClientStateMachine):
    """The same machine for another provider: only the class attribute changes."""

    provider = PROVIDERS[1]


TestAnotherProvidersClient = _ClimateFieldViewClient.TestCase
TestAnotherProvidersClient.settings = MODEST


def test_another_provider_is_driven_through_its_own_paths_and_upstream() -> None:
    machine = _ClimateFieldViewClient()
    try:
        machine.start()
        machine.provider_transition(_Change("revoke", machine.users[0]), "the next check and a sync")
        assert machine.truth_status(machine.users[0]) == "UNAUTHENTICATED"
        assert machine.leaf.journal(path=f"/users/{{leafUserId}}/{PROVIDERS[1].path_segment}")
    finally:
        machine.teardown()


class _SaysOK(LeafClientStateMachine):
    def client_get_credential(self, leaf_user_id: str) -> str | None:
        return "OK"


def test_a_mismatch_names_the_hook_the_user_and_both_values() -> None:
    machine = _SaysOK()
    try:
        machine.start()
        machine.create_user()
        with pytest.raises(ClientMismatchError, match=re.escape(
                "client_get_credential for user3 reported 'OK'; the fake holds None")):
            machine.sync(machine.users[1])
    finally:
        machine.teardown()


class BlindRetry(LeafClientStateMachine):
    """A client that retries a POST of a user whose answer was lost, without looking first."""

    def client_create_user(self, body: dict[str, Any]) -> str:
        try:
            r = self._request("POST", "/users", json=body, idempotent=False)
        except requests.ReadTimeout:
            r = self._request("POST", "/users", json=body, idempotent=False)
        return str(r.json()["id"])


def test_a_user_made_twice_after_a_lost_answer_is_caught() -> None:
    machine = BlindRetry()
    try:
        machine.start()
        machine.leaf_fault("read_timeout")
        with pytest.raises(ClientMismatchError, match=re.escape(
                "2 user(s) with externalId 'integration-user-3' at Leaf")):
            machine.create_user()
    finally:
        machine.teardown()


def test_a_read_timeout_aimed_at_a_users_creation_catches_a_blind_retry_in_that_step() -> None:
    machine = BlindRetry()
    try:
        machine.start()  # its POSTs (a login, a user, a credential) come before the fault
        with pytest.raises(ClientMismatchError, match=re.escape(
                "2 user(s) with externalId 'integration-user-3' at Leaf")):
            machine.leaf_fault("read_timeout POST /users")
    finally:
        machine.teardown()


def test_a_read_timeout_aimed_at_a_users_creation_is_spent_by_a_careful_client() -> None:
    machine = LeafClientStateMachine()
    try:
        machine.start()
        machine.leaf_fault("read_timeout POST /users")
        assert len(machine.users) == 2
        assert machine._fault_spent()  # the next fault may be drawn
    finally:
        machine.teardown()


class _Quiet(LeafClientStateMachine):
    """Every Leaf-side rule off: at teardown, nothing but the client's own calls may have happened."""

    leaf_rules = LeafRules(provider_transitions=False, time_moves=False, leaf_faults=False, rate_limit=False,
                           users_elsewhere=False, organization_changes=False)

    def teardown(self) -> None:
        try:
            assert self.leaf.now() == START, "the clock moved"
            assert not [e for e in self.leaf.journal() if e.fault or e.status >= 429], "Leaf failed a request"
            assert all((u.external_id or "").startswith("integration-user-") for u in self.leaf.list_users())
            assert self.leaf.alerts() == [], "a credential's status changed"
        finally:
            super().teardown()


TestSwitchedOffRulesAreNeverPlayed = _Quiet.TestCase
TestSwitchedOffRulesAreNeverPlayed.settings = MODEST


def test_time_moves_land_on_the_landmarks_never_zero() -> None:
    machine = LeafClientStateMachine()
    try:
        machine.start()
        start = machine.leaf.now()
        moves = {name: machine._landmark_move(name) for name in machine._landmarks()}
        assert moves["the next check"].total_seconds() == 24 * 3600
        assert moves["just before the next check"].total_seconds() == 24 * 3600 - 1
        assert moves["the Leaf token expires"].total_seconds() == 24 * 3600  # rememberMe false
        assert moves["just after the access token expires"].total_seconds() == 12 * 3600 + 1
        assert moves["the oldest event goes"].total_seconds() == 30 * 24 * 3600
        assert all(m.total_seconds() > 0 for m in moves.values())
        assert machine.leaf.now() == start
    finally:
        machine.teardown()


FAILING_MACHINE = '''
from hypothesis import settings
from fake_leaf.testing.state_machine import LeafClientStateMachine, LeafRules

class NoEventsMachine(LeafClientStateMachine):
    """A client that forgets to read the events."""
    leaf_rules = LeafRules(provider_transitions=False, time_moves=False, leaf_faults=False, rate_limit=False,
                           users_elsewhere=False, organization_changes=False)

    def client_read_events(self, leaf_user_id):
        events = super().client_read_events(leaf_user_id)
        return None if events is None else []

TestNoEvents = NoEventsMachine.TestCase
TestNoEvents.settings = settings(TestNoEvents.settings, stateful_step_count=5, database=None, derandomize=True)
'''


FAILING_GIVEN = '''
import requests
from hypothesis import given, settings, strategies as st
from fake_leaf import FakeLeaf

@settings(database=None, derandomize=True)
@given(st.integers(min_value=0, max_value=3))
def test_client_expects_one_user_per_call(n):
    with FakeLeaf() as leaf:
        for _ in range(n):
            requests.post(f"{leaf.user_management_url}/users", json={"name": "Ann"}, headers=leaf.headers)
        r = requests.get(f"{leaf.user_management_url}/users/nobody", headers=leaf.headers)
        assert n < 2 or r.status_code == 200, "the client could not read the user"
'''


@pytest.mark.slow
def test_failures_show_the_shrunk_steps_with_the_fakes_story(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_no_events=FAILING_MACHINE, test_given=FAILING_GIVEN)  # one session: one start-up
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    # a machine: the hook that disagreed and both values, the shrunk steps, each with the fake's story
    assert "client_read_events for user1 reported []; the fake holds [" in out
    assert "state.start()" in out and "state.sync(user=user1)" in out
    assert "# request: POST /services/usermanagement/api/users -> 201" in out  # requests with their answers
    assert "# background check of user1" in out  # the checks and what John Deere answered
    assert "# status of user1: None -> OK" in out  # status changes
    assert "what the fake did in this step:" in out  # the failing step's own story, in the message
    assert "/john-deere-credentials/events?page=0&size=100 -> 200" in out  # the default client pages them
    # a @given test: the shrunk example and the fake's story for it alone
    assert "n = 2" in out
    assert "fake-leaf received 3 request(s):" in out  # its requests only, not every example's
    assert "GET /services/usermanagement/api/users/nobody -> 404" in out


def test_the_machine_plays_organization_changes_and_checks_the_clients_view_of_them() -> None:
    machine = LeafClientStateMachine()
    try:
        machine.start()
        user = machine.users[0]
        for change in ("add 21", "block", "unblock", "remove"):
            machine._landmarks_at = None  # a new step
            machine.organization_change(user, change, "the next check and a sync")
        held = machine.truth_organizations(user)
        assert held is not None and len(held) == 21  # 22 made, the newest removed
        assert set(held.values()) == {"SELECTED"}  # the unblocked one came back PREVIEW, and the client selected it
    finally:
        machine.teardown()


class _FirstPageOnly(LeafClientStateMachine):
    def client_read_organizations(self, leaf_user_id: str) -> dict[str, str] | None:
        r = self._request("GET", f"/users/{leaf_user_id}/JohnDeere/organizations")
        return None if r.status_code == 404 else {o["providerOrgId"]: o["status"] for o in r.json()}


class _SelectsBlocked(LeafClientStateMachine):
    def client_select_organizations(self, leaf_user_id: str, organizations: dict[str, str]) -> None:
        for org_id in organizations:
            r = self._request("PATCH", f"/users/{leaf_user_id}/JohnDeere/organizations/{org_id}/SELECTED")
            r.raise_for_status()


@pytest.mark.parametrize("machine_class, change, says", [
    (_FirstPageOnly, "add 21", "client_read_organizations for user1 reported"),
    (_SelectsBlocked, "block", "hook client_select_organizations(user1, "),
])
def test_a_client_that_mishandles_organizations_is_caught(machine_class: type[LeafClientStateMachine], change: str,
                                                          says: str) -> None:
    machine = machine_class()
    try:
        machine.start()
        machine._landmarks_at = None
        machine.organization_change(machine.users[0], "add 1", "nothing yet")  # a second one, left reachable
        with pytest.raises(ClientMismatchError, match=re.escape(says)):
            machine.organization_change(machine.users[0], change, "the next check and a sync")
    finally:
        machine.teardown()


class _WaitsBeforeReadingEvents(LeafClientStateMachine):
    """Reads the events after a wait by the fake's clock (as after a 429's Retry-After) that a check falls in."""

    def client_read_events(self, leaf_user_id: str) -> list[str] | None:
        self.sleep(dt.timedelta(days=1, minutes=1).total_seconds())  # the credential's next check runs
        return super().client_read_events(leaf_user_id)


class _ReadsThenWaits(_WaitsBeforeReadingEvents):
    """Reads the events, then waits past a check and reads nothing more: its list is as of its read."""

    def client_read_events(self, leaf_user_id: str) -> list[str] | None:
        read = LeafClientStateMachine.client_read_events(self, leaf_user_id)
        self.sleep(dt.timedelta(days=1, minutes=1).total_seconds())
        return read


class _ReadsAnOldList(_WaitsBeforeReadingEvents):
    """Answers the list as it was before the wait, though its read came after it: a stale cache."""

    def client_read_events(self, leaf_user_id: str) -> list[str] | None:
        before = LeafClientStateMachine.client_read_events(self, leaf_user_id)
        self.sleep(dt.timedelta(days=1, minutes=1).total_seconds())
        LeafClientStateMachine.client_read_events(self, leaf_user_id)
        return before[1:] if before else before  # one event short of any list Leaf held


@pytest.mark.parametrize("machine_class", [_WaitsBeforeReadingEvents, _ReadsThenWaits])
def test_events_read_while_the_clock_moves_are_judged_by_the_list_leaf_held_then(
        machine_class: type[LeafClientStateMachine]) -> None:
    machine = machine_class()
    try:
        machine.start()
        user = machine.users[0]
        before = machine.truth_events(user)
        machine.sync(user)  # no mismatch: the list the client read is one Leaf held during the hook
        after = machine.truth_events(user)
        assert before is not None and after is not None and len(after) > len(before)  # a check ran meanwhile
    finally:
        machine.teardown()


def test_a_list_leaf_never_held_while_the_client_read_is_still_a_mismatch() -> None:
    machine = _ReadsAnOldList()
    try:
        machine.start()
        with pytest.raises(ClientMismatchError, match="client_read_events"):
            machine.sync(machine.users[0])
    finally:
        machine.teardown()


class _UsersOnly(LeafClientStateMachine):
    """The rules that draw a user: the others draw from a few fixed choices, whose labels are met once."""

    leaf_rules = LeafRules(time_moves=False, leaf_faults=False, rate_limit=False)


@pytest.mark.slow
def test_runs_of_a_machine_leave_hypothesis_no_new_labels_to_keep() -> None:
    # every example makes users with new ids: a rule that drew one with sampled_from(ids) was a new label to
    # hypothesis, which keeps each label it meets for the rest of the process (a session of machine tests grew
    # by about 400 a test of 100 examples, never freed)
    from hypothesis.internal.conjecture import data as conjecture
    from hypothesis.stateful import run_state_machine_as_test

    kept = getattr(conjecture, "STRUCTURAL_COVERAGE_CACHE", None)
    if kept is None:
        pytest.skip("this hypothesis keeps its labels elsewhere")
    few = settings(MODEST, max_examples=10, stateful_step_count=10)
    for _ in range(3):  # most labels the rules have (a few per number of users, a bounded lot), met once
        run_state_machine_as_test(_UsersOnly, settings=few)
    before = len(kept)
    for _ in range(6):
        run_state_machine_as_test(_UsersOnly, settings=few)
    assert len(kept) - before < 50, len(kept) - before  # a new label per example's ids: about 150


def test_a_machine_whose_own_init_fails_leaves_no_fake_started() -> None:
    # hypothesis calls teardown only for a machine it could make: a subclass's __init__ that raised (its client
    # could not be made) left the fake started, answering later tests' requests to Leaf's host and kept in
    # memory to the end of the session, one more for each example hypothesis tried
    import gc
    import weakref

    from hypothesis.stateful import run_state_machine_as_test
    from requests.adapters import HTTPAdapter

    from fake_leaf import FakeLeaf

    send = HTTPAdapter.send
    made: list[weakref.ref[FakeLeaf]] = []

    class _ClientCannotBeMade(LeafClientStateMachine):
        def __init__(self) -> None:
            super().__init__()
            made.append(weakref.ref(self.leaf))
            raise RuntimeError("the client under test could not be made")

    with pytest.raises(RuntimeError, match="could not be made"):
        run_state_machine_as_test(_ClientCannotBeMade, settings=MODEST)
    assert made
    assert HTTPAdapter.send is send  # requests is served by nothing of the machine's any more
    gc.collect()
    assert [ref() for ref in made] == [None] * len(made)
