"""A subclass of the machine is checked when it is defined (hooks, provider), and the machine aims its time
moves at the instants its own fake acts on; the fake's story tells every provider's credentials alike."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, cast

import pytest
import requests
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidDefinition
from hypothesis.stateful import invariant, rule

from fake_leaf import PROVIDERS, FakeLeaf, Provider
from fake_leaf.testing.state_machine import START, LeafClientStateMachine
from fake_leaf.testing.strategies import sample_credentials_body

BY_NAME = {p.name: p for p in PROVIDERS}
SECOND = dt.timedelta(seconds=1)


def _subclass(name: str, namespace: dict[str, object],
              bases: tuple[type, ...] = (LeafClientStateMachine,)) -> type[LeafClientStateMachine]:
    """A subclass defined as a user's module would define it (the checks run at its definition)."""
    return cast("type[LeafClientStateMachine]", type(name, bases, namespace))


# -- hooks -------------------------------------------------------------------------------------

def test_a_hook_renamed_since_the_subclass_was_written_is_refused_naming_the_new_name() -> None:
    with pytest.raises(InvalidDefinition, match=re.escape(
            "OldClient.client_credential_status is not a hook of LeafClientStateMachine, so the machine would "
            "never call it (did you mean client_get_credential?)")):
        class OldClient(LeafClientStateMachine):
            def client_credential_status(self, leaf_user_id: str) -> str | None:
                return None


async def _read_event(self: Any, leaf_user_id: str) -> list[str] | None:
    return None


@pytest.mark.parametrize("name, method, closest", [
    ("client_get_credentials", lambda self, leaf_user_id: None, "client_get_credential"),
    ("client_read_event", _read_event, "client_read_events"),  # an async hook is checked too
    ("client_list_user", staticmethod(lambda: []), "client_list_users"),
    ("client_renew", classmethod(lambda cls: None), "client_renew_token"),
])
def test_a_misspelt_hook_is_refused_at_class_definition(name: str, method: object, closest: str) -> None:
    with pytest.raises(InvalidDefinition, match=re.escape(f"(did you mean {closest}?)")):
        _subclass("Misspelt", {name: method})


def test_a_method_like_no_hook_is_refused_and_the_message_lists_every_hook() -> None:
    with pytest.raises(InvalidDefinition) as raised:
        _subclass("OwnMethod", {"client_factory": lambda self: None})
    message = str(raised.value)
    assert "no hook is named alike" in message
    for hook in ("client_login", "client_get_credential", "client_decide", "client_select_organizations"):
        assert hook in message
    assert "needs a name that does not start with client_" in message


def test_a_misspelt_hook_in_a_mixin_of_the_subclass_is_refused() -> None:
    class Mixin:
        def client_disconect(self, leaf_user_id: str) -> None:
            pass

    with pytest.raises(InvalidDefinition, match=re.escape("Mixin.client_disconect is not a hook")):
        _subclass("Mixed", {}, (Mixin, LeafClientStateMachine))


def test_a_hook_added_to_the_machine_is_known_without_being_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    # the machine grows hooks (webhook receivers, ...): the check reads them from the class itself
    monkeypatch.setattr(LeafClientStateMachine, "client_receive_alert", lambda self, body: 200, raising=False)
    made: Any = _subclass("Receiver", {"client_receive_alert": lambda self, body: 204})
    assert made.client_receive_alert(None, b"") == 204


def test_attributes_and_hypothesis_rules_named_client_are_left_alone() -> None:
    class Machine(LeafClientStateMachine):
        client_class = requests.Session  # a class, not a method the machine would call

        @rule()
        def client_side_refresh(self) -> None:  # hypothesis calls it
            pass

        @invariant()
        def client_view_holds(self) -> None:
            pass

        def client_get_credential(self, leaf_user_id: str) -> str | None:
            return super().client_get_credential(leaf_user_id)

    assert Machine.client_class is requests.Session


# -- the provider as a name --------------------------------------------------------------------

@pytest.mark.parametrize("given_name, meant", [
    ("Trimble", "Trimble"), ("trimble", "Trimble"), ("TRIMBLE", "Trimble"), ("John Deere", "JohnDeere"),
    ("john-deere", "JohnDeere"), ("climate field view", "ClimateFieldView"), ("Climate FieldView", "ClimateFieldView"),
    ("CNHi", "CNHI"), ("cnhi_field_ops", "CNHIFieldOps"), ("raven slingshot", "RavenSlingshot"),
])
def test_a_provider_named_in_any_case_or_spelling_of_leafs_is_resolved(given_name: str, meant: str) -> None:
    machine_class = _subclass("Named", {"provider": given_name})
    assert machine_class.provider is BY_NAME[meant]


def test_every_provider_is_found_by_its_name_its_label_and_its_slug() -> None:
    for provider in PROVIDERS:
        for text in (provider.name, provider.label, provider.slug):
            assert _subclass("Named", {"provider": text}).provider is provider


class _TrimbleClient(LeafClientStateMachine):
    provider = "Trimble"  # type: ignore[assignment]  # a name: resolved when the class is defined


def test_a_machine_given_a_providers_name_drives_that_provider() -> None:
    machine = _TrimbleClient()
    try:
        machine.start()
        user = machine.users[0]
        machine.sync(user)
        assert machine.leaf.journal("POST", "/users/{leafUserId}/trimble-credentials")
        assert machine.truth_status(user) == "OK"
    finally:
        machine.teardown()


def test_an_unknown_provider_name_is_refused_at_definition_with_the_names_closest_first() -> None:
    with pytest.raises(InvalidDefinition) as raised:
        class Misnamed(LeafClientStateMachine):
            provider = "Trimbel"  # type: ignore[assignment]
    message = str(raised.value)
    assert message.startswith("Misnamed.provider = 'Trimbel' names no provider fake-leaf knows; "
                              "did you mean 'Trimble'?")
    assert message.endswith(" (a provider of your own: give its Provider itself)")
    listed = message.split("closest first: ")[1].split(" (")[0].split(", ")
    assert listed[0] == "Trimble"
    assert sorted(listed) == sorted(BY_NAME)


def test_a_provider_the_machines_own_fake_does_not_serve_is_refused_before_the_first_step() -> None:
    class Machine(LeafClientStateMachine):
        provider = "Trimble"  # type: ignore[assignment]

        def make_fake(self) -> FakeLeaf:
            return FakeLeaf(clock=self.clock, providers=(BY_NAME["JohnDeere"], BY_NAME["ClimateFieldView"]))

    with pytest.raises(InvalidDefinition, match=re.escape(
            "Machine.provider is Trimble, which the fake of its make_fake() does not serve; it serves JohnDeere, "
            "ClimateFieldView")):
        Machine()


@pytest.mark.parametrize("value", [None, 3, PROVIDERS[:2]])
def test_a_provider_neither_a_provider_nor_a_name_is_refused_at_definition(value: object) -> None:
    with pytest.raises(InvalidDefinition, match=r"Odd\.provider must be a Provider \(fake_leaf\.PROVIDERS\) or a "
                                                r"provider's name such as 'Trimble', got "):
        _subclass("Odd", {"provider": value})


# -- landmarks from the fake's own timing ---------------------------------------------------------

def _machine_checking_every(interval: dt.timedelta) -> type[LeafClientStateMachine]:
    class Machine(LeafClientStateMachine):
        def make_fake(self) -> FakeLeaf:
            return FakeLeaf(clock=self.clock, check_interval=interval)

    return Machine


def _moved(machine_class: type[LeafClientStateMachine], landmark: str) -> tuple[dt.timedelta, list[str], list[str]]:
    """How far the landmark's time move went after start(), and the first user's event ids before and after."""
    machine = machine_class()
    try:
        machine.start()
        user = machine.users[0]
        before = [e.id for e in machine.truth_events(user) or []]
        machine.move_time(landmark)
        after = [e.id for e in machine.truth_events(user) or []]
        return machine.leaf.now() - START, before, after
    finally:
        machine.teardown()


@pytest.mark.parametrize("hours", [6, 48])
def test_the_next_check_is_where_a_fake_made_with_its_own_interval_checks(hours: int) -> None:
    machine_class = _machine_checking_every(dt.timedelta(hours=hours))
    moved, before, after = _moved(machine_class, "the next check")
    assert moved == dt.timedelta(hours=hours)
    assert len(after) > len(before)  # the fake checked right there
    moved, before, after = _moved(machine_class, "just before the next check")
    assert moved == dt.timedelta(hours=hours) - SECOND
    assert after == before  # and not yet a second earlier


def test_the_access_token_landmark_is_just_past_the_lifetime_the_provider_announced() -> None:
    machine = _machine_checking_every(dt.timedelta(hours=6))()
    try:
        machine.start()
        refresh = next(e for e in machine.truth_events(machine.users[0]) or [] if "access_token" in e.body)
        lifetime = dt.timedelta(seconds=json.loads(refresh.body)["expires_in"])
        machine.move_time("just after the access token expires")
        assert machine.leaf.now() == refresh.created_date + lifetime + SECOND
    finally:
        machine.teardown()


def test_the_oldest_event_goes_exactly_at_the_events_landmark() -> None:
    machine_class = _machine_checking_every(dt.timedelta(hours=6))
    _, before, after = _moved(machine_class, "just before the oldest event goes")
    assert before[-1] in after
    _, before, after = _moved(machine_class, "the oldest event goes")
    assert before[-1] not in after


# -- the story of a failing @given test -----------------------------------------------------------

@pytest.mark.parametrize("provider", [BY_NAME["Trimble"], BY_NAME["Sentera"], BY_NAME["JohnDeere"]])
def test_the_story_of_a_failing_example_tells_any_providers_credentials_and_events(provider: Provider) -> None:
    @settings(database=None, max_examples=1, phases=[Phase.generate])
    @given(st.just(0))
    def client_test(_: int) -> None:
        with FakeLeaf() as leaf:
            user = leaf.create_user(name="Ann")
            leaf.create_credentials(provider, user.id, **sample_credentials_body(1, provider))
            raise AssertionError("the client failed")

    with pytest.raises(AssertionError) as raised:
        client_test()
    story = "\n".join(getattr(raised.value, "__notes__", []))
    assert re.search(rf"{re.escape(provider.label)} credentials of [0-9a-f-]+: OK, [1-9]\d* event\(s\)", story)
    assert f"{provider.label} answered 200" in story


# -- a user's test module ---------------------------------------------------------------------------

OUTDATED_MACHINE = '''
from fake_leaf.testing.state_machine import LeafClientStateMachine

class MyClientMachine(LeafClientStateMachine):
    def client_credential_status(self, leaf_user_id):  # the hook's name before it was renamed
        return None

TestMyClient = MyClientMachine.TestCase
'''


@pytest.mark.slow
def test_a_users_module_with_an_outdated_hook_fails_to_collect_instead_of_passing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_my_client=OUTDATED_MACHINE)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*InvalidDefinition: MyClientMachine.client_credential_status is not a hook of "
                                 "LeafClientStateMachine, so the machine would never call it (did you mean "
                                 "client_get_credential?)*"])
