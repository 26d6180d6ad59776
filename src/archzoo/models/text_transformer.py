"""A Transformer encoder as a sentence classifier: embeddings and positions, pre-norm encoder layers,
pooling over the real tokens (or a [CLS] token), a linear head.

Papers: A. Vaswani et al., "Attention Is All You Need", 2017, https://arxiv.org/abs/1706.03762 (the
encoder layer, sinusoidal positions); J. Devlin et al., "BERT", 2019 (learned positions, a [CLS]
token classified); R. Xiong et al., "On Layer Normalization in the Transformer Architecture", 2020
(pre-norm: x = x + SA(LN(x)); x = x + FF(LN(x)), with a final LayerNorm).

    h_0 = Embedding(x) + P           P sinusoidal (Vaswani sec. 3.5) or learned (BERT)
    h_l = EncoderLayer(h_{l-1})      self-attention over the real tokens: padding keys are masked
    z = mean of LN(h_N) over the real tokens   (pooling="mean"), or LN(h_N) at [CLS] (pooling="cls")
    y = W dropout(z) + b

The encoder layers are ``torch.nn.TransformerEncoderLayer(norm_first=True, batch_first=True)``
(``layer="fused"``), or archzoo.nn's written-out ``TransformerEncoderLayer`` (``layer="reference"``:
the same parameter names and shapes, proven against torch's), as char_rnn's ``cell`` option.

Deviations: no pre-training (trained from scratch on the task, so small: 2 layers of 128 wide,
4 heads); GELU in the feed-forward (BERT's) rather than ReLU (Vaswani's); embeddings are not scaled
by sqrt(d_model) (they start N(0, 1), as large as the positions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo import nn as ref
from archzoo.layers.sequence import check_token_input, length_mask
from archzoo.registry import register_model

POOLINGS = ("mean", "cls")
POSITIONS = ("sinusoidal", "learned")
LAYERS: dict[str, type[nn.Module]] = {"fused": nn.TransformerEncoderLayer, "reference": ref.TransformerEncoderLayer}


@dataclass(frozen=True)
class TextTransformerConfig:
    vocab_size: int = 18_765
    num_classes: int = 2
    dim: int = 128
    depth: int = 2
    num_heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    positions: str = "sinusoidal"  # sinusoidal | learned
    max_len: int = 512  # positions the model can take (learned positions only; [CLS] not counted)
    pooling: str = "mean"  # mean | cls
    layer: str = "fused"  # fused (torch.nn) | reference (archzoo.nn's written-out equations)

    def __post_init__(self) -> None:
        if min(self.vocab_size, self.num_classes, self.dim, self.depth, self.num_heads, self.max_len) < 1:
            raise ValueError("vocab_size, num_classes, dim, depth, num_heads and max_len must be positive")
        if self.dim % self.num_heads:
            raise ValueError(f"dim={self.dim} must be divisible by num_heads={self.num_heads}")
        for name, value, valid in (("pooling", self.pooling, POOLINGS), ("positions", self.positions, POSITIONS),
                                   ("layer", self.layer, tuple(LAYERS))):
            if value not in valid:
                raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(valid)}")
        if not 0 <= self.dropout < 1 or self.mlp_ratio <= 0:
            raise ValueError(f"dropout must be in [0, 1) and mlp_ratio positive, got {self.dropout}, {self.mlp_ratio}")


class TextTransformer(nn.Module):
    """Token ids (B, L) and their lengths (B,) -> class logits (B, num_classes)."""

    def __init__(self, cfg: TextTransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim)) if cfg.pooling == "cls" else None
        if cfg.positions == "learned":
            self.pos_embedding: nn.Parameter | None = nn.Parameter(torch.zeros(1, cfg.max_len, cfg.dim))
            nn.init.normal_(self.pos_embedding, std=0.02)
        else:
            self.pos_embedding = None
            self.register_buffer("sinusoid", ref.sinusoidal_positional_encoding(cfg.max_len, cfg.dim)[None],
                                 persistent=False)  # (1, max_len, dim); longer inputs extend it on the fly
        self.dropout = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(
            LAYERS[cfg.layer](cfg.dim, cfg.num_heads, int(cfg.dim * cfg.mlp_ratio), cfg.dropout, activation="gelu",
                              batch_first=True, norm_first=True)
            for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.fc = nn.Linear(cfg.dim, cfg.num_classes)

    def _positions(self, length: int) -> Tensor:
        """(1, length, dim): the position vectors of the first ``length`` tokens."""
        if self.pos_embedding is not None:
            if length > self.cfg.max_len:
                raise ValueError(f"transformer_classifier with learned positions takes at most max_len="
                                 f"{self.cfg.max_len} tokens, got {length}; build it with a larger max_len")
            return self.pos_embedding[:, :length]
        if length > self.sinusoid.shape[1]:
            return ref.sinusoidal_positional_encoding(length, self.cfg.dim)[None].to(self.sinusoid)
        return self.sinusoid[:, :length]

    def forward_features(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The pooled sentence vector z (B, dim)."""
        lengths = check_token_input("transformer_classifier", ids, lengths)
        x = self.embedding(ids) + self._positions(ids.shape[1])  # (B, L, dim)
        real = length_mask(lengths, ids.shape[1])  # (B, L)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], 1)  # (B, 1 + L, dim)
            real = torch.cat([real.new_ones(len(x), 1), real], 1)  # (B, 1 + L)
        x = self.dropout(x)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=~real)  # True = a padding key no query may attend to
        x = self.norm(x)
        if self.cls_token is not None:
            return x[:, 0]
        # a sum over the real positions (torch.where: padding rows never enter, whatever they hold)
        summed = torch.where(real[..., None], x, 0.0).sum(1)  # (B, dim)
        return summed / lengths[:, None].to(summed.dtype)

    def forward_head(self, z: Tensor) -> Tensor:
        return self.fc(self.dropout(z))

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.forward_head(self.forward_features(ids, lengths))


register_model("transformer_classifier", TextTransformer, TextTransformerConfig(), family="text_transformer",
               task="text_classification", paper="Attention Is All You Need", year=2017,
               url="https://arxiv.org/abs/1706.03762", input_size=(64,), min_input_size=(1,), inputs="tokens",
               small_input="any sentence of 1 to max_len token ids (any length with sinusoidal positions)",
               notes="pre-norm Transformer encoder, 2 layers, 128 wide, 4 heads, sinusoidal positions, mean over "
                     "the real tokens")
