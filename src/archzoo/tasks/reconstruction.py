"""Reconstruction: an autoencoder learns to give its input back through a bottleneck, or (the denoising
autoencoder of Vincent et al. 2008) to give the clean image back from a corrupted one.

Loss per image: the pixels' binary cross-entropy against the clean image (``recon_loss=bce``, the
intensities in [0, 1] as Bernoulli means) or the squared error of sigmoid(logits) (``mse``). Metrics:
``loss``, ``mse`` (per pixel), ``psnr`` (dB, the mean over images of 10 log10(1 / mse_image): images in
[0, 1]); with a ``noise`` setting also ``noisy_psnr``, the corrupted input's own PSNR. Evaluation noise
is drawn from a generator seeded by the batch index, so every evaluation sees the same corrupted images.

Image batches are not normalised: models see pixel intensities in [0, 1], which is what they give back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data import Batcher, Dataset
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.tasks.base import Batch, TensorPlan

# ---- corruption ------------------------------------------------------------------------------------

def _gaussian(x: Tensor, level: float, g: torch.Generator | None) -> Tensor:
    return x + level * _randn(x, g)  # x~ = x + sigma * eps


def _masking(x: Tensor, level: float, g: torch.Generator | None) -> Tensor:
    return x * (_rand(x, g) >= level)  # a fraction `level` of the pixels set to 0


def _salt_pepper(x: Tensor, level: float, g: torch.Generator | None) -> Tensor:
    u, coin = _rand(x, g), _rand(x, g)
    return torch.where(u < level, (coin < 0.5).to(x.dtype), x)  # hit pixels set to 0 or 1, evenly


def _rand(x: Tensor, g: torch.Generator | None) -> Tensor:
    return torch.rand(x.shape, generator=g, device=g.device if g is not None else x.device).to(x.device)


def _randn(x: Tensor, g: torch.Generator | None) -> Tensor:
    return torch.randn(x.shape, generator=g, device=g.device if g is not None else x.device).to(x.device, x.dtype)


# name -> (corrupt(x, level, generator), the valid range of the level, what the level means)
NOISES: dict[str, tuple[Callable[[Tensor, float, torch.Generator | None], Tensor], tuple[float, float], str]] = {
    "gaussian": (_gaussian, (0.0, 1.0), "the standard deviation, in (0, 1]"),
    "masking": (_masking, (0.0, 1.0), "the fraction of pixels set to 0, in (0, 1)"),
    "salt_pepper": (_salt_pepper, (0.0, 1.0), "the fraction of pixels set to 0 or 1, in (0, 1)"),
}


def check_noise(kind: str, level: float) -> None:
    """A ConfigError (one line: what is valid) unless ``kind`` is none or a known noise with its level in range."""
    if kind == "none":
        return
    if kind not in NOISES:
        raise ConfigError(f"unknown noise {kind!r}; choose one of: none, {', '.join(NOISES)}")
    _, (low, high), meaning = NOISES[kind]
    top_ok = level <= high if kind == "gaussian" else level < high
    if not (level > low and top_ok):
        raise ConfigError(f"noise_level {level} is outside the range of {kind} noise: {meaning} "
                          f"(--set noise_level=...)")


def corrupt(x: Tensor, kind: str, level: float, generator: torch.Generator | None = None) -> Tensor:
    """``x`` (images in [0, 1]) with ``kind`` noise of ``level``; unchanged for ``none``."""
    check_noise(kind, level)
    return x if kind == "none" else NOISES[kind][0](x, level, generator)


def psnr(images: Tensor, reference: Tensor) -> Tensor:
    """Peak signal-to-noise ratio per image (B,), in dB, of images in [0, 1]."""
    mse = (images.float() - reference.float()).square().flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp(min=1e-10))


# ---- data --------------------------------------------------------------------------------------------

class ImagePlan(TensorPlan):
    """Images in [0, 1] (no normalisation, no augmentation) with their labels; evaluation batches of the
    splits in ``tags`` carry one more item (the task's setting for that split, e.g. importance samples)."""

    def __init__(self, ds: Dataset, cfg: TrainConfig, task: str, tags: dict[str, Any] | None = None) -> None:
        if not ds.is_image:
            raise ConfigError(f"the {task} task needs images (fashion-mnist, or an image folder), not {ds.name}")
        super().__init__(ds, cfg)
        self.augment = "none"
        self.tags = tags or {}

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        out = super().model_overrides(fields)
        if "image_size" in fields:
            out["image_size"] = tuple(self.ds.input_shape[1:])
        if "num_classes" in fields and not self.ds.num_classes:
            out.pop("num_classes", None)
        return out

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[Batcher, dict[str, Any]]:
        common = dict(device=device, channels_last=self.channels_last)  # no mean/std: pixels stay in [0, 1]
        train = Batcher(self.ds.splits["train"], cfg.batch_size, shuffle=True, seed=cfg.seed, rank=rank,
                        world_size=world_size, **common)
        evals: dict[str, Any] = {}
        for name, split in self.ds.splits.items():
            if name != "train":
                batcher = Batcher(split, cfg.eval_batch_size, **common)
                evals[name] = Tagged(batcher, self.tags[name]) if name in self.tags else batcher
        return train, evals

    def check_fits(self, model: nn.Module, batch: Batch) -> None:
        x, y = batch[0][:2], batch[1][:2]
        model(x, y) if getattr(model, "conditional", False) else model(x)


class Tagged:
    """Evaluation batches of a split with one more item appended to each: ``(x, y, tag)``."""

    def __init__(self, batches: Batcher, tag: Any) -> None:
        self.inner, self.tag, self.batch_size = batches, tag, batches.batch_size

    def __len__(self) -> int:
        return len(self.inner)

    def epoch(self, epoch: int = 0, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor, Any]]:
        for x, y in self.inner.epoch(epoch, start_step):
            yield x, y, self.tag


# ---- the task --------------------------------------------------------------------------------------

def reconstruction_loss(logits: Tensor, x: Tensor, kind: str) -> Tensor:
    """Per image (B,): summed pixel cross-entropy (``bce``) or mean squared error of sigmoid(logits) (``mse``)."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="none").flatten(1).sum(1)
    return (torch.sigmoid(logits.float()) - x.float()).square().flatten(1).mean(1)


RECON_LOSSES = ("bce", "mse")


class ReconstructionTask:
    name = "reconstruction"
    best_metric = "mse"
    higher_is_better = False

    def __init__(self) -> None:
        self.recon_loss, self.noise, self.noise_level = "bce", "none", 0.0

    def plan(self, ds: Dataset, cfg: TrainConfig, run_dir: Path | None = None) -> ImagePlan:
        if cfg.recon_loss not in RECON_LOSSES:
            raise ConfigError(f"unknown recon_loss {cfg.recon_loss!r}; choose one of: {', '.join(RECON_LOSSES)}")
        check_noise(cfg.noise, cfg.noise_level)
        self.recon_loss, self.noise, self.noise_level = cfg.recon_loss, cfg.noise, cfg.noise_level
        return ImagePlan(ds, cfg, self.name)

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model, cfg)}

    def train_step(self, model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        x = batch[0]
        noisy = corrupt(x, self.noise, self.noise_level)  # the global generator: checkpointed, so resumable
        loss = reconstruction_loss(model(noisy), x, self.recon_loss).mean()
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, Any]:
        loss_sum, sq_sum, psnr_sum, noisy_psnr_sum, n, pixels = 0.0, 0.0, 0.0, 0.0, 0, 0
        for i, batch in enumerate(batches):
            x = batch[0]
            g = torch.Generator().manual_seed(i)  # the same corrupted images at every evaluation
            noisy = corrupt(x, self.noise, self.noise_level, g)
            logits = model(noisy).float()
            loss_sum += reconstruction_loss(logits, x, self.recon_loss).sum().item()
            out = torch.sigmoid(logits)
            sq_sum += (out - x).square().sum().item()
            psnr_sum += psnr(out, x).sum().item()
            if self.noise != "none":
                noisy_psnr_sum += psnr(noisy, x).sum().item()
            n, pixels = n + len(x), pixels + x.numel()
        metrics: dict[str, Any] = {"loss": loss_sum / max(n, 1), "mse": sq_sum / max(pixels, 1),
                                   "psnr": psnr_sum / max(n, 1), "samples": n}
        if self.noise != "none":
            metrics.update(noise=f"{self.noise} {self.noise_level:g}", noisy_psnr=noisy_psnr_sum / max(n, 1))
        return metrics
