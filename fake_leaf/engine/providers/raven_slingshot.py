"""Raven Slingshot: an API key and a shared secret on every call."""

from __future__ import annotations

from fake_leaf.engine.providers._base import ApiKey, Provider, required

PROVIDER = Provider(
    name="RavenSlingshot",
    label="Raven Slingshot",
    path_segment="raven-slingshot-credentials",
    user_field="ravenSlingshotCredentials",
    body_fields=(
        required("apiKey"),
        required("accessKey"),
        required("sharedSecret"),
    ),
    upstream=ApiKey(key="apiKey", secret="sharedSecret"),
    answer_fields=("id", "status", "createdTime", "apiKey", "accessKey", "sharedSecret"),
)
