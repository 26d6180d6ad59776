"""LeNet-5, faithful to the paper, and its common modern rewrite.

Paper: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proceedings of the IEEE, 1998. http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf

``lenet5`` follows section II.B layer by layer:

- input 32x32: the 28x28 images padded by 2 pixels (``input_padding``), as the paper pads MNIST;
- C1: 6 feature maps, 5x5 convolution (156 parameters);
- S2: 2x2 subsampling; each map sums its four inputs, multiplies by one trainable coefficient,
  adds one trainable bias (12 parameters);
- C3: 16 maps, 5x5, each connected to a subset of S2's maps by the paper's Table I
  (60 connections x 25 weights + 16 biases = 1,516 parameters);
- S4: like S2 on 16 maps (32 parameters);
- C5: 120 maps, 5x5 over all of S4 (48,120 parameters);
- F6: 84 units (10,164 parameters);
- every layer up to F6 applies the squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3;
- output: one Euclidean RBF unit per class, y_i = sum_j (x_j - w_ij)^2, with fixed (untrained)
  w_ij in {-1, +1}.

Total: exactly 60,000 trainable parameters. Weights start uniform in [-2.4/F, 2.4/F] where F is a
unit's fan-in (Appendix A).

Deviations, each for a stated reason:

- The RBF centres: the paper draws them as stylised 7x12 bitmaps of the characters (and notes that
  random +-1 codes would also do). Fashion-MNIST classes have no glyphs, so archzoo uses a fixed
  +-1 code: the rows of a Hadamard-like Sylvester matrix, which are mutually orthogonal, so every
  pair of class centres is equally far apart (stored as a buffer, not trained).
- The output: the model returns ``-logit_scale * y_i`` as logits. Cross-entropy on them is the
  paper's MAP criterion (its equation 9, without the constant "rubbish class" term e^-j) at
  ``logit_scale=1``. Up to a constant shared by all classes, -y_i = 2 x.w_i, so the RBF layer acts
  as a fixed linear layer whose weights are +-2: at scale 1 the logits span hundreds and the
  softmax saturates after a few updates, which stalls training (Fashion-MNIST, 4 epochs: 86.1%
  test accuracy at scale 1, 88.1% at 0.1). The default 0.2 only sets the softmax temperature of
  the loss: the prediction (the nearest centre) and the 60,000 parameters are unchanged.
- Training: the paper uses stochastic diagonal Levenberg-Marquardt; archzoo's recipe uses SGD with
  momentum or Adam (see archzoo.engine.recipes).

``lenet5_modern`` is the version most courses teach: full C3, ReLU, max pooling, a linear 10-way
output (61,706 parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.registry import register_model

# Table I of the paper: which S2 maps (rows) feed each C3 map (columns).
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


@dataclass(frozen=True)
class LeNetConfig:
    """``faithful`` selects the 1998 network; otherwise the modern ReLU/max-pool rewrite."""

    faithful: bool = True
    num_classes: int = 10
    in_channels: int = 1
    image_size: int = 28
    input_padding: int = 2
    logit_scale: float = 0.2  # logits = -logit_scale * RBF distance (faithful net only)
    widths: tuple[int, int, int, int] = (6, 16, 120, 84)  # C1, C3, C5, F6 (the modern net may widen them)

    def __post_init__(self) -> None:
        if self.image_size + 2 * self.input_padding != 32:
            raise ValueError(
                f"LeNet-5 works on 32x32 inputs: image_size + 2*input_padding must be 32, got "
                f"{self.image_size} + 2*{self.input_padding}"
            )
        if self.num_classes < 2 or self.in_channels < 1:
            raise ValueError("num_classes must be >= 2 and in_channels >= 1")
        if not self.logit_scale > 0:
            raise ValueError(f"logit_scale must be positive, got {self.logit_scale}")
        if len(self.widths) != 4 or min(self.widths) < 1:
            raise ValueError(f"widths must be four positive sizes (C1, C3, C5, F6), got {self.widths}")
        if self.faithful and tuple(self.widths) != (6, 16, 120, 84):
            raise ValueError("the faithful lenet5 has the paper's widths (6, 16, 120, 84) (its C3 table and RBF "
                             "output are built for them); widen lenet5_modern instead")


def scaled_tanh(x: Tensor) -> Tensor:
    """The paper's squashing function f(a) = 1.7159 tanh(2a/3) (Appendix A)."""
    return 1.7159 * torch.tanh(x * (2.0 / 3.0))


def _uniform_fan_in_(t: Tensor, fan_in: int) -> None:
    bound = 2.4 / fan_in
    nn.init.uniform_(t, -bound, bound)


class Subsampling(nn.Module):
    """S2/S4: per map, (sum of a 2x2 block) * coefficient + bias. Two parameters per map."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        _uniform_fan_in_(self.weight, 4)
        _uniform_fan_in_(self.bias, 4)

    def forward(self, x: Tensor) -> Tensor:
        s = F.avg_pool2d(x, 2) * 4.0  # (B, C, H/2, W/2): the sum of each 2x2 block
        return s * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class SparseConv(nn.Module):
    """C3: a 5x5 convolution where output map j sees only the input maps ``table[j]``.

    Only the connected kernels are parameters (shape (connections, k, k)); each forward scatters
    them into a dense (out, in, k, k) kernel with zeros elsewhere and runs one convolution.
    """

    def __init__(self, table: tuple[tuple[int, ...], ...], in_channels: int, kernel_size: int = 5) -> None:
        super().__init__()
        out_idx = [j for j, srcs in enumerate(table) for _ in srcs]
        in_idx = [i for srcs in table for i in srcs]
        self.register_buffer("out_idx", torch.tensor(out_idx), persistent=False)
        self.register_buffer("in_idx", torch.tensor(in_idx), persistent=False)
        self.shape = (len(table), in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.empty(len(in_idx), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(len(table)))
        # Appendix A: uniform in +-2.4/F, F = the fan-in of the output map (3, 4 or 6 maps x 25)
        fan_in = [len(srcs) * kernel_size**2 for srcs in table]
        with torch.no_grad():
            bound = torch.tensor([2.4 / fan_in[j] for j in out_idx])[:, None, None]  # (connections, 1, 1)
            self.weight.uniform_(-1.0, 1.0).mul_(bound)
            self.bias.uniform_(-1.0, 1.0).mul_(torch.tensor([2.4 / f for f in fan_in]))

    def dense_weight(self) -> Tensor:
        w = self.weight.new_zeros(self.shape)  # (out, in, k, k)
        return w.index_put((self.out_idx, self.in_idx), self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)


def rbf_codes(num_classes: int, dim: int) -> Tensor:
    """Fixed +-1 class centres: rows 1..K of a Sylvester-Hadamard matrix, truncated to ``dim``."""
    n = 1
    h = torch.ones(1, 1)
    while n < max(dim, num_classes + 1):
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
        n *= 2
    return h[1 : num_classes + 1, :dim].clone()  # row 0 is all ones; skip it


class RBFOutput(nn.Module):
    """Euclidean RBF units y_i = sum_j (x_j - w_ij)^2 with fixed centres; returns -scale * y as logits."""

    def __init__(self, in_features: int, num_classes: int, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.register_buffer("centres", rbf_codes(num_classes, in_features))

    def forward(self, x: Tensor) -> Tensor:
        d = (x.unsqueeze(1) - self.centres.unsqueeze(0)).square().sum(-1)  # (B, K)
        return -d * self.scale


class LeNet5(nn.Module):
    """LeNet-5 (``cfg.faithful``) or its modern rewrite. Input (B, in_channels, 28, 28) by default."""

    def __init__(self, cfg: LeNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.name = "lenet5" if cfg.faithful else "lenet5_modern"
        w1, w3, w5, w6 = cfg.widths
        self.c1 = nn.Conv2d(cfg.in_channels, w1, 5)
        if cfg.faithful:
            self.s2 = Subsampling(w1)
            self.c3: nn.Module = SparseConv(C3_TABLE, w1)
            self.s4 = Subsampling(w3)
            self.act = scaled_tanh
        else:
            self.c3 = nn.Conv2d(w1, w3, 5)
            self.act = F.relu
        self.c5 = nn.Conv2d(w3, w5, 5)
        self.f6 = nn.Linear(w5, w6)
        self.output: nn.Module = (RBFOutput(w6, cfg.num_classes, cfg.logit_scale) if cfg.faithful
                                  else nn.Linear(w6, cfg.num_classes))
        if cfg.faithful:
            for m in (self.c1, self.c5, self.f6):
                fan_in = m.weight[0].numel()
                _uniform_fan_in_(m.weight, fan_in)
                _uniform_fan_in_(m.bias, fan_in)

    def _pool(self, x: Tensor, which: str) -> Tensor:
        return getattr(self, which)(x) if self.cfg.faithful else F.max_pool2d(x, 2)

    def _check(self, x: Tensor) -> None:
        size = self.cfg.image_size
        expected = (self.cfg.in_channels, size, size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            hint = ""
            if x.ndim == 4 and x.shape[1] != self.cfg.in_channels:
                hint = f"; build it with in_channels={x.shape[1]} (CLI: --set in_channels={x.shape[1]})"
            elif x.ndim == 4:
                hint = f"; it needs inputs of at least (and exactly) {size}x{size} pixels (set image_size)"
            want = ", ".join(map(str, expected))
            raise ValueError(f"{self.name} expects input (B, {want}), got {tuple(x.shape)}{hint}")

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, C, 28, 28) -> (B, F6): the F6 representation (84 units in the paper)."""
        self._check(x)
        x = F.pad(x, (self.cfg.input_padding,) * 4)  # (B, C, 32, 32)
        x = self.act(self.c1(x))  # (B, C1, 28, 28), C1 = widths[0] (6 in the paper)
        x = self.act(self._pool(x, "s2"))  # (B, C1, 14, 14); the modern net applies ReLU before max-pool
        x = self.act(self.c3(x))  # (B, C3, 10, 10)
        x = self.act(self._pool(x, "s4"))  # (B, C3, 5, 5)
        x = self.act(self.c5(x)).flatten(1)  # (B, C5)
        return self.act(self.f6(x))  # (B, F6)

    def forward_head(self, x: Tensor) -> Tensor:
        return self.output(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


_PAPER = "Gradient-Based Learning Applied to Document Recognition"
_URL = "http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf"
_SMALL = "native: 28x28 images padded by 2 to the paper's 32x32 (image_size=32, input_padding=0 for 32x32)"

register_model(
    "lenet5", LeNet5, LeNetConfig(faithful=True), family="lenet", paper=_PAPER, year=1998, url=_URL,
    input_size=(1, 28, 28), min_input_size=(1, 28, 28), small_input=_SMALL, reference_params=60_000,
    reference="paper section II.B (C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164)",
    notes="scaled-tanh units, trainable subsampling, Table I partial C3, fixed RBF output",
)
register_model(
    "lenet5_modern", LeNet5, LeNetConfig(faithful=False), family="lenet", paper=_PAPER, year=1998, url=_URL,
    input_size=(1, 28, 28), min_input_size=(1, 28, 28), small_input=_SMALL, reference_params=61_706,
    reference="the common ReLU/max-pool rewrite: 156 + 2,416 + 48,120 + 10,164 + 850",
    notes="full C3, ReLU, max pooling, linear output",
)
