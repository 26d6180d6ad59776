"""The variational autoencoder's objective: the negative evidence lower bound, in nats per image.

    -ELBO(x) = -E_q(z|x)[log p(x|z)] + KL(q(z|x) || p(z))      (``neg_elbo`` = ``recon`` + ``kl``)

Training minimises recon + w * kl per image, where w rises linearly from 0 to ``beta`` over the first
``kl_warmup_epochs`` (KL warm-up, Bowman et al. 2016; Sonderby et al. 2016) and is ``beta`` after
(beta-VAE, Higgins et al. 2017). The reported ``neg_elbo`` always uses w = 1: it is a bound on -log p(x).
Evaluation estimates the expectation with one code per image, drawn from a generator seeded by the batch
index (the same draw at every evaluation). ``active_units`` counts the code dimensions whose posterior
mean varies over the split (Cov_x(E_q[z_u]) > 0.01, Burda et al. 2016). ``mse`` and ``psnr`` score the
reconstruction decoded from the mean code.

On the test split (``iw_samples`` = k > 0) the importance-weighted estimate of Burda, Grosse &
Salakhutdinov ("Importance Weighted Autoencoders", ICLR 2016, https://arxiv.org/abs/1509.00519):

    nll_iw(x) = -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x)

a tighter bound than -ELBO that tends to -log p(x) as k grows. With a conditional VAE every figure is
conditional on the image's class (-log p(x|y)). With the Bernoulli decoder on grey levels in [0, 1]
(as Kingma & Welling's and PyTorch's example) the figures are cross-entropies, not probabilities of
binary images; with the Gaussian decoder they are densities, and can be negative.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from archzoo.data import Dataset
from archzoo.engine.config import TrainConfig
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.models.autoencoder import kl_divergence
from archzoo.tasks.base import unwrap_model
from archzoo.tasks.reconstruction import ImagePlan, psnr

_LOG_2PI = math.log(2 * math.pi)


def importance_nll(model: nn.Module, x: Tensor, y: Tensor | None, k: int, generator: torch.Generator,
                   max_rows: int = 10_000) -> Tensor:
    """Burda et al.'s k-sample estimate of -log p(x) per image (B,), decoding at most ``max_rows`` codes at once."""
    mu, logvar = model.encode(x, y)
    mu, logvar = mu.float(), logvar.float()
    std = torch.exp(0.5 * logvar)
    b, d = mu.shape
    chunk = max(1, max_rows // b)
    log_w = []
    for start in range(0, k, chunk):
        m = min(chunk, k - start)
        eps = torch.randn((m, b, d), generator=generator).to(mu)
        z = mu + eps * std  # (m, B, D)
        logits = model.decode(z.flatten(0, 1), None if y is None else y.repeat(m))  # rows j * B + b
        log_px = model.log_prob(logits, x.repeat(m, *([1] * (x.ndim - 1)))).view(m, b)
        log_pz = -0.5 * (z.square() + _LOG_2PI).sum(-1)  # log N(z; 0, I)
        log_qz = -0.5 * (eps.square() + _LOG_2PI).sum(-1) - 0.5 * logvar.sum(-1)  # log N(z; mu, sigma^2)
        log_w.append(log_px + log_pz - log_qz)
    return -(torch.logsumexp(torch.cat(log_w), 0) - math.log(k))


class VAETask:
    name = "vae"
    best_metric = "neg_elbo"
    higher_is_better = False

    def __init__(self) -> None:
        self.beta, self.warmup_epochs, self.epochs_done = 1.0, 0.0, 0.0

    def plan(self, ds: Dataset, cfg: TrainConfig, run_dir: Path | None = None) -> ImagePlan:
        self.beta, self.warmup_epochs = cfg.beta, cfg.kl_warmup_epochs
        return ImagePlan(ds, cfg, self.name, tags={"test": cfg.iw_samples})

    def set_progress(self, epochs_done: float) -> None:
        """The engine's position in training, in epochs (fractional): it drives the KL warm-up."""
        self.epochs_done = epochs_done

    def kl_weight(self) -> float:
        if self.warmup_epochs <= 0:
            return self.beta
        return self.beta * min(1.0, self.epochs_done / self.warmup_epochs)

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model, cfg)}

    def train_step(self, model: nn.Module, batch: tuple[Tensor, Tensor], optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        x, y = batch[0], batch[1]
        inner = unwrap_model(model)
        logits, mu, logvar = model(x, y) if inner.conditional else model(x)
        recon, kl = -inner.log_prob(logits, x), kl_divergence(mu, logvar)
        loss = (recon + self.kl_weight() * kl).mean()
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        return {"loss": loss.detach(), "recon": recon.mean().detach(), "kl": kl.mean().detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, Any]:
        model = unwrap_model(model)
        recon_sum = kl_sum = sq_sum = psnr_sum = nll_sum = 0.0
        n, pixels, k = 0, 0, 0
        mu_sum = mu_sq = None
        for i, batch in enumerate(batches):
            x, labels = batch[0], batch[1]
            k = int(batch[2]) if len(batch) > 2 else 0
            y = labels if model.conditional else None
            g = torch.Generator().manual_seed(i)  # the same codes at every evaluation
            mu, logvar = model.encode(x, y)
            mu, logvar = mu.float(), logvar.float()
            z = model.reparameterize(mu, logvar, torch.randn(mu.shape, generator=g).to(mu))
            recon_sum += -model.log_prob(model.decode(z, y), x).sum().item()
            kl_sum += kl_divergence(mu, logvar).sum().item()
            mean = torch.sigmoid(model.decode(mu, y).float())
            sq_sum += (mean - x).square().sum().item()
            psnr_sum += psnr(mean, x).sum().item()
            mu64 = mu.double().sum(0), mu.double().square().sum(0)
            mu_sum = mu64[0] if mu_sum is None else mu_sum + mu64[0]
            mu_sq = mu64[1] if mu_sq is None else mu_sq + mu64[1]
            if k > 0:
                nll_sum += importance_nll(model, x, y, k, g).sum().item()
            n, pixels = n + len(x), pixels + x.numel()
        if n == 0:
            return {"neg_elbo": float("nan"), "samples": 0}
        variance = mu_sq / n - (mu_sum / n).square()
        recon, kl = recon_sum / n, kl_sum / n
        metrics: dict[str, Any] = {
            "loss": recon + kl, "neg_elbo": recon + kl, "recon": recon, "kl": kl,
            "active_units": int((variance > 0.01).sum()), "mse": sq_sum / pixels, "psnr": psnr_sum / n,
            "likelihood": model.cfg.likelihood, "samples": n,
        }
        if k > 0:
            metrics.update(nll_iw=nll_sum / n, iw_samples=k)
        return metrics

    def final_metrics(self, model: nn.Module, cfg: TrainConfig) -> dict[str, dict[str, Any]]:
        """At the end of a run: ``eval_samples`` images from the prior, judged by the dataset's feature
        classifier (see archzoo.analysis.generated), as ``metrics.samples``."""
        from archzoo.analysis.generated import FEATURE_CLASSIFIERS, sample_metrics

        if cfg.eval_samples == 0 or cfg.data not in FEATURE_CLASSIFIERS:
            return {}
        model = unwrap_model(model)
        was_training = model.training
        model.eval()
        try:
            return {"samples": sample_metrics(lambda k, g: draw(model, k, g), cfg.data, n=cfg.eval_samples,
                                              data_root=cfg.data_root, seed=cfg.seed)}
        finally:
            model.train(was_training)


def draw(model: nn.Module, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
    """``n`` images from a VAE's prior (a conditional one: of classes drawn uniformly) and those classes."""
    classes = None
    if model.conditional:
        classes = torch.randint(0, model.num_classes, (n,), generator=generator)
    device = next(model.parameters()).device
    return model.sample(n, None if classes is None else classes.to(device), generator), classes
