"""Provider organizations (John Deere, Trimble): Leaf's lists, John Deere's sync management, the config
service's organizationDataSync, their alerts, and the simulated accounts that tests change."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import responses

from fake_leaf import FakeLeaf, ManualClock, OrganizationStatus, verify_signature
from tests.conftest import CREDENTIALS_BODY

DAY = dt.timedelta(days=1)
TRIMBLE = {"clientId": "trimble-app", "clientSecret": "s", "refreshToken": "r"}


@dataclass
class Api:
    leaf: FakeLeaf
    base: str  # where the client reaches the fake: its own host in-process, the server's URL otherwise
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return self.leaf.headers

    def url(self, path: str) -> str:
        return f"{self.base}/services/usermanagement/api/users/{self.user_id}{path}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.url(path), params=params, headers=self.headers)

    def managed(self) -> list[dict[str, Any]]:
        r = self.get("/JohnDeere/organizations")
        assert r.status_code == 200, r.text
        return list(r.json())

    def sync(self) -> list[dict[str, Any]]:
        r = requests.post(self.url("/JohnDeere/organizations/sync"), headers=self.headers)
        assert r.status_code == 200, r.text
        return list(r.json())

    def patch(self, org_id: str, status: str) -> requests.Response:
        return requests.patch(self.url(f"/JohnDeere/organizations/{org_id}/{status}"), headers=self.headers)


@pytest.fixture(params=["in-process", "server"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    leaf = FakeLeaf(clock=ManualClock())
    user = leaf.create_user(name="Ada")
    leaf.create_credentials("JohnDeere", user.id, **CREDENTIALS_BODY)
    if request.param == "in-process":
        with leaf:
            yield Api(leaf, leaf.base_url, user.id)
    else:
        with leaf.server() as server:  # the WSGI app over real HTTP
            yield Api(leaf, server.url, user.id)


def _later(leaf: FakeLeaf, delta: dt.timedelta = DAY) -> None:
    clock = leaf.clock
    assert isinstance(clock, ManualClock)
    clock.advance(delta)


def test_a_new_john_deere_account_has_one_connected_organization_selected(api: Api) -> None:
    [org] = api.managed()
    assert set(org) == {"providerOrgId", "providerOrgName", "status", "managementUri"}
    assert org["status"] == "SELECTED"
    assert "connections-dialog" in org["managementUri"] and org["providerOrgId"] in org["managementUri"]
    lists = api.get("/organizations/JohnDeere").json()
    assert lists == {"connectedOrganizations": [{"id": org["providerOrgId"], "name": org["providerOrgName"],
                                                 "managementUri": org["managementUri"]}],
                     "notConnectedOrganizations": []}
    assert api.get(f"/JohnDeere/organizations/{org['providerOrgId']}").json() == org
    [upstream] = api.leaf.upstream("JohnDeere").organizations(api.user_id)
    assert (upstream.id, upstream.blocked) == (org["providerOrgId"], False)


def test_a_blocked_organization_is_blocked_after_a_sync_and_preview_once_the_grower_fixes_it(api: Api) -> None:
    john_deere = api.leaf.upstream("JohnDeere")
    second = john_deere.add_organization(api.user_id, "North Farm")
    first = api.managed()[0]["providerOrgId"]
    assert [o["providerOrgId"] for o in api.sync()] == [first, second]
    john_deere.block_organization(api.user_id, second)
    assert api.managed()[1]["status"] == "SELECTED"  # Leaf learns it at its next sync
    blocked = api.sync()[1]
    assert blocked["status"] == "BLOCKED"
    lists = api.get("/organizations/JohnDeere").json()
    assert [o["id"] for o in lists["notConnectedOrganizations"]] == [second]
    refused = api.patch(second, "SELECTED")
    assert refused.status_code == 400 and "BLOCKED" in refused.json()["detail"]
    assert "managementUri" in refused.json()["detail"]
    assert api.managed()[1] == blocked  # the refusal changed nothing
    john_deere.unblock_organization(api.user_id, second)
    _later(api.leaf)  # the background check syncs too
    assert api.managed()[1]["status"] == "PREVIEW"
    assert api.patch(second, "SELECTED").json()["status"] == "SELECTED"
    assert api.leaf.get_credentials("JohnDeere", api.user_id).status.value == "OK"  # the first stayed reachable
    kinds = [(a.type, a.provider_org_id) for a in api.leaf.organization_alerts()]
    assert kinds == [("providerOrganizationCreated", first), ("providerOrganizationCreated", second),
                     ("providerOrganizationBlocked", second)]


def test_a_client_moves_organizations_between_selected_and_preview_only(api: Api) -> None:
    org = api.managed()[0]["providerOrgId"]
    assert api.patch(org, "PREVIEW").json()["status"] == "PREVIEW"
    assert api.managed()[0]["status"] == "PREVIEW"
    assert api.patch(org, "SELECTED").json()["status"] == "SELECTED"
    for status, code in (("BLOCKED", 400), ("selected", 400), ("ARCHIVED", 400)):
        r = api.patch(org, status)
        assert r.status_code == code, status
        assert status in r.json()["detail"] or "BLOCKED" in r.json()["detail"]
    assert api.patch("no-such-org", "PREVIEW").status_code == 404
    assert api.managed()[0]["status"] == "SELECTED"


def test_a_removed_organization_leaves_the_list_with_an_alert(api: Api) -> None:
    john_deere = api.leaf.upstream("JohnDeere")
    extra = john_deere.add_organization(api.user_id, "Leased Ground", org_id="777")
    api.sync()
    john_deere.remove_organization(api.user_id, extra)
    assert [o["providerOrgName"] for o in api.sync()] == ["Fake Leaf Farms"]
    assert api.get(f"/JohnDeere/organizations/{extra}").status_code == 404
    over_http = requests.get(f"{api.base}/_fake-leaf/organization-alerts").json()[-1]
    assert (over_http["type"], over_http["providerOrgId"]) == ("providerOrganizationRemoved", "777")
    removed = api.leaf.organization_alerts()[-1]
    assert (removed.type, removed.provider_org_id, removed.provider_org_name) == (
        "providerOrganizationRemoved", "777", "Leased Ground")


def test_the_organizations_page_like_users(api: Api) -> None:
    for i in range(24):
        api.leaf.upstream("JohnDeere").add_organization(api.user_id, f"Farm {i}")
    every = api.sync()
    assert len(every) == 25
    first = api.get("/JohnDeere/organizations")
    assert first.json() == every[:20] and first.headers["X-Total-Count"] == "25"
    assert 'rel="next"' in first.headers["Link"]
    assert api.get("/JohnDeere/organizations", page=1).json() == every[20:]
    assert api.get("/JohnDeere/organizations", page=2).json() == []
    assert api.get("/JohnDeere/organizations", size=5, page=1).json() == every[5:10]
    for bad in ({"page": "-1"}, {"size": "0"}, {"size": "many"}):
        r = api.get("/JohnDeere/organizations", **bad)
        assert r.status_code == 400 and r.json()["fieldErrors"][0]["field"] == next(iter(bad))


def test_organization_data_sync_selected_only_makes_new_organizations_preview(api: Api) -> None:
    configs = f"{api.base}/services/config/api/configs"
    assert requests.get(configs, headers=api.headers).json() == {"organizationDataSync": "ALL"}
    r = requests.patch(configs, json={"organizationDataSync": "SELECTED_ONLY"}, headers=api.headers)
    assert r.status_code == 200 and r.json() == {"organizationDataSync": "SELECTED_ONLY"}
    api.leaf.upstream("JohnDeere").add_organization(api.user_id, "Owner says preview")
    assert api.sync()[-1]["status"] == "PREVIEW"
    assert api.managed()[0]["status"] == "SELECTED"  # not retroactive
    # the Leaf user's own configuration takes precedence over the owner's
    mine = f"{configs}/{api.user_id}"
    assert requests.get(mine, headers=api.headers).status_code == 404
    created = requests.post(mine, json={"organizationDataSync": "ALL"}, headers=api.headers)
    assert created.status_code == 201 and created.json() == {"organizationDataSync": "ALL"}
    api.leaf.upstream("JohnDeere").add_organization(api.user_id, "User says all")
    assert api.sync()[-1]["status"] == "SELECTED"
    assert requests.patch(mine, json={"organizationDataSync": "SELECTED_ONLY"},
                          headers=api.headers).json() == {"organizationDataSync": "SELECTED_ONLY"}
    assert requests.post(mine, json={}, headers=api.headers).json()["errorKey"] == "configurationAlreadyExists"
    assert requests.delete(mine, headers=api.headers).status_code == 204
    assert requests.delete(mine, headers=api.headers).status_code == 404
    for bad in ({"organizationDataSync": "SOME"}, {"organizationDataSync": None}):
        r = requests.patch(configs, json=bad, headers=api.headers)
        assert r.status_code == 400 and r.json()["fieldErrors"][0]["field"] == "organizationDataSync"
    assert requests.get(configs, headers=api.headers).json() == {"organizationDataSync": "SELECTED_ONLY"}


def test_bad_requests_are_404s_or_400s_that_say_why_and_change_nothing(api: Api) -> None:
    before = api.managed()
    nobody = api.url("/JohnDeere/organizations").replace(api.user_id, "00000000-0000-4000-8000-000000000000")
    r = requests.get(nobody, headers=api.headers)
    assert r.status_code == 404 and "does not exist" in r.json()["detail"]
    r = api.get("/organizations/Nowhere")
    assert r.status_code == 404 and "'Nowhere'" in r.json()["detail"]
    r = api.get("/organizations/Raven")
    assert r.status_code == 404 and "JohnDeere, Trimble only" in r.json()["detail"]
    r = api.get("/Trimble/organizations")
    assert r.status_code == 404 and "JohnDeere only" in r.json()["detail"]
    r = api.get("/organizations/Trimble")  # the user has no Trimble credentials: not the same 404 as no user
    assert r.status_code == 404 and "has no Trimble credentials" in r.json()["detail"]
    other = api.leaf.add_api_owner("other@owner.test", "pw")
    r = requests.get(api.url("/JohnDeere/organizations"), headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 404 and "does not exist" in r.json()["detail"]
    assert requests.delete(api.url("/JohnDeere/organizations/sync"), headers=api.headers).status_code == 405
    assert api.managed() == before


def test_trimble_lists_every_organization_as_connected(api: Api) -> None:
    api.leaf.create_credentials("Trimble", api.user_id, **TRIMBLE)
    trimble = api.leaf.upstream("Trimble")
    extra = trimble.add_organization(api.user_id, "Trimble Farm Two")
    trimble.block_organization(api.user_id, extra)
    _later(api.leaf)
    lists = api.get("/organizations/Trimble").json()
    assert len(lists["connectedOrganizations"]) == 2 and lists["notConnectedOrganizations"] == []
    assert all("trimble" in o["managementUri"] for o in lists["connectedOrganizations"])


def test_a_deleted_credential_takes_its_organizations_and_a_new_one_starts_from_the_account(api: Api) -> None:
    john_deere = api.leaf.upstream("JohnDeere")
    john_deere.add_organization(api.user_id, "Kept at John Deere", org_id="4242")
    api.patch(api.managed()[0]["providerOrgId"], "PREVIEW")
    assert requests.delete(api.url("/john-deere-credentials"), headers=api.headers).status_code == 204
    assert api.get("/JohnDeere/organizations").status_code == 404
    # the same grant again: the grower's account still holds both organizations; Leaf's choices are gone
    r = requests.post(api.url("/john-deere-credentials"), json=CREDENTIALS_BODY, headers=api.headers)
    assert r.status_code == 201
    assert [(o["providerOrgName"], o["status"]) for o in api.managed()] == [
        ("Fake Leaf Farms", "SELECTED"), ("Kept at John Deere", "SELECTED")]


def test_disconnecting_the_organization_is_missing_permission_and_blocks_it(api: Api) -> None:
    api.leaf.john_deere.disconnect_organization(api.user_id)
    _later(api.leaf)
    assert api.leaf.get_credentials("JohnDeere", api.user_id).status.value == "MISSING_PERMISSION"
    assert api.managed()[0]["status"] == "BLOCKED"
    assert "select-organizations" in api.managed()[0]["managementUri"]  # nothing connected: set-up incomplete
    newest = api.get("/john-deere-credentials/events").json()[0]
    assert newest["statusCode"] == 403
    api.leaf.john_deere.connect_organization(api.user_id)
    assert api.sync()[0]["status"] == "PREVIEW"
    assert api.leaf.get_credentials("JohnDeere", api.user_id).status.value == "OK"


def test_the_checks_calls_to_list_organizations_are_events(api: Api) -> None:
    api.leaf.upstream("JohnDeere").add_organization(api.user_id, "Listed", org_id="99")
    api.sync()
    newest = api.get("/john-deere-credentials/events").json()[0]
    listed = json.loads(newest["body"])
    assert newest["statusCode"] == 200 and listed["@type"] == "OrganizationList"
    assert [v["id"] for v in listed["values"]][-1] == "99"


def test_the_control_plane_changes_the_account_as_python_does(api: Api) -> None:
    control = f"{api.base}/_fake-leaf/providers/john-deere/{api.user_id}/organizations"
    added = requests.post(control, json={"name": "From another language", "id": "31337"})
    assert added.status_code == 201 and added.json() == {"id": "31337"}
    assert requests.post(f"{control}/31337/block").status_code == 204
    assert requests.get(control).json()[-1] == {"id": "31337", "name": "From another language", "blocked": True}
    assert api.sync()[-1]["status"] == "BLOCKED"
    assert requests.post(f"{control}/31337/unblock").status_code == 204
    assert requests.delete(f"{control}/31337").status_code == 204
    assert requests.delete(f"{control}/31337").status_code == 400  # the account has no such organization
    assert requests.post(control, json={"name": 5}).status_code == 400
    assert "31337" not in {o["providerOrgId"] for o in api.sync()}
    assert requests.get(f"{api.base}/_fake-leaf/providers/raven/{api.user_id}/organizations").status_code in (400, 404)


def test_organization_alerts_reach_the_webhook_signed() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, \
            FakeLeaf(requests_mock=rsps, clock=ManualClock()) as leaf:
        received: list[requests.PreparedRequest] = []

        def receive(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
            received.append(request)
            return 200, {}, "ok"
        rsps.add_callback("POST", "https://receiver.example/orgs", callback=receive)
        hook = {"name": "orgs", "url": "https://receiver.example/orgs", "secret": "s3cret",
                "events": ["providerOrganizationBlocked"]}
        assert requests.post(f"{leaf.base_url}/services/alerts/api/alerts/webhooks", json=hook,
                             headers=leaf.headers).status_code == 201
        user = leaf.create_user(name="Ada")
        leaf.create_credentials("JohnDeere", user.id, **CREDENTIALS_BODY)
        org = leaf.organizations("JohnDeere", user.id)[0]
        leaf.upstream("JohnDeere").block_organization(user.id, org.provider_org_id)
        _later(leaf)
        leaf.webhook_deliveries()  # deliveries due by now are sent
        body = received[-1].body
        assert isinstance(body, bytes)
        assert verify_signature(body, "s3cret", received[-1].headers["X-Leaf-Signature"])
        payload = json.loads(body)
        assert set(payload) == {"leafUserId", "provider", "providerOrgId", "providerOrgName", "status", "type",
                                "timestamp"}
        assert (payload["type"], payload["status"], payload["providerOrgId"]) == (
            "providerOrganizationBlocked", "BLOCKED", org.provider_org_id)
        assert leaf.organizations("JohnDeere", user.id)[0].status is OrganizationStatus.BLOCKED


def test_a_config_change_is_not_retroactive_for_checks_that_fell_due_before_it(api: Api) -> None:
    api.leaf.upstream("JohnDeere").add_organization(api.user_id, "Leased", org_id="42")
    _later(api.leaf, dt.timedelta(hours=25))  # the check at +24 h finds it, under ALL
    requests.patch(f"{api.base}/services/config/api/configs", json={"organizationDataSync": "SELECTED_ONLY"},
                   headers=api.headers)
    assert api.get("/JohnDeere/organizations/42").json()["status"] == "SELECTED"


def test_restoring_the_whole_access_leaves_an_organization_the_grower_blocked_on_its_own(api: Api) -> None:
    john_deere = api.leaf.upstream("JohnDeere")
    kept_blocked = john_deere.add_organization(api.user_id, "Blocked on its own")
    john_deere.block_organization(api.user_id, kept_blocked)
    api.leaf.john_deere.disconnect_organization(api.user_id)
    api.leaf.john_deere.connect_organization(api.user_id)
    assert [(o.name, o.blocked) for o in john_deere.organizations(api.user_id)] == [
        ("Fake Leaf Farms", False), ("Blocked on its own", True)]


@pytest.mark.parametrize("org_id", ["sync", ".", "..", "a/b", " ", "\ud800"])
def test_an_organization_id_no_route_could_name_is_refused(api: Api, org_id: str) -> None:
    with pytest.raises(ValueError, match="organization id"):
        api.leaf.upstream("JohnDeere").add_organization(api.user_id, "Farm", org_id=org_id)
    assert len(api.leaf.upstream("JohnDeere").organizations(api.user_id)) == 1
