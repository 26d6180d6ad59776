"""Adversarial training: a generator G and a discriminator (critic) D, each with its own optimizer.

D's raw output o = D(x) is a logit for the minimax and non-saturating losses (D's probability is sigmoid(o))
and a score for the others. With o_r = D(x) on real data and o_f = D(G(z)) on generated data, averaged
over the batch (log sigmoid(o) = -softplus(-o) and log(1 - sigmoid(o)) = -softplus(o), computed stably):

==================  ==========================================  =============================  ======================
``gan_loss``        D minimises                                 G minimises                    paper
==================  ==========================================  =============================  ======================
minimax             -log sigmoid(o_r) - log(1 - sigmoid(o_f))   log(1 - sigmoid(o_f))          Goodfellow et al. 2014
non_saturating      -log sigmoid(o_r) - log(1 - sigmoid(o_f))   -log sigmoid(o_f)              Goodfellow et al. 2014
wasserstein         o_f - o_r                                   -o_f                           Arjovsky et al. 2017
least_squares       ((o_r - 1)^2 + o_f^2) / 2                   (o_f - 1)^2 / 2                Mao et al. 2017
hinge               relu(1 - o_r) + relu(1 + o_f)               -o_f                           Lim & Ye 2017
==================  ==========================================  =============================  ======================

(minimax is the game's own value: D maximises log D(x) + log(1 - D(G(z))) and G minimises its second
term, which saturates early in training; the non-saturating loss is the fix the same paper proposes.)
Regularisers of D, added to its loss: ``gp_lambda`` * E[(||grad D(x^)||_2 - 1)^2] on x^ = e x + (1 - e) G(z),
e ~ U(0, 1) per sample (Gulrajani et al. 2017, the two-sided penalty); ``r1_gamma`` / 2 * E[||grad D(x)||^2]
on real data (Mescheder, Geiger & Nowozin 2018); and ``clip_value`` c: D's weights clamped to [-c, c]
after each of its steps (Arjovsky et al. 2017). ``diffaugment`` (Zhao et al. 2020; archzoo.layers.diffaugment)
passes every image D sees, real, generated or interpolated, through one random differentiable transform, in
D's steps and in G's, so that D cannot memorise a few hundred images and G still learns the un-augmented
ones; R1's gradient is taken at the real images, through the transform. (Its draws are each process's own
under torchrun, so that run is not the single process's step for step.)

A training step takes ``batch_size`` real samples and cuts them into ``critic_steps`` equal parts: D steps
once on each (with as many fresh codes z), then G steps once on one part's worth of codes, then the moving
average of G (``ema`` > 0) is updated. So every real sample is seen once an epoch, and each D step sees
fresh data, as in the papers' loops; the WGAN recipes' batch of 320 is five critic steps of 64. Codes (and
the penalty's e) are drawn from the global generator at the size of the global batch and each process keeps
its rows, so torchrun's processes together compute what one process would. Real and generated samples (and
interpolates) go through D as one call, seen apart (``groups``) by a discriminator with batch statistics
(DCGAN's batch norm), as Radford et al.'s loop passes them apart.

Under torchrun, G and D are wrapped in DistributedDataParallel each (:meth:`AdversarialTask.distribute`):
a step calls them apart and leaves one of them without gradients, which one wrapper of the whole model would
not allow. ``train_step`` returns ``loss_d``, ``loss_g``, ``d_real`` and ``d_fake`` (D's mean output on the
last part's real and generated data: a probability for the minimax and non-saturating losses, else the
score), ``grad_norm_d`` and ``grad_norm_g`` (as applied, after any clipping); its ``loss`` is ``loss_d``,
or a non-finite ``loss_g`` when G's loss is, so that the engine stops a diverged run on either. These figures
(and ``gp``, ``r1`` where set) are the task's ``train_metrics``: the engine logs their means over each epoch to
metrics.jsonl as a row of split "train".

Evaluation (each epoch, on the validation split): the same figures on the split's real data and as many
generated samples (codes from a generator seeded by the batch index). On the 2-D mixtures
(archzoo.data.sources.mixtures) also ``modes_covered`` and ``high_quality`` of 2,500 samples (see
:func:`mode_metrics`); best.safetensors is chosen by ``modes_covered`` there. On images it is the latest
evaluation's (``best_metric`` "epoch"): no validation figure ranks generators short of judging their samples
(D's loss would pick the epoch where D was weakest: early in a run, or a low-resolution stage of progressive
growing), and so `archzoo sample` draws from the generator that ``metrics.samples`` judged. ``d_accuracy`` is
the share of the real and generated samples D tells apart at its decision boundary (0 for the logit losses and
hinge, 0.5 for least squares; none for the Wasserstein critic): at 99% or more D wins outright,
:meth:`AdversarialTask.unhealthy` says so, and after ``unhealthy_patience`` (5) such evaluations in a row the
engine stops the run, keeping the last healthy epoch's checkpoint as checkpoints/healthy. At the end of
training: on the mixtures, ``metrics.samples`` (mode figures of 2,500 samples) and a scatter of real and
generated points in ``figures/samples.png``; on images, ``metrics.samples`` from
archzoo.analysis.generated.sample_metrics. Samples come from the moving average of G where there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data import Batcher, Dataset
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.layers.diffaugment import check_policy, diff_augment
from archzoo.tasks.base import TensorPlan, unwrap_model

MODE_SAMPLES = 2_500  # samples judged for mode coverage (VEEGAN, PacGAN)
MODE_MIN_SAMPLES = 20  # high-quality samples a mode needs to count as covered (PacGAN)
QUALITY_STDS = 3.0  # a sample within this many standard deviations of its nearest mode is of high quality


def _minimax(o_real: Tensor, o_fake: Tensor) -> Tensor:
    return F.softplus(-o_real).mean() + F.softplus(o_fake).mean()  # -log s(o_r) - log(1 - s(o_f))


GAN_AUGMENTATIONS = ("none", "flip")  # what a GAN may be shown: mirrored images are as likely as the originals

# D's decision boundary per loss: a sample scored above it is called real (no boundary for the Wasserstein critic)
BOUNDARIES = {"minimax": 0.0, "non_saturating": 0.0, "least_squares": 0.5, "hinge": 0.0}
D_WINS = 0.99  # D wins outright when it tells at least this share of real and generated samples apart

# name -> (D's loss of (o_real, o_fake), G's loss of o_fake, whether D's output is a logit)
LOSSES: dict[str, tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor], bool]] = {
    "minimax": (_minimax, lambda o_fake: -F.softplus(o_fake).mean(), True),  # log(1 - s(o_f))
    "non_saturating": (_minimax, lambda o_fake: F.softplus(-o_fake).mean(), True),  # -log s(o_f)
    "wasserstein": (lambda o_real, o_fake: o_fake.mean() - o_real.mean(), lambda o_fake: -o_fake.mean(), False),
    "least_squares": (lambda o_real, o_fake: 0.5 * ((o_real - 1).square().mean() + o_fake.square().mean()),
                      lambda o_fake: 0.5 * (o_fake - 1).square().mean(), False),
    "hinge": (lambda o_real, o_fake: F.relu(1 - o_real).mean() + F.relu(1 + o_fake).mean(),
              lambda o_fake: -o_fake.mean(), False),
}


def gan_losses(name: str) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor], bool]:
    if name not in LOSSES:
        raise ConfigError(f"unknown gan_loss {name!r}; choose one of: {', '.join(LOSSES)}")
    return LOSSES[name]


def input_gradient_norms(outputs: Tensor, inputs: Tensor) -> Tensor:
    """||d outputs_i / d inputs_i||_2 per sample (B,), differentiable (for a penalty on it)."""
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad.flatten(1).norm(dim=1)


def gradient_penalty(outputs: Tensor, interpolates: Tensor) -> Tensor:
    """WGAN-GP's E[(||grad D(x^)||_2 - 1)^2] of D's ``outputs`` (B,) on ``interpolates`` (which require grad)."""
    return (input_gradient_norms(outputs, interpolates) - 1).square().mean()


def r1_penalty(outputs: Tensor, real: Tensor) -> Tensor:
    """R1's E[||grad D(x)||_2^2] of D's ``outputs`` (B,) on ``real`` data (which require grad); times gamma / 2."""
    return input_gradient_norms(outputs, real).square().mean()


def mode_metrics(samples: Tensor, modes: Tensor, std: float, min_samples: int = MODE_MIN_SAMPLES) -> dict[str, Any]:
    """How ``samples`` (N, 2) cover a mixture of Gaussians of ``std`` around ``modes`` (K, 2).

    Each sample is assigned to its nearest mode; it is of high quality when it lies within 3 std of it.
    ``high_quality`` is the share of high-quality samples; a mode is covered when it receives at least
    ``min_samples`` high-quality samples (20 of 2,500, Lin et al.'s PacGAN rule, after Srivastava et al.'s
    VEEGAN); ``mode_counts`` are the high-quality samples of each mode.
    """
    samples, modes = samples.detach().float().cpu(), modes.float().cpu()
    dist = torch.cdist(samples, modes)  # (N, K)
    nearest, index = dist.min(1)
    good = nearest <= QUALITY_STDS * std
    counts = torch.bincount(index[good], minlength=len(modes))
    return {"n": len(samples), "modes": len(modes), "modes_covered": int((counts >= min_samples).sum()),
            "high_quality": float(good.double().mean()) if len(samples) else 0.0, "mode_counts": counts.tolist()}


def _rows(t: Tensor) -> Tensor:
    """This process's rows of a tensor drawn at the global batch size (rank::world_size, as the Batcher)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return t[torch.distributed.get_rank()::torch.distributed.get_world_size()]
    return t


def _world_size() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return 1


def _discriminator_names(k: int) -> list[str]:
    """The optimizers' names of K discriminators: "discriminator" for one, "discriminator0".. for more."""
    return ["discriminator"] if k == 1 else [f"discriminator{i}" for i in range(k)]


def _grad_norm(module: nn.Module) -> Tensor:
    norms = [p.grad.detach().float().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm() if norms else torch.zeros(())


# ---- data --------------------------------------------------------------------------------------------

class AdversarialPlan(TensorPlan):
    """Real samples only: 2-D points as they are, or images scaled to the generator's output range ([-1, 1]
    for tanh, [0, 1] for sigmoid), mirrored at random with ``augment=flip`` (no other augmentation: a GAN
    reproduces what it is shown, crops and all; DiffAugment, which G's gradient passes through, is the
    task's). Tells the model the data's shape, its output activation and whether to keep a moving average of G
    (the run's ``ema``)."""

    def __init__(self, ds: Dataset, cfg: TrainConfig) -> None:
        super().__init__(ds, cfg)
        self.points = not ds.is_image
        self.augment = cfg.augment or "none"
        if self.augment not in GAN_AUGMENTATIONS or (self.points and self.augment != "none"):
            raise ConfigError(f"augment={self.augment!r}: a GAN learns what it is shown, so an augmentation shows in "
                              f"its samples; use augment=flip (images that look alike mirrored: faces, clothes) or "
                              f"none")
        self.ema = cfg.ema > 0
        try:
            if check_policy(cfg.diffaugment) and self.points:
                raise ValueError("it transforms images and these data are points; leave it out")
        except ValueError as exc:
            raise ConfigError(f"diffaugment={cfg.diffaugment!r}: {exc}") from None

    def out_act(self, cfg: TrainConfig) -> str:
        """The generator's output activation: the plan's default unless the run sets it (model.out_act)."""
        return str(cfg.model_overrides.get("out_act", "none" if self.points else "tanh"))

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "data_shape" in fields:
            out["data_shape"] = tuple(self.ds.input_shape)
        if "out_act" in fields:
            out["out_act"] = "none" if self.points else "tanh"
        if "ema" in fields:  # the model keeps G's moving average when the run asks for one (--set ema=DECAY)
            out["ema"] = self.ema
        return out

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[Batcher, dict[str, Batcher]]:
        scale: dict[str, Any] = {}
        if not self.points and self.out_act(cfg) == "tanh":  # (x - 0.5) / 0.5: pixels in [-1, 1]
            channels = self.ds.input_shape[0]
            scale = dict(mean=(0.5,) * channels, std=(0.5,) * channels)
        if cfg.batch_size % (cfg.critic_steps * world_size):
            raise ConfigError(f"batch_size {cfg.batch_size} does not divide into critic_steps={cfg.critic_steps} equal "
                              f"parts over {world_size} processes; use a multiple of {cfg.critic_steps * world_size}")
        common = dict(device=device, channels_last=False, **scale)
        train = Batcher(self.ds.splits["train"], cfg.batch_size, shuffle=True, seed=cfg.seed, rank=rank,
                        world_size=world_size, augment=self.augment, **common)
        evals = {name: Batcher(split, cfg.eval_batch_size, **common)
                 for name, split in self.ds.splits.items() if name != "train"}
        return train, evals

    def check_fits(self, model: nn.Module, batch: tuple[Tensor, Tensor]) -> None:
        x = batch[0][:2]
        inner = unwrap_model(model)
        made = model(torch.zeros(2, inner.latent_dim, device=x.device), mode="generate")
        if made.shape[1:] != x.shape[1:]:
            raise ValueError(f"the generator makes samples of shape {tuple(made.shape[1:])} but the data are "
                             f"{tuple(x.shape[1:])}: set model.data_shape={tuple(x.shape[1:])}")
        model(x, mode="discriminate")


# ---- the task ----------------------------------------------------------------------------------------

class DistributedParts(nn.Module):
    """The networks of a game, each in a DistributedDataParallel wrapper of its own (``parts``: the name each is
    called by -> the model's attribute that holds it), so that each backward reduces the gradients of the
    network it is for; ``module`` is the model itself (what archzoo.tasks.base.unwrap_model finds)."""

    def __init__(self, net: nn.Module, parts: dict[str, str]) -> None:
        super().__init__()
        inner = unwrap_model(net)
        compiled = hasattr(net, "_orig_mod")  # --compile: compile each part inside its wrapper
        wrap = (lambda m: nn.parallel.DistributedDataParallel(torch.compile(m))) if compiled \
            else nn.parallel.DistributedDataParallel
        self.parts = nn.ModuleDict({name: wrap(getattr(inner, attr)) for name, attr in parts.items()})
        self.__dict__["module"] = inner  # not a submodule: the parts already hold its weights


class _DistributedGAN(DistributedParts):
    """G and D wrapped each, called as the GAN is (``mode``)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__(net, {"generate": "generator", "discriminate": "discriminator"})

    def forward(self, x: Tensor, mode: str = "score", **kwargs: int) -> Tensor:
        if mode == "score":
            return self.parts["discriminate"](self.parts["generate"](x))
        return self.parts[mode](x, **kwargs)


class AdversarialTask:
    name = "adversarial"

    def __init__(self, points: bool) -> None:
        self.points = points
        self.best_metric = "modes_covered" if points else "epoch"  # images: the latest (see the docstring)
        self.higher_is_better = True
        self.modes: Tensor | None = None
        self.mode_std = 0.0
        self.loss_name = "non_saturating"
        self.run_dir: Path | None = None
        self.train_metrics: tuple[str, ...] = ()  # the step's figures the engine logs as epoch means
        self._grows: nn.Module | None = None  # the model, when it grows with training (set_progress)
        self.epochs = 1

    def plan(self, ds: Dataset, cfg: TrainConfig, run_dir: Path | None = None) -> AdversarialPlan:
        gan_losses(cfg.gan_loss)
        self.loss_name = cfg.gan_loss
        self.train_metrics = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                              *(("gp",) if cfg.gp_lambda > 0 else ()), *(("r1",) if cfg.r1_gamma > 0 else ()))
        if cfg.batch_size % cfg.critic_steps:
            raise ConfigError(f"batch_size {cfg.batch_size} does not divide into critic_steps={cfg.critic_steps} "
                              f"equal parts; use a multiple of {cfg.critic_steps} (e.g. {64 * cfg.critic_steps})")
        if self.points:
            self.modes = torch.tensor(ds.notes["modes"], dtype=torch.float32)
            self.mode_std = float(ds.notes["mode_std"])  # type: ignore[arg-type]
        return AdversarialPlan(ds, cfg)

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        inner = unwrap_model(model)
        self._grows = inner if hasattr(inner, "set_progress") else None
        self.epochs = cfg.epochs
        if (inner.generator_ema is not None) != (cfg.ema > 0):
            raise ConfigError("the generator's moving average is set by the training setting ema (--set ema=0.999),"
                              " not by the model's: leave model.ema alone")
        parts = inner.discriminator_parts()
        return {"generator": build_optimizer(inner.generator, cfg),
                **{name: build_optimizer(part, cfg)
                   for name, part in zip(_discriminator_names(len(parts)), parts, strict=True)}}

    def set_progress(self, epochs_done: float) -> None:
        """The engine's epochs done, passed on as the share of training done to a model that grows with it
        (StyleGAN's progressive growing: its ``set_progress``)."""
        if self._grows is not None:
            self._grows.set_progress(min(epochs_done / self.epochs, 1.0))

    def distribute(self, net: nn.Module) -> nn.Module:
        """The engine's wrapping under torchrun: G and D in a DistributedDataParallel each (see the module's
        docstring), called through the returned module as the GAN is."""
        return _DistributedGAN(net)

    def train_step(self, model: nn.Module, batch: tuple[Tensor, Tensor], optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        d_loss_fn, g_loss_fn, logits = gan_losses(cfg.gan_loss)
        inner = unwrap_model(model)
        real_all = batch[0]
        parts = real_all.chunk(cfg.critic_steps) if len(real_all) % cfg.critic_steps == 0 else ()
        if len(parts) != cfg.critic_steps:
            raise ConfigError(f"a batch of {len(real_all)} samples per process does not divide into "
                              f"critic_steps={cfg.critic_steps} parts; make batch_size a multiple of "
                              f"critic_steps x processes")
        n_global = len(parts[0]) * _world_size()  # one part's rows over all processes
        device = real_all.device
        batch_stats = inner.batch_stats  # D normalises over its batch: real, generated, interpolates apart
        k = inner.discriminator_count  # scores come as (K, B) rows, one per discriminator (GMAN), or (B,) for 1
        d_parts, d_optimizers = inner.discriminator_parts(), [optimizers[n] for n in _discriminator_names(k)]
        out: dict[str, Tensor] = {}
        ops = check_policy(cfg.diffaugment)

        def seen(x: Tensor) -> Tensor:  # what D is shown: x through DiffAugment's random transform, if set
            return diff_augment(x, ops) if ops else x

        for real in parts:
            with torch.no_grad():
                fake = model(_rows(torch.randn(n_global, inner.latent_dim, device=device)), mode="generate")
            if cfg.r1_gamma > 0:  # R1's gradient is taken at the real images, through the augmentation
                real = real.detach().requires_grad_(True)
            pieces = [seen(real), seen(fake.to(real.dtype))]
            if cfg.gp_lambda > 0:
                eps = _rows(torch.rand(n_global, device=device)).view(-1, *([1] * (real.ndim - 1)))
                interpolates = torch.lerp(pieces[1].detach(), pieces[0].detach(), eps).requires_grad_(True)
                pieces.append(interpolates)
            scores = model(torch.cat(pieces), mode="discriminate", groups=len(pieces) if batch_stats else 1)
            scores = scores.float().view(k, -1)  # (K, pieces x B)
            n = len(real)
            o_real, o_fake = scores[:, :n], scores[:, n:2 * n]
            losses = torch.stack([d_loss_fn(o_real[i], o_fake[i]) for i in range(k)])  # each D's own loss
            total = losses.sum()  # one backward; each D's gradient comes from its own loss alone
            if cfg.gp_lambda > 0:
                penalty = torch.stack([gradient_penalty(scores[i, 2 * n:], interpolates) for i in range(k)])
                total = total + cfg.gp_lambda * penalty.sum()
                out["gp"] = penalty.detach().mean()
            if cfg.r1_gamma > 0:
                r1 = torch.stack([r1_penalty(o_real[i], real) for i in range(k)])
                total = total + 0.5 * cfg.r1_gamma * r1.sum()
                out["r1"] = r1.detach().mean()
            precision.optimize(total, d_parts, d_optimizers, cfg.grad_clip)
            out["grad_norm_d"] = _grad_norm(inner.discriminator)
            if cfg.clip_value > 0:
                with torch.no_grad():
                    for p in inner.discriminator.parameters():
                        p.clamp_(-cfg.clip_value, cfg.clip_value)
        z = _rows(torch.randn(n_global, inner.latent_dim, device=device))
        o_gen = model(seen(model(z, mode="generate")), mode="discriminate").float().view(k, -1)
        g_losses = torch.stack([g_loss_fn(o_gen[i]) for i in range(k)])
        values = torch.zeros(k, device=device)
        if k > 1:  # how well each D does now (the value it maximises), for G's weighting of them
            with torch.no_grad():
                o_now = model(seen(real.detach()), mode="discriminate").float().view(k, -1)
                values = torch.stack([-d_loss_fn(o_now[i], o_gen[i].detach()) for i in range(k)])
        loss_g = inner.combine_losses(g_losses, values)
        precision.optimize(loss_g, inner.generator, optimizers["generator"], cfg.grad_clip)
        if inner.generator_ema is not None:
            inner.update_ema(cfg.ema)
        probability = torch.sigmoid if logits else (lambda t: t)
        loss_d = losses.detach().mean()
        out.update(loss=torch.where(torch.isfinite(loss_g), loss_d, loss_g.detach()), loss_d=loss_d,
                   loss_g=loss_g.detach(), d_real=probability(o_real.detach()).mean(),
                   d_fake=probability(o_fake.detach()).mean(), grad_norm_g=_grad_norm(inner.generator))
        return out

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, Any]:
        model = unwrap_model(model)
        d_loss_fn, g_loss_fn, logits = gan_losses(self.loss_name)
        probability = torch.sigmoid if logits else (lambda t: t)
        sums = dict(loss_d=0.0, loss_g=0.0, d_real=0.0, d_fake=0.0, d_accuracy=0.0)
        boundary = BOUNDARIES.get(self.loss_name)
        count = model.discriminator_count
        n = 0
        for i, batch in enumerate(batches):
            real = batch[0]
            g = torch.Generator().manual_seed(i)  # the same codes at every evaluation
            z = torch.randn(len(real), model.latent_dim, generator=g).to(real.device)
            o_real = model(real, mode="discriminate").float().view(count, -1)  # (K, B)
            o_fake = model(model(z, mode="generate"), mode="discriminate").float().view(count, -1)
            k = len(real)
            # each figure the mean over the K discriminators (G's loss: against each, unweighted)
            sums["loss_d"] += sum(d_loss_fn(o_real[i], o_fake[i]).item() for i in range(count)) / count * k
            sums["loss_g"] += sum(g_loss_fn(o_fake[i]).item() for i in range(count)) / count * k
            sums["d_real"] += probability(o_real).sum().item() / count
            sums["d_fake"] += probability(o_fake).sum().item() / count
            if boundary is not None:  # real called real and generated called generated, half each
                sums["d_accuracy"] += 0.5 * ((o_real > boundary).sum() + (o_fake <= boundary).sum()).item() / count
            n += k
        if n == 0:
            nothing = {"loss_d": float("nan"), "samples": 0}
            return {**nothing, "modes_covered": float("nan")} if self.points else nothing
        metrics: dict[str, Any] = {key: value / n for key, value in sums.items()}
        if boundary is None:
            del metrics["d_accuracy"]
        metrics.update(loss=metrics["loss_d"], gan_loss=self.loss_name, samples=n)
        if self.points and self.modes is not None:
            drawn = model.sample(MODE_SAMPLES, torch.Generator().manual_seed(0))
            found = mode_metrics(drawn, self.modes, self.mode_std)
            metrics.update(modes_covered=found["modes_covered"], high_quality=found["high_quality"])
        return metrics

    def unhealthy(self, metrics: dict[str, Any]) -> str | None:
        """What is wrong with an evaluation, if anything: a discriminator that wins outright (it tells at least
        99% of the split's real samples and as many generated ones apart), which leaves G no gradient to
        learn from. The engine stops the run after ``unhealthy_patience`` such evaluations in a row."""
        accuracy = metrics.get("d_accuracy")
        if accuracy is not None and accuracy >= D_WINS:
            return (f"the discriminator wins outright (it tells {accuracy:.1%} of real and generated samples apart): "
                    f"the game has collapsed; lower D's learning rate, or try gan_loss=wasserstein with gp_lambda=10")
        return None

    def final_metrics(self, model: nn.Module, cfg: TrainConfig) -> dict[str, dict[str, Any]]:
        """At the end of a run: the samples judged (see the module's docstring), as ``metrics.samples``."""
        model = unwrap_model(model)
        was_training = model.training
        model.eval()
        try:
            if self.points and self.modes is not None:
                drawn = model.sample(MODE_SAMPLES, torch.Generator().manual_seed(cfg.seed))
                metrics = mode_metrics(drawn, self.modes, self.mode_std)
                if cfg.out:
                    real = load_real_points(cfg, MODE_SAMPLES)
                    metrics["figure"] = str(scatter(real, drawn, Path(cfg.out) / "figures" / "samples.png",
                                                    title=f"{cfg.model} on {cfg.data}: {MODE_SAMPLES} samples"))
                return {"samples": metrics}
            from archzoo.analysis.generated import FEATURE_CLASSIFIERS, sample_metrics

            if cfg.eval_samples == 0 or cfg.data not in FEATURE_CLASSIFIERS:
                return {}
            return {"samples": sample_metrics(lambda k, g: (to_unit(model, model.sample(k, g)), None), cfg.data,
                                              n=cfg.eval_samples, data_root=cfg.data_root, seed=cfg.seed)}
        finally:
            model.train(was_training)


def to_unit(model: nn.Module, samples: Tensor) -> Tensor:
    """Generated images in [0, 1]: a tanh generator's [-1, 1] mapped back."""
    return (samples + 1) / 2 if model.cfg.out_act == "tanh" else samples


def load_real_points(cfg: TrainConfig, n: int) -> Tensor:
    """The first ``n`` test points of the run's data, to draw beside the samples."""
    from archzoo.data import load_dataset

    return load_dataset(cfg.data, root=cfg.data_root).splits["test"].x[:n]


def scatter(real: Tensor, fake: Tensor, path: Path, *, title: str = "") -> Path:
    """Draw real and generated 2-D points over each other into ``path`` (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("drawing samples needs matplotlib: pip install matplotlib") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 5))
    try:
        real, fake = real.detach().float().cpu(), fake.detach().float().cpu()
        ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.4, label="real", color="tab:blue")
        ax.scatter(fake[:, 0], fake[:, 1], s=3, alpha=0.4, label="generated", color="tab:orange")
        ax.set_aspect("equal")
        ax.legend(loc="upper right", markerscale=4)
        ax.set_title(title, fontsize=9)
        fig.savefig(path, dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
