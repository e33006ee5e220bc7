"""Panorama: Cognito OAuth, a public client (no secret); the environment must be given."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, client_environment, required

PROVIDER = Provider(
    name="Panorama",
    label="Panorama",
    path_segment="panorama-credentials",
    user_field="panoramaCredentials",
    body_fields=(
        required("clientId"),
        required("username"),
        required("password"),
        required("organizationCode"),
        required("refreshToken"),
        client_environment(required=True),
    ),
    upstream=OAuth2(client_id="clientId", client_secret=None, scopes=("openid", "profile", "offline_access")),
)
