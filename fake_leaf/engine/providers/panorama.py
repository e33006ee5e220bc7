"""Panorama: Cognito OAuth, a public client (no secret); the environment must be given.

Leaf also connects it in one click: the client posts the grower's login and a sharing link's id,
and Leaf resolves the organization code and the refresh token itself.
"""

from __future__ import annotations

import random
import string

from fake_leaf.engine.providers._base import (
    OAuth2,
    OneClick,
    Provider,
    client_environment,
    drawn,
    opaque_token,
    required,
)


def _organization_code(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))


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
    one_click=OneClick(
        body_fields=(
            required("clientId"),
            required("username"),
            required("password"),
            client_environment(required=True),
            required("sharingUrlId"),
        ),
        made=(("organizationCode", drawn(_organization_code)), ("refreshToken", drawn(opaque_token))),
    ),
    answer_fields=("id", "status", "createdTime", "clientId", "username", "organizationCode", "clientEnvironment",
                   "accessToken", "refreshToken"),
)
