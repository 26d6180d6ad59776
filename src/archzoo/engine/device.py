"""Device handling, in one place: which device a run uses and how tensors and models get there."""

from __future__ import annotations

import torch

from archzoo.engine.config import ConfigError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'cpu', 'cuda' or 'cuda:N'. Under torchrun each process takes the GPU of its local rank."""
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but no CUDA device is available; use --device cpu")
        index = int(name.split(":", 1)[1]) if ":" in name else local_rank
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    raise ConfigError(f"unknown device {name!r}; use cpu or cuda")


def distributed_backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"
