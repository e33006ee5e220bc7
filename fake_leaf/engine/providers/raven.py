"""Raven: OAuth2 with a refresh token."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, required

PROVIDER = Provider(
    name="Raven",
    label="Raven",
    path_segment="raven-credentials",
    user_field="ravenCredentials",
    body_fields=(
        required("clientId"),
        required("clientSecret"),
        required("refreshToken"),
    ),
    upstream=OAuth2(client_id="clientId", client_secret="clientSecret", scopes=("read", "offline_access")),
    answer_fields=("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "refreshToken",
                   "accessToken"),
)
