"""Sentera: a username and a password; Leaf signs in, keeps the auth token, and answers no password."""

from __future__ import annotations

import random
import string

from fake_leaf.engine.providers._base import Provider, UsernamePassword, hex_token, required


def _organization_id(rng: random.Random) -> str:
    # what Leaf resolves from organizationName: Sentera's ids are short lower-case alphanumeric strings
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=7))


PROVIDER = Provider(
    name="Sentera",
    label="Sentera",
    path_segment="sentera-credentials",
    user_field="senteraCredentials",
    body_fields=(
        required("username"),
        required("password"),
        required("organizationName"),
    ),
    upstream=UsernamePassword(username="username", password="password"),
    made=(("authToken", hex_token(32)), ("organizationId", _organization_id)),
    answer_fields=("id", "status", "createdTime", "username", "authToken", "organizationId", "organizationName"),
)
