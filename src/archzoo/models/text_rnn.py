"""Recurrent sentence classifiers: an LSTM or GRU, one or both directions, read over packed sequences.

Papers: S. Hochreiter, J. Schmidhuber, "Long Short-Term Memory", Neural Computation 1997 (with the
forget gate of Gers et al. 2000); K. Cho et al., "Learning Phrase Representations using RNN
Encoder-Decoder for Statistical Machine Translation", 2014 (the GRU); M. Schuster, K. Paliwal,
"Bidirectional Recurrent Neural Networks", 1997. As a sentence classifier: the LSTM baselines of
Tai, Socher & Manning, "Improved Semantic Representations From Tree-Structured Long Short-Term
Memory Networks", ACL 2015 (https://arxiv.org/abs/1503.00075), 150 hidden units, 300-d inputs.

    e_t = Embedding(x_t);  h_t = RNN(e_t, h_{t-1}) forwards, and backwards when bidirectional
    z = [h_T(forward); h_1(backward)]  of the top layer;  y = W dropout(z) + b

The sequence is read to its own end, not to the batch's: the padded batch is packed
(``nn.utils.rnn.pack_padded_sequence(enforce_sorted=False)``), so the forward state is the one after
the last real token and the backward one starts there. The representation is the final hidden state
of each direction (what Tai et al.'s LSTM baselines classify from) rather than max-pooled outputs:
it is what a recurrent reader summarises the sentence into, and with packing it never sees padding.

Deviations: embeddings start N(0, 1) (PyTorch's default); dropout applies to the sentence vector
and between stacked layers, not to the embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from archzoo.layers.sequence import check_token_input
from archzoo.registry import register_model

MODES: dict[str, type[nn.LSTM] | type[nn.GRU]] = {"lstm": nn.LSTM, "gru": nn.GRU}


@dataclass(frozen=True)
class TextRNNConfig:
    vocab_size: int = 18_765
    num_classes: int = 2
    mode: str = "lstm"  # lstm | gru
    embedding_dim: int = 300
    hidden_size: int = 150
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        if min(self.vocab_size, self.num_classes, self.embedding_dim, self.hidden_size, self.num_layers) < 1:
            raise ValueError("vocab_size, num_classes, embedding_dim, hidden_size and num_layers must be positive")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class TextRNN(nn.Module):
    """Token ids (B, L) and their lengths (B,) -> class logits (B, num_classes)."""

    def __init__(self, cfg: TextRNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embedding_dim)
        self.rnn = MODES[cfg.mode](cfg.embedding_dim, cfg.hidden_size, cfg.num_layers, batch_first=True,
                                   bidirectional=cfg.bidirectional,
                                   dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(cfg.dropout)
        directions = 2 if cfg.bidirectional else 1
        self.fc = nn.Linear(directions * cfg.hidden_size, cfg.num_classes)

    def forward_features(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The sentence vector z (B, directions * hidden_size): the top layer's final states."""
        check_token_input(f"{self.cfg.mode}_classifier", ids, lengths)
        x = self.embedding(ids)  # (B, L, E)
        if lengths is None:  # every row is L long: the plain run reads each to its end already
            _, state = self.rnn(x)
        else:  # lengths on the CPU, as packing requires; unsorted rows are sorted and restored by torch
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, state = self.rnn(packed)
        h = state[0] if isinstance(state, tuple) else state  # (layers * directions, B, H), in the batch's order
        top = h.view(self.cfg.num_layers, -1, h.shape[1], h.shape[2])[-1]  # (directions, B, H)
        return top.transpose(0, 1).reshape(h.shape[1], -1)  # (B, directions * H): [forward, backward]

    def forward_head(self, z: Tensor) -> Tensor:
        return self.fc(self.dropout(z))

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.forward_head(self.forward_features(ids, lengths))


register_model("lstm_classifier", TextRNN, TextRNNConfig(), family="text_rnn", task="text_classification",
               paper="Long Short-Term Memory", year=1997, url="https://doi.org/10.1162/neco.1997.9.8.1735",
               input_size=(64,), min_input_size=(1,), inputs="tokens",
               small_input="any sentence of 1 or more token ids",
               notes="bidirectional LSTM (mode=gru for a GRU), 300-d embeddings, 150 hidden per direction, final "
                     "states of both directions, dropout 0.5")
