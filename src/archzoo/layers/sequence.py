"""Helpers shared by the models that read padded batches of token ids with their lengths (the text
classifiers): the input check and the mask of real positions.

A padded batch is ``ids`` (B, L), each row a sequence left-aligned and padded past its length, and
``lengths`` (B,) with 1 <= length <= L. Padding must never change a result, so models look at the
lengths, never at the padding id.
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_token_input(name: str, ids: Tensor, lengths: Tensor | None) -> Tensor:
    """The lengths of ``ids`` (B, L), checked; every row's length is L when ``lengths`` is None.

    Raises a ValueError that says what ``name`` expected for ids that are not a 2-D integer tensor
    and for lengths that are not (B,).
    """
    if ids.ndim != 2 or ids.is_floating_point() or ids.is_complex():
        raise ValueError(f"{name} expects token ids (B, L) of integers, got {tuple(ids.shape)} {ids.dtype}")
    if lengths is None:
        return torch.full((ids.shape[0],), ids.shape[1], dtype=torch.long, device=ids.device)
    if lengths.shape != (ids.shape[0],):
        raise ValueError(f"{name} expects lengths (B,) = ({ids.shape[0]},) for ids {tuple(ids.shape)}, "
                         f"got {tuple(lengths.shape)}")
    return lengths


def length_mask(lengths: Tensor, width: int) -> Tensor:
    """(B, width) bool: True at the positions before each row's length."""
    return torch.arange(width, device=lengths.device) < lengths[:, None]
