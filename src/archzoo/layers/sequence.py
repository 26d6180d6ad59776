"""Helpers shared by the models that read padded batches of token ids with their lengths (the text
classifiers, the translation encoder-decoders): the input checks and the mask of real positions.

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


def check_pair_input(name: str, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | None) -> Tensor:
    """The source lengths of a translation pair, checked: source ids (B, S) as :func:`check_token_input`
    checks them, and target ids (B, T) of integers with the same batch."""
    lengths = check_token_input(name, src, src_lengths)
    if tgt_in.ndim != 2 or tgt_in.is_floating_point() or tgt_in.is_complex() or tgt_in.shape[0] != src.shape[0]:
        raise ValueError(f"{name} expects target ids (B, T) = ({src.shape[0]}, T) of integers for source ids "
                         f"{tuple(src.shape)}, got {tuple(tgt_in.shape)} {tgt_in.dtype}")
    return lengths


def check_decode_step(name: str, tokens: Tensor, state: dict[str, Tensor] | None, step: int) -> None:
    """Raise a ValueError unless ``tokens`` is (B,) integer ids and ``state`` is None exactly at step 0."""
    if tokens.ndim != 1 or tokens.is_floating_point() or tokens.is_complex():
        raise ValueError(f"{name}.decode_step expects the previous target ids (B,) of integers, "
                         f"got {tuple(tokens.shape)} {tokens.dtype}")
    if (state is None) != (step == 0):
        raise ValueError(f"{name}.decode_step starts at step 0 with state None and goes on with the state it "
                         f"returned; got step {step} and {'no' if state is None else 'a'} state")


def check_vocabularies(src_vocab_size: int, tgt_vocab_size: int, pad_id: int, bos_id: int, eos_id: int) -> None:
    """Raise a ValueError unless both vocabularies are non-empty and <pad>, <bos>, <eos> are distinct ids that
    both vocabularies hold."""
    if min(src_vocab_size, tgt_vocab_size) < 1:
        raise ValueError(f"src_vocab_size and tgt_vocab_size must be positive, got {src_vocab_size}, {tgt_vocab_size}")
    ids = {"pad_id": pad_id, "bos_id": bos_id, "eos_id": eos_id}
    if len(set(ids.values())) != len(ids):
        raise ValueError(f"pad_id, bos_id and eos_id must be different ids, got {pad_id}, {bos_id}, {eos_id}")
    limit = min(src_vocab_size, tgt_vocab_size)
    for key, value in ids.items():
        if not 0 <= value < limit:
            raise ValueError(f"{key}={value} must be an id of both vocabularies (0 to {limit - 1})")
