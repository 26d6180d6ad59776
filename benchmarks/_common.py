"""Shared helpers of the benchmark scripts: machine description, medians, result files."""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import Dataset

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def machine() -> str:
    """The CPU's model, its widest matrix instructions (bf16 is fast only with avx512_bf16), cores, torch and
    its threads."""
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    isa = next((f for f in ("avx512_bf16", "avx512f", "avx2") if f in flags), "")
    threads = torch.get_num_threads()
    return (f"{cpu}{f' ({isa})' if isa else ''}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} "
            f"thread{'s' if threads != 1 else ''}")


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


def measured(metas: dict, part: str) -> list[str]:
    """The markdown line under a part's heading: the run that measured it."""
    m = metas[part]
    return [f"Measured {m['date']} at commit {m['commit']} on {m['machine']} (load average {m['load']:.1f}) by "
            f"`{m['command']}`.", ""]


def run_parts(name: str, parts: list[str], measure: Callable[[str], dict],
              markdown: Callable[[dict, dict], str]) -> None:
    """Measure each of ``parts`` (``measure(part)``), merge the figures into docs/results/NAME.json with the run
    that measured each (date, commit, machine, load, command), and rewrite NAME.md from all of them."""
    measured_now = {}
    for part in parts:
        t0 = time.perf_counter()
        measured_now[part] = measure(part)
        print(f"{part}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    meta = {"date": stamp(), "commit": git_commit(), "machine": machine(), "load": load_average(),
            "command": f"python benchmarks/{name}.py " + shlex.join(sys.argv[1:])}
    previous = RESULTS / f"{name}.json"  # read now, not at the start: another part may have finished meanwhile
    data = json.loads(previous.read_text()) if previous.is_file() else {"results": {}}
    data["results"].update(measured_now)
    data.setdefault("meta", {}).update({part: meta for part in parts})
    print(write_result(name, markdown(data["results"], data["meta"]), data))
