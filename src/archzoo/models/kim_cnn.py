"""Kim's CNN for sentence classification: one convolution layer over word vectors, max-over-time pooling.

Paper: Y. Kim, "Convolutional Neural Networks for Sentence Classification", EMNLP 2014.
https://arxiv.org/abs/1408.5882 (code: github.com/yoonkim/CNN_sentence)

    c_i = ReLU(w . x_{i:i+h-1} + b)           a feature of one filter of width h at position i (eq. 2)
    c^ = max_i c_i                            max-over-time pooling: one value per filter
    z = [c^_1, ..., c^_m];  y = softmax(W (z o r) + b)   dropout mask r ~ Bernoulli(p) while training (eq. 4)
    ||W_k||_2 <= s after every step           the max-norm constraint on each class's weight row

The CNN-rand variant: a 300-dimensional embedding initialised U(-0.25, 0.25) (Kim's code, for words
without a pre-trained vector) and trained; filter widths 3, 4, 5 with 100 maps each; dropout 0.5;
s = 3 (Kim's code: squared norm limit 9). Kim trains it with Adadelta (rho 0.95), mini-batches of 50,
25 epochs; the recipe (archzoo.engine.recipes) keeps his batch size and trains with Adam, measured better.

The constraint is the model's :meth:`KimCNN.constrain`, which the text-classification task calls
(without gradients) after every optimizer step: the model knows which of its weights are
constrained, the task knows when a step has been taken.

Deviations:

- Padding. Kim's code pads every sentence with zero vectors, max_h - 1 before it and up to a fixed
  corpus-wide length after it, and pools over every window, the all-padding ones included (whose
  value is ReLU(b), the same for every sentence of the corpus). Here each filter of width h sees the
  sentence with h - 1 zero vectors on each side (the same "wide" windows at the edges, so sentences
  shorter than a filter still have features) and pools over the windows that overlap the sentence
  only: positions past them are set to -inf before the max. Padding tokens' vectors are zeroed by
  the lengths, whatever id 0 is, so a sentence gives the same logits however long its batch is.
- The output layer starts at zero as in Kim's code (LogisticRegression's W and b); the convolutions
  keep PyTorch's default initialisation rather than Theano's Glorot bound.
- Vocabulary: built from the training folds only (Kim's spans the whole corpus, so test-only words
  get their own, never-trained, random vectors; here they are <unk>).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.layers.sequence import check_token_input, length_mask
from archzoo.registry import register_model


@dataclass(frozen=True)
class KimCNNConfig:
    vocab_size: int = 18_765  # MR's vocabulary in the paper's Table 1; the data plan sets the real one
    num_classes: int = 2
    embedding_dim: int = 300
    filter_sizes: tuple[int, ...] = (3, 4, 5)
    num_filters: int = 100  # feature maps per filter width
    dropout: float = 0.5
    max_norm: float = 3.0  # the l2 limit s on each output row; 0 = no constraint
    embed_init: float = 0.25  # embeddings start U(-embed_init, embed_init)

    def __post_init__(self) -> None:
        if min(self.vocab_size, self.num_classes, self.embedding_dim, self.num_filters) < 1:
            raise ValueError("vocab_size, num_classes, embedding_dim and num_filters must be positive")
        if not self.filter_sizes or min(self.filter_sizes) < 1:
            raise ValueError(f"filter_sizes must be one or more positive widths, got {self.filter_sizes}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.max_norm < 0:
            raise ValueError(f"max_norm must be >= 0 (0: no constraint), got {self.max_norm}")


class KimCNN(nn.Module):
    """Token ids (B, L) and their lengths (B,) -> class logits (B, num_classes)."""

    def __init__(self, cfg: KimCNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embedding_dim)
        nn.init.uniform_(self.embedding.weight, -cfg.embed_init, cfg.embed_init)
        # padding h - 1 on each side: every window that overlaps the sentence, the edges included
        self.convs = nn.ModuleList(nn.Conv1d(cfg.embedding_dim, cfg.num_filters, h, padding=h - 1)
                                   for h in cfg.filter_sizes)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(cfg.num_filters * len(cfg.filter_sizes), cfg.num_classes)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward_features(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The pooled features z (B, num_filters * len(filter_sizes)), before dropout."""
        lengths = check_token_input("kim_cnn", ids, lengths)
        keep = length_mask(lengths, ids.shape[1])  # (B, L)
        x = self.embedding(ids) * keep[..., None]  # (B, L, E): padding is a zero vector, as in Kim's code
        x = x.transpose(1, 2)  # (B, E, L)
        pooled = []
        for conv, h in zip(self.convs, self.cfg.filter_sizes, strict=True):
            c = F.relu(conv(x))  # (B, maps, L + h - 1): window t covers tokens t - h + 1 .. t
            overlaps = length_mask(lengths + h - 1, c.shape[2])  # (B, L + h - 1): windows that touch the sentence
            pooled.append(c.masked_fill(~overlaps[:, None], float("-inf")).amax(2))  # (B, maps)
        return torch.cat(pooled, 1)

    def forward_head(self, z: Tensor) -> Tensor:
        return self.fc(self.dropout(z))

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.forward_head(self.forward_features(ids, lengths))

    @torch.no_grad()
    def constrain(self) -> None:
        """Rescale each class's output weight row to l2 norm ``max_norm`` where it is longer (Kim's
        constraint, applied after every gradient step)."""
        if self.cfg.max_norm > 0:
            self.fc.weight.copy_(torch.renorm(self.fc.weight, p=2, dim=0, maxnorm=self.cfg.max_norm))


register_model("kim_cnn", KimCNN, KimCNNConfig(), family="kim_cnn", task="text_classification",
               paper="Convolutional Neural Networks for Sentence Classification", year=2014,
               url="https://arxiv.org/abs/1408.5882", input_size=(64,), min_input_size=(1,), inputs="tokens",
               small_input="any sentence of 1 or more token ids (each filter sees zero vectors past its ends)",
               notes="CNN-rand: random 300-d embeddings trained, filters 3/4/5 x 100, max-over-time, dropout 0.5, "
                     "max-norm 3 on the output rows")
