"""CNHI FieldOps: OAuth2; the environment defaults to STAGE."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, client_environment, required

PROVIDER = Provider(
    name="CNHIFieldOps",
    label="CNHI FieldOps",
    path_segment="cnhi-field-ops-credentials",
    user_field="cnhiFieldOpsCredentials",
    body_fields=(
        required("clientId"),
        required("clientSecret"),
        required("subscriptionKey"),
        required("refreshToken"),
        client_environment(required=False),
    ),
    upstream=OAuth2(client_id="clientId", client_secret="clientSecret", scopes=("offline_access", "fieldops:read")),
    answer_fields=("id", "status", "createdTime", "clientId", "clientSecret", "refreshToken", "clientEnvironment",
                   "subscriptionKey"),
)
