"""Stara: API tokens: an access token refreshed with a refresh token, for an API key's app."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, required

PROVIDER = Provider(
    name="Stara",
    label="Stara",
    path_segment="stara-credentials",
    user_field="staraCredentials",
    body_fields=(
        required("apiKey"),
        required("accessToken"),
        required("accessTokenClient"),
        required("refreshToken"),
    ),
    upstream=OAuth2(client_id="apiKey", client_secret=None, scopes=("read", "offline_access")),
    answer_fields=("id", "status", "createdTime", "accessTokenClient", "refreshToken", "accessToken", "apiKey"),
)
