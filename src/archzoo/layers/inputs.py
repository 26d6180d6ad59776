"""Input checks that turn a wrong input into a ValueError that says what was expected."""

from __future__ import annotations

from torch import Tensor


def check_image_input(x: Tensor, in_channels: int, min_size: tuple[int, int], model: str, *,
                      exact: bool = False) -> None:
    """Raise ValueError unless ``x`` is (B, in_channels, H, W) with H, W >= ``min_size`` (== with ``exact``:
    a model whose decoder draws images of one size)."""
    if x.ndim != 4:
        raise ValueError(
            f"{model} expects images of shape (B, {in_channels}, H, W), got a tensor of shape {tuple(x.shape)}"
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{model} expects {in_channels}-channel images, got {x.shape[1]} channels (shape "
            f"{tuple(x.shape)}); build it with in_channels={x.shape[1]} "
            f"(CLI: --set in_channels={x.shape[1]})"
        )
    h, w = x.shape[-2:]
    if exact and (h, w) != tuple(min_size):
        raise ValueError(
            f"{model} needs inputs of exactly {min_size[0]}x{min_size[1]} pixels (at least and at most: its "
            f"decoder draws images of that size), got {h}x{w}; build it with image_size=({h}, {w}) "
            f"(CLI: --set image_size=({h},{w}))"
        )
    if h < min_size[0] or w < min_size[1]:
        raise ValueError(
            f"{model} needs inputs of at least {min_size[0]}x{min_size[1]} pixels, got {h}x{w}; "
            "resize or pad the images"
        )
