"""Autoencoders and variational autoencoders: deterministic codes, and codes with a prior to sample from.

Autoencoder (Rumelhart, Hinton & Williams 1986; Hinton & Salakhutdinov, "Reducing the Dimensionality of
Data with Neural Networks", Science 2006, https://doi.org/10.1126/science.1127647)::

    z = encoder(x),  x^ = sigmoid(decoder(z)),  trained on ||x - x^||^2 (or the pixels' cross-entropy)

The denoising autoencoder (Vincent et al. 2008) is the same model trained by the reconstruction task's
``noise`` setting on x~ = corrupt(x): it is not a separate architecture.

Variational autoencoder (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
https://arxiv.org/abs/1312.6114)::

    q(z|x) = N(mu(x), diag(sigma(x)^2)),  z = mu + sigma * eps, eps ~ N(0, I)   (the reparameterisation trick)
    p(z) = N(0, I),  p(x|z) = Bernoulli(sigmoid(decoder(z)))  or  N(sigmoid(decoder(z)), s^2)
    -ELBO = -E_q[log p(x|z)] + KL(q(z|x) || p(z)),  KL = -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2)

``vae_mlp`` is the 784-400-20 network of the paper's MNIST experiments as PyTorch's examples/vae writes it
(652,824 parameters, pinned). The conditional VAE (Sohn, Lee & Yan, "Learning Structured Output
Representation using Deep Conditional Generative Models", NeurIPS 2015) gives encoder and decoder the
class as well: q(z|x, y), p(x|z, y) (one-hot, appended to the flattened image or as constant channels to a
convolutional encoder, and to the code). The beta of beta-VAE (Higgins et al., ICLR 2017) weighs the KL
term in the vae task, not here.

Deviations: the Gaussian decoder learns one standard deviation per channel (the calibrated decoder of
Rybkin et al. 2021) instead of fixing it; its mean is a sigmoid, so that both decoders draw images in
[0, 1]. The convolutional encoder and decoder are the 4x4 stride-2 stacks of Higgins et al.'s beta-VAE
(ReLU, no normalisation), sized here for 28x28 images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.layers import check_image_input
from archzoo.registry import register_model

LIKELIHOODS = ("bernoulli", "gaussian")


@dataclass(frozen=True)
class AutoencoderConfig:
    """Images (in_channels, *image_size) <-> codes of ``latent_dim``.

    ``arch`` "mlp": the flattened image through ``hidden`` fully connected layers; "conv": 4x4 stride-2
    convolutions of ``widths`` channels (each halves the image, so image_size must divide by
    2 ** len(widths)), then ``hidden`` fully connected layers. The decoder mirrors the encoder.
    For the VAE: ``likelihood`` of p(x|z), and ``conditional`` on one of ``num_classes`` classes.
    """

    arch: str = "mlp"
    in_channels: int = 1
    image_size: tuple[int, int] = (28, 28)
    hidden: tuple[int, ...] = (512, 256)
    widths: tuple[int, ...] = (32, 64)
    latent_dim: int = 32
    likelihood: str = "bernoulli"
    conditional: bool = False
    num_classes: int = 10

    def __post_init__(self) -> None:
        if self.arch not in ("mlp", "conv"):
            raise ValueError(f"unknown arch={self.arch!r}; choose one of: mlp, conv")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim (the bottleneck size) must be at least 1, got {self.latent_dim}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood={self.likelihood!r}; choose one of: {', '.join(LIKELIHOODS)}")
        if len(self.image_size) != 2 or min(self.image_size) < 1 or self.in_channels < 1:
            raise ValueError(f"image_size must be (H, W) and in_channels >= 1, got {self.image_size}, "
                             f"{self.in_channels}")
        if any(h < 1 for h in self.hidden) or any(w < 1 for w in self.widths) or self.num_classes < 1:
            raise ValueError("hidden sizes, widths and num_classes must be >= 1")
        if self.arch == "conv":
            step = 2 ** len(self.widths)
            if any(s % step for s in self.image_size):
                raise ValueError(f"arch='conv' with {len(self.widths)} stride-2 layers needs image sides divisible "
                                 f"by {step}, got image_size={tuple(self.image_size)}")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, *self.image_size)


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of ``sizes`` with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """(B, C + extra, H, W) -> (B, hidden[-1]) features; ``extra`` constant channels (a class's one-hot)."""

    def __init__(self, cfg: AutoencoderConfig, extra: int = 0) -> None:
        super().__init__()
        c, h, w = cfg.image_shape
        if cfg.arch == "conv":
            convs: list[nn.Module] = []
            width = c + extra
            for out in cfg.widths:
                convs += [nn.Conv2d(width, out, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
                width = out
            self.convs = nn.Sequential(*convs)
            step = 2 ** len(cfg.widths)
            flat = width * (h // step) * (w // step)
        else:
            self.convs = nn.Sequential()
            flat = c * h * w + extra
        self.fc = _mlp([flat, *cfg.hidden])
        self.act = nn.ReLU(inplace=True)
        self.out_features = cfg.hidden[-1] if cfg.hidden else flat

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.fc(self.convs(x).flatten(1))) if len(self.fc) else self.convs(x).flatten(1)


class Decoder(nn.Module):
    """(B, in_features) codes -> (B, C, H, W) logits: the encoder's layers in reverse."""

    def __init__(self, cfg: AutoencoderConfig, in_features: int) -> None:
        super().__init__()
        c, h, w = cfg.image_shape
        self.image_shape = cfg.image_shape
        if cfg.arch == "conv":
            step = 2 ** len(cfg.widths)
            self.grid = (cfg.widths[-1], h // step, w // step)
            flat = math.prod(self.grid)
            deconvs: list[nn.Module] = []
            widths = [*reversed(cfg.widths), c]
            for i, (a, b) in enumerate(pairwise(widths)):
                deconvs.append(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1))
                if i < len(widths) - 2:
                    deconvs.append(nn.ReLU(inplace=True))
            self.deconvs = nn.Sequential(*deconvs)
            self.fc = nn.Sequential(_mlp([in_features, *reversed(cfg.hidden), flat]), nn.ReLU(inplace=True))
        else:
            self.grid = cfg.image_shape
            self.deconvs = nn.Sequential()
            self.fc = _mlp([in_features, *reversed(cfg.hidden), c * h * w])

    def forward(self, z: Tensor) -> Tensor:
        x = self.fc(z).view(len(z), *self.grid)  # (B, widths[-1], H / 2^k, W / 2^k), or the image for mlp
        return self.deconvs(x)  # (B, C, H, W) logits


class Autoencoder(nn.Module):
    """Images (B, C, H, W) -> reconstruction logits (B, C, H, W); ``encode`` gives the (B, latent_dim) code."""

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.encoder = Encoder(cfg)
        self.to_code = nn.Linear(self.encoder.out_features, cfg.latent_dim)
        self.decoder = Decoder(cfg, cfg.latent_dim)

    def encode(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, self.cfg.image_size, f"ae_{self.cfg.arch}", exact=True)
        return self.to_code(self.encoder(x))  # (B, latent_dim)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Reconstructed images in [0, 1]."""
        return torch.sigmoid(self(x).float())


class VAE(nn.Module):
    """Images (B, C, H, W) [and classes (B,)] -> (logits (B, C, H, W), mu, logvar (B, latent_dim)).

    In training mode the code is sampled by the reparameterisation trick; in eval mode it is the mean
    (deterministic reconstructions). ``sample(n)`` draws from the prior.
    """

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.conditional, self.num_classes = cfg.conditional, cfg.num_classes
        extra = cfg.num_classes if cfg.conditional else 0
        self.encoder = Encoder(cfg, extra)
        self.mu = nn.Linear(self.encoder.out_features, cfg.latent_dim)
        self.logvar = nn.Linear(self.encoder.out_features, cfg.latent_dim)
        self.decoder = Decoder(cfg, cfg.latent_dim + extra)
        # the Gaussian decoder's log standard deviation, one per channel, learnt
        self.log_sigma = nn.Parameter(torch.zeros(cfg.in_channels)) if cfg.likelihood == "gaussian" else None

    def _condition(self, y: Tensor | None) -> Tensor | None:
        if not self.conditional:
            if y is not None:
                raise ValueError("this VAE is not conditional: call it without classes "
                                 "(build it with conditional=True to condition on them)")
            return None
        if y is None:
            raise ValueError(f"a conditional VAE needs the classes: call model(x, y) with y of shape (B,) "
                             f"in 0..{self.num_classes - 1}")
        checkable = y.device.type != "meta" and len(y) > 0  # a meta tensor (counting MACs) has no values
        if y.ndim != 1 or (checkable and (int(y.min()) < 0 or int(y.max()) >= self.num_classes)):
            raise ValueError(f"classes must be a (B,) tensor of ids in 0..{self.num_classes - 1}, "
                             f"got shape {tuple(y.shape)}")
        return F.one_hot(y.long(), self.num_classes).float()

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """q(z|x[, y]): (mu, logvar), each (B, latent_dim)."""
        check_image_input(x, self.cfg.in_channels, self.cfg.image_size, f"vae_{self.cfg.arch}", exact=True)
        onehot = self._condition(y)
        if onehot is not None:
            if self.cfg.arch == "conv":  # the class as constant channels: (B, C + K, H, W)
                x = torch.cat([x, onehot.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
            else:  # appended to the flattened image: (B, C*H*W + K)
                x = torch.cat([x.flatten(1), onehot.to(x.dtype)], 1)
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """p(x|z[, y]): logits (B, C, H, W); the image's mean is their sigmoid."""
        onehot = self._condition(y)
        if onehot is not None:
            z = torch.cat([z, onehot.to(z.dtype)], 1)  # (B, latent_dim + K)
        return self.decoder(z)

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor | None = None) -> Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I) (drawn here unless given): differentiable in mu and logvar."""
        eps = torch.randn_like(mu) if eps is None else eps
        return mu + eps * torch.exp(0.5 * logvar)

    def forward(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z, y), mu, logvar

    def log_prob(self, logits: Tensor, x: Tensor) -> Tensor:
        """log p(x|z) per image (B,), in nats, from the decoder's logits: Bernoulli (on intensities in
        [0, 1], as Kingma & Welling and PyTorch's example) or Gaussian with the learnt per-channel sigma."""
        logits, x = logits.float(), x.float()
        if self.log_sigma is None:
            return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        log_sigma = self.log_sigma.float().view(1, -1, 1, 1)
        z = (x - torch.sigmoid(logits)) * torch.exp(-log_sigma)
        return (-0.5 * z.square() - log_sigma - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images in [0, 1] (the decoder's means) of codes drawn from the prior N(0, I)."""
        device = self.mu.weight.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=generator.device if generator else device)
        return torch.sigmoid(self.decode(z.to(device), y).float())

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Images in [0, 1] decoded from the mean code."""
        mu, _ = self.encode(x, y)
        return torch.sigmoid(self.decode(mu, y).float())


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample (B,), in closed form."""
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)


# ---- registered variants -----------------------------------------------------------------------------

_HINTON = "Reducing the Dimensionality of Data with Neural Networks"
_HINTON_URL = "https://doi.org/10.1126/science.1127647"
_KINGMA = "Auto-Encoding Variational Bayes"
_KINGMA_URL = "https://arxiv.org/abs/1312.6114"
_IMAGE = dict(input_size=(1, 28, 28), min_input_size=(1, 28, 28),
              small_input="takes images of exactly image_size (default 28x28): set image_size and in_channels")

register_model("ae_mlp", Autoencoder, AutoencoderConfig(), family="autoencoder", task="reconstruction",
               paper=_HINTON, year=2006, url=_HINTON_URL, **_IMAGE,
               notes="784-512-256-32 and back, ReLU; latent_dim is the bottleneck (2 for a map of the data)")
register_model("ae_conv", Autoencoder, AutoencoderConfig(arch="conv", hidden=(256,)), family="autoencoder",
               task="reconstruction", paper=_HINTON, year=2006, url=_HINTON_URL, **_IMAGE,
               notes="two 4x4 stride-2 convolutions (32, 64 maps), 256 units, a 32-D code, and back")
register_model("vae_mlp", VAE, AutoencoderConfig(hidden=(400,), latent_dim=20), family="vae", task="vae",
               paper=_KINGMA, year=2014, url=_KINGMA_URL, **_IMAGE, reference_params=652_824,
               reference="pytorch/examples vae/main.py (784-400-20)",
               notes="784-400-20 with a Bernoulli decoder, as the paper's MNIST model and PyTorch's example")
register_model("vae_conv", VAE, AutoencoderConfig(arch="conv", hidden=(256,), latent_dim=20), family="vae",
               task="vae", paper=_KINGMA, year=2014, url=_KINGMA_URL, **_IMAGE,
               notes="the beta-VAE paper's 4x4 stride-2 encoder and decoder (32, 64 maps, 256 units), 20-D code")
register_model("cvae", VAE, AutoencoderConfig(hidden=(400,), latent_dim=20, conditional=True), family="vae",
               task="vae", paper="Learning Structured Output Representation using Deep Conditional Generative "
               "Models", year=2015, url="https://papers.nips.cc/paper/5775", **_IMAGE, inputs="image_label",
               notes="vae_mlp with the class's one-hot appended to the image and to the code")
