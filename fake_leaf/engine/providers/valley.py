"""Valley: an API key (apid, key, initialization vector) and an account."""

from __future__ import annotations

from fake_leaf.engine.providers._base import ApiKey, Provider, required

PROVIDER = Provider(
    name="Valley",
    label="Valley",
    path_segment="valley-credentials",
    user_field="valleyCredentials",
    body_fields=(
        required("apid"),
        required("initializationVector"),
        required("key"),
        required("username"),
        required("password"),
    ),
    upstream=ApiKey(key="key", secret="password"),
    answer_fields=("id", "status", "createdTime", "apid", "key", "initializationVector", "username"),
)
