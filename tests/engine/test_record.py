"""The providers' declarations behave as the frozen dataclasses they replace: users build providers from them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from fake_leaf import PROVIDERS, ApiKey, BodyField, OAuth2, Provider, UsernamePassword

JOHN_DEERE = PROVIDERS[0]


def test_a_declaration_is_built_by_position_or_keyword_with_its_defaults() -> None:
    by_keyword = OAuth2(client_id="clientId", client_secret=None)
    by_position = OAuth2("clientId", None)
    assert by_keyword == by_position
    assert by_keyword.refresh_token == "refreshToken"
    assert by_keyword.scopes == ("read", "write", "offline_access")
    assert by_keyword.kind == "oauth2" and ApiKey("apiKey").kind == "api_key"
    assert UsernamePassword().username == "username"


def test_a_declaration_cannot_be_changed() -> None:
    field = BodyField("clientKey")
    with pytest.raises(dataclasses.FrozenInstanceError):
        field.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        JOHN_DEERE.label = "Deere"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del JOHN_DEERE.label
    assert field.name == "clientKey" and JOHN_DEERE.label == "John Deere"


def test_equal_declarations_are_equal_and_hash_alike() -> None:
    assert BodyField("a", required=False) == BodyField("a", False)
    assert BodyField("a") != BodyField("a", required=False)
    assert BodyField("a") != ("a", True, None, None)  # type: ignore[comparison-overlap]  # not a tuple
    assert len({BodyField("a"), BodyField("a"), BodyField("b")}) == 2
    assert len(set(PROVIDERS)) == len(PROVIDERS)


def test_a_declaration_shows_its_fields() -> None:
    assert repr(BodyField("clientKey")) == "BodyField(name='clientKey', required=True, choices=None, default=None)"
    assert repr(ApiKey("apiKey")).startswith("ApiKey(key='apiKey', secret=None, denied_body=<function")


_UNCHECKED: Any = BodyField  # calls a type checker would refuse, made at run time


@pytest.mark.parametrize(("args", "kwargs", "why"), [
    ((), {}, "missing required argument: 'name'"),
    (("a", True, None, None, "extra"), {}, "takes 4 arguments, got 5"),
    (("a",), {"colour": "red"}, "unexpected keyword argument 'colour'"),
    (("a",), {"name": "b"}, "multiple values for argument 'name'"),
])
def test_a_wrong_call_says_what_is_wrong(args: tuple[object, ...], kwargs: dict[str, object], why: str) -> None:
    with pytest.raises(TypeError, match=why):
        _UNCHECKED(*args, **kwargs)


def test_a_provider_is_still_checked_when_made() -> None:
    with pytest.raises(ValueError, match="does not declare"):
        Provider(name="Broken", label="Broken", path_segment="broken-credentials", user_field="brokenCredentials",
                 body_fields=(BodyField("clientId"),), upstream=OAuth2("clientId", "clientSecret"),
                 answer_fields=("id", "status", "createdTime", "clientId"))
