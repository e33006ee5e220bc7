"""AgLeader: OAuth2 signed with a key pair; an access token may be posted too."""

from __future__ import annotations

from fake_leaf.engine.providers._base import OAuth2, Provider, optional, required

PROVIDER = Provider(
    name="AgLeader",
    label="AgLeader",
    path_segment="ag-leader-credentials",
    user_field="agLeaderCredentials",
    body_fields=(
        required("refreshToken"),
        required("publicKey"),
        required("privateKey"),
        optional("accessToken"),
    ),
    upstream=OAuth2(client_id="publicKey", client_secret="privateKey", scopes=("read", "offline_access")),
    answer_fields=("id", "status", "createdTime", "accessToken", "refreshToken", "publicKey", "privateKey"),
)
