"""Generated docs stay generated: the zoo table in README.md and docs/zoo.md is the script's output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_zoo_table_is_up_to_date() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "zoo_table.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
