"""pytest fixtures for fake-leaf: they only wire the public ``fake_leaf`` API into pytest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_leaf import FakeLeaf


@pytest.fixture
def fake_leaf() -> Iterator[FakeLeaf]:
    """An active FakeLeaf for one test; nothing patched and no state kept after it."""
    with FakeLeaf() as leaf:
        yield leaf
