"""The fixtures' sample data: valid for every provider, the same for a seed, unlike for another."""

from __future__ import annotations

import string

import pytest

from conftest_plugin._sample import SampleData, _Stream
from fake_leaf import PROVIDERS, FakeLeaf, Provider


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_every_provider_takes_its_sample_body(provider: Provider) -> None:
    sample = SampleData(7)
    with FakeLeaf(seed=1) as leaf:
        user = leaf.create_as_json(sample.leaf_user())
        body = sample.credentials_body(provider)
        assert leaf.create_as_json(body, str(user["id"]), provider)["status"] == "OK"
    assert SampleData(7).credentials_body(provider) != SampleData(8).credentials_body(provider)


def test_bodies_repeat_with_the_seed_and_differ_one_after_another() -> None:
    john_deere = PROVIDERS[0]
    first, second = SampleData(3), SampleData(3)
    bodies = [first.credentials_body(john_deere) for _ in range(3)]
    assert bodies == [second.credentials_body(john_deere) for _ in range(3)]
    assert len({b["clientSecret"] for b in bodies}) == 3


def test_a_stream_draws_within_its_bounds_and_alphabet() -> None:
    stream = _Stream(b"seed")
    numbers = [stream.randrange(10) for _ in range(200)] + [stream.randrange(5, 50, 5) for _ in range(200)]
    assert set(numbers[:200]) == set(range(10))
    assert set(numbers[200:]) == set(range(5, 50, 5))
    text = stream.text(string.ascii_lowercase, 1000)  # past the stream's first digest: it extends
    assert len(text) == 1000 and set(text) == set(string.ascii_lowercase)
    assert stream.choice(("a", "b")) in ("a", "b")
    with pytest.raises(ValueError, match="empty range"):
        stream.randrange(0)
