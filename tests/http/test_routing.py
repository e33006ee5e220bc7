"""The router finds a path's route as trying every route of the table in turn would, however it narrows them."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_leaf import FakeLeaf
from fake_leaf.http._app import LeafApp
from tests.conftest import examples

APP: LeafApp = FakeLeaf()._app  # noqa: SLF001 (the router alone)
TEMPLATES = sorted({r.template for r in APP.routes})


def _in_table_order(path: str) -> tuple[str | None, dict[str, str]]:
    """The first route, in the table's order, whose pattern matches ``path``."""
    for route in APP.routes:
        match = route.pattern.match(path)
        if match is not None:
            return route.template, {k: unquote(v) for k, v in match.groupdict().items()}
    return None, {}


LITERALS = sorted({part for t in TEMPLATES for part in t.split("/") if not part.startswith("{")})
# a parameter's value may be any route's literal segment: the path then has the shape of other routes too
segment = st.one_of(st.sampled_from(LITERALS), st.sampled_from(("{x}", "", "a%2Fb", "%ZZ", "\n")),
                    st.text(max_size=8).filter(lambda s: "/" not in s))


@st.composite
def paths(draw: st.DrawFn) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    parts = [draw(segment) if part.startswith("{") else part for part in template.split("/")]
    if draw(st.booleans()):  # one segment changed, or one more, or one fewer
        at = draw(st.integers(0, len(parts)))
        how = draw(st.sampled_from(("change", "insert", "delete")))
        if how == "insert" or at == len(parts):
            parts.insert(at, draw(segment))
        elif how == "change":
            parts[at] = draw(segment)
        elif len(parts) > 1:
            del parts[at]
    return "/".join(parts) + draw(st.sampled_from(("", "", "/", "//", "\n", "/\n")))


@settings(max_examples=examples(300))
@given(path=paths())
def test_every_path_is_routed_as_the_table_order_says(path: str) -> None:
    assert APP._match(path) == _in_table_order(path)  # noqa: SLF001


def test_every_route_is_found_with_its_parameters_and_with_a_trailing_slash() -> None:
    for template in TEMPLATES:
        filled = template.replace("{", "p-").replace("}", "")
        for path in (filled, filled + "/"):
            found, params = APP._match(path)  # noqa: SLF001
            assert found == template, path
            assert all(params[name] == f"p-{name}" for name in params)


def test_a_parameter_spelt_as_another_routes_segment_is_routed_as_the_table_order_says() -> None:
    for template in TEMPLATES:
        parts = template.split("/")
        for at in [i for i, part in enumerate(parts) if part.startswith("{")]:
            for literal in LITERALS:
                path = "/".join(literal if i == at else "p" if part.startswith("{") else part
                                for i, part in enumerate(parts))
                for spelt in (path, path + "/"):
                    assert APP._match(spelt) == _in_table_order(spelt), spelt  # noqa: SLF001


@pytest.mark.slow
def test_fakes_each_with_a_new_provider_keep_a_few_route_tables_not_one_each() -> None:
    # the route table (and its compiled paths) is shared by the fakes of one provider set; a test that makes a
    # provider of its own each time (a name per test, or drawn by hypothesis) kept a table for every one of
    # them to the end of the process: about 65 KB a fake, 200 MB over 3,000 tests
    import tracemalloc

    import requests

    from fake_leaf import PROVIDERS, OAuth2, Provider, client_environment, required

    def one_fake(i: int) -> None:
        farm = Provider(name=f"Farm{i}", label=f"Farm {i}", path_segment=f"farm-{i}-credentials",
                        user_field=f"farm{i}Credentials", body_fields=(required("clientId"), required("refreshToken"),
                                                                         client_environment(required=True)),
                        upstream=OAuth2(client_id="clientId", client_secret="clientId"),
                        answer_fields=("id", "status", "createdTime", "clientId", "clientEnvironment"))
        with FakeLeaf(providers=(PROVIDERS[0], farm)) as leaf:
            assert requests.get(f"{leaf.user_management_url}/users", headers=leaf.headers).status_code == 200

    tracemalloc.start()
    try:
        for i in range(40):  # what is kept of the first ones, bounded: the tables of a few provider sets
            one_fake(i)
        before = tracemalloc.get_traced_memory()[0]
        for i in range(40, 340):
            one_fake(i)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 3_000_000, f"{grown / 1e6:.1f} MB for 300 fakes"
