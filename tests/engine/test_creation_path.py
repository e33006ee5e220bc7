"""What a fake makes when it is created and when it creates users and credentials: the values a seed
promises, drawn however late the fake sets up what it draws from, and the snapshots and refusals a client
reads, whatever shortcut the engine takes to make them."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import pickle
import threading

import pytest
import requests

from fake_leaf import CredentialEvent, Credentials, FakeLeaf, InvalidInputError, LeafUser, ManualClock, NotFoundError
from fake_leaf.engine.providers import PROVIDERS

START = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone.utc)
BODY = {"clientKey": "key", "clientSecret": "secret", "refreshToken": "refresh", "clientEnvironment": "STAGE"}


def _made(seed: int | None, leaf: FakeLeaf | None = None) -> dict[str, object]:
    """Everything a seed decides for one user with John Deere and Sentera credentials."""
    leaf = leaf or FakeLeaf(clock=ManualClock(START), seed=seed)
    user = leaf.create_as_json({"name": "grower"})
    john_deere = leaf.create_as_json(BODY, str(user["id"]))
    sentera = leaf.create_as_json({"username": "u", "password": "p", "organizationName": "Acme"}, str(user["id"]),
                                  "Sentera")
    organizations = [o.provider_org_id for o in leaf.organizations("JohnDeere", str(user["id"]))]
    events = [e.id for e in leaf.john_deere_credential_events(str(user["id"]))]
    return {"user": user, "john_deere": john_deere, "sentera": sentera, "organizations": organizations,
            "events": events}


def test_a_seed_gives_the_same_organizations_tokens_and_made_fields_in_every_fake_and_after_a_reset() -> None:
    first = _made(5)
    assert _made(5) == first
    leaf = FakeLeaf(clock=ManualClock(START), seed=5)
    _made(5, leaf)
    leaf.reset()
    assert _made(5, leaf) == first
    other = _made(6)
    assert other["organizations"] != first["organizations"]
    assert other["sentera"] != first["sentera"]


def test_fakes_without_a_seed_make_other_organizations_and_fields_each_time() -> None:
    made = [_made(None) for _ in range(3)]
    assert len({str(m["organizations"]) for m in made}) == 3
    assert len({str(m["sentera"]) for m in made}) == 3


def test_threads_that_draw_first_at_once_share_one_sequence() -> None:
    leaf = FakeLeaf(seed=3)
    users = [leaf.create_user(name=f"grower {i}").id for i in range(8)]
    barrier = threading.Barrier(len(users))

    def post(user: str) -> None:
        barrier.wait()
        leaf.create_john_deere_credentials(user, client_key="k", client_secret="s", refresh_token=f"r-{user}")

    threads = [threading.Thread(target=post, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {o.provider_org_id for u in users for o in leaf.organizations("JohnDeere", u)}
    assert len(ids) == len(users)  # one generator: no two accounts drew the same organization id


def test_tokens_signed_in_different_threads_at_first_use_all_verify() -> None:
    leaf = FakeLeaf()
    tokens: list[str] = []
    barrier = threading.Barrier(4)

    def login() -> None:
        barrier.wait()
        tokens.append(leaf.login())

    threads = [threading.Thread(target=login) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with leaf:
        answers = [requests.get(f"{leaf.user_management_url}/users", headers={"Authorization": f"Bearer {t}"})
                   for t in tokens]
    assert [a.status_code for a in answers] == [200] * 4


def test_a_credential_snapshot_is_the_dataclass_built_from_its_fields() -> None:
    leaf = FakeLeaf(clock=ManualClock(START), seed=1)
    user = leaf.create_user(name="grower").id
    made = leaf.create_john_deere_credentials(user, client_key="k", client_secret="s", refresh_token="r")
    values = {f.name: getattr(made, f.name) for f in dataclasses.fields(Credentials)}
    rebuilt = Credentials(**values)
    assert made == rebuilt and hash(made) == hash(rebuilt) and repr(made) == repr(rebuilt)
    assert set(vars(made)) == {f.name for f in dataclasses.fields(Credentials)}  # every field, nothing else
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.status = made.status  # type: ignore[misc]
    assert dataclasses.replace(made, scopes=()).scopes == ()


@pytest.mark.parametrize(("value", "code"), [
    ("", "NotBlank"), (" ", "NotBlank"), ("\t\n", "NotBlank"), ("\u3000", "NotBlank"), ("stage", "Pattern"),
    (1, "TypeMismatch"), ("STAGE\udc00", "NotReadable"),
])
def test_every_field_is_checked_whatever_its_text(value: object, code: str) -> None:
    leaf = FakeLeaf()
    user = leaf.create_user(name="grower").id
    with pytest.raises(InvalidInputError) as refused:
        leaf.create_as_json({**BODY, "clientEnvironment": value}, user)
    assert [(e.field, e.message) for e in refused.value.field_errors] == [("clientEnvironment", code)]
    with pytest.raises(NotFoundError):  # nothing was made
        leaf.get_john_deere_credentials(user)


@pytest.mark.parametrize("value", ["clé-キー", "k" * 10_000, " padded "])
def test_text_of_any_script_or_length_is_kept_as_posted(value: str) -> None:
    leaf = FakeLeaf()
    user = leaf.create_user(name="grower").id
    answer = leaf.create_as_json({**BODY, "clientKey": value}, user)
    assert answer["clientKey"] == value


def test_a_fake_serving_two_providers_of_one_name_is_refused_every_time() -> None:
    twice = (PROVIDERS[0], PROVIDERS[0])
    for _ in range(2):
        with pytest.raises(ValueError, match="two providers are named"):
            FakeLeaf(providers=twice)


def _jd(leaf: FakeLeaf, user: str, token: str = "refresh") -> None:
    leaf.create_john_deere_credentials(user, client_key="key", client_secret="secret", refresh_token=token)


def test_an_organization_found_at_creation_has_the_status_the_setting_of_that_time_gives() -> None:
    leaf = FakeLeaf(clock=ManualClock(START))
    user = leaf.create_user(name="grower").id
    _jd(leaf, user)
    with leaf:
        r = requests.patch(f"{leaf.base_url}/services/config/api/configs", headers=leaf.headers,
                           json={"organizationDataSync": "SELECTED_ONLY"})
        assert r.status_code == 200
    other = leaf.create_user(name="later").id
    _jd(leaf, other, "other")
    assert [o.status.value for o in leaf.organizations("JohnDeere", user)] == ["SELECTED"]
    assert [o.status.value for o in leaf.organizations("JohnDeere", other)] == ["PREVIEW"]


def test_alerts_are_listed_in_the_order_they_were_raised() -> None:
    leaf = FakeLeaf(clock=ManualClock(START))
    first, second = (leaf.create_user(name=n).id for n in ("first", "second"))
    _jd(leaf, first)
    leaf.john_deere.set_status(first, "MISSING_PERMISSION")
    _jd(leaf, second, "other")
    log = [(a.type, a.leaf_user_id) for a in leaf._backend.alert_log()]  # noqa: SLF001 (both kinds, one log)
    assert log == [("providerOrganizationCreated", first), ("credentialsLimitedPermission", first),
                   ("providerOrganizationCreated", second)]


def test_the_organization_alerts_of_a_deleted_user_stay_with_their_owner() -> None:
    leaf = FakeLeaf(clock=ManualClock(START))
    user = leaf.create_user(name="grower").id
    _jd(leaf, user)
    leaf.delete_user(user)
    alerts = leaf.organization_alerts()
    assert [(a.type, a.leaf_user_id, a.api_owner) for a in alerts] == [
        ("providerOrganizationCreated", user, leaf.username)]


def test_a_replaced_credential_raised_its_alert_before_its_successor() -> None:
    leaf = FakeLeaf(clock=ManualClock(START), on_duplicate_credentials="replace")
    user = leaf.create_user(name="grower").id
    for i in range(3):
        _jd(leaf, user, f"token-{i}")
    assert [a.type for a in leaf.organization_alerts()] == ["providerOrganizationCreated"] * 3
    assert len(leaf.organizations("JohnDeere", user)) == 1


def test_many_credentials_created_unread_each_have_their_organization_and_alert() -> None:
    leaf = FakeLeaf(clock=ManualClock(START), seed=2)
    users = [leaf.create_user(name=f"grower {i}").id for i in range(1500)]  # past what waits to be synced
    for i, user in enumerate(users):
        _jd(leaf, user, f"token-{i}")
    alerts = leaf.organization_alerts()
    assert [a.leaf_user_id for a in alerts] == users
    assert all(len(leaf.organizations("JohnDeere", u)) == 1 for u in users[::100])


def test_a_user_snapshot_is_the_dataclass_built_from_its_fields() -> None:
    leaf = FakeLeaf()
    made = leaf.create_user(name="grower", email="g@example.com", externalId="farm-1")
    values = {f.name: getattr(made, f.name) for f in dataclasses.fields(LeafUser)}
    assert made == LeafUser(**values) and hash(made) == hash(LeafUser(**values)) and repr(made) == repr(
        LeafUser(**values))
    assert (made.name, made.email, made.phone, made.external_id, made.api_owner) == (
        "grower", "g@example.com", None, "farm-1", leaf.username)


@pytest.mark.parametrize(("body", "code"), [
    ({"name": 1}, "TypeMismatch"), ({"email": ["a"]}, "TypeMismatch"), ({"phone": "1\udc00"}, "NotReadable"),
])
def test_a_user_field_that_is_not_text_is_refused(body: dict[str, object], code: str) -> None:
    leaf = FakeLeaf()
    with pytest.raises(InvalidInputError) as refused:
        leaf.create_as_json(body)
    assert [e.message for e in refused.value.field_errors] == [code]
    assert leaf.list_users() == []


def test_user_filters_list_users_in_the_order_they_last_got_their_values() -> None:
    """The filter index is made at the first filter: it lists what indexing every change at once lists."""
    for filter_first in (False, True):
        leaf = FakeLeaf()
        if filter_first:
            leaf.list_users()
            with leaf:
                requests.get(f"{leaf.user_management_url}/users", params={"name": "x"}, headers=leaf.headers)
        ids = [leaf.create_user(name="same", email=f"{i}@example.com").id for i in range(4)]
        leaf.update_user(ids[1], name="same")  # the same value again: it comes last among them
        leaf.update_user(ids[2], name="other")
        leaf.update_user(ids[2], name="same")
        leaf.delete_user(ids[0])
        with leaf:
            r = requests.get(f"{leaf.user_management_url}/users", params={"name": "same"}, headers=leaf.headers)
        assert [u["id"] for u in r.json()] == [ids[3], ids[1], ids[2]], filter_first


def test_a_new_user_answers_null_for_every_provider_it_has_no_credentials_of() -> None:
    leaf = FakeLeaf()
    answer = leaf.create_as_json({"name": "grower"})
    assert [k for k, v in answer.items() if v is None and k.endswith("Credentials")] == [
        p.user_field for p in leaf.providers]


def test_an_events_id_is_the_same_whenever_and_however_it_is_first_read() -> None:
    def month(read_early: bool) -> list[CredentialEvent]:
        clock = ManualClock(START)
        leaf = FakeLeaf(clock=clock, seed=9)
        user = leaf.create_user(name="grower").id
        _jd(leaf, user)
        held = leaf.john_deere_credential_events(user)
        if read_early:
            assert [e.id for e in held]
        clock.advance(dt.timedelta(days=3))
        return leaf.john_deere_credential_events(user)

    early, late = month(True), month(False)
    assert [e.id for e in late] == [e.id for e in early] and len({e.id for e in early}) == len(early) == 8
    fresh = month(False)
    unread = pickle.loads(pickle.dumps(fresh[-1]))  # pickled, copied and compared before its id was read
    assert unread == early[-1] and copy.copy(fresh[-2]) == early[-2] and hash(fresh[-3]) == hash(early[-3])
    assert str(fresh[0]) == str(early[0])


def test_ids_are_the_version_4_uuids_the_standard_library_makes_of_the_same_bytes() -> None:
    import os
    import random
    import uuid

    from fake_leaf.engine._ids import id_from, new_id

    for _ in range(2000):
        raw = os.urandom(32)
        assert id_from(raw) == str(uuid.UUID(bytes=raw[:16], version=4))
    assert new_id(random.Random(4)) == str(uuid.UUID(bytes=random.Random(4).randbytes(16), version=4))
    assert uuid.UUID(new_id()).version == 4


@pytest.mark.parametrize("client_key", ["plain", "a/b c?d", "clé-キー", "%2F", "k" * 300 + "/"])
def test_the_management_uri_names_the_client_as_one_path_segment(client_key: str) -> None:
    from urllib.parse import quote

    leaf = FakeLeaf()
    user = leaf.create_user(name="grower").id
    leaf.create_john_deere_credentials(user, client_key=client_key, client_secret="s", refresh_token="r")
    for _ in range(2):  # quoted once, then kept: the same either way
        uri = leaf.organizations("JohnDeere", user)[0].management_uri
        assert uri.startswith(f"https://connections.deere.com/connections/{quote(client_key, safe='')}/")
