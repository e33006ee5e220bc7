"""Trimble: OAuth2 with a refresh token."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, required

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
    answer_fields=("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "accessToken",
                   "refreshToken"),
)
