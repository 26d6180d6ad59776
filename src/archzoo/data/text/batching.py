"""Batches of token streams for language models, cut from one long tensor of ids without per-sample
Python loops.

Training:

- :class:`RandomWindows` (nanoGPT's ``get_batch``): each step takes ``batch_size`` windows of
  ``seq_len + 1`` tokens at random offsets; inputs are the first ``seq_len``, targets the last.
  The offsets of step s of epoch e are drawn from a generator seeded by (seed, e, s) alone, so a
  resumed run sees the same windows. An "epoch" is ``steps`` such steps (default: as many as it
  takes to draw about as many tokens as the text holds).
- :class:`Streams` (char-rnn's batching, for truncated backpropagation through time): the text is
  cut into ``batch_size`` contiguous streams, read ``seq_len`` tokens at a time, so that row b of
  step s+1 continues row b of step s and a recurrent model can carry its state across steps. Each
  batch is ``(x, y, start)``; ``start`` is True on the first step of an epoch, where the state
  starts again from zero.

Evaluation covers every token of the held-out text once:

- :class:`Windows`: consecutive windows of ``seq_len`` tokens (the last one shorter), each predicted
  with the context inside its window, ``batch_size`` windows per batch (for models with a fixed
  context, such as GPT);
- :class:`Streams` with one stream: the whole text in order, the state carried from chunk to chunk
  (for recurrent models).

Labelled sequences (text classification):

- :class:`PaddedBatches`: every text encoded once, stored as one (N, Lmax) tensor of ids padded
  with 0 and the (N,) lengths; a batch is a slice of a permutation seeded by (seed, epoch) (as
  :class:`archzoo.data.Batcher`), cut to the longest sequence in it: ``(ids, lengths, labels)``.

Distributed: every rank cuts the same global batch and keeps rows ``rank::world_size``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from archzoo.data.core import DataError, _mix, batch_indices, num_batches


class RandomWindows:
    """Random windows of a token tensor: batches (x, y) of shape (B, seq_len)."""

    def __init__(self, ids: Tensor, batch_size: int, seq_len: int, *, seed: int = 0, steps: int = 0,
                 rank: int = 0, world_size: int = 1, device: torch.device | str = "cpu") -> None:
        if len(ids) < seq_len + 2:
            raise DataError(f"the training text has {len(ids)} tokens, fewer than a window of seq_len={seq_len} "
                            "needs; lower seq_len or use a longer text")
        _check_shards(batch_size, world_size)
        self.ids, self.batch_size, self.seq_len, self.seed = ids, batch_size, seq_len, seed
        self.steps = steps or max(1, len(ids) // (batch_size * seq_len))
        self.rank, self.world_size, self.device = rank, world_size, torch.device(device)
        self._span = torch.arange(seq_len + 1)

    def __len__(self) -> int:
        return self.steps

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        high = len(self.ids) - self.seq_len - 1
        for step in range(start_step, self.steps):
            g = torch.Generator().manual_seed(_mix(self.seed, epoch, step))
            offsets = torch.randint(0, high + 1, (self.batch_size,), generator=g)
            rows = self.ids[offsets[:, None] + self._span][self.rank::self.world_size]  # (B / world, T + 1)
            rows = rows.to(self.device, non_blocking=True)
            yield rows[:, :-1], rows[:, 1:]


class Streams:
    """``batch_size`` contiguous streams read ``seq_len`` tokens at a time: batches (x, y, start)."""

    def __init__(self, ids: Tensor, batch_size: int, seq_len: int, *, rank: int = 0, world_size: int = 1,
                 device: torch.device | str = "cpu") -> None:
        _check_shards(batch_size, world_size)
        per_stream = (len(ids) - 1) // batch_size  # each stream needs one more token for its last target
        if per_stream < 1:
            raise DataError(f"the text has {len(ids)} tokens, too few for {batch_size} streams; lower the batch size")
        n = per_stream * batch_size
        self.x = ids[:n].view(batch_size, per_stream)  # (B, L): stream b is a contiguous run of the text
        self.y = ids[1:n + 1].view(batch_size, per_stream)
        if batch_size == 1:  # a single stream covers the whole text
            self.x, self.y = ids[:-1].view(1, -1), ids[1:].view(1, -1)
        self.batch_size, self.seq_len = batch_size, seq_len
        self.rank, self.world_size, self.device = rank, world_size, torch.device(device)

    def __len__(self) -> int:
        return -(-self.x.shape[1] // self.seq_len)  # the last chunk may be shorter

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor, bool]]:
        for step in range(start_step, len(self)):
            cols = slice(step * self.seq_len, (step + 1) * self.seq_len)
            x = self.x[self.rank::self.world_size, cols].to(self.device, non_blocking=True)
            y = self.y[self.rank::self.world_size, cols].to(self.device, non_blocking=True)
            yield x, y, step == 0


class Windows:
    """Consecutive windows of ``seq_len`` tokens covering a text once: batches (x, y) of (B, seq_len),
    then a last batch holding the shorter final window."""

    def __init__(self, ids: Tensor, batch_size: int, seq_len: int, *, device: torch.device | str = "cpu") -> None:
        if len(ids) < 2:
            raise DataError("the evaluation text has fewer than 2 tokens; nothing to predict")
        full = (len(ids) - 1) // seq_len
        self.x = ids[:full * seq_len].view(full, seq_len)  # (N, T)
        self.y = ids[1:full * seq_len + 1].view(full, seq_len)
        self.tail = (ids[full * seq_len:-1], ids[full * seq_len + 1:])  # the rest, shorter than a window
        self.batch_size, self.seq_len, self.device = batch_size, seq_len, torch.device(device)

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size) + (1 if len(self.tail[0]) else 0)

    def epoch(self, epoch: int = 0, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        for i in range(0, len(self.x), self.batch_size):
            yield (self.x[i:i + self.batch_size].to(self.device), self.y[i:i + self.batch_size].to(self.device))
        if len(self.tail[0]):
            yield self.tail[0][None].to(self.device), self.tail[1][None].to(self.device)


class PaddedBatches:
    """Labelled sequences of different lengths: batches ``(ids (B, L), lengths (B,), labels (B,))``.

    ``ids`` (N, Lmax) holds every sequence left-aligned and padded with 0 beyond its length; a batch
    gathers its rows and keeps the first L columns, L the longest length among them, so a batch of
    short sentences costs no more than they need. Lengths are at least 1 (see :meth:`pad`).

    With ``shuffle`` the order of epoch ``e`` is ``randperm`` seeded from ``(seed, e)``, so step s of
    epoch e is the same batch in any run, resumed or not; training drops the last partial batch
    (every step the same size), evaluation keeps it. Distributed: every rank cuts the same global
    batch and keeps rows ``rank::world_size`` (each then cut to its own longest row).
    """

    def __init__(self, ids: Tensor, lengths: Tensor, labels: Tensor, batch_size: int, *, shuffle: bool = False,
                 seed: int = 0, drop_last: bool | None = None, rank: int = 0, world_size: int = 1,
                 device: torch.device | str = "cpu") -> None:
        n = len(ids)
        if ids.ndim != 2 or lengths.shape != (n,) or labels.shape != (n,):
            raise DataError(f"padded batches need ids (N, L), lengths (N,) and labels (N,), got "
                            f"{tuple(ids.shape)}, {tuple(lengths.shape)} and {tuple(labels.shape)}")
        if n == 0:
            raise DataError("no sequences to batch: the split is empty")
        _check_shards(batch_size, 1)
        self.batch_size = min(batch_size, n)
        _check_shards(self.batch_size, world_size)
        self.ids, self.lengths, self.labels, self.n = ids, lengths, labels, n
        self.shuffle, self.seed = shuffle, seed
        self.drop_last = shuffle if drop_last is None else drop_last
        self.rank, self.world_size, self.device = rank, world_size, torch.device(device)

    @staticmethod
    def pad(sequences: Sequence[Tensor], max_len: int) -> tuple[Tensor, Tensor]:
        """``(ids (N, L), lengths (N,))`` from N 1-D id tensors, each cut to its first ``max_len`` ids
        and padded with 0; L is the longest cut length. An empty sequence becomes a single 0 of
        length 1, so that every model sees at least one position."""
        if not sequences:
            raise DataError("no sequences to pad")
        if max_len < 1:
            raise DataError(f"max_len must be positive, got {max_len}")
        lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long).clamp(1, max_len)  # (N,)
        ids = torch.nn.utils.rnn.pad_sequence([s[:max_len] for s in sequences], batch_first=True)  # (N, <= Lmax)
        if ids.shape[1] < int(lengths.max()):  # only empty sequences: one column of padding
            ids = torch.zeros(len(sequences), int(lengths.max()), dtype=torch.long)
        return ids[:, :int(lengths.max())].contiguous(), lengths

    def __len__(self) -> int:
        return num_batches(self.n, self.batch_size, self.drop_last)

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        """The batches of ``epoch``, from ``start_step`` on (to resume inside an epoch)."""
        for idx in batch_indices(self.n, self.batch_size, shuffle=self.shuffle, seed=self.seed, epoch=epoch,
                                 start_step=start_step, drop_last=self.drop_last):
            if self.world_size > 1:
                idx = idx[self.rank::self.world_size]
            lengths = self.lengths[idx]
            ids = self.ids[idx, :int(lengths.max())]  # (B, L): L the longest of these rows
            yield (ids.to(self.device, non_blocking=True), lengths.to(self.device, non_blocking=True),
                   self.labels[idx].to(self.device, non_blocking=True))

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        return self.epoch(0)


def _check_shards(batch_size: int, world_size: int) -> None:
    if batch_size < 1:
        raise DataError(f"batch size must be positive, got {batch_size}")
    if world_size > 1 and batch_size % world_size:
        raise DataError(f"batch size {batch_size} is not divisible by the {world_size} processes; "
                        f"use a multiple of {world_size}")
