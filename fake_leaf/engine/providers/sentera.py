"""Sentera: a username and a password."""

from __future__ import annotations

from fake_leaf.engine.providers._base import Provider, UsernamePassword, required

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
)
