"""The README's examples run exactly as printed: each ```python block is a test file of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_passes_as_printed(pytester: pytest.Pytester, block: str) -> None:
    tests = re.findall(r"^(?:def test_\w+|Test\w+ = )", block, re.MULTILINE)  # functions, state machines
    assert tests, "every Python example in the README shows at least one test"
    pytester.makepyfile(test_readme_example=block)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=len(tests))
