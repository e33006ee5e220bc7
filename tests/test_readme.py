"""The README's examples run exactly as printed: every ```python block, and every test_ in it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def _tests_of(index: int) -> list[tuple[int, str]]:
    namespace: dict[str, Any] = {}
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), namespace)
    return [(index, name) for name, value in namespace.items() if name.startswith("test_") and callable(value)]


CASES = [case for i in range(len(BLOCKS)) for case in _tests_of(i)]


def test_the_readme_has_examples() -> None:
    assert len(CASES) >= 6


@pytest.mark.parametrize("index, name", CASES, ids=[name for _, name in CASES])
def test_readme_example(index: int, name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), namespace)
    namespace[name]()
