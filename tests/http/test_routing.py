"""The router finds a path's route as trying every route of the table in turn would, however it narrows them."""

from __future__ import annotations

from urllib.parse import unquote

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
