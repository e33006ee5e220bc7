"""CNHi: OAuth2 plus a subscription key; the environment must be given."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, client_environment, required

PROVIDER = Provider(
    name="CNHI",
    label="CNHi",
    path_segment="cnhi-credentials",
    user_field="cnhiCredentials",
    body_fields=(
        required("clientId"),
        required("clientSecret"),
        required("subscriptionKey"),
        required("refreshToken"),
        client_environment(required=True),
    ),
    upstream=OAuth2(client_id="clientId", client_secret="clientSecret",
                    scopes=("offline_access", "eu:read", "na:read")),
    answer_fields=("id", "status", "createdTime", "clientId", "clientSecret", "refreshToken", "clientEnvironment",
                   "subscriptionKey"),
)
