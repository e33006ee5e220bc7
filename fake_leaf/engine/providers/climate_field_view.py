"""Climate FieldView: OAuth2 plus an API key on every platform call."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, required

PROVIDER = Provider(
    name="ClimateFieldView",
    label="Climate FieldView",
    path_segment="climate-field-view-credentials",
    user_field="climateFieldViewCredentials",
    body_fields=(
        required("clientId"),
        required("clientSecret"),
        required("apiKey"),
        required("refreshToken"),
    ),
    upstream=OAuth2(client_id="clientId", client_secret="clientSecret",
                    scopes=("fields:read", "asPlanted:read", "asHarvested:read", "offline_access")),
    answer_fields=("id", "status", "createdTime", "tokenMetadata", "clientId", "clientSecret", "apiKey",
                   "refreshToken", "accessToken"),
)
