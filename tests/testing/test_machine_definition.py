"""The machine aims its time moves at the instants its own fake acts on."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fake_leaf import FakeLeaf
from fake_leaf.testing.state_machine import START, LeafClientStateMachine

SECOND = dt.timedelta(seconds=1)


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
