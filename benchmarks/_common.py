"""Shared helpers of the benchmark scripts: machine description, medians, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values)


def write_result(name: str, markdown: str, data: object) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    path = RESULTS / f"{name}.md"
    path.write_text(markdown)
    return path


def git_commit() -> str:
    """The short hash of HEAD, and a word when tracked files differ from it (the figures are not HEAD's)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


class PerSample(Dataset):
    """Images fed the way torchvision's datasets feed them: uint8 arrays converted one sample at a time by
    ``transform``, behind a DataLoader (the data path of PyTorch's examples)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform) -> None:
        self.images = x[:, 0].numpy()  # (N, 28, 28) uint8, as torchvision's dataset holds them
        self.labels = y.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[i]), self.labels[i]
