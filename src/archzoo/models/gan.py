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
(pixels kept in [0, 1], as Goodfellow et al.) or ``none`` (a linear output: 2-D points).

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

    def __post_init__(self) -> None:
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

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(len(z), *self.data_shape)  # (B, *data_shape)


class Discriminator(nn.Module):
    """(B, *data_shape) -> (B,) raw scores (logits), through ``d_hidden`` LeakyReLU(0.2) layers."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        sizes = [math.prod(cfg.data_shape), *cfg.d_hidden, 1]
        self.net = nn.Sequential(*_layers(sizes, nn.LeakyReLU, negative_slope=0.2))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)  # (B,)


class GAN(nn.Module):
    """A generator and a discriminator (and, with ``ema``, the generator's moving average)."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.generator = Generator(cfg)
        self.discriminator = Discriminator(cfg)
        self.generator_ema: Generator | None = None
        if cfg.ema:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)

    def _check(self, x: Tensor, shape: tuple[int, ...], what: str) -> None:
        if tuple(x.shape[1:]) != tuple(shape):
            raise ValueError(f"{what} of shape (B, {', '.join(map(str, shape))}) expected, got {tuple(x.shape)}")

    def discriminate(self, x: Tensor) -> Tensor:
        """D(x): raw scores (B,) of samples (B, *data_shape)."""
        self._check(x, tuple(self.cfg.data_shape), "samples")
        return self.discriminator(x)

    def generate(self, z: Tensor) -> Tensor:
        """G(z): samples (B, *data_shape) of codes (B, latent_dim)."""
        self._check(z, (self.latent_dim,), "codes")
        return self.generator(z)

    def score(self, z: Tensor) -> Tensor:
        """D(G(z)) (B,) of codes (B, latent_dim)."""
        self._check(z, (self.latent_dim,), "codes")
        return self.discriminator(self.generator(z))

    def forward(self, x: Tensor, mode: str = "score") -> Tensor:
        """``mode`` "score": D(G(x)) of codes; "generate": G(x) of codes; "discriminate": D(x) of samples."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        return getattr(self, mode)(x)

    @torch.no_grad()
    def update_ema(self, decay: float) -> None:
        """generator_ema <- decay * generator_ema + (1 - decay) * generator, weight by weight."""
        if self.generator_ema is None:
            raise ValueError("this GAN keeps no moving average: build it with ema=True")
        live = dict(self.generator.named_parameters())
        for name, avg in self.generator_ema.named_parameters():
            avg.lerp_(live[name], 1.0 - decay)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples (n, *data_shape) of codes z ~ N(0, I) drawn from ``generator``, by the moving average
        of G where the model keeps one, else by G."""
        net = self.generator_ema if self.generator_ema is not None else self.generator
        device = next(self.generator.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=generator.device if generator else device)
        return net(z.to(device)).float()


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
