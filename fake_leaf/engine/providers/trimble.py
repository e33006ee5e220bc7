"""Trimble: OAuth2 with a refresh token."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

from fake_leaf.engine.providers._base import (
    OAuth2,
    Organizations,
    Provider,
    UpstreamOrganization,
    quoted_segment,
    required,
    uuid4,
)


@functools.lru_cache(maxsize=256)  # every check lists the organizations: an account's list rarely changes
def _organization_list(organizations: tuple[UpstreamOrganization, ...]) -> str:
    return json.dumps({"organizations": [{"id": o.id, "name": o.name} for o in organizations]},
                      separators=(",", ":"))


def _management_uri(fields: Mapping[str, str], org_id: str, connected: bool) -> str:
    page = "connections-dialog" if connected else "select-organizations"
    return f"https://id.trimble.com/connections/{quoted_segment(fields['clientId'])}/{page}?organizationId={org_id}"


PROVIDER = Provider(
    name="Trimble",
    label="Trimble",
    path_segment="trimble-credentials",
    user_field="trimbleCredentials",
    body_fields=(
        required("clientId"),
        required("clientSecret"),
        required("refreshToken"),
    ),
    upstream=OAuth2(client_id="clientId", client_secret="clientSecret", scopes=("openid", "ag-data", "offline_access")),
    # Leaf lists Trimble's organizations, every one as connected, and manages none of them
    organizations=Organizations(new_id=uuid4, management_uri=_management_uri, list_body=_organization_list,
                                tells_connection=False),
    answer_fields=("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "accessToken",
                   "refreshToken"),
)
