"""John Deere: OAuth2 with a refresh token, the model of every OAuth2 upstream here; the environment must be given."""

from __future__ import annotations

import json

from fake_leaf.engine._ids import new_id
from fake_leaf.engine.providers._base import OAuth2, Provider, client_environment, required


def _denied(provider_label: str, reason: str) -> str:
    # John Deere's platform API answers a 403 in its own error shape
    errors = {"@type": "Errors", "errors": [{"@type": "Error", "guid": new_id(), "message": reason}]}
    return json.dumps(errors, separators=(",", ":"))


_ORGANIZATIONS = json.dumps({"@type": "OrganizationList", "total": 1, "values": [
    {"@type": "Organization", "id": "412345", "name": "Fake Leaf Farms", "member": True}]}, separators=(",", ":"))


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
                    denied_body=_denied, ok_body=_ORGANIZATIONS),
    answer_fields=("id", "status", "createdTime", "tokenMetadata", "clientKey", "clientSecret", "accessToken",
                   "refreshToken", "clientEnvironment"),
)
