"""The README's examples run exactly as printed: each ```python block is a test file of its own.

Each code block is preceded by a line saying what it needs (``Needs `pip install ...```), and
the extras declared in pyproject.toml provide every module the Python blocks import.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.DOTALL)
# (the line above the block, the block's language, its code); blank lines between them are allowed
EVERY_BLOCK = re.findall(r"^([^\n]*)\n(?:[ \t]*\n)*```(\w+)\n(.*?)```", TEXT, re.DOTALL | re.MULTILINE)
NEEDS = re.compile(r"^Needs ")
# Every Python example is a pytest test file: the user's pytest runs it, so no extra has to bring it.
RUNNER = {"pytest"}


def _installs(extras: frozenset[str]) -> set[str]:
    """The distributions `pip install fake-leaf[extras]` brings, read from the installed metadata."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [("fake-leaf", extras)]
    while todo:
        name, wanted = todo.pop()
        key = (canonicalize_name(name), wanted)
        if key in seen:
            continue
        seen.add(key)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # not installed here, so nothing of it can be imported either
            continue
        for text in requirements:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in wanted] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(e) for e in environments):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in seen}


def _top_level_imports(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def unprovided_imports(needs_line: str, code: str) -> list[str]:
    """What the block imports that the install its ``Needs`` line names does not bring, each with why."""
    declared = metadata.metadata("fake-leaf").get_all("Provides-Extra") or []
    extras = frozenset(e for group in re.findall(r"fake-leaf\[([\w,-]+)\]", needs_line) for e in group.split(","))
    unknown = sorted(extras - set(declared))
    if unknown:
        return [f"the line names the extra(s) {', '.join(unknown)}; pyproject declares {', '.join(declared)}"]
    installed = _installs(extras)
    providers = metadata.packages_distributions()
    problems = []
    for name in sorted(_top_level_imports(code) - RUNNER - set(sys.stdlib_module_names)):
        distributions = {canonicalize_name(d) for d in providers.get(name, [])}
        if not distributions & installed:
            problems.append(f"import {name} (from {', '.join(sorted(distributions)) or 'no installed distribution'})"
                            f" is not brought by fake-leaf{'[' + ','.join(sorted(extras)) + ']' if extras else ''}")
    return problems


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


def test_the_readme_points_to_the_contract_kept_in_the_repository() -> None:
    links = re.findall(r"\]\(([^)#]+\.md)\)", TEXT)
    assert "docs/leaf-contract.md" in links
    assert [link for link in links if not (README.parent / link).is_file()] == []
    assert "shared/" not in TEXT


def test_every_code_block_names_the_install_it_needs() -> None:
    assert len(EVERY_BLOCK) == TEXT.count("```") // 2, "every code block was found"
    unnamed = [code.splitlines()[0] for above, _, code in EVERY_BLOCK if not NEEDS.match(above)]
    assert not unnamed, f"blocks without a 'Needs ...' line just above them: {unnamed}"


@pytest.mark.parametrize(("above", "code"), [(above, code) for above, language, code in EVERY_BLOCK
                                             if language == "python"],
                         ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_the_install_a_block_names_brings_everything_it_imports(above: str, code: str) -> None:
    assert unprovided_imports(above, code) == []


def test_a_block_importing_what_its_install_lacks_is_caught() -> None:
    code = "import requests\nimport freezegun\nimport schemathesis\n\ndef test_x():\n    pass\n"
    assert unprovided_imports('Needs `pip install "fake-leaf[testing]"`:', code) == [
        "import schemathesis (from schemathesis) is not brought by fake-leaf[testing]"]
    assert [p.split(" (")[0] for p in unprovided_imports("Needs `pip install fake-leaf`:", code)] == [
        "import freezegun", "import schemathesis"]
    assert "names the extra(s) tests" in unprovided_imports('Needs `pip install "fake-leaf[tests]"`:', code)[0]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_passes_as_printed(pytester: pytest.Pytester, block: str) -> None:
    tests = re.findall(r"^(?:(?:async )?def test_\w+|Test\w+ = )", block, re.MULTILINE)  # functions, state machines
    assert tests, "every Python example in the README shows at least one test"
    pytester.makepyfile(test_readme_example=block)
    result = pytester.runpytest("-p", "no:randomly")  # in-process: a subprocess would cost seconds per block
    result.assert_outcomes(passed=len(tests))


def test_the_readme_names_every_ini_option_and_fixture_of_the_plugin() -> None:
    from conftest_plugin import plugin

    fixtures = [name for name, value in vars(plugin).items()
                if not name.startswith("_") and hasattr(value, "_fixture_function_marker")]
    assert len(fixtures) >= 10, "the plugin's fixtures were found"
    named = set(re.findall(r"`(\w+)", TEXT))
    assert [name for name in [*plugin.INI, *fixtures] if name not in named] == []
