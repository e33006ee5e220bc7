"""Sentera: a username and a password; Leaf signs in, keeps the auth token, and answers no password."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping

from fake_leaf.engine.providers._base import Provider, UsernamePassword, hex_token, required

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _organization_id(rng: random.Random, fields: Mapping[str, str]) -> str:
    # what Leaf resolves from organizationName, so one name gives one id: Sentera's ids are short lower-case
    # alphanumeric strings
    number = int.from_bytes(hashlib.sha256(fields["organizationName"].encode("utf-8")).digest()[:8], "big")
    return "".join(_BASE36[(number >> (6 * i)) % 36] for i in range(7))


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
