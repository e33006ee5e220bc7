"""Agvance: an API key and an account (database, username, password); Leaf answers the session it opened."""

from __future__ import annotations

from fake_leaf.engine.providers._base import ApiKey, Provider, client_environment, drawn, required, uuid4

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
    made=(("sessionId", drawn(uuid4)),),  # clients check it to confirm the connection
    answer_fields=("id", "status", "createdTime", "clientEnvironment", "username", "password", "databaseId",
                   "sessionId", "apiKey"),
)
