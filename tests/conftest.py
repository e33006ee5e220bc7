"""Shared helpers for fake-leaf's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fake_leaf import FakeLeaf, NotFoundError

CREDENTIALS_BODY = {
    "clientKey": "johndeere-0f3a8c1d2e4b5a6978",
    "clientSecret": "9c1f0b2e7d4a5c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "refreshToken": "eyJraWQiOiJrZXkxIiwiYWxnIjoiUlMyNTYifQ.refresh",
    "clientEnvironment": "STAGE",
}


@pytest.fixture
def leaf() -> Iterator[FakeLeaf]:
    with FakeLeaf() as fake:
        yield fake


@pytest.fixture
def http(leaf: FakeLeaf) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {leaf.token}"
    return session


def state_of(leaf: FakeLeaf) -> list[Any]:
    """Everything a user could observe of the default owner's state, for before/after checks."""
    snapshot: list[Any] = []
    for user in leaf.list_users():
        try:
            creds: Any = leaf.get_john_deere_credentials(user.id)
            events: Any = leaf.john_deere_credential_events(user.id)
        except NotFoundError:
            creds, events = None, None
        snapshot.append((user, creds, events))
    snapshot.append(leaf._backend.webhooks.list_webhooks(leaf.username))
    return snapshot
