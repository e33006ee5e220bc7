"""The freezegun trap: a clock that moves back before state the fake holds warns once, naming the fix."""

from __future__ import annotations

import inspect
import warnings

import pytest
import requests
from freezegun import freeze_time

from fake_leaf import ClockWentBackWarning, FakeLeaf


def test_freezing_time_after_the_data_was_made_warns_once_naming_the_fix() -> None:
    leaf = FakeLeaf()
    user = leaf.create_user(name="Ada")  # today
    with freeze_time("2026-03-01"), pytest.warns(ClockWentBackWarning, match="leaf_clock") as caught:
        leaf.get_user(user.id)
        leaf.get_user(user.id)
    assert len([w for w in caught if w.category is ClockWentBackWarning]) == 1


def test_freezing_time_before_the_data_is_made_says_nothing() -> None:
    with freeze_time("2026-03-01") as frozen, warnings.catch_warnings():
        warnings.simplefilter("error", ClockWentBackWarning)
        leaf = FakeLeaf()
        user = leaf.create_user(name="Ada")
        frozen.tick(86400)
        assert leaf.get_user(user.id).name == "Ada"


def _line() -> int:
    """The caller's line."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


@pytest.mark.parametrize("through", ["the fake's methods", "requests"])
def test_the_warning_names_the_tests_own_line(through: str) -> None:
    leaf = FakeLeaf()
    user = leaf.create_user(name="Ada")
    url, headers = f"{leaf.user_management_url}/users/{user.id}", leaf.headers
    with leaf, freeze_time("2026-03-01"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if through == "requests":
            line = _line() + 1
            assert requests.get(url, headers=headers).status_code == 200
        else:
            line = _line() + 1
            leaf.get_user(user.id)
    [warning] = [w for w in caught if w.category is ClockWentBackWarning]
    assert (warning.filename, warning.lineno) == (__file__, line)


def test_the_warning_made_an_error_by_the_tests_filters_is_named_so_not_as_a_bug_of_the_fake() -> None:
    # with filterwarnings = error the request answered a 500 saying "a bug in fake-leaf, please report it"
    leaf = FakeLeaf()
    user = leaf.create_user(name="Ada")
    url, headers = f"{leaf.user_management_url}/users/{user.id}", leaf.headers
    with leaf, freeze_time("2026-03-01"), warnings.catch_warnings():
        warnings.simplefilter("error", ClockWentBackWarning)
        answer = requests.get(url, headers=headers)
    detail = answer.json()["detail"]
    assert "ClockWentBackWarning" in detail and "warning filters" in detail and "bug in fake-leaf" not in detail
