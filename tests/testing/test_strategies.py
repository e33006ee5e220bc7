"""The strategies: valid bodies are all accepted, invalid ones all refused with 400 naming the field."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, NoSuchExample

from fake_leaf import PROVIDERS, FakeLeaf, ManualClock
from fake_leaf.testing import strategies
from fake_leaf.testing.strategies import (
    PROBLEMS,
    InvalidBody,
    credentials_bodies,
    invalid_credentials_bodies,
    leaf_users,
    time_moves,
)
from tests.conftest import examples

FAST = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(body=credentials_bodies())
def test_valid_credentials_bodies_are_accepted(body: dict[str, Any]) -> None:
    with FakeLeaf() as leaf:
        user = leaf.create_user()
        r = requests.post(f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials", json=body,
                          headers=leaf.headers)
        assert r.status_code == 201, r.text
        assert r.json()["clientKey"] == body["clientKey"]


@FAST
@given(invalid=invalid_credentials_bodies())
def test_invalid_credentials_bodies_are_refused_with_400(invalid: InvalidBody) -> None:
    with FakeLeaf() as leaf:
        user = leaf.create_user()
        url = f"{leaf.user_management_url}/users/{user.id}/john-deere-credentials"
        r = requests.post(url, data=invalid.raw, headers={**leaf.headers, "Content-Type": "application/json"})
        assert r.status_code == 400, (invalid, r.text)
        if invalid.field is not None:
            assert [e["field"] for e in r.json()["fieldErrors"]] == [invalid.field]
        assert requests.get(url, headers=leaf.headers).status_code == 404


@FAST
@given(body=leaf_users())
def test_leaf_user_bodies_are_accepted(body: dict[str, Any]) -> None:
    with FakeLeaf() as leaf:
        r = requests.post(f"{leaf.user_management_url}/users", json=body, headers=leaf.headers)
        assert r.status_code == 201
        assert all(r.json()[k] == v for k, v in body.items())


def test_import_fake_leaf_alone_imports_neither_hypothesis_nor_faker() -> None:
    code = ("import sys, fake_leaf; "
            "print([m for m in ('hypothesis', 'faker', 'freezegun', 'pytest') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_leaf_user_ids_cover_existing_missing_and_another_owners() -> None:
    from hypothesis import find

    from fake_leaf.testing.strategies import leaf_user_ids

    with FakeLeaf() as leaf:
        mine = leaf.create_user().id
        leaf.add_api_owner("other@owner.test", "pw-other")
        theirs = leaf.create_user(api_owner="other@owner.test").id
        strategy = leaf_user_ids(existing=[mine], other_owner=[theirs])
        expected = {"existing": 200, "missing": 404, "other_owner": 404}
        for kind, status in expected.items():
            found_kind, user_id = find(strategy, lambda pair, k=kind: pair[0] == k)  # type: ignore[misc]
            r = requests.get(f"{leaf.user_management_url}/users/{user_id}", headers=leaf.headers)
            assert r.status_code == status, (found_kind, user_id)


def test_leaf_user_ids_of_each_examples_own_users_are_one_strategy_to_hypothesis() -> None:
    # a test draws from the ids its example made; hypothesis keeps every label it meets for the rest of the
    # process, so a label per list of ids was memory a session never got back
    import uuid

    from hypothesis import find

    from fake_leaf.testing.strategies import leaf_user_ids

    made = [[str(uuid.uuid4()) for _ in range(3)] for _ in range(5)]
    strategies = [leaf_user_ids(existing=ids, other_owner=ids[:1]) for ids in made]
    assert len({strategy.label for strategy in strategies}) == 1  # as many ids each time: one label
    last = made[-1][-1]
    assert find(strategies[-1], lambda pair: pair == ("existing", last)) == ("existing", last)


def test_faker_makes_a_valid_body_for_every_provider() -> None:
    import pytest
    from faker import Faker

    from fake_leaf import PROVIDERS, FakeLeaf
    from fake_leaf.testing.faker import LeafProvider

    faker = Faker()
    faker.add_provider(LeafProvider)
    faker.seed_instance(4)
    with FakeLeaf() as leaf:
        user = leaf.create_user(name="Ada")
        for provider in PROVIDERS:
            body = faker.credentials_body(provider.slug)
            assert set(body) == {f.name for f in provider.body_fields}
            fields = leaf.create_credentials(provider, user.id, **body).fields
            assert {name: fields[name] for name in body} == body
    with pytest.raises(ValueError, match="no provider 'Nowhere'"):
        faker.credentials_body("Nowhere")


# every public strategy at its defaults, and the narrowing that once failed the health checks with .filter
PUBLIC_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "credentials_bodies()": credentials_bodies(),
    "invalid_credentials_bodies()": invalid_credentials_bodies(),
    "invalid_credentials_bodies(problems={'blank'})": invalid_credentials_bodies(problems={"blank"}),
    "leaf_users()": leaf_users(),
    "leaf_user_ids(existing, other_owner)": strategies.leaf_user_ids(["a"], ["b"]),
    "time_moves()": time_moves(),
    "john_deere_events()": strategies.john_deere_events(),
    "fakers()": strategies.fakers(),
    "organization_statuses()": strategies.organization_statuses(),
    "organization_changes()": strategies.organization_changes(),
}


def test_every_public_strategy_is_listed_here() -> None:
    functions = {name for name in strategies.__all__ if callable(getattr(strategies, name))
                 and name[0].islower()}
    assert functions == {key.split("(")[0] for key in PUBLIC_STRATEGIES}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PUBLIC_STRATEGIES))
def test_a_public_strategy_passes_hypothesis_health_checks_at_default_settings(name: str) -> None:
    drawn: list[object] = []

    @given(PUBLIC_STRATEGIES[name])
    def draw(value: object) -> None:  # default settings: 100 examples, every health check on
        drawn.append(value)

    draw()
    assert drawn, f"{name} drew nothing"


@pytest.mark.parametrize("problem", PROBLEMS)
@settings(max_examples=examples(15), deadline=None)
@given(data=st.data())
def test_a_narrowed_invalid_body_has_exactly_the_asked_problem(problem: str, data: st.DataObject) -> None:
    invalid = data.draw(invalid_credentials_bodies(problems={problem}))  # type: ignore[arg-type]
    assert invalid.problem == problem


@settings(max_examples=examples(50), deadline=None)
@given(move=time_moves())
def test_time_moves_never_stand_still(move: object) -> None:
    assert move > dt.timedelta(0)  # type: ignore[operator]


def _events_after(move: dt.timedelta, check_interval: dt.timedelta) -> int:
    """How many events a fresh credential has once the clock has moved by ``move``."""
    with FakeLeaf(clock=ManualClock(), check_interval=check_interval) as leaf:
        user = leaf.create_user()
        leaf.create_credentials("JohnDeere", user.id, clientKey="0oa1", clientSecret="s", refreshToken="r",
                                clientEnvironment="PRODUCTION")
        assert isinstance(leaf.clock, ManualClock)
        leaf.clock.advance(move)
        return len(leaf.credential_events("JohnDeere", user.id))


def test_time_moves_given_a_fakes_timing_land_either_side_of_its_own_check() -> None:
    six_hours = dt.timedelta(hours=6)
    timing = FakeLeaf(check_interval=six_hours).timing
    just_before = find(time_moves(timing=timing), lambda m: six_hours - dt.timedelta(seconds=2) < m < six_hours)
    just_after = find(time_moves(timing=timing), lambda m: six_hours < m < six_hours + dt.timedelta(seconds=2))
    at_creation = _events_after(dt.timedelta(0), six_hours)
    assert _events_after(just_before, six_hours) == at_creation  # the next check has not run
    assert _events_after(just_after, six_hours) > at_creation  # it has
    with pytest.raises(NoSuchExample):  # a default fake's landmarks (12 h, 24 h, 30 days) never come that close
        find(time_moves(), lambda m: six_hours < m < six_hours + dt.timedelta(seconds=2),
             settings=settings(max_examples=300, database=None))


@pytest.mark.parametrize("call, says", [
    (lambda: invalid_credentials_bodies(problems={"blnk"}), "unknown: ['blnk']"),  # type: ignore[arg-type]
    (lambda: invalid_credentials_bodies(problems=set()), "non-empty subset"),
    (lambda: invalid_credentials_bodies(problems={"missing field"}, fields={"clientEnvironment"},
                                        provider=next(p for p in PROVIDERS if p.name == "CLAAS")),  # STAGE if left out
     "missing field needs a required field"),
    (lambda: leaf_users(values={"weird"}), "unknown: ['weird']"),  # type: ignore[arg-type]
    (lambda: time_moves(max_days=0), "max_days must be 1 or more"),
    (lambda: time_moves(timing=dt.timedelta(hours=6)), "timing must be a fake's timing"),  # type: ignore[arg-type]
])
def test_a_parameter_a_strategy_cannot_honour_is_refused_naming_it(call: Any, says: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(says)):
        call()


@given(status=strategies.organization_statuses(settable=True), change=strategies.organization_changes())
@settings(max_examples=examples(25))
def test_organization_strategies_draw_what_a_client_may_set_and_what_the_machine_plays(status: Any,
                                                                                      change: str) -> None:
    with FakeLeaf() as leaf:
        user = leaf.create_user(name="Ada")
        leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
        org = leaf.organizations("JohnDeere", user.id)[0]
        url = f"{leaf.user_management_url}/users/{user.id}/JohnDeere/organizations/{org.provider_org_id}/{status.value}"
        assert requests.patch(url, headers=leaf.headers).json()["status"] == status.value
    assert change.split()[0] in ("add", "block", "unblock", "remove")


def test_the_faker_provider_makes_organizations() -> None:
    from faker import Faker

    from fake_leaf.testing.faker import LeafProvider

    faker = Faker()
    faker.add_provider(LeafProvider)
    faker.seed_instance(3)
    assert faker.john_deere_organization_id().isdigit()
    assert faker.organization_status() in ("SELECTED", "PREVIEW", "BLOCKED")
    name = faker.organization_name()
    with FakeLeaf() as leaf:
        user = leaf.create_user(name="Ada")
        leaf.create_john_deere_credentials(user.id, client_key="k", client_secret="s", refresh_token="r")
        org_id = leaf.upstream("JohnDeere").add_organization(user.id, name, org_id=faker.john_deere_organization_id())
        assert leaf.upstream("JohnDeere").run_check(user.id).status.value == "OK"
        assert [o.provider_org_name for o in leaf.organizations("JohnDeere", user.id) if o.provider_org_id == org_id] \
            == [name]
