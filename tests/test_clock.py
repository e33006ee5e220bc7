"""A clock that stays usable: moves out of the usable range are refused, extreme frozen times give a clear error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import requests
import time_machine
from freezegun import freeze_time

from fake_leaf import ClockOutOfRangeError, FakeLeaf, FakeLeafError, ManualClock, ShiftedClock

UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 1, tzinfo=UTC)
YEAR_9500 = dt.datetime(9500, 1, 1, tzinfo=UTC)
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("move", [
    lambda c: c.advance(dt.timedelta(days=365 * 8000)),
    lambda c: c.advance(dt.timedelta.max),
    lambda c: c.set(YEAR_9500),
    lambda c: c.set(dt.datetime.max.replace(tzinfo=UTC)),
    lambda c: c.set(dt.datetime(1, 1, 1, tzinfo=UTC)),
])
def test_a_manual_clock_refuses_a_move_out_of_the_usable_range_and_stays(move: Callable[[ManualClock], None]) -> None:
    clock = ManualClock(START)
    with pytest.raises(ValueError, match=r"usable range .*1000-01-01.*9000-01-01"):
        move(clock)
    assert clock() == START


def test_a_manual_clock_cannot_start_out_of_range() -> None:
    with pytest.raises(ValueError, match="usable range"):
        ManualClock(YEAR_9500)


@pytest.mark.parametrize("move", [
    lambda c: c.advance(dt.timedelta(days=365 * 8000)),
    lambda c: c.advance(dt.timedelta.max),
    lambda c: c.move_to(YEAR_9500),
    lambda c: c.move_to(dt.datetime(999, 12, 31, tzinfo=UTC)),
])
def test_a_shifted_clock_refuses_a_move_out_of_the_usable_range_and_stays(
        move: Callable[[ShiftedClock], None]) -> None:
    clock = ShiftedClock(lambda: START)
    clock.advance(dt.timedelta(days=1))
    with pytest.raises(ValueError, match="usable range"):
        move(clock)
    assert clock.offset == dt.timedelta(days=1)


def test_the_control_plane_refuses_to_advance_past_the_usable_range_and_the_fake_keeps_working() -> None:
    clock = ShiftedClock(lambda: START)
    with FakeLeaf(clock=clock) as leaf:
        advance = f"{leaf.base_url}/_fake-leaf/clock/advance"
        century = 100 * 365 * 86400
        statuses = [requests.post(advance, json={"seconds": century}).status_code for _ in range(75)]
        assert set(statuses) == {200, 400}
        refused = requests.post(advance, json={"seconds": century})
        assert refused.status_code == 400
        assert refused.json()["fieldErrors"][0]["field"] == "seconds"
        assert "9000-01-01" in refused.json()["detail"]
        assert requests.get(f"{leaf.base_url}/_fake-leaf/clock").json()["now"].startswith("89")
        assert requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code == 200


@pytest.mark.parametrize("frozen", [
    dt.datetime.max, dt.datetime(9999, 12, 31, 23, 59), dt.datetime(1, 1, 1), dt.datetime(9500, 6, 1)])
def test_freezegun_at_an_extreme_date_gives_a_clear_error_and_the_fake_recovers_after(frozen: dt.datetime) -> None:
    with FakeLeaf() as leaf:
        user = leaf.create_user(name="Ada")
        token = leaf.token
        with freeze_time(frozen):
            r = requests.get(f"{leaf.user_management_url}/users/{user.id}",
                             headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 503
            assert r.headers["Content-Type"] == "application/problem+json"
            assert "out of the usable range" in r.json()["detail"]
            control = requests.get(f"{leaf.base_url}/_fake-leaf/clock")
            assert control.status_code == 503
            with pytest.raises(FakeLeafError, match="out of the usable range"):
                leaf.get_user(user.id)
        assert leaf.get_user(user.id).name == "Ada"  # the clock back, the fake works: never dead
        assert requests.get(f"{leaf.user_management_url}/users/{user.id}", headers=leaf.headers).ok


def test_time_machine_at_year_9999_gives_a_clear_error() -> None:
    with FakeLeaf() as leaf:
        user = leaf.create_user()
        token = leaf.token
        with time_machine.travel(dt.datetime(9999, 12, 31, tzinfo=UTC), tick=False):
            r = requests.get(f"{leaf.user_management_url}/users/{user.id}",
                             headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 503
            assert "9999-12-31" in r.json()["detail"]
        assert leaf.get_user(user.id).id == user.id


def test_a_shifted_clock_whose_base_moved_out_of_range_is_made_usable_by_reset_over_http() -> None:
    with freeze_time("2026-03-01T00:00:00Z") as frozen:
        clock = ShiftedClock()
        clock.advance(dt.timedelta(days=365 * 6900))  # year 8915: usable
        with FakeLeaf(clock=clock) as leaf:
            headers = leaf.headers
            frozen.tick(dt.timedelta(days=365 * 200))  # the base moves on: 9115, out of range
            assert requests.get(f"{leaf.user_management_url}/users", headers=headers).status_code == 503
            assert requests.post(f"{leaf.base_url}/_fake-leaf/reset").status_code == 204
            assert clock.offset == dt.timedelta(0)
            assert requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code == 200


def test_reset_keeps_a_shifted_clock_that_is_usable() -> None:
    clock = ShiftedClock(lambda: START)
    clock.advance(dt.timedelta(days=3))
    leaf = FakeLeaf(clock=clock)
    leaf.reset()
    with leaf:
        assert requests.post(f"{leaf.base_url}/_fake-leaf/reset").status_code == 204
    assert clock.offset == dt.timedelta(days=3)


def test_fake_leaf_reset_makes_a_shifted_clock_out_of_range_usable() -> None:
    base = [START]
    clock = ShiftedClock(lambda: base[0])
    clock.advance(dt.timedelta(days=365 * 6900))
    leaf = FakeLeaf(clock=clock)
    base[0] = START + dt.timedelta(days=365 * 200)
    with pytest.raises(ClockOutOfRangeError, match="out of the usable range"):
        leaf.create_user()
    leaf.reset()
    assert leaf.create_user(name="Ada").name == "Ada"


def test_a_check_interval_beyond_the_clocks_headroom_is_refused() -> None:
    with pytest.raises(ValueError, match="check_interval"):
        FakeLeaf(check_interval=dt.timedelta(days=365 * 1000))
