"""What `pip install fake-leaf` brings and installs, read from pyproject.toml and the installed metadata."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from collections.abc import Awaitable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
TEST_TOOLING = {"pytest", "pytest-xdist", "pytest-randomly", "hypothesis", "faker", "freezegun", "time-machine",
                "httpx", "aiohttp", "respx", "aioresponses", "schemathesis", "mypy", "ruff", "types-requests"}


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


def test_a_plain_install_brings_no_test_tooling() -> None:
    assert _names(PYPROJECT["project"]["dependencies"]) == {"requests", "responses", "waitress"}


def test_a_plain_install_stays_lean_at_ten_packages_at_most() -> None:
    """``pip install fake-leaf``: fake-leaf and everything its dependencies bring, as installed here."""
    found: set[str] = set()
    todo = ["fake-leaf"]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name.lower().replace("_", "-"))
    assert len(found) <= 10, sorted(found)


def test_dependencies_are_ranges_never_pins() -> None:
    groups = [PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"].values()]
    pinned = [r for group in groups for r in group if "==" in r]
    assert pinned == []


def test_the_testing_extra_brings_what_the_examples_use_and_dev_builds_on_it() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert _names(extras["testing"]) == {"hypothesis", "faker", "freezegun", "time-machine", "httpx",
                                               "aiohttp"}
    assert "fake-leaf[testing]" in extras["dev"]
    assert TEST_TOOLING - _names(extras["testing"]) <= _names(extras["dev"])


def test_every_package_folder_is_installed() -> None:
    # the package list is written by hand (the plugin's folder installs under another name), so a new
    # subpackage left out of it would be missing from every regular install
    setuptools = PYPROJECT["tool"]["setuptools"]
    folders = {name: Path(*name.split(".")) for name in setuptools["packages"]}
    folders.update({name: Path(folder) for name, folder in setuptools["package-dir"].items()})
    source = {init.parent.relative_to(ROOT) for top in ("fake_leaf", "conftest_plugin")
              for init in (ROOT / top).rglob("__init__.py")}
    assert set(folders.values()) == source


def test_the_plugin_installs_as_fake_leaf_pytest_under_the_entry_point_fake_leaf() -> None:
    [entry_point] = metadata.entry_points(group="pytest11", name="fake_leaf")
    assert entry_point.value == "fake_leaf_pytest.plugin"
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"fake_leaf_pytest": "conftest_plugin"}


# -- the public names -------------------------------------------------------------------------------

def _public_names_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## The public names", 1)[1].split("\n## ", 1)[0]


def test_every_public_name_resolves_and_the_readme_documents_it() -> None:
    import fake_leaf

    documented = set(re.findall(r"`(\w+)`", _public_names_section()))
    missing = [name for name in fake_leaf.__all__ if not hasattr(fake_leaf, name)]
    undocumented = sorted(set(fake_leaf.__all__) - documented)
    assert (missing, undocumented) == ([], [])


def _fake_leaf_classes(hint: object) -> Iterator[type]:
    """The fake-leaf classes a return annotation names, inside unions and generics too."""
    if isinstance(hint, type) and hint.__module__.startswith("fake_leaf"):
        yield hint
    for arg in typing.get_args(hint):
        yield from _fake_leaf_classes(arg)


def _returned_classes(function: Any, module: Any) -> set[type]:
    import httpx
    import requests
    from faker import Faker

    import fake_leaf

    names = {**vars(module), **{name: getattr(fake_leaf, name) for name in fake_leaf.__all__},
             "httpx": httpx, "requests": requests, "Faker": Faker, "Awaitable": Awaitable}
    hints = typing.get_type_hints(function, globalns=names)
    return set(_fake_leaf_classes(hints.get("return")))


def test_every_type_a_public_method_returns_or_a_fixture_yields_is_exported() -> None:
    from importlib import import_module

    import fake_leaf
    from conftest_plugin import plugin

    returned: set[type] = set()
    for name, member in vars(fake_leaf.FakeLeaf).items():
        if name.startswith("_") and name not in ("__enter__",):
            continue
        function = member.fget if isinstance(member, property) else member
        if callable(function):
            returned |= _returned_classes(function, import_module("fake_leaf._fake"))
    for member in vars(plugin).values():
        wrapped = getattr(member, "__wrapped__", None) or getattr(member, "__pytest_wrapped__", None)
        function = getattr(wrapped, "obj", wrapped)
        if callable(function) and not function.__name__.startswith("_"):
            returned |= _returned_classes(function, plugin)
    exported = {id(getattr(fake_leaf, name)) for name in fake_leaf.__all__}
    assert len(returned) > 10  # the walk found the API's types
    assert sorted(c.__qualname__ for c in returned if id(c) not in exported) == []


def test_no_documentation_imports_a_private_module() -> None:
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*"), *(ROOT / "examples").rglob("*")]
    private = re.compile(r"(?:from|import)\s+fake_leaf(?:\.\w+)*\._\w+")
    found = [f"{path.name}: {m.group()}" for path in files if path.is_file()
             for m in private.finditer(path.read_text(encoding="utf-8", errors="replace"))]
    assert found == []


def test_import_fake_leaf_loads_neither_the_server_nor_httpx_nor_the_receivers() -> None:
    code = ("import sys, fake_leaf; print(sorted(m for m in ('httpx', 'waitress', 'fake_leaf.adapters._server', "
            "'fake_leaf.adapters._receiver', 'fake_leaf.engine._webhooks') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
