"""Generative adversarial networks: a generator G(z) that maps noise to data, and a discriminator D(x) that
tells real data from G's samples, trained against each other (by archzoo.tasks.adversarial).

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (https://arxiv.org/abs/1406.2661)::

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))],   z ~ N(0, I)

Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017 (https://arxiv.org/abs/1701.07875), and
Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 (https://arxiv.org/abs/1704.00028),
change the objective (a critic whose output is a score, not a probability, kept 1-Lipschitz by clipping its
weights or by a gradient penalty), not the networks: ``wgan`` and ``wgan_gp`` are the same MLPs as
``gan_mlp`` here, and what defines them (the loss, critic steps, clipping or penalty, optimiser) is their
recipe (archzoo.engine.recipes).

The networks: G is an MLP from z (latent_dim) through ``g_hidden`` ReLU layers to the data's shape, with
``out_act`` on its output; D is an MLP from the flattened data through ``d_hidden`` LeakyReLU(0.2) layers to
one raw score per sample (a logit: the task applies the sigmoid where the loss needs a probability, so that
the log-probabilities are computed stably). Deviations from Goodfellow et al.'s MNIST networks: z is
Gaussian, not uniform; D uses LeakyReLU and no dropout instead of maxout units with dropout.
Output activation: ``tanh`` for images (the adversarial task then scales pixels to [-1, 1]), ``sigmoid``
(pixels kept in [0, 1], as Goodfellow et al.) or ``none`` (a linear output: 2-D points). ``point_scale`` s
puts both networks at unit scale on points of another scale: G's output is multiplied by s and D's input
divided by it, so samples and the data stay in the data's units (Gulrajani et al.'s toy runs divide the grid of
25 Gaussians by 2.828, its points' root mean square; s = 1 leaves the networks as they are).

``dcgan`` (:class:`DCGAN`) keeps this interface with Radford et al.'s convolutional networks for 28, 32 and 64
pixel images.

With ``ema=True`` the model also holds ``generator_ema``, an exponential moving average of G's weights
(Yazıcı et al., "The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019; Karras et al. 2018):
it is part of the state dict (so checkpoints keep it and resume exactly), takes no gradient, and is what
:meth:`GAN.sample` draws from. The task updates it after every generator step.

Calls: ``model(z)`` is D(G(z)), one pass through both networks (what counting and the registry's checks
run); ``model(z, mode="generate")`` is G(z) and ``model(x, mode="discriminate")`` is D(x), so that a task
calls each network through whatever wraps the model (torch.compile, DistributedDataParallel).
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.registry import register_model

MODES = ("score", "generate", "discriminate")  # what GAN.forward computes, by name: the methods of that name
OUT_ACTIVATIONS: dict[str, type[nn.Module]] = {"none": nn.Identity, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


@dataclass(frozen=True)
class GANConfig:
    """G: (B, latent_dim) codes -> (B, *data_shape) samples; D: (B, *data_shape) -> (B,) scores."""

    data_shape: tuple[int, ...] = (1, 28, 28)
    latent_dim: int = 100
    g_hidden: tuple[int, ...] = (1200, 1200)
    d_hidden: tuple[int, ...] = (240, 240)
    out_act: str = "tanh"
    ema: bool = False
    point_scale: float = 1.0

    def __post_init__(self) -> None:
        if not (self.point_scale > 0 and math.isfinite(self.point_scale)):
            raise ValueError(f"point_scale (the data's scale) must be a positive number, got {self.point_scale}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim (the size of the noise z) must be at least 1, got {self.latent_dim}")
        if not self.data_shape or min(self.data_shape) < 1:
            raise ValueError(f"data_shape must be a non-empty shape of positive sizes, got {self.data_shape}")
        if any(h < 1 for h in (*self.g_hidden, *self.d_hidden)):
            raise ValueError(f"g_hidden and d_hidden sizes must be >= 1, got {self.g_hidden}, {self.d_hidden}")
        if self.out_act not in OUT_ACTIVATIONS:
            raise ValueError(f"unknown out_act={self.out_act!r}; choose one of: {', '.join(OUT_ACTIVATIONS)}")


def _layers(sizes: list[int], act: type[nn.Module] | None, **act_args: float) -> list[nn.Module]:
    """Linear layers of ``sizes``, each but the last followed by ``act``."""
    out: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        out.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 and act is not None:
            out.append(act(**act_args))
    return out


class Generator(nn.Module):
    """(B, latent_dim) -> (B, *data_shape), through ``g_hidden`` ReLU layers and ``out_act``."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        self.data_shape = tuple(cfg.data_shape)
        sizes = [cfg.latent_dim, *cfg.g_hidden, math.prod(cfg.data_shape)]
        self.net = nn.Sequential(*_layers(sizes, nn.ReLU), OUT_ACTIVATIONS[cfg.out_act]())
        self.scale = cfg.point_scale

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z).view(len(z), *self.data_shape)  # (B, *data_shape)
        return out * self.scale if self.scale != 1 else out


class Discriminator(nn.Module):
    """(B, *data_shape) -> (B,) raw scores (logits), through ``d_hidden`` LeakyReLU(0.2) layers."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        sizes = [math.prod(cfg.data_shape), *cfg.d_hidden, 1]
        self.net = nn.Sequential(*_layers(sizes, nn.LeakyReLU, negative_slope=0.2))
        self.scale = cfg.point_scale

    def forward(self, x: Tensor, groups: int = 1) -> Tensor:  # no batch statistics: groups change nothing
        x = x.flatten(1)
        return self.net(x / self.scale if self.scale != 1 else x).squeeze(1)  # (B,)


class GAN(nn.Module):
    """A generator and a discriminator (and, with ``ema``, the generator's moving average).

    ``batch_stats``: whether D normalises over the batch (DCGAN's batch norm), so that the task must pass
    real and generated samples through it apart, as Radford et al.'s training loop does."""

    batch_stats = False

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.generator, self.discriminator = self.networks(cfg)
        self.generator_ema: Generator | None = None
        if cfg.ema:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)

    def networks(self, cfg: GANConfig) -> tuple[nn.Module, nn.Module]:
        """G and D, built from the config (the MLPs here; DCGAN's convolutional ones in :class:`DCGAN`)."""
        return Generator(cfg), Discriminator(cfg)

    @property
    def discriminator_count(self) -> int:
        """K, the discriminators (1; GMAN's K): ``discriminate`` returns (B,) scores for 1, (K, B) for more."""
        return 1

    def discriminator_parts(self) -> list[nn.Module]:
        """The discriminators, each trained by its own optimizer."""
        return [self.discriminator]

    def combine_losses(self, losses: Tensor, values: Tensor) -> Tensor:
        """G's loss of its losses (K,) against the discriminators (the one loss, for one D)."""
        return losses.sum()

    def _check(self, x: Tensor, shape: tuple[int, ...], what: str) -> None:
        if tuple(x.shape[1:]) != tuple(shape):
            raise ValueError(f"{what} of shape (B, {', '.join(map(str, shape))}) expected, got {tuple(x.shape)}")

    def discriminate(self, x: Tensor, groups: int = 1) -> Tensor:
        """D(x): raw scores (B,) of samples (B, *data_shape); ``groups``: x holds that many equal parts of
        different kinds (real, generated) that a discriminator with batch statistics must see apart."""
        self._check(x, tuple(self.cfg.data_shape), "samples")
        return self.discriminator(x, groups=groups)

    def generate(self, z: Tensor) -> Tensor:
        """G(z): samples (B, *data_shape) of codes (B, latent_dim)."""
        self._check(z, (self.latent_dim,), "codes")
        return self.generator(z)

    def score(self, z: Tensor) -> Tensor:
        """D(G(z)) (B,) of codes (B, latent_dim)."""
        self._check(z, (self.latent_dim,), "codes")
        return self.discriminator(self.generator(z))

    def forward(self, x: Tensor, mode: str = "score", **kwargs: int) -> Tensor:
        """``mode`` "score": D(G(x)) of codes; "generate": G(x) of codes; "discriminate": D(x) of samples
        (``groups`` passed on)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        return getattr(self, mode)(x, **kwargs)

    @torch.no_grad()
    def update_ema(self, decay: float) -> None:
        """generator_ema <- decay * generator_ema + (1 - decay) * generator, weight by weight; buffers (batch
        norm's running statistics) are copied, not averaged."""
        if self.generator_ema is None:
            raise ValueError("this GAN keeps no moving average: build it with ema=True")
        live = dict(self.generator.named_parameters())
        for name, avg in self.generator_ema.named_parameters():
            avg.lerp_(live[name], 1.0 - decay)
        buffers = dict(self.generator.named_buffers())
        for name, kept in self.generator_ema.named_buffers():
            kept.copy_(buffers[name])

    def sampler(self) -> nn.Module:
        """The generator that draws samples: G's moving average where the model keeps one, else G."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, truncation: float = 1.0) -> Tensor:
        """``n`` samples (n, *data_shape) of codes z ~ N(0, I) drawn from ``generator``, by :meth:`sampler`.

        ``truncation`` psi < 1 pulls each code toward the prior's mean, z' = psi z (the truncation trick in
        z-space, a temperature: fewer unlikely codes, so more typical and less varied samples; StyleGAN's
        is in w-space)."""
        device = next(self.generator.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=generator.device if generator else device)
        return self.decode_codes(truncation * z.to(device))

    @torch.no_grad()
    def decode_codes(self, z: Tensor) -> Tensor:
        """Samples (B, *data_shape) of given codes z (B, latent_dim), by :meth:`sampler`."""
        self._check(z, (self.latent_dim,), "codes")
        return self.sampler()(z).float()


# ---- GMAN --------------------------------------------------------------------------------------------

COMBINES = ("mean", "softmax")  # how G weighs its losses against GMAN's discriminators


@dataclass(frozen=True)
class GMANConfig(GANConfig):
    """gan_mlp's networks with ``discriminators`` (K) discriminators, combined for G by ``combine``."""

    discriminators: int = 2
    combine: str = "mean"
    softmax_lambda: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.discriminators < 1:
            raise ValueError(f"discriminators (K) must be at least 1, got {self.discriminators}")
        if self.combine not in COMBINES:
            raise ValueError(f"unknown combine={self.combine!r}; choose one of: {', '.join(COMBINES)}")
        if self.softmax_lambda < 0:
            raise ValueError(f"softmax_lambda must be >= 0 (0: the mean), got {self.softmax_lambda}")


class Discriminators(nn.Module):
    """K discriminators of the same shape, each its own weights: (B, *data_shape) -> (K, B) scores."""

    def __init__(self, cfg: GMANConfig) -> None:
        super().__init__()
        self.nets = nn.ModuleList(Discriminator(cfg) for _ in range(cfg.discriminators))

    def forward(self, x: Tensor, groups: int = 1) -> Tensor:
        return torch.stack([net(x, groups=groups) for net in self.nets])


class GMAN(GAN):
    """Durugkar, Gemp & Mahadevan, "Generative Multi-Adversarial Networks", ICLR 2017
    (https://arxiv.org/abs/1611.01673): one generator against K discriminators D_1..D_K, each trained on its
    own as a GAN's D is (each with its own optimizer). G minimises a combination of its losses L_k against
    each D_k, weighted by how well each D_k does (V_k, the value D_k maximises, on the current batch)::

        L_G = sum_k w_k L_k,   w = softmax(lambda V)      (combine="softmax"; lambda = 0 is the mean)
        L_G = (1 / K) sum_k L_k                           (combine="mean", the paper's GMAN-0)

    Large lambda leans on the harshest discriminator (GMAN-max as lambda -> infinity); the mean is the
    forgiving teacher. The weights take no gradient. ``discriminate`` returns (K, B) scores. The networks are
    gan_mlp's (the paper's own are DCGAN-like): so the table compares the remedy, not the architecture.
    """

    def networks(self, cfg: GMANConfig) -> tuple[nn.Module, nn.Module]:  # type: ignore[override]
        return Generator(cfg), Discriminators(cfg)

    @property
    def discriminator_count(self) -> int:
        return self.cfg.discriminators

    def discriminator_parts(self) -> list[nn.Module]:
        """Each D_k, in order (the task gives each its own optimizer)."""
        return list(self.discriminator.nets)

    def combine_losses(self, losses: Tensor, values: Tensor) -> Tensor:
        """G's loss of its losses (K,) against each D_k and the D_k's values (K,) (how well each does)."""
        if self.cfg.combine == "mean" or self.cfg.softmax_lambda == 0:
            return losses.mean()
        weights = torch.softmax(self.cfg.softmax_lambda * values.detach(), 0)
        return (weights * losses).sum()


# ---- DCGAN -------------------------------------------------------------------------------------------

DCGAN_SIZES = {28: 7, 32: 4, 64: 4}  # image side -> the side G starts from (and D's last convolution covers)


@dataclass(frozen=True)
class DCGANConfig:
    """DCGAN's networks for square images of side 28, 32 or 64 (the layout follows the side).

    ``g_width`` is G's last hidden width (Radford et al.'s ngf, 64), doubling at each earlier layer;
    ``d_width`` is D's first width (ndf, 64), doubling at each later one."""

    data_shape: tuple[int, ...] = (1, 28, 28)
    latent_dim: int = 100
    g_width: int = 64
    d_width: int = 64
    out_act: str = "tanh"
    ema: bool = False

    def __post_init__(self) -> None:
        if self.latent_dim < 1 or self.g_width < 1 or self.d_width < 1:
            raise ValueError(f"latent_dim, g_width and d_width must be >= 1, got {self.latent_dim}, {self.g_width}, "
                             f"{self.d_width}")
        if len(self.data_shape) != 3 or self.data_shape[1] != self.data_shape[2] \
                or self.data_shape[1] not in DCGAN_SIZES:
            raise ValueError(f"dcgan makes square images of side {', '.join(map(str, DCGAN_SIZES))} "
                             f"(data_shape (C, H, W)), got data_shape={self.data_shape}")
        if self.out_act not in OUT_ACTIVATIONS:
            raise ValueError(f"unknown out_act={self.out_act!r}; choose one of: {', '.join(OUT_ACTIVATIONS)}")

    @property
    def doublings(self) -> int:
        """Stride-2 layers between the start side and the image: 2 for 28 (7, 14, 28), 3 for 32, 4 for 64."""
        side = self.data_shape[1]
        return (side // DCGAN_SIZES[side]).bit_length() - 1


class DCGANGenerator(nn.Module):
    """(B, latent_dim) -> (B, C, S, S): z as a 1x1 map, a transposed convolution to the start side s0 (7 or 4),
    then stride-2 transposed convolutions (kernel 4, padding 1) that double the side and halve the width,
    batch norm and ReLU after each but the last, ``out_act`` at the end (Radford et al. 2016, Fig. 1)."""

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        n = cfg.doublings
        widths = [cfg.g_width * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 512, 256, 128, 64 for 64 pixels
        start = DCGAN_SIZES[cfg.data_shape[1]]
        layers: list[nn.Module] = [nn.ConvTranspose2d(cfg.latent_dim, widths[0], start, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for a, b in itertools.pairwise(widths):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], cfg.data_shape[0], 4, 2, 1, bias=False),
                   OUT_ACTIVATIONS[cfg.out_act]()]
        self.net = nn.Sequential(*layers)
        self.latent_dim = cfg.latent_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(len(z), self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """(B, C, S, S) -> (B,) raw scores: stride-2 convolutions (kernel 4, padding 1) that halve the side and
    double the width, LeakyReLU(0.2) after each and batch norm after all but the first, then a convolution
    over the whole s0 x s0 map to one score (Radford et al. 2016; no pooling, no fully connected layer)."""

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        n = cfg.doublings
        widths = [cfg.d_width * 2 ** i for i in range(n)]  # e.g. 64, 128, 256, 512 for 64 pixels
        layers: list[nn.Module] = [nn.Conv2d(cfg.data_shape[0], widths[0], 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, True)]
        for a, b in itertools.pairwise(widths):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(widths[-1], 1, DCGAN_SIZES[cfg.data_shape[1]], 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, groups: int = 1) -> Tensor:
        """Scores (B,) of ``x`` cut into ``groups`` equal parts (real, generated, ...) that batch norm sees apart."""
        if groups == 1:
            return self.net(x).flatten()
        return torch.cat([self.net(part).flatten() for part in x.chunk(groups)])


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation: convolutions N(0, 0.02); batch norm scales N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGAN(GAN):
    """Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional Generative
    Adversarial Networks", ICLR 2016 (https://arxiv.org/abs/1511.06434): G and D all-convolutional, batch
    norm in both (not on G's output nor D's input), ReLU in G, LeakyReLU(0.2) in D, weights N(0, 0.02).
    Layouts: 64 pixels as the paper (G's widths 512-256-128-64 from a 4x4 start); 32 one stage fewer
    (256-128-64); 28 from a 7x7 start (128-64: 7, 14, 28), the layout common for MNIST-sized images. D's
    output is a raw score (the task applies the sigmoid the paper's D ends with)."""

    batch_stats = True

    def networks(self, cfg: DCGANConfig) -> tuple[nn.Module, nn.Module]:  # type: ignore[override]
        generator, discriminator = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
        dcgan_init(generator)
        dcgan_init(discriminator)
        return generator, discriminator


# ---- registered variants -----------------------------------------------------------------------------

_CARD = dict(family="gan", task="adversarial", input_size=(100,), min_input_size=(100,))
register_model("gan_mlp", GAN, GANConfig(), paper="Generative Adversarial Nets", year=2014,
               url="https://arxiv.org/abs/1406.2661", **_CARD,
               notes="G 100-1200-1200-784 (ReLU, tanh), D 784-240-240-1 (LeakyReLU); input: the code z. "
                     "Trains with the minimax or non-saturating loss")
register_model("wgan", GAN, GANConfig(), paper="Wasserstein GAN", year=2017, url="https://arxiv.org/abs/1701.07875",
               **_CARD, notes="gan_mlp's networks as generator and critic; its recipe: the Wasserstein loss, "
                              "weight clipping at 0.01, RMSprop 5e-5, 5 critic steps per generator step")
register_model("wgan_gp", GAN, GANConfig(), paper="Improved Training of Wasserstein GANs", year=2017,
               url="https://arxiv.org/abs/1704.00028", **_CARD,
               notes="gan_mlp's networks; its recipe: the Wasserstein loss with a gradient penalty of 10, "
                     "Adam 1e-4 betas (0, 0.9), 5 critic steps per generator step")
register_model("dcgan", DCGAN, DCGANConfig(), paper="Unsupervised Representation Learning with Deep Convolutional "
               "Generative Adversarial Networks", year=2016, url="https://arxiv.org/abs/1511.06434", **_CARD,
               notes="all-convolutional G and D with batch norm; layouts for 28 (7-14-28), 32 and 64 pixel images "
                     "chosen by the data's size; Adam 2e-4, beta1 0.5")
register_model("gman", GMAN, GMANConfig(), paper="Generative Multi-Adversarial Networks", year=2017,
               url="https://arxiv.org/abs/1611.01673", **_CARD,
               notes="gan_mlp's networks with K = 2 discriminators (a setting), G's losses combined by their mean "
                     "or a softmax of the discriminators' values; each D has its own optimizer")
