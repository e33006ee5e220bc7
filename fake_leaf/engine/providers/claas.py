"""CLAAS: OAuth2 with a refresh token; the environment defaults to STAGE."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, client_environment, required

PROVIDER = Provider(
    name="CLAAS",
    label="CLAAS",
    path_segment="claas-credentials",
    user_field="claasCredentials",
    body_fields=(
        required("clientKey"),
        required("clientSecret"),
        required("refreshToken"),
        client_environment(required=False),
    ),
    upstream=OAuth2(client_id="clientKey", client_secret="clientSecret", scopes=("read", "offline_access")),
    answer_fields=("id", "status", "createdTime", "clientKey", "clientSecret", "refreshToken", "clientEnvironment"),
)
