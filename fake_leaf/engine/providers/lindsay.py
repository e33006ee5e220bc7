"""Lindsay: OAuth2 (PKCE); the environment must be given."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, client_environment, required

PROVIDER = Provider(
    name="Lindsay",
    label="Lindsay",
    path_segment="lindsay-credentials",
    user_field="lindsayCredentials",
    body_fields=(
        required("clientId"),
        required("clientSecret"),
        required("refreshToken"),
        client_environment(required=True),
    ),
    upstream=OAuth2(client_id="clientId", client_secret="clientSecret", scopes=("read", "offline_access")),
    answer_fields=("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "clientEnvironment",
                   "accessToken", "refreshToken"),
)
