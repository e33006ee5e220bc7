"""Shared helpers for fake-leaf's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import settings

from fake_leaf import FakeLeaf, NotFoundError

# Hypothesis budgets by named profile: "quick" is what the README's test command runs (under a minute on two
# cores); "thorough" (`python -m pytest --hypothesis-profile=thorough`) runs ten times as many examples.
settings.register_profile("quick", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile("quick")  # pytest's --hypothesis-profile, applied after this, wins


# modules of the deep tier alone, left out of the quick run's collection (building schemathesis's tests takes
# seconds in each worker): run them with python -m pytest -m slow
SLOW_MODULES = frozenset({"test_schemathesis.py", "test_fuzz.py", "test_examples.py"})


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name in SLOW_MODULES and config.getoption("markexpr") == "not slow":
        return True
    return None


def examples(quick: int) -> int:
    """A test's number of examples: ``quick`` under the quick profile, scaled with the profile in force."""
    return max(1, round(quick * settings().max_examples / 100))

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
    snapshot.append(leaf._backend.webhooks.list_webhooks(leaf.username))  # noqa: SLF001 (no HTTP: any state)
    return snapshot
