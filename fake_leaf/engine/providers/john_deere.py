"""John Deere: OAuth2 with a refresh token, the model of every OAuth2 upstream here; the environment must be given."""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Mapping

from fake_leaf.engine._ids import new_id
from fake_leaf.engine.providers._base import (
    OAuth2,
    Organizations,
    Provider,
    UpstreamOrganization,
    client_environment,
    quoted_segment,
    required,
)


def _denied(provider_label: str, reason: str) -> str:
    # John Deere's platform API answers a 403 in its own error shape
    errors = {"@type": "Errors", "errors": [{"@type": "Error", "guid": new_id(), "message": reason}]}
    return json.dumps(errors, separators=(",", ":"))


@functools.lru_cache(maxsize=256)  # every check lists the organizations: an account's list rarely changes
def _organization_list(organizations: tuple[UpstreamOrganization, ...]) -> str:
    # John Deere's /organizations: every organization of the grower's account; one the application may not
    # reach carries a "connections" link, where the grower grants the access
    values = [{"@type": "Organization", "id": o.id, "name": o.name, "member": True,
               **({"links": [{"@type": "Link", "rel": "connections",
                              "uri": "https://connections.deere.com/connections"}]} if o.blocked else {})}
              for o in organizations]
    return json.dumps({"@type": "OrganizationList", "total": len(values), "values": values}, separators=(",", ":"))


def _management_uri(fields: Mapping[str, str], org_id: str, connected: bool) -> str:
    # the grower manages the application's access in connections-dialog; with no organization connected at
    # all, the application's set-up is incomplete and the grower selects organizations first
    page = "connections-dialog" if connected else "select-organizations"
    return f"https://connections.deere.com/connections/{quoted_segment(fields['clientKey'])}/{page}?orgId={org_id}"


def _organization_id(rng: random.Random) -> str:
    return str(rng.randrange(100_000, 10_000_000))


PROVIDER = Provider(
    name="JohnDeere",
    label="John Deere",
    path_segment="john-deere-credentials",
    user_field="johnDeereCredentials",
    body_fields=(
        required("clientKey"),
        required("clientSecret"),
        required("refreshToken"),
        client_environment(required=True),  # Leaf's current page marks all four required
    ),
    upstream=OAuth2(client_id="clientKey", client_secret="clientSecret",
                    scopes=("ag1", "eq1", "files", "offline_access"),
                    denied_body=_denied),
    organizations=Organizations(new_id=_organization_id, management_uri=_management_uri,
                                list_body=_organization_list, sync_management=True),
    answer_fields=("id", "status", "createdTime", "tokenMetadata", "clientKey", "clientSecret", "accessToken",
                   "refreshToken", "clientEnvironment"),
)
