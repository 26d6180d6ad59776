"""Device handling, in one place: which device a run uses, what its hardware can do natively.

``--device`` takes ``auto`` (CUDA when available, else the CPU), ``cpu``, ``cuda`` (under torchrun,
the GPU of the process's local rank) or ``cuda:N``. :func:`resolve_device` turns the name into a
``torch.device``; :func:`device_setting` is the name config.json records, so a resumed run (and
every rank of a distributed one) lands on the same kind of device.

Precision (autocast, the gradient scaler) is decided next door, in archzoo.engine.precision, from
what this module says the hardware runs natively.
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

import torch

from archzoo.engine.config import ConfigError

DEVICES = ("auto", "cpu", "cuda", "cuda:N")
# CPU flags that give bf16 matrix multiplication in hardware (Intel and AMD since 2020/2022); without
# them oneDNN emulates bf16 through fp32 and a bf16 matmul runs about 100x slower than fp32
NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The device for ``--device name``; under torchrun ``auto`` and ``cuda`` take the local rank's GPU."""
    name = name.strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    index_text = name.partition(":")[2]
    if name == "cuda" or (name.startswith("cuda:") and index_text.isdigit()):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but no CUDA device is available; "
                              "use --device cpu (or --device auto)")
        index = int(index_text) if index_text else local_rank
        if index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: there are only {torch.cuda.device_count()} CUDA devices "
                              f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    raise ConfigError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}")


def use_deterministic_kernels(device: torch.device) -> None:
    """On CUDA, only deterministic kernels from here on (cuDNN's, cuBLAS's and torch's own), so that the same
    run repeated, or stopped and resumed, gives the same weights bit for bit; an operation with no
    deterministic kernel raises. The CPU kernels archzoo uses are deterministic already."""
    if device.type != "cuda":
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's reproducible workspace
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def device_setting(requested: str, device: torch.device) -> str:
    """What config.json records for a run that asked for ``requested`` and got ``device``: ``cpu``,
    ``cuda`` (each process its local rank's GPU) or the ``cuda:N`` the user named."""
    if device.type == "cuda" and requested.strip().lower().startswith("cuda:"):
        return f"cuda:{device.index}"
    return device.type


def distributed_backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The instruction-set flags of this CPU (Linux /proc/cpuinfo; empty where it cannot be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def native_bf16(device: torch.device) -> bool:
    """True where bf16 arithmetic runs in hardware: a CUDA device with bf16 support (Ampere and
    later), or a CPU whose flags include avx512_bf16 or amx_bf16. ``ARCHZOO_CPU_BF16=0`` or ``1``
    overrides the CPU answer (to test both paths, or on a CPU whose flags are hidden)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    forced = os.environ.get("ARCHZOO_CPU_BF16")
    if forced in ("0", "1"):
        return forced == "1"
    return any(flag in cpu_flags() for flag in NATIVE_BF16_CPU_FLAGS)


def describe(device: torch.device) -> str:
    """One phrase for the start-of-run line: the hardware and what it runs natively."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    bf16 = [f for f in NATIVE_BF16_CPU_FLAGS if f in cpu_flags()]
    native = f"native bf16: {', '.join(bf16)}" if bf16 else "no native bf16"
    return f"cpu ({cpu_name()}, {torch.get_num_threads()} threads, {native})"
