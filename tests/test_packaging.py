"""What `pip install fake-leaf` brings and installs, read from pyproject.toml and the installed metadata."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

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
