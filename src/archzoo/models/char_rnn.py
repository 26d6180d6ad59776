"""Character-level recurrent language models: Karpathy's char-rnn with an RNN, LSTM or GRU.

Blog and code: A. Karpathy, "The Unreasonable Effectiveness of Recurrent Neural Networks", 2015,
https://karpathy.github.io/2015/05/21/rnn-effectiveness/ (github.com/karpathy/char-rnn). The
recurrences: Elman 1990 (h_t = tanh(W x_t + U h_{t-1} + b)); Hochreiter & Schmidhuber 1997 with
Gers et al.'s forget gate (the LSTM); Cho et al. 2014 (the GRU).

Layout, as char-rnn's: the characters enter one-hot (``embedding_dim=0``; char-rnn's only option)
or through an embedding; ``num_layers`` stacked recurrent layers with dropout on the inputs of
every layer after the first and on the top layer's output; a linear decoder to the vocabulary.
``tie_weights`` shares the embedding with the decoder (Press & Wolf 2017; needs
``embedding_dim == hidden_size``). The state (h, and c for the LSTM) is carried from one batch to
the next and detached there (truncated backpropagation through time); the task does that.

``cell="reference"`` builds the same network on archzoo.nn's written-out recurrences (the gate
equations, proven against torch's kernels; same parameter names and shapes), so the equations can
be watched learning; ``cell="fused"`` uses torch.nn's fused kernels.

Deviations from char-rnn: the recurrent weights start U(-1/sqrt(H), 1/sqrt(H)) (torch's default)
rather than U(-0.08, 0.08), and the LSTM's forget-gate bias is not set to 1 (char-rnn initialises it
to 0 as well, despite Gers et al.). Training (Adam or RMSprop, clipping) is the recipe's business.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo import nn as ref
from archzoo.registry import register_model

MODES = {"rnn": (nn.RNN, ref.RNN), "lstm": (nn.LSTM, ref.LSTM), "gru": (nn.GRU, ref.GRU)}
CELLS = ("fused", "reference")

State = Tensor | tuple[Tensor, Tensor]


@dataclass(frozen=True)
class CharRNNConfig:
    vocab_size: int = 65
    mode: str = "lstm"  # rnn | lstm | gru
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.0
    embedding_dim: int = 0  # 0: one-hot input, as char-rnn
    tie_weights: bool = False
    cell: str = "fused"  # fused (torch.nn) | reference (archzoo.nn's written-out equations)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of: {', '.join(CELLS)}")
        if min(self.vocab_size, self.hidden_size, self.num_layers) < 1 or self.embedding_dim < 0:
            raise ValueError("vocab_size, hidden_size and num_layers must be positive, embedding_dim >= 0")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.tie_weights and self.embedding_dim != self.hidden_size:
            raise ValueError(f"tie_weights needs embedding_dim == hidden_size ({self.hidden_size}), "
                             f"got embedding_dim={self.embedding_dim}")


class CharRNN(nn.Module):
    """Token ids (B, T) and a state -> next-token logits (B, T, V) and the new state."""

    def __init__(self, cfg: CharRNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embedding_dim) if cfg.embedding_dim else None
        fused, written_out = MODES[cfg.mode]
        runner = fused if cfg.cell == "fused" else written_out
        self.rnn = runner(cfg.embedding_dim or cfg.vocab_size, cfg.hidden_size, cfg.num_layers,
                          batch_first=True, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.decoder = nn.Linear(cfg.hidden_size, cfg.vocab_size)
        if cfg.tie_weights and self.embed is not None:
            self.decoder.weight = self.embed.weight

    def init_state(self, batch_size: int, device: torch.device | str = "cpu") -> State:
        """The zero state of ``batch_size`` sequences: h (L, B, H), with c for the LSTM."""
        h = torch.zeros(self.cfg.num_layers, batch_size, self.cfg.hidden_size, device=device)
        return (h, torch.zeros_like(h)) if self.cfg.mode == "lstm" else h

    def forward(self, idx: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        if idx.ndim != 2 or idx.is_floating_point():
            raise ValueError(f"{self.cfg.mode} char model expects token ids (B, T) of integers, got "
                             f"{tuple(idx.shape)} {idx.dtype}")
        x = self.embed(idx) if self.embed is not None else F.one_hot(idx, self.cfg.vocab_size).float()  # (B, T, E)
        if state is None:
            state = self.init_state(idx.shape[0], idx.device)
        out, state = self.rnn(x, state)  # (B, T, H)
        return self.decoder(self.drop(out)), state  # (B, T, V)


_URL = "https://karpathy.github.io/2015/05/21/rnn-effectiveness/"
_TITLE = "The Unreasonable Effectiveness of Recurrent Neural Networks (char-rnn)"
for _name, _mode, _notes in (
    ("char_rnn", "rnn", "Elman RNN (tanh), 2 layers of 512, one-hot characters"),
    ("char_lstm", "lstm", "LSTM, 2 layers of 512, one-hot characters"),
    ("char_gru", "gru", "GRU, 2 layers of 512, one-hot characters"),
):
    register_model(_name, CharRNN, CharRNNConfig(mode=_mode), family="char_rnn", task="language_model",
                   paper=_TITLE, year=2015, url=_URL, input_size=(100,), min_input_size=(1,), inputs="tokens",
                   small_input="any sequence of 1 or more character ids", notes=_notes)
