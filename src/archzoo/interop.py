"""Pretrained weights from torchvision, through its own download mechanism and a name converter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

Converter = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def torchvision_state_dict(tv_name: str, weights: str | None = "DEFAULT") -> dict[str, torch.Tensor]:
    """State dict of torchvision's ``tv_name`` (its pretrained weights when ``weights`` is given)."""
    try:
        import torchvision
    except ImportError:
        raise RuntimeError(
            "pretrained='torchvision' needs torchvision: pip install torchvision (matching your torch)"
        ) from None
    try:
        tv_model = torchvision.models.get_model(tv_name, weights=weights)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise RuntimeError(
            f"could not fetch torchvision's weights for {tv_name} ({exc}); check the network or "
            "torchvision's cache (TORCH_HOME)"
        ) from None
    return tv_model.state_dict()


def convert_state_dict(state: dict[str, torch.Tensor], converter: Converter | None) -> dict[str, torch.Tensor]:
    return dict(state) if converter is None else converter(dict(state))


def load_pretrained(
    model: nn.Module, name: str, source: str, tv_name: str | None, converter: Converter | None, cfg: Any
) -> None:
    if source != "torchvision":
        raise ValueError(f"unknown pretrained source {source!r}; the only source is 'torchvision'")
    if tv_name is None:
        raise ValueError(f"{name} has no torchvision counterpart, so pretrained='torchvision' is not available")
    if getattr(cfg, "num_classes", 1000) != 1000 or getattr(cfg, "in_channels", 3) != 3:
        raise ValueError(
            f"torchvision's {tv_name} weights are for 3-channel input and 1000 classes; build {name} "
            "with the defaults, then replace the head"
        )
    model.load_state_dict(convert_state_dict(torchvision_state_dict(tv_name), converter), strict=True)
