"""StyleGAN: a generator that maps the code z to an intermediate latent w, and draws the image from a learned
constant whose every layer w restyles, with noise for the stochastic detail (trained by archzoo.tasks.adversarial).

Karras, Laine & Aila, "A Style-Based Generator Architecture for Generative Adversarial Networks", CVPR 2019
(https://arxiv.org/abs/1812.04948). The generator's equations (the paper's Section 2 and appendix C)::

    mapping     w = f(z),  f = mapping_layers x (fully connected, LeakyReLU 0.2) after z / sqrt(mean(z^2) + 1e-8)
    style       y = (y_s, y_b) = A_l(w),  A_l a learned affine map per style layer l (y_s starts around 1)
    AdaIN       AdaIN(x, y) = y_s (x - mu(x)) / sigma(x) + y_b,  mu, sigma per sample and channel over H, W
    noise       x <- x + b_l * n,  n ~ N(0, 1) of shape (B, 1, H, W),  b_l a learned factor per channel (from 0)
    layer       conv 3x3 -> + noise -> + bias, LeakyReLU(0.2) -> AdaIN(., A_l(w)); the first layer starts
                from the learned constant (no convolution), each resolution after the first upsamples 2x first
    truncation  w' = w_avg + psi (w - w_avg),  w_avg a running mean of w (decay 0.995) kept while training
    mixing      while training, with probability ``mixing_prob`` an image takes a second code's w2 = f(z2) in
                every style layer from a random crossover point on (layers 1..L-1), w in those before it

Two style layers per resolution, from the start side s0 (4, or 7 for 28-pixel images) to the image's side, and
a 1x1 convolution (toRGB) to the image's channels, then ``out_act``. Every weight is used at runtime times He's
constant gain / sqrt(fan_in) and initialised N(0, 1) ("equalized learning rate", from Karras et al. 2018), so
that Adam's steps are alike in every layer; the mapping network's learning rate is further multiplied by 0.01
(``mapping_lr_mul``), as the paper's. The discriminator mirrors the synthesis network: fromRGB (1x1), per
resolution two 3x3 convolutions with LeakyReLU(0.2) and a 2x2 average pooling, then at s0 a minibatch
standard-deviation channel (Salimans et al. 2016, Karras et al. 2018: the mean over features of the standard
deviation over groups of ``mbstd_group`` samples), a 3x3 convolution and two fully connected layers to one raw
score per sample. No batch norm: real and generated samples go through D in one call, and the task's ``groups``
keeps each minibatch-deviation group inside one kind.

Progressive growing (Karras et al. 2018, the paper's training schedule), with ``progressive=True``:
:meth:`StyleGAN.set_progress` takes the fraction of training done and sets the stage. Training is cut into
2 K + 1 equal phases for K + 1 resolutions: the start side alone, then for each later side a fade-in
(``alpha`` rising from 0 to 1: the new side's toRGB blended with the previous side's output upsampled,
mirrored by D's fromRGB of the input pooled 2x) and a stable phase. For 28 pixels: [0, 0.2) 7x7, [0.2, 0.4)
fading in 14x14, [0.4, 0.6) 14x14, [0.6, 0.8) fading in 28x28, [0.8, 1] 28x28. G's output is always
upsampled (nearest neighbour) to the data's size and D average-pools its input back to the stage's side, so the
shapes the task sees never change. The stage is a buffer (``growth.progress``): checkpoints keep it.

Scaled down from the paper (its 1024x1024 faces took about a week on eight GPUs; these 28 to 64 pixel images are to
train on a laptop CPU): ``mapping_layers`` 4 of ``w_dim`` 128 (paper: 8 of 512); the image's side has
``min_channels`` 16, doubling at each side towards the start up to ``max_channels`` 128 (28 pixels: 64, 32, 16 at
7, 14, 28; 64 pixels: 128, 128, 64, 32, 16; paper: 512 up to 64 pixels, halving to 32 at 1024), in G and D alike;
progressive growing is optional and off by default (the paper grows; training at full resolution from the start,
as StyleGAN2 does, is simpler), and the recipe on the 320 ORL faces turns it on: grown from 4x4 to 64x64 in an hour
of CPU, G draws faces, where at full size from the start it did not (docs/gans.md).
Other deviations: the learned constant starts N(0, 1), not ones (an all-ones map has no variance for the first
AdaIN to normalise); G upsamples bilinearly (the paper's binomial filter after nearest upsampling, to within the
border) and D pools 2x2 without the filter; the minibatch deviation takes groups of consecutive samples; truncation
applies to all layers (the paper's figures truncate the coarse ones only). Style mixing is decided per image, as
the paper's wording ("a given percentage of images"), not per batch.

Noise: ``noise_mode`` "random" draws fresh noise (from ``generator`` when given), "const" uses a fixed map per
layer kept in the state dict, "none" leaves it out. By default training draws it and eval mode uses the fixed
maps, so evaluation is deterministic; :meth:`StyleGAN.sample` draws it from its generator, so samples are
reproducible and keep their stochastic detail. :meth:`StyleGAN.mix` draws style-mixing images (the paper's
Figure 3) from named ranges of style layers ("coarse": sides up to 8; "fine": the data's side and sides above
32; "middle": between; for 28 pixels 7, 14 and 28).

Calls, as :class:`archzoo.models.gan.GAN`: ``model(z)`` is D(G(z)); ``mode="generate"`` G(z);
``mode="discriminate"`` D(x); ``sample``, ``update_ema`` (which also copies the buffers w_avg and the fixed
noise into the moving average) and ``generator_ema`` likewise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.models.gan import GAN, OUT_ACTIVATIONS
from archzoo.registry import register_model

NOISE_MODES = ("random", "const", "none")
LAYER_RANGES = ("coarse", "middle", "fine")
SLOPE = 0.2  # LeakyReLU's negative slope everywhere
EPS = 1e-8  # the paper's epsilon in pixel norm, instance norm and the minibatch deviation


def start_side(side: int) -> int:
    """The side the synthesis starts from: ``side`` halved while it stays even and at least 4 (28 -> 7, 32 -> 4)."""
    while side % 2 == 0 and side // 2 >= 4:
        side //= 2
    return side


@dataclass(frozen=True)
class StyleGANConfig:
    """G: (B, latent_dim) codes -> (B, C, S, S) images; D: (B, C, S, S) -> (B,) scores, for square images whose
    side S is a start side of 4 to 8 doubled at least once (28 from 7, 32 and 64 from 4)."""

    data_shape: tuple[int, ...] = (1, 28, 28)
    latent_dim: int = 128
    w_dim: int = 128
    mapping_layers: int = 4
    mapping_lr_mul: float = 0.01
    max_channels: int = 128  # channels at the coarse sides, in G and D
    min_channels: int = 16  # channels at the image's side (doubling towards s0 up to max_channels)
    mixing_prob: float = 0.9
    w_avg_decay: float = 0.995
    mbstd_group: int = 4
    progressive: bool = False
    out_act: str = "tanh"
    ema: bool = False

    def __post_init__(self) -> None:
        if min(self.latent_dim, self.w_dim, self.mapping_layers, self.min_channels, self.mbstd_group) < 1 \
                or self.max_channels < self.min_channels:
            raise ValueError("latent_dim, w_dim, mapping_layers, min_channels and mbstd_group must be >= 1 and "
                             f"max_channels >= min_channels, got {self}")
        if not 0 <= self.mixing_prob <= 1 or not 0 <= self.w_avg_decay < 1 or self.mapping_lr_mul <= 0:
            raise ValueError(f"mixing_prob must be in [0, 1], w_avg_decay in [0, 1) and mapping_lr_mul > 0, got "
                             f"{self.mixing_prob}, {self.w_avg_decay}, {self.mapping_lr_mul}")
        shape = tuple(self.data_shape)
        if len(shape) != 3 or shape[1] != shape[2] or shape[1] < 8 or start_side(shape[1]) > 8:
            raise ValueError(f"stylegan makes square images whose side is a start side of 4 to 8 doubled at least "
                             f"once (28, 32, 64, ...; data_shape (C, H, W)), got data_shape={self.data_shape}")
        if self.out_act not in OUT_ACTIVATIONS:
            raise ValueError(f"unknown out_act={self.out_act!r}; choose one of: {', '.join(OUT_ACTIVATIONS)}")

    @property
    def sides(self) -> tuple[int, ...]:
        """The resolutions from the start side to the image's: (7, 14, 28), (4, 8, 16, 32), (4, ..., 64)."""
        side, s0 = self.data_shape[1], start_side(self.data_shape[1])
        return tuple(s0 * 2 ** i for i in range((side // s0).bit_length()))

    @property
    def num_layers(self) -> int:
        """Style layers: two per resolution (6 for 28 pixels)."""
        return 2 * len(self.sides)

    def channels(self, level: int) -> int:
        """Channels at resolution ``level`` (0: the start side): min_channels at the image's, doubling back."""
        return min(self.max_channels, self.min_channels * 2 ** (len(self.sides) - 1 - level))


# ---- equalized learning rate ---------------------------------------------------------------------------

class EqualLinear(nn.Module):
    """y = x (W c)^T + b lr_mul with W ~ N(0, 1) / lr_mul and c = lr_mul gain / sqrt(in_features): He's scale
    applied at runtime, so that every weight moves alike under Adam (equalized learning rate)."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2), lr_mul: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale, self.lr_mul = lr_mul * gain / math.sqrt(in_features), lr_mul

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """A k x k convolution ('same' padding) whose N(0, 1) weights are used times gain / sqrt(in_channels k^2)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, gain: float = math.sqrt(2),
                 bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale, self.padding = gain / math.sqrt(in_channels * kernel * kernel), kernel // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


# ---- the generator -------------------------------------------------------------------------------------

def pixel_norm(z: Tensor) -> Tensor:
    """z / sqrt(mean(z^2) + eps) over the features of each sample: every code on the sphere of radius sqrt(D)."""
    return z * torch.rsqrt(z.square().mean(1, keepdim=True) + EPS)


def adain(x: Tensor, y_s: Tensor, y_b: Tensor, eps: float = EPS) -> Tensor:
    """AdaIN(x, y) = y_s (x - mu(x)) / sigma(x) + y_b of x (B, C, H, W) and styles y_s, y_b (B, C); mu and
    sigma (the population deviation, sqrt(var + eps)) per sample and channel over H and W."""
    mu = x.mean((2, 3), keepdim=True)  # (B, C, 1, 1)
    var = (x - mu).square().mean((2, 3), keepdim=True)
    return y_s[:, :, None, None] * (x - mu) * torch.rsqrt(var + eps) + y_b[:, :, None, None]


def growth_stage(fraction: float, levels: int) -> tuple[int, float]:
    """(level, alpha) of progressive growing at ``fraction`` of training over ``levels`` resolutions: 2 levels - 1
    equal phases, the first stable at level 0, then a fade-in (alpha 0 -> 1) and a stable phase per level."""
    phases = 2 * levels - 1
    phase = min(int(fraction * phases), phases - 1)
    if phase % 2 == 0:
        return phase // 2, 1.0
    return (phase + 1) // 2, fraction * phases - phase


class Growth(nn.Module):
    """The stage of progressive growing: the fraction of training done as a buffer (so checkpoints keep it), and
    the (level, alpha) it gives, kept as Python numbers so that a forward pass reads no tensor."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.levels = levels
        self.register_buffer("progress", torch.zeros(()))
        self.level, self.alpha = growth_stage(0.0, levels)
        self.register_load_state_dict_post_hook(Growth._loaded)

    def set(self, fraction: float) -> None:
        self.progress.fill_(fraction)
        self.level, self.alpha = growth_stage(fraction, self.levels)

    @staticmethod
    def _loaded(module: nn.Module, incompatible: object) -> None:
        if not module.progress.is_meta:
            module.level, module.alpha = growth_stage(float(module.progress), module.levels)


class StyleLayer(nn.Module):
    """One style layer at side ``side``: [2x bilinear upsampling] [conv 3x3] -> + noise -> + bias, LeakyReLU(0.2)
    -> AdaIN with the style A(w). (B, in, s, s) or (B, in, s/2, s/2) -> (B, out, s, s)."""

    def __init__(self, in_channels: int, out_channels: int, side: int, w_dim: int, *, conv: bool, up: bool) -> None:
        super().__init__()
        self.up = up
        self.conv = EqualConv2d(in_channels, out_channels, 3, bias=False) if conv else None
        self.noise_strength = nn.Parameter(torch.zeros(out_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.affine = EqualLinear(w_dim, 2 * out_channels, gain=1.0)
        with torch.no_grad():
            self.affine.bias[:out_channels].fill_(1.0)  # y_s starts around 1: AdaIN starts as instance norm
        self.register_buffer("noise_const", torch.randn(1, 1, side, side))

    def forward(self, x: Tensor, w: Tensor, noise_mode: str, generator: torch.Generator | None) -> Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        if self.conv is not None:
            x = self.conv(x)
        if noise_mode == "random":
            device = generator.device if generator is not None else x.device
            noise = torch.randn(len(x), 1, *x.shape[2:], generator=generator, device=device).to(x)  # (B, 1, H, W)
            x = x + self.noise_strength[:, None, None] * noise
        elif noise_mode == "const":
            x = x + self.noise_strength[:, None, None] * self.noise_const
        x = F.leaky_relu(x + self.bias[:, None, None], SLOPE)
        y_s, y_b = self.affine(w).chunk(2, dim=1)  # (B, C) each
        return adain(x, y_s, y_b)


class MappingNetwork(nn.Module):
    """f: z (B, latent_dim) -> w (B, w_dim): pixel norm, then ``mapping_layers`` fully connected LeakyReLU layers."""

    def __init__(self, cfg: StyleGANConfig) -> None:
        super().__init__()
        sizes = [cfg.latent_dim] + [cfg.w_dim] * cfg.mapping_layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=cfg.mapping_lr_mul) for a, b in pairwise(sizes))

    def forward(self, z: Tensor) -> Tensor:
        x = pixel_norm(z)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), SLOPE)
        return x


class SynthesisNetwork(nn.Module):
    """g: styles (B, num_layers, w_dim) -> images (B, C, S, S), from the learned constant (C0, s0, s0)."""

    def __init__(self, cfg: StyleGANConfig) -> None:
        super().__init__()
        sides, ch = cfg.sides, cfg.channels
        self.const = nn.Parameter(torch.randn(ch(0), sides[0], sides[0]))
        layers = [StyleLayer(ch(0), ch(0), sides[0], cfg.w_dim, conv=False, up=False),
                  StyleLayer(ch(0), ch(0), sides[0], cfg.w_dim, conv=True, up=False)]
        for level in range(1, len(sides)):
            layers += [StyleLayer(ch(level - 1), ch(level), sides[level], cfg.w_dim, conv=True, up=True),
                       StyleLayer(ch(level), ch(level), sides[level], cfg.w_dim, conv=True, up=False)]
        self.layers = nn.ModuleList(layers)
        rgb_levels = range(len(sides)) if cfg.progressive else [len(sides) - 1]  # growing: a toRGB per side
        self.to_rgb = nn.ModuleList(EqualConv2d(ch(i), cfg.data_shape[0], 1, gain=1.0) for i in rgb_levels)
        self.growth = Growth(len(sides)) if cfg.progressive else None
        self.out_act = OUT_ACTIVATIONS[cfg.out_act]()
        self.levels = len(sides)

    def stage(self) -> tuple[int, float]:
        """(level, alpha): the resolution being trained and its fade-in (the last level and 1 without growing)."""
        return (self.growth.level, self.growth.alpha) if self.growth is not None else (self.levels - 1, 1.0)

    def rgb(self, x: Tensor, level: int) -> Tensor:
        return self.to_rgb[level if self.growth is not None else 0](x)

    def forward(self, ws: Tensor, noise_mode: str = "const", generator: torch.Generator | None = None) -> Tensor:
        level, alpha = self.stage()
        x = self.const.repeat(len(ws), 1, 1, 1)  # (B, C0, s0, s0); a copy, not a view of the parameter
        previous = None
        for i, layer in enumerate(self.layers[:2 * level + 2]):
            if i == 2 * level and level > 0 and alpha < 1:  # fading in: the last side's image, upsampled
                previous = F.interpolate(self.rgb(x, level - 1), scale_factor=2, mode="nearest")
            x = layer(x, ws[:, i], noise_mode, generator)
        image = self.rgb(x, level)
        if previous is not None:
            image = torch.lerp(previous, image, alpha)
        if level < self.levels - 1:  # growing: up to the data's side, so that the task's shapes never change
            image = F.interpolate(image, scale_factor=2 ** (self.levels - 1 - level), mode="nearest")
        return self.out_act(image)


class StyleGenerator(nn.Module):
    """G: codes (B, latent_dim) -> images (B, C, S, S): the mapping network, the running mean of w (``w_avg``),
    style mixing in training mode, truncation, and the synthesis network."""

    def __init__(self, cfg: StyleGANConfig) -> None:
        super().__init__()
        self.mapping = MappingNetwork(cfg)
        self.synthesis = SynthesisNetwork(cfg)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))
        self.num_layers, self.sides = cfg.num_layers, cfg.sides
        self.mixing_prob, self.w_avg_decay = cfg.mixing_prob, cfg.w_avg_decay

    def truncate(self, w: Tensor, psi: float) -> Tensor:
        """w' = w_avg + psi (w - w_avg), of w (..., w_dim)."""
        return w if psi == 1 else torch.lerp(self.w_avg.to(w.dtype), w, psi)

    def layer_ranges(self) -> dict[str, tuple[int, ...]]:
        """The style layers (indices) of each named range: "coarse" (sides up to 8), "fine" (the image's side and
        sides above 32) and "middle" (the rest); for 28 pixels sides 7, 14 and 28."""
        ranges: dict[str, list[int]] = {name: [] for name in LAYER_RANGES}
        for i in range(self.num_layers):
            level = i // 2
            side = self.sides[level]
            name = "fine" if level == len(self.sides) - 1 or side > 32 else "coarse" if side <= 8 else "middle"
            ranges[name].append(i)
        return {name: tuple(layers) for name, layers in ranges.items()}

    def _noise_mode(self, noise_mode: str | None) -> str:
        mode = noise_mode or ("random" if self.training else "const")
        if mode not in NOISE_MODES:
            raise ValueError(f"unknown noise_mode {mode!r}; choose one of: {', '.join(NOISE_MODES)}")
        return mode

    def styles(self, z: Tensor, truncation: float = 1.0) -> Tensor:
        """The w of every style layer (B, num_layers, w_dim) of codes z (B, latent_dim), truncated. In training
        mode w_avg follows the batch's mean w, and style mixing gives each image, with probability
        ``mixing_prob``, a second code's w from a random crossover layer (1 to the last layer in use) on."""
        w = self.mapping(z)  # (B, w_dim)
        ws = w[:, None].expand(-1, self.num_layers, -1)  # (B, L, w_dim): one w for every style layer
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(torch.lerp(w.detach().float().mean(0), self.w_avg, self.w_avg_decay))
            active = 2 * self.synthesis.stage()[0] + 2  # the style layers in use (all of them without growing)
            if self.mixing_prob > 0:
                w2 = self.mapping(torch.randn_like(z))
                cut = torch.randint(1, active, (len(z),), device=z.device)  # the crossover layer of each image
                cut = torch.where(torch.rand(len(z), device=z.device) < self.mixing_prob, cut, self.num_layers)
                second = torch.arange(self.num_layers, device=z.device)[None] >= cut[:, None]  # (B, L)
                ws = torch.where(second[:, :, None], w2[:, None], ws)
        return self.truncate(ws, truncation)

    def forward(self, z: Tensor, truncation: float = 1.0, noise_mode: str | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        """Images (B, C, S, S) of codes z (B, latent_dim), through :meth:`styles` and the synthesis network.
        ``noise_mode`` None: "random" in training mode, "const" in eval mode; ``generator``: random noise's."""
        return self.synthesis(self.styles(z, truncation), self._noise_mode(noise_mode), generator)

    def draw(self, z: Tensor, truncation: float = 1.0, noise_mode: str | None = None,
             generator: torch.Generator | None = None) -> Tensor:
        """Images of codes z without training mode's effects, whatever the mode: w_avg is left as it is and no
        style is mixed (what sampling uses)."""
        ws = self.mapping(z)[:, None].expand(-1, self.num_layers, -1)  # (B, L, w_dim)
        return self.synthesis(self.truncate(ws, truncation), self._noise_mode(noise_mode), generator)

    def mix(self, z_a: Tensor, z_b: Tensor, layers: str | Iterable[int], truncation: float = 1.0,
            noise_mode: str | None = "const", generator: torch.Generator | None = None) -> Tensor:
        """Images whose style layers ``layers`` (indices, or a name of :meth:`layer_ranges`) take w from z_b and
        the others from z_a; z_a and z_b of one batch size (or either of 1, repeated); truncation applies to both."""
        ranges = self.layer_ranges()
        if isinstance(layers, str):
            if layers not in ranges:
                raise ValueError(f"unknown layer range {layers!r}; choose one of: {', '.join(ranges)}, or indices")
            layers = ranges[layers]
        chosen = sorted(set(layers))
        if chosen and not 0 <= chosen[0] <= chosen[-1] < self.num_layers:
            raise ValueError(f"style layers are 0..{self.num_layers - 1}, got {chosen}")
        take_b = torch.zeros(self.num_layers, dtype=torch.bool, device=z_a.device)
        take_b[chosen] = True
        w_a, w_b = self.mapping(z_a)[:, None], self.mapping(z_b)[:, None]  # (B, 1, w_dim)
        ws = torch.where(take_b[None, :, None], w_b, w_a)  # (B, L, w_dim)
        return self.synthesis(self.truncate(ws, truncation), self._noise_mode(noise_mode), generator)


# ---- the discriminator ---------------------------------------------------------------------------------

class MinibatchStd(nn.Module):
    """Appends one channel: the standard deviation of each feature over a group of samples, averaged over the
    features, for every sample of the group (B, C, H, W) -> (B, C + 1, H, W). Groups are ``group`` consecutive
    samples (fewer where the batch's parts do not divide) inside each of ``parts`` equal parts of the batch."""

    def __init__(self, group: int) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: Tensor, parts: int = 1) -> Tensor:
        b, c, h, w = x.shape
        per_part = b // parts if b % parts == 0 else b
        g = max(d for d in range(1, min(self.group, per_part) + 1) if per_part % d == 0)
        y = x.float().reshape(b // g, g, c, h, w)  # (B/G, G, C, H, W): the groups
        y = (y.var(1, unbiased=False) + EPS).sqrt().mean((1, 2, 3))  # (B/G,)
        y = y.to(x.dtype).repeat_interleave(g).view(b, 1, 1, 1).expand(b, 1, h, w)  # (B, 1, H, W)
        return torch.cat([x, y], 1)


class DBlock(nn.Module):
    """Two 3x3 convolutions with LeakyReLU(0.2) and a 2x2 average pooling: (B, a, s, s) -> (B, b, s/2, s/2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = EqualConv2d(in_channels, in_channels, 3)
        self.conv2 = EqualConv2d(in_channels, out_channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.conv1(x), SLOPE)
        return F.avg_pool2d(F.leaky_relu(self.conv2(x), SLOPE), 2)


class StyleDiscriminator(nn.Module):
    """D: images (B, C, S, S) -> raw scores (B,): fromRGB, a DBlock per side down to s0, then the minibatch
    deviation, a 3x3 convolution and two fully connected layers."""

    def __init__(self, cfg: StyleGANConfig) -> None:
        super().__init__()
        sides, ch = cfg.sides, cfg.channels
        self.levels = len(sides)
        rgb_levels = range(self.levels) if cfg.progressive else [self.levels - 1]
        self.from_rgb = nn.ModuleList(EqualConv2d(cfg.data_shape[0], ch(i), 1) for i in rgb_levels)
        self.blocks = nn.ModuleList(DBlock(ch(i), ch(i - 1)) for i in range(1, self.levels))  # blocks[i-1]: side i
        self.mbstd = MinibatchStd(cfg.mbstd_group)
        self.conv = EqualConv2d(ch(0) + 1, ch(0), 3)
        self.dense = EqualLinear(ch(0) * sides[0] ** 2, ch(0))
        self.out = EqualLinear(ch(0), 1, gain=1.0)
        self.growth = Growth(self.levels) if cfg.progressive else None

    def rgb(self, x: Tensor, level: int) -> Tensor:
        return F.leaky_relu(self.from_rgb[level if self.growth is not None else 0](x), SLOPE)

    def forward(self, x: Tensor, groups: int = 1) -> Tensor:
        """Scores (B,) of ``x`` made of ``groups`` equal parts (real, generated, ...) that the minibatch
        deviation keeps apart."""
        level, alpha = (self.growth.level, self.growth.alpha) if self.growth is not None else (self.levels - 1, 1.0)
        if level < self.levels - 1:  # growing: the input pooled down to the stage's side
            x = F.avg_pool2d(x, 2 ** (self.levels - 1 - level))
        h = self.rgb(x, level)
        for i in range(level, 0, -1):
            h = self.blocks[i - 1](h)
            if i == level and alpha < 1:  # fading in: blended with the last side's fromRGB
                h = torch.lerp(self.rgb(F.avg_pool2d(x, 2), level - 1), h, alpha)
        h = F.leaky_relu(self.conv(self.mbstd(h, groups)), SLOPE)
        h = F.leaky_relu(self.dense(h.flatten(1)), SLOPE)
        return self.out(h).squeeze(1)  # (B,)


# ---- the model -----------------------------------------------------------------------------------------

class StyleGAN(GAN):
    """StyleGAN's generator and discriminator (and, with ``ema``, the generator's moving average), with the
    interface of :class:`archzoo.models.gan.GAN`; ``batch_stats`` is set because D's minibatch deviation reads
    the batch, so the task tells D which parts of it are real and which generated."""

    batch_stats = True

    def networks(self, cfg: StyleGANConfig) -> tuple[nn.Module, nn.Module]:  # type: ignore[override]
        return StyleGenerator(cfg), StyleDiscriminator(cfg)

    def _sampler(self) -> StyleGenerator:
        return self.generator_ema if self.generator_ema is not None else self.generator

    def set_progress(self, fraction: float) -> None:
        """Set progressive growing's stage to ``fraction`` (in [0, 1]) of training done (see the module's
        docstring for the schedule); nothing to set without ``progressive``."""
        if not 0 <= fraction <= 1:
            raise ValueError(f"set_progress takes the fraction of training done, in [0, 1]; got {fraction}")
        growths = [self.generator.synthesis.growth, self.discriminator.growth]
        if self.generator_ema is not None:
            growths.append(self.generator_ema.synthesis.growth)
        for growth in growths:
            if growth is not None:
                growth.set(fraction)

    def stage(self) -> tuple[int, float]:
        """(side, alpha): the side G draws at now (before upsampling to the data's) and the fade-in."""
        level, alpha = self.generator.synthesis.stage()
        return self.cfg.sides[level], alpha

    def layer_ranges(self) -> dict[str, tuple[int, ...]]:
        """The style layers of "coarse", "middle" and "fine" (see :meth:`StyleGenerator.layer_ranges`)."""
        return self.generator.layer_ranges()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, truncation: float = 1.0) -> Tensor:
        """``n`` images (n, C, S, S) of codes z ~ N(0, I) and noise both drawn from ``generator``, truncated by
        ``truncation`` (psi), by the moving average of G where the model keeps one, else by G."""
        net = self._sampler()
        device = self.generator.w_avg.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=generator.device if generator else device)
        return net.draw(z.to(device), truncation, "random", generator).float()

    @torch.no_grad()
    def mix(self, z_a: Tensor, z_b: Tensor, layers: str | Iterable[int], truncation: float = 1.0,
            noise_mode: str = "const") -> Tensor:
        """Style mixing by the sampling generator: see :meth:`StyleGenerator.mix`."""
        self._check(z_a, (self.latent_dim,), "codes")
        self._check(z_b, (self.latent_dim,), "codes")
        return self._sampler().mix(z_a, z_b, layers, truncation, noise_mode).float()


# ---- registered variants -------------------------------------------------------------------------------

_DEFAULT = StyleGANConfig()
register_model("stylegan", StyleGAN, _DEFAULT, family="gan", task="adversarial", input_size=(_DEFAULT.latent_dim,),
               min_input_size=(_DEFAULT.latent_dim,), year=2019, url="https://arxiv.org/abs/1812.04948",
               paper="A Style-Based Generator Architecture for Generative Adversarial Networks",
               notes="mapping z -> w (4 x 128), learned constant, two AdaIN style layers per side with noise, "
                     "style mixing, truncation, equalized learning rate; D with a minibatch deviation; sides "
                     "28 (7-14-28), 32 and 64 (from 4) by the data's size; optional progressive growing")
