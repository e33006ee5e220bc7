"""Events held in parts (a token endpoint's answer as the credential's tokens, an organization list as the
organizations) read exactly as the provider's answer was written: the JSON text, drawn tokens and all."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import pickle
import random

import pytest
import requests

from fake_leaf import CredentialEvent, FakeLeaf, ManualClock
from fake_leaf.engine import _upstream
from fake_leaf.engine.providers import _base

START = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone.utc)
DAYS = 5


def _month(rotation: bool, seed: int = 11) -> tuple[FakeLeaf, str]:
    clock = ManualClock(START)
    leaf = FakeLeaf(clock=clock, seed=seed, refresh_token_rotation=rotation)
    user = leaf.create_user(name="grower").id
    leaf.create_john_deere_credentials(user, client_key="key", client_secret="secret", refresh_token="posted")
    clock.advance(dt.timedelta(days=DAYS, hours=1))
    return leaf, user


def _written_as_the_endpoint_sent_it(leaf: FakeLeaf, user: str, at: dt.datetime, rotation: bool,
                                     refresh_token: str) -> tuple[str, str]:
    """The refresh's body as a token endpoint writes it, its tokens drawn when the check ran: (body, new token)."""
    backend = leaf._backend
    record = backend._users[user].credentials["JohnDeere"]
    rng = random.Random(int.from_bytes(backend._derived(record, at, 0, b"tokens")))
    if rotation:
        refresh_token = _base.opaque_token(rng)
    access = _base.access_token(rng)
    scope = " ".join(leaf.john_deere.provider.upstream.scopes)  # type: ignore[union-attr]
    body = {"token_type": "Bearer", "expires_in": 12 * 3600, "access_token": access, "scope": scope,
            "refresh_token": refresh_token}
    return json.dumps(body, separators=(",", ":")), refresh_token


@pytest.mark.parametrize("rotation", [False, True])
def test_refresh_events_read_as_the_token_endpoint_wrote_them(rotation: bool) -> None:
    leaf, user = _month(rotation)
    events = leaf.john_deere_credential_events(user)[::-1]  # oldest first
    refreshes = [e for e in events if "access_token" in e.body]
    assert len(refreshes) == DAYS + 1  # the check at creation, then one a day (the token lasts 12 hours)
    token = "posted"
    for event in refreshes:
        expected, token = _written_as_the_endpoint_sent_it(leaf, user, event.created_date, rotation, token)
        assert event.body == expected
    held = leaf.get_john_deere_credentials(user)
    assert held.access_token == json.loads(refreshes[-1].body)["access_token"]
    assert held.refresh_token == token


def test_the_organization_list_reads_as_john_deere_wrote_it() -> None:
    leaf, user = _month(rotation=False)
    org = leaf.john_deere.organizations(user)[0]
    calls = [e for e in leaf.john_deere_credential_events(user) if "OrganizationList" in e.body]
    assert len(calls) == DAYS + 1
    for event in calls:
        assert json.loads(event.body) == {"@type": "OrganizationList", "total": 1, "values": [
            {"@type": "Organization", "id": org.id, "name": org.name, "member": True}]}
        assert event.body == json.dumps(json.loads(event.body), separators=(",", ":"))


def test_a_token_drawn_again_is_the_same_token() -> None:
    leaf, user = _month(rotation=True)
    first = leaf.get_john_deere_credentials(user).access_token
    bodies = [e.body for e in leaf.john_deere_credential_events(user)]
    _base._draw_access_token.cache_clear()  # drawn again from the seed, not read back from a cache
    _upstream._written.cache_clear()  # and the bodies written out again
    assert leaf.get_john_deere_credentials(user).access_token == first
    assert [e.body for e in leaf.john_deere_credential_events(user)] == bodies
    assert first is not None and first.count(".") == 2  # a JWT: header.claims.signature
    header = json.loads(_base.base64.urlsafe_b64decode(first.split(".")[0] + "=="))
    assert header["alg"] == "RS256"


def test_the_same_seed_gives_the_same_events_and_another_seed_other_tokens() -> None:
    one, user_one = _month(rotation=True, seed=3)
    two, user_two = _month(rotation=True, seed=3)
    other, user_other = _month(rotation=True, seed=4)
    events = one.john_deere_credential_events(user_one)
    assert [(e.created_date, e.status_code, e.headers, e.body) for e in events] == \
        [(e.created_date, e.status_code, e.headers, e.body) for e in two.john_deere_credential_events(user_two)]
    assert one.get_john_deere_credentials(user_one).access_token != \
        other.get_john_deere_credentials(user_other).access_token


def test_an_event_held_in_parts_behaves_as_one_holding_its_text() -> None:
    leaf, user = _month(rotation=False)
    held = next(e for e in leaf.john_deere_credential_events(user) if "access_token" in e.body)
    written = CredentialEvent(held.id, held.created_date, held.status_code, held.headers, held.body)
    assert held == written and hash(held) == hash(written) and repr(held) == repr(written)
    assert held != CredentialEvent(held.id, held.created_date, held.status_code, held.headers, held.body + " ")
    assert pickle.loads(pickle.dumps(held)) == written
    assert copy.deepcopy(held) == written and copy.copy(held) == written
    with pytest.raises(dataclasses.FrozenInstanceError):
        held.status_code = 500  # type: ignore[misc]
    match held:
        case CredentialEvent(status_code=200, body=body):
            assert body == written.body
        case _:
            pytest.fail("an event matches by its fields")


def test_the_events_endpoint_answers_the_bodies_the_library_reads() -> None:
    leaf, user = _month(rotation=True)
    with leaf:
        answer = requests.get(f"{leaf.user_management_url}/users/{user}/john-deere-credentials/events",
                              headers=leaf.headers, timeout=5)
    assert answer.status_code == 200
    assert [e["body"] for e in answer.json()] == [e.body for e in leaf.john_deere_credential_events(user)][:20]
