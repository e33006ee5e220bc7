"""A provider Leaf does not have, added the way every provider is: this one module, and one line
where a fake is made (``FakeLeaf(providers=(*PROVIDERS, made_up_farm.PROVIDER))``)."""

from __future__ import annotations

from fake_leaf import OAuth2, Provider, client_environment, drawn, required, uuid4

PROVIDER = Provider(
    name="MadeUpFarm",
    label="Made-Up Farm",
    path_segment="made-up-farm-credentials",
    user_field="madeUpFarmCredentials",
    body_fields=(
        required("clientId"),
        required("clientSecret"),
        required("tenant"),
        required("refreshToken"),
        client_environment(required=True),
    ),
    upstream=OAuth2(client_id="clientId", client_secret="clientSecret", scopes=("farm:read", "offline_access")),
    made=(("farmAccountId", drawn(uuid4)),),  # a value Leaf would resolve itself
    # the client secret is kept to Leaf itself: never answered
    answer_fields=("id", "status", "createdTime", "tokenMetadata", "clientId", "tenant", "farmAccountId",
                   "accessToken", "refreshToken", "clientEnvironment"),
)
