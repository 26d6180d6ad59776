"""Shared fixtures. Real datasets are read from $ARCHZOO_DATA (CI points it at the shared data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def real_data_root() -> Path:
    """The root that holds the real datasets; skips with instructions when there is none."""
    root = os.environ.get("ARCHZOO_DATA")
    if not root or not (Path(root) / "fashion-mnist").is_dir():
        pytest.skip(
            "real datasets not found: set ARCHZOO_DATA to a directory holding fashion-mnist/ "
            "(`make data` fetches it)"
        )
    return Path(root)
