"""The plugin installs under a name of its own, fake_leaf_pytest, whatever its source folder is called."""

from __future__ import annotations

import pytest


def test_pytest_loads_the_plugin_as_fake_leaf_pytest(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("fake_leaf")
    assert plugin is not None
    assert plugin.__name__ == "fake_leaf_pytest.plugin"


def test_pytest_fixtures_names_fake_leaf_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it="def test_it(fake_leaf):\n    pass\n")
    result = pytester.runpytest("--fixtures", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["*fixtures defined from fake_leaf_pytest.plugin*"])
    assert "defined from conftest_plugin" not in result.stdout.str()  # (an editable install shows its files)
