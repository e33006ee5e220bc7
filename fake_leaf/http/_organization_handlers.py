"""Provider organizations (John Deere, Trimble) under the user-management base, and Leaf's config service."""

from __future__ import annotations

from typing import Any

from fake_leaf.engine._errors import bad_query
from fake_leaf.engine._settings import SETTINGS
from fake_leaf.http._context import Call, Route, ok
from fake_leaf.http._handlers import USERS_PATH, int_param, page_answer
from fake_leaf.http._serialize import organization_json, organization_lists_json
from fake_leaf.http._types import HttpResponse

CONFIGS_PATH = "/services/config/api/configs"


def _ids(call: Call) -> tuple[str, str]:
    return call.params["leafUserId"], call.params["provider"]


def list_organizations(call: Call) -> HttpResponse:
    leaf_user_id, provider = _ids(call)
    found = call.backend.list_organizations(call.owner, leaf_user_id, provider)
    declared = call.backend.provider(provider).organizations
    return ok(200, organization_lists_json(found, declared is None or declared.tells_connection))


def list_managed_organizations(call: Call) -> HttpResponse:
    leaf_user_id, provider = _ids(call)
    query = call.query()
    if "sort" in query:  # Leaf documents page and size only: a sort asked for and not done would mislead
        raise bad_query("sort", "Leaf lists organizations in the order it found them and takes page and size "
                                "only; sort them yourself")
    page, size = int_param(query, "page", 0), int_param(query, "size", 20)
    found, total = call.backend.organizations_page(call.owner, leaf_user_id, provider, page=page, size=size)
    return page_answer(call, query, [organization_json(o) for o in found], page, size, total)


def get_organization(call: Call) -> HttpResponse:
    leaf_user_id, provider = _ids(call)
    return ok(200, organization_json(call.backend.get_organization(call.owner, leaf_user_id, provider,
                                                                   call.params["providerOrgId"])))


def set_organization_status(call: Call) -> HttpResponse:
    leaf_user_id, provider = _ids(call)
    changed = call.backend.set_organization_status(call.owner, leaf_user_id, provider, call.params["providerOrgId"],
                                                   call.params["status"])
    return ok(200, organization_json(changed))


def sync_organizations(call: Call) -> HttpResponse:
    leaf_user_id, provider = _ids(call)
    return ok(200, [organization_json(o) for o in call.backend.sync_organizations(call.owner, leaf_user_id,
                                                                                   provider)])


# -- the config service ------------------------------------------------------------------------------

def get_owner_config(call: Call) -> HttpResponse:
    return ok(200, call.backend.owner_config(call.owner))


def update_owner_config(call: Call) -> HttpResponse:
    return ok(200, call.backend.update_owner_config(call.owner, call.json_body()))


def get_user_config(call: Call) -> HttpResponse:
    return ok(200, call.backend.user_config(call.owner, call.params["leafUserId"]))


def create_user_config(call: Call) -> HttpResponse:
    return ok(201, call.backend.create_user_config(call.owner, call.params["leafUserId"], call.json_body()))


def update_user_config(call: Call) -> HttpResponse:
    return ok(200, call.backend.update_user_config(call.owner, call.params["leafUserId"], call.json_body()))


def delete_user_config(call: Call) -> HttpResponse:
    call.backend.delete_user_config(call.owner, call.params["leafUserId"])
    return HttpResponse(204)


_PAGING: dict[str, dict[str, Any]] = {"page": {"type": "integer", "minimum": 0},
                                      "size": {"type": "integer", "minimum": 1}}


def routes(provider_names: list[str], managed_names: list[str]) -> list[Route]:
    """The organization routes (the sync before the organization by id: "sync" is no organization id), then
    the config service's."""
    listed = {"provider": {"type": "string", "enum": provider_names}}
    managed = {"provider": {"type": "string", "enum": managed_names}}
    orgs = f"{USERS_PATH}/{{leafUserId}}/{{provider}}/organizations"
    statuses = {"status": {"type": "string", "enum": ["SELECTED", "PREVIEW"]}}
    return [
        Route("GET", f"{USERS_PATH}/{{leafUserId}}/organizations/{{provider}}", list_organizations,
              summary="A provider account's connected and not-connected organizations", response="OrganizationLists",
              path_params=listed),
        Route("GET", orgs, list_managed_organizations, summary="The organizations Leaf manages, paged",
              response="[ProviderOrganization]", path_params=managed, query_params=_PAGING,
              errors={400: "bad paging"}),
        Route("POST", f"{orgs}/sync", sync_organizations, summary="Sync the organizations with the provider now",
              response="[ProviderOrganization]", path_params=managed),
        Route("GET", f"{orgs}/{{providerOrgId}}", get_organization, summary="One organization Leaf manages",
              response="ProviderOrganization", path_params=managed),
        Route("PATCH", f"{orgs}/{{providerOrgId}}/{{status}}", set_organization_status,
              summary="Process all of an organization (SELECTED) or only itself (PREVIEW)",
              response="ProviderOrganization", path_params={**managed, **statuses},
              errors={400: "an unknown status, BLOCKED, or an organization that is BLOCKED"}),
        Route("GET", CONFIGS_PATH, get_owner_config, summary="The API owner's configuration", response="Config"),
        Route("PATCH", CONFIGS_PATH, update_owner_config, summary="Change the API owner's configuration",
              request="Config", response="Config"),
        Route("GET", f"{CONFIGS_PATH}/{{leafUserId}}", get_user_config,
              summary="A Leaf user's own configuration", response="Config"),
        Route("POST", f"{CONFIGS_PATH}/{{leafUserId}}", create_user_config,
              summary="Give a Leaf user a configuration of its own", success=201, request="Config",
              response="Config"),
        Route("PATCH", f"{CONFIGS_PATH}/{{leafUserId}}", update_user_config,
              summary="Change a Leaf user's own configuration", request="Config", response="Config"),
        Route("DELETE", f"{CONFIGS_PATH}/{{leafUserId}}", delete_user_config,
              summary="The Leaf user inherits its API owner's configuration again", success=204),
    ]


def config_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {s.name: {"type": "string", "enum": list(s.choices)} for s in SETTINGS}}
