"""The examples under examples/ run as their README says, where their language is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the deep tier: python -m pytest -m slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_example_suite_passes_against_fake_leaf_serve() -> None:
    script = Path(sys.executable).with_name("fake-leaf")  # this environment's fake-leaf, not another's
    result = subprocess.run(["node", "--test", str(ROOT / "examples" / "node")], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "FAKE_LEAF": str(script)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 3" in result.stdout and "# fail 0" in result.stdout
