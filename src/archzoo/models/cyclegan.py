"""CycleGAN: two generators that translate between two domains of images without paired examples, each held
to its target domain by a discriminator and to its input by the other generator (trained by
archzoo.tasks.adversarial_cycle).

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
ICCV 2017 (https://arxiv.org/abs/1703.10593). With G = ``g_ab``: A -> B, F = ``g_ba``: B -> A and the
discriminators D_A (real A images against F's) and D_B (real B images against G's), the objective (the paper's
Eq. 3, with the identity term of its Section 5.2)::

    L = L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc(G, F) + lambda lambda_id L_id(G, F)
    L_cyc = E_a ||F(G(a)) - a||_1 + E_b ||G(F(b)) - b||_1
    L_id  = E_b ||G(b) - b||_1 + E_a ||F(a) - a||_1

(the losses, the image pools and the three optimizers are the task's; the networks are here).

The networks are those of the paper's appendix (7.2), scaled to small images:

* Generator (Johnson et al. 2016's residual network): ``c7s1-k, d2k, d4k, R4k x blocks, u2k, uk, c7s1-C``.
  c7s1-k: a 7x7 convolution of stride 1 with k filters after reflection padding of 3, instance norm, ReLU;
  dk: a 3x3 convolution of stride 2 (padding 1), instance norm, ReLU; Rk: a residual block
  x + IN(conv3x3(ReLU(IN(conv3x3(x))))), each convolution after reflection padding of 1; uk: a 3x3
  fractionally-strided convolution of stride 1/2 (transposed, padding 1, output padding 1), instance norm,
  ReLU; the last c7s1-C maps to the image's C channels with tanh instead of norm and ReLU. The paper's k is 64
  with 6 blocks for 128x128 images and 9 for 256x256; here ``width`` k is 32 with 6 blocks by default, a
  setting each (28x28 images: 28 -> 14 -> 7 through the blocks -> 14 -> 28). Sides must be multiples of 4.
* Discriminator (PatchGAN, Isola et al. 2017): Ck is a 4x4 convolution with k filters, instance norm and
  LeakyReLU(0.2); the first has no norm; a last 4x4 convolution maps to one score per patch. The paper's 70x70
  PatchGAN is C64-C128-C256-C512 with the first three of stride 2 and the rest of stride 1. Here ``d_layers``
  (3 in the paper) stride-2 layers widen from ``d_width`` (64), then one stride-1 layer and the score: the
  default 2 gives C64-C128 (stride 2) - C256 (stride 1) - score, each score seeing a 34x34 patch (receptive
  field r = r s + k - s from the top), a 5x5 grid of scores for a 28x28 image. Widths double per layer up to
  8 ``d_width``, as the reference code's.

Every convolution's weights start N(0, 0.02), biases 0 (the paper's Section 4 and reference code). Deviations
from the reference code (github.com/junyanz/pytorch-CycleGAN-and-pix2pix): a convolution that instance norm
follows has no bias (the norm subtracts each channel's mean, which cancels it), and the networks are narrower
(above). Instance norm has no learned scale and shift, as the reference code's.

Calls: ``model(x)`` scores x's translations both ways, D_B(G(x)) and D_A(F(x)) stacked to (2, B, h, w): one pass
through all four networks (what counting and the registry's checks run). ``mode`` names the others:
``"cycle"`` takes (a, b) and returns :class:`CycleOutputs`; ``"a2b"`` and ``"b2a"`` translate; and
``"discriminate_a"`` and ``"discriminate_b"`` score (B, h, w) patches, so that a task calls every network
through whatever wraps the model (torch.compile, DistributedDataParallel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from archzoo.layers import check_image_input
from archzoo.registry import register_model

MODES = ("score", "cycle", "a2b", "b2a", "discriminate_a", "discriminate_b")  # CycleGAN's methods of that name
SLOPE = 0.2  # the discriminator's LeakyReLU
INIT_STD = 0.02


@dataclass(frozen=True)
class CycleGANConfig:
    """Two generators (B, C, H, W) -> (B, C, H, W) and two PatchGAN discriminators (B, C, H, W) -> (B, h, w)."""

    in_channels: int = 1
    width: int = 32  # the generator's k: its first layer's filters (4k in the residual blocks)
    blocks: int = 6  # the generator's residual blocks
    d_width: int = 64  # the discriminator's first layer's filters
    d_layers: int = 2  # the discriminator's stride-2 convolutions (3: the paper's 70x70 PatchGAN)

    def __post_init__(self) -> None:
        if min(self.in_channels, self.width, self.d_width, self.d_layers) < 1 or self.blocks < 0:
            raise ValueError(f"in_channels, width, d_width and d_layers must be >= 1 and blocks >= 0, got "
                             f"{self.in_channels}, {self.width}, {self.d_width}, {self.d_layers}, {self.blocks}")

    @property
    def min_side(self) -> int:
        """The smallest side both networks take: a multiple of 4 (the generator halves it twice and doubles it
        back) that leaves the discriminator at least one score (side / 2^d_layers - 2 >= 1)."""
        side = max(8, 3 * 2 ** self.d_layers)
        return side + (-side) % 4


class CycleOutputs(NamedTuple):
    """What one pass of both generators over real a (B, C, H, W) and b gives: the translations G(a) and F(b),
    the reconstructions F(G(a)) and G(F(b)), and (with the identity term; else None) G(b) and F(a)."""

    fake_b: Tensor
    fake_a: Tensor
    rec_a: Tensor
    rec_b: Tensor
    same_b: Tensor | None
    same_a: Tensor | None


def _norm_relu(channels: int) -> list[nn.Module]:
    return [nn.InstanceNorm2d(channels), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    """Rk: x + IN(conv3x3(ReLU(IN(conv3x3(x))))), each convolution after reflection padding of 1 (no ReLU after
    the sum, as the reference code)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), *_norm_relu(channels),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), nn.InstanceNorm2d(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """(B, C, H, W) images in [-1, 1] -> (B, C, H, W) in [-1, 1]: c7s1-k, d2k, d4k, R4k x blocks, u2k, uk,
    c7s1-C with tanh (the paper's appendix 7.2)."""

    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__()
        k, c = cfg.width, cfg.in_channels
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c, k, 7, bias=False), *_norm_relu(k)]  # c7s1-k
        for a, b in ((k, 2 * k), (2 * k, 4 * k)):  # d2k, d4k: each halves the side
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1, bias=False), *_norm_relu(b)]
        layers += [ResidualBlock(4 * k) for _ in range(cfg.blocks)]
        for a, b in ((4 * k, 2 * k), (2 * k, k)):  # u2k, uk: each doubles the side
            layers += [nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=1, bias=False),
                       *_norm_relu(b)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(k, c, 7), nn.Tanh()]  # c7s1-C
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """(B, C, H, W) -> (B, h, w) raw scores, one per patch: C(d_width) of stride 2 without norm, ``d_layers`` - 1
    more of stride 2 and one of stride 1 with instance norm (LeakyReLU 0.2 after each), then a 4x4 convolution
    to one channel. h = H / 2^d_layers - 2 (5 for 28 pixels and 2 layers)."""

    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__()
        widths = [cfg.d_width * min(2 ** i, 8) for i in range(cfg.d_layers + 1)]  # 64, 128, 256 for 2 layers
        layers: list[nn.Module] = [nn.Conv2d(cfg.in_channels, widths[0], 4, stride=2, padding=1),
                                   nn.LeakyReLU(SLOPE, inplace=True)]
        for i in range(1, len(widths)):
            stride = 2 if i < cfg.d_layers else 1
            layers += [nn.Conv2d(widths[i - 1], widths[i], 4, stride=stride, padding=1, bias=False),
                       nn.InstanceNorm2d(widths[i]), nn.LeakyReLU(SLOPE, inplace=True)]
        layers.append(nn.Conv2d(widths[-1], 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)  # (B, h, w)


def normal_init(module: nn.Module, std: float = INIT_STD) -> None:
    """Convolution weights N(0, std), biases 0 (the paper's and the reference code's initialisation)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class CycleGenerators(nn.Module):
    """G (``ab``) and F (``ba``); ``forward(a, b)`` is the generators' whole pass of a training step, one call
    (so that one DistributedDataParallel wrapper sees each of its parameters used once per backward)."""

    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__()
        self.ab, self.ba = ResnetGenerator(cfg), ResnetGenerator(cfg)

    def forward(self, a: Tensor, b: Tensor, identity: bool = True) -> CycleOutputs:
        """G(a), F(b), F(G(a)), G(F(b)) and, with ``identity``, G(b) and F(a). a and b (B, C, H, W) may differ in
        B. Instance norm keeps no batch statistics, so a batch of a and b through one generator is exact."""
        n_a, n_b = len(a), len(b)
        if identity:  # G(a) and G(b) in one call, F(b) and F(a) in another
            fake_b, same_b = self.ab(torch.cat([a, b])).split([n_a, n_b])
            fake_a, same_a = self.ba(torch.cat([b, a])).split([n_b, n_a])
        else:
            fake_b, fake_a, same_b, same_a = self.ab(a), self.ba(b), None, None
        return CycleOutputs(fake_b, fake_a, self.ba(fake_b), self.ab(fake_a), same_b, same_a)


class CycleGAN(nn.Module):
    """The generators (``generators.ab`` = G: A -> B, ``generators.ba`` = F: B -> A) and the discriminators
    ``d_a`` and ``d_b``."""

    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.generators = CycleGenerators(cfg)
        self.d_a, self.d_b = PatchDiscriminator(cfg), PatchDiscriminator(cfg)
        normal_init(self)

    @property
    def g_ab(self) -> nn.Module:
        return self.generators.ab

    @property
    def g_ba(self) -> nn.Module:
        return self.generators.ba

    def _check(self, x: Tensor) -> None:
        side = self.cfg.min_side
        check_image_input(x, self.cfg.in_channels, (side, side), "cyclegan")
        if x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ValueError(f"cyclegan needs image sides that are multiples of 4 (its generator halves them twice "
                             f"and doubles them back), got {x.shape[-2]}x{x.shape[-1]}; pad or crop the images")

    def a2b(self, x: Tensor) -> Tensor:
        """G(x): images (B, C, H, W) of domain A in [-1, 1] translated to domain B."""
        self._check(x)
        return self.generators.ab(x)

    def b2a(self, x: Tensor) -> Tensor:
        """F(x): images of domain B translated to domain A."""
        self._check(x)
        return self.generators.ba(x)

    def discriminate_a(self, x: Tensor) -> Tensor:
        """D_A(x): raw patch scores (B, h, w) of images as domain A's."""
        self._check(x)
        return self.d_a(x)

    def discriminate_b(self, x: Tensor) -> Tensor:
        """D_B(x): raw patch scores (B, h, w) of images as domain B's."""
        self._check(x)
        return self.d_b(x)

    def cycle(self, a: Tensor, b: Tensor, identity: bool = True) -> CycleOutputs:
        """Both generators' pass over real a and b (see :class:`CycleGenerators`)."""
        self._check(a)
        self._check(b)
        return self.generators(a, b, identity)

    def score(self, x: Tensor) -> Tensor:
        """D_B(G(x)) and D_A(F(x)) stacked: (2, B, h, w)."""
        self._check(x)
        return torch.stack([self.d_b(self.generators.ab(x)), self.d_a(self.generators.ba(x))])

    def forward(self, x: Tensor, y: Tensor | None = None, mode: str = "score", identity: bool = True
                ) -> Tensor | CycleOutputs:
        """``mode`` "score" (the default), "a2b", "b2a", "discriminate_a", "discriminate_b" of images x;
        "cycle" of domain A images x and domain B images y (``identity`` passed on)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        if mode == "cycle":
            if y is None:
                raise ValueError("mode 'cycle' takes images of both domains: model(a, b, mode='cycle')")
            return self.cycle(x, y, identity)
        return getattr(self, mode)(x)


# ---- registered variants -----------------------------------------------------------------------------

_DEFAULT = CycleGANConfig()
register_model("cyclegan", CycleGAN, _DEFAULT, family="gan", task="cycle_adversarial",
               paper="Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", year=2017,
               url="https://arxiv.org/abs/1703.10593", input_size=(1, 28, 28),
               min_input_size=(1, _DEFAULT.min_side, _DEFAULT.min_side),
               notes="two ResNet generators (c7s1-32, d64, d128, 6 residual blocks, u64, u32, c7s1-1, tanh; "
                     "reflection padding, instance norm) and two PatchGAN discriminators (C64-C128-C256, 34x34 "
                     "patches: a 5x5 grid for 28x28 images); least squares, cycle 10, identity 0.5, pools of 50; "
                     "input: images of either domain, scored after translation both ways")
