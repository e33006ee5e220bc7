"""Agvance: an API key and an account (database, username, password)."""

from __future__ import annotations

from fake_leaf.engine.providers._base import ApiKey, Provider, client_environment, required

PROVIDER = Provider(
    name="AgVance",
    label="Agvance",
    path_segment="agvance-credentials",
    user_field="agvanceCredentials",
    body_fields=(
        required("apiKey"),
        required("databaseId"),
        required("username"),
        required("password"),
        client_environment(required=False),
    ),
    upstream=ApiKey(key="apiKey", secret="password"),
)
