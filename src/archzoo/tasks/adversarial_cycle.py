"""CycleGAN's training: two generators and two discriminators, three optimizers and two histories of generated
images, on unpaired domains A and B (archzoo.models.cyclegan, archzoo.data.sources.unpaired).

Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV 2017
(https://arxiv.org/abs/1703.10593), Sections 3 and 4, as their reference code computes it. With real images a
and b, G = A -> B, F = B -> A, D's raw patch scores o and the criterion c(o, t) of ``gan_loss`` against target t,
averaged over the batch and D's grid of patches:

==================  ====================================  ===================================================
``gan_loss``        c(o, t)                               paper
==================  ====================================  ===================================================
least_squares       (o - t)^2                             Mao et al. 2017; Zhu et al.'s choice (the recipe's)
non_saturating      -t log s(o) - (1 - t) log(1 - s(o))   the reference code's "vanilla" GAN loss
==================  ====================================  ===================================================

::

    G and F minimise   L_G = c(D_B(G(a)), 1) + c(D_A(F(b)), 1)
                           + lambda (||F(G(a)) - a||_1 + ||G(F(b)) - b||_1)             cycle_lambda = 10
                           + lambda lambda_id (||G(b) - b||_1 + ||F(a) - a||_1)         identity_weight = 0.5
    D_A minimises      L_DA = (c(D_A(a), 1) + c(D_A(pool_A(F(b))), 0)) / 2
    D_B minimises      L_DB = (c(D_B(b), 1) + c(D_B(pool_B(G(a))), 0)) / 2

||.||_1 is the mean absolute difference per pixel, pixels in [-1, 1]. D's loss is halved (the paper: "we divide
the objective by 2 while optimizing D"); for least squares it is archzoo.tasks.adversarial's, and G's (unhalved,
as the paper's) twice that module's. The identity term (the paper's Section 5.2, for painting -> photo) is
weighted lambda lambda_id, as the reference code's. G and F step together with one optimizer, D_A and D_B each
with its own (optimizers "generators", "d_a", "d_b"); a step is G and F's step, then the discriminators' (one
backward of L_DA + L_DB), on the images G and F made before their step.

Image pools (Shrivastava et al., "Learning from Simulated and Unsupervised Images through Adversarial Training",
CVPR 2017, Section 2.3; Zhu et al. Section 4): each D is shown, in place of the newest generated images, a
history of ``pool_size`` (50) of them: :class:`ImagePool`. The pools are the task's state, saved with every
checkpoint (:meth:`CycleGANTask.state_tensors`) so that a resumed run goes on exactly; their random draws come
from the global generator, which the checkpoint keeps too.

Batches are (a, b): ``batch_size`` images of each domain, each domain in its own shuffled order (nothing pairs
them); an epoch is as many steps as the smaller domain fills. Under torchrun, the generators (one module, called
once a step) and each discriminator are wrapped in a DistributedDataParallel each, as
archzoo.tasks.adversarial's G and D; the pools see the generated images of every process (gathered) and draw at
the global batch size, so that the processes together compute what one would.

Step figures (``train_metrics``, logged as epoch means): ``loss_g`` (L_G), ``loss_d_a``, ``loss_d_b``, ``cycle``
and ``identity`` (the L1 sums above, unweighted, in [-1, 1] pixel units), ``d_real`` and ``d_fake`` (the
discriminators' mean output on real and on pooled generated images: a probability for non_saturating, else the
score). Evaluation (each epoch, validation split or else test): ``cycle_a`` = mean |F(G(a)) - a| and
``cycle_b`` = mean |G(F(b)) - b| in [0, 1] pixel units, ``cycle`` their mean, ``d_real`` and ``d_fake`` (on
translations); and where a feature classifier of the domains' dataset exists (archzoo.analysis.generated) and
``eval_samples`` > 0, the shares of translations it puts in the target domain's class, ``a2b_target_share`` and
``b2a_target_share``, and their mean ``target_share``, which then chooses best.safetensors (else the lowest
``cycle`` does). At the end, ``metrics.samples``: those figures on the test split's first ``eval_samples`` images
of each domain, with the classifier's shares of the real test images in their own class (``real_a_share``,
``real_b_share``: what a perfect translation would score).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data import Batcher, DataError, Dataset, Split
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.distributed import from_env
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.tasks.adversarial import GAN_AUGMENTATIONS, DistributedParts, _rows, _world_size
from archzoo.tasks.base import TensorPlan, unwrap_model


def _least_squares(o: Tensor, target: float) -> Tensor:
    return (o - target).square().mean()


def _cross_entropy(o: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(o, torch.full_like(o, target))


# name -> (c(o, t), whether D's output is a logit)
CRITERIA: dict[str, tuple[Callable[[Tensor, float], Tensor], bool]] = {
    "least_squares": (_least_squares, False),
    "non_saturating": (_cross_entropy, True),
}
# per domain (A, B): the way there, the way back, the discriminator of its own domain, that of the other
DIRECTIONS = (("a2b", "b2a", "discriminate_a", "discriminate_b"), ("b2a", "a2b", "discriminate_b", "discriminate_a"))
UNSUPPORTED = {"critic_steps": 1, "gp_lambda": 0.0, "r1_gamma": 0.0, "clip_value": 0.0, "ema": 0.0}  # CycleGAN's own


def criterion(name: str) -> tuple[Callable[[Tensor, float], Tensor], bool]:
    if name not in CRITERIA:
        raise ConfigError(f"cyclegan trains with gan_loss least_squares (the paper's) or non_saturating, not {name!r}")
    return CRITERIA[name]


def l1(x: Tensor, y: Tensor) -> Tensor:
    """||x - y||_1 as the mean absolute difference per pixel."""
    return (x.float() - y.float()).abs().mean()


def discriminator_loss(c: Callable[[Tensor, float], Tensor], o_real: Tensor, o_fake: Tensor) -> Tensor:
    """D's loss (c(o_real, 1) + c(o_fake, 0)) / 2."""
    return 0.5 * (c(o_real, 1.0) + c(o_fake, 0.0))


# ---- the history of generated images -------------------------------------------------------------------

class ImagePool:
    """Shrivastava et al.'s history of generated images, as Zhu et al. keep it for each discriminator.

    :meth:`query` takes a batch of new images and returns as many for D to see, one at a time in order: while
    the pool holds fewer than ``size`` images, the new image is stored and returned; once it is full, with
    probability 1/2 a stored image chosen uniformly is returned and the new one takes its place, else the new
    image is returned and the pool is unchanged. Size 0 returns the batch as it is. Every query draws one coin
    and one slot per image from ``generator`` (the global generator by default), whether it uses them or not.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: Tensor | None = None  # (size, C, H, W) once the first image arrives
        self.count = 0

    def query(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.size == 0:
            return images
        images = images.detach()
        n = len(images)
        coins = torch.rand(n, generator=generator).tolist()
        slots = torch.randint(self.size, (n,), generator=generator).tolist()
        if self.images is None:
            self.images = images.new_zeros((self.size, *images.shape[1:]), dtype=torch.float32)
        out = []
        for image, coin, slot in zip(images, coins, slots, strict=True):
            if self.count < self.size:
                self.images[self.count] = image
                self.count += 1
                out.append(image)
            elif coin > 0.5:  # show an older image and keep the new one in its place
                out.append(self.images[slot].to(image.dtype).clone())
                self.images[slot] = image
            else:
                out.append(image)
        return torch.stack(out) if out else images

    def state(self) -> Tensor | None:
        """The stored images (count, C, H, W), or None while there are none."""
        return None if self.images is None or self.count == 0 else self.images[:self.count]

    def load(self, stored: Tensor | None, device: torch.device) -> None:
        self.images, self.count = None, 0
        if stored is not None and len(stored):
            if len(stored) > self.size:
                raise ConfigError(f"the checkpoint's image pool holds {len(stored)} images, more than pool_size="
                                  f"{self.size}; resume with the run's own pool_size")
            self.images = stored.new_zeros((self.size, *stored.shape[1:]), dtype=torch.float32, device=device)
            self.images[:len(stored)] = stored.to(device)
            self.count = len(stored)


def _gather_rows(t: Tensor) -> Tensor:
    """The global batch of a tensor whose rows the processes hold as rank::world_size (the Batcher's cut), in
    the global order, on every process (the inverse of archzoo.tasks.adversarial's ``_rows``)."""
    world = _world_size()
    if world == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(world)]
    torch.distributed.all_gather(parts, t.contiguous())
    return torch.stack(parts, 1).flatten(0, 1)  # (B_local, world, ...) -> row i * world + rank


# ---- data --------------------------------------------------------------------------------------------

class UnpairedBatches:
    """Batches (a, b) of a split of unpaired domains (targets 0 for A, 1 for B; archzoo.data.sources.unpaired):
    a :class:`~archzoo.data.Batcher` per domain, each shuffled by its own seed (``seed``, ``seed + 1``). Training
    (``shuffle``) stops when the smaller domain runs out; evaluation goes through both, the domain that ran out
    giving empty batches."""

    def __init__(self, split: Split, batch_size: int, *, shuffle: bool = False, seed: int = 0, augment: str = "none",
                 rank: int = 0, world_size: int = 1, device: torch.device | str = "cpu",
                 mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None) -> None:
        self.domains = []
        for domain in (0, 1):
            keep = split.y == domain
            if not keep.any():
                raise DataError(f"the split has no images of domain {'AB'[domain]}; with --subset, keep more images")
            self.domains.append(Batcher(Split(split.x[keep], split.y[keep]), batch_size, shuffle=shuffle,
                                        seed=seed + domain, augment=augment, rank=rank, world_size=world_size,
                                        device=device, mean=mean, std=std))
        self.shuffle = shuffle
        self.batch_size = self.domains[0].batch_size  # of each domain, over all processes
        self.device = torch.device(device)
        self.shape = tuple(split.x.shape[1:])

    def __len__(self) -> int:
        lengths = [len(b) for b in self.domains]
        return min(lengths) if self.shuffle else max(lengths)

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        a, b = (batcher.epoch(epoch, start_step) for batcher in self.domains)
        if self.shuffle:
            for (xa, _), (xb, _) in zip(a, b):  # noqa: B905 (the smaller domain ends the epoch)
                yield xa, xb
            return
        empty = (torch.zeros((0, *self.shape), device=self.device), None)
        for (xa, _), (xb, _) in zip_longest(a, b, fillvalue=empty):
            yield xa, xb


class CyclePlan(TensorPlan):
    """Unpaired domains for CycleGAN: pixels in [-1, 1] (the generators' tanh range), batches (a, b) of
    ``batch_size`` images each (:class:`UnpairedBatches`), mirrored at random with ``augment=flip``."""

    def __init__(self, ds: Dataset, cfg: TrainConfig) -> None:
        super().__init__(ds, cfg)
        self.channels_last = False
        self.augment = cfg.augment or "none"
        if self.augment not in GAN_AUGMENTATIONS:
            raise ConfigError(f"augment={self.augment!r}: a GAN learns what it is shown, so an augmentation shows in "
                              f"its translations; use augment=flip or none")
        self.record["domains"] = dict(zip(("A", "B"), self.ds.classes, strict=True))
        self.record["domain_sizes"] = {name: [int((split.y == d).sum()) for d in (0, 1)]
                                       for name, split in self.ds.splits.items()}

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        return {"in_channels": self.ds.input_shape[0]} if "in_channels" in fields else {}

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[UnpairedBatches, dict[str, UnpairedBatches]]:
        if cfg.batch_size % world_size:
            raise ConfigError(f"batch_size {cfg.batch_size} (images of each domain) does not divide over {world_size} "
                              f"processes; use a multiple of {world_size}")
        scale = dict(mean=(0.5,) * self.ds.input_shape[0], std=(0.5,) * self.ds.input_shape[0], device=device)
        train = UnpairedBatches(self.ds.splits["train"], cfg.batch_size, shuffle=True, seed=cfg.seed,
                                augment=self.augment, rank=rank, world_size=world_size, **scale)
        evals = {name: UnpairedBatches(split, cfg.eval_batch_size, **scale)
                 for name, split in self.ds.splits.items() if name != "train"}
        return train, evals

    def check_fits(self, model: nn.Module, batch: tuple[Tensor, Tensor]) -> None:
        a, b = batch[0][:2], batch[1][:2]
        made = model(a, mode="a2b")
        if made.shape[1:] != b.shape[1:]:
            raise ValueError(f"the generator makes images of shape {tuple(made.shape[1:])} from domain A's, but "
                             f"domain B's are {tuple(b.shape[1:])}")
        model(b, mode="discriminate_b")


# ---- the task ----------------------------------------------------------------------------------------

class _DistributedCycleGAN(DistributedParts):
    """The generators and each discriminator wrapped each, called as the CycleGAN is (``mode``)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__(net, {"generators": "generators", "d_a": "d_a", "d_b": "d_b"})

    def forward(self, x: Tensor, y: Tensor | None = None, mode: str = "score", identity: bool = True) -> Any:
        if mode == "cycle":
            return self.parts["generators"](x, y, identity)
        if mode in ("discriminate_a", "discriminate_b"):
            return self.parts[f"d_{mode[-1]}"](x)
        return self.module(x, y, mode=mode, identity=identity)  # inference only: no gradients to share


class CycleGANTask:
    name = "cycle_adversarial"

    def __init__(self) -> None:
        self.best_metric = "cycle"
        self.higher_is_better = False
        self.loss_name = "least_squares"
        self.pools = {"a": ImagePool(0), "b": ImagePool(0)}
        self.train_metrics = ("loss_g", "loss_d_a", "loss_d_b", "cycle", "identity", "d_real", "d_fake")
        self.base: str | None = None  # the dataset the domains were cut from, and their classes in it
        self.base_classes: tuple[int, int] = (0, 1)
        self.domains: tuple[str, ...] = ("A", "B")
        self.test: Split | None = None
        self.judge: Any = None  # the feature classifier of the base dataset, when translations are judged

    def plan(self, ds: Dataset, cfg: TrainConfig, run_dir: Path | None = None) -> CyclePlan:
        from archzoo.analysis.generated import FEATURE_CLASSIFIERS, feature_classifier

        criterion(cfg.gan_loss)
        self.loss_name = cfg.gan_loss
        for key, value in UNSUPPORTED.items():
            if getattr(cfg, key) != value:
                raise ConfigError(f"{key}={getattr(cfg, key)} does not apply to cyclegan, which steps each "
                                  f"discriminator once per generator step and keeps no moving average; leave "
                                  f"{key} at {value}")
        self.pools = {"a": ImagePool(cfg.pool_size), "b": ImagePool(cfg.pool_size)}
        plan = CyclePlan(ds, cfg)
        self.base = str(ds.notes.get("base", "")) or None
        self.base_classes = tuple(ds.notes.get("base_classes", (0, 1)))  # type: ignore[assignment]
        self.domains = plan.ds.classes or ("A", "B")
        self.test = plan.ds.splits.get("test")
        self.judge = None
        if cfg.eval_samples > 0 and self.base in FEATURE_CLASSIFIERS:
            # under torchrun every process would train a missing classifier at once: it must be there first
            self.judge = feature_classifier(self.base, data_root=cfg.data_root,
                                            train_if_missing=not from_env().enabled)
            self.best_metric, self.higher_is_better = "target_share", True
        return plan

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        inner = unwrap_model(model)
        return {"generators": build_optimizer(inner.generators, cfg), "d_a": build_optimizer(inner.d_a, cfg),
                "d_b": build_optimizer(inner.d_b, cfg)}

    def distribute(self, net: nn.Module) -> nn.Module:
        """The engine's wrapping under torchrun (see the module's docstring)."""
        return _DistributedCycleGAN(net)

    def train_step(self, model: nn.Module, batch: tuple[Tensor, Tensor], optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        c, logits = criterion(cfg.gan_loss)
        inner = unwrap_model(model)
        real_a, real_b = batch
        identity = cfg.identity_weight > 0
        made = model(real_a, real_b, mode="cycle", identity=identity)
        # G and F: fool both discriminators, and come back to where they started
        adversarial = c(model(made.fake_b, mode="discriminate_b").float(), 1.0) \
            + c(model(made.fake_a, mode="discriminate_a").float(), 1.0)
        cycle = l1(made.rec_a, real_a) + l1(made.rec_b, real_b)
        same = l1(made.same_a, real_a) + l1(made.same_b, real_b) if identity else torch.zeros((), device=real_a.device)
        loss_g = adversarial + cfg.cycle_lambda * cycle + cfg.cycle_lambda * cfg.identity_weight * same
        precision.optimize(loss_g, inner.generators, optimizers["generators"], cfg.grad_clip)
        # D_A and D_B: real images against the pools' generated ones (made before G and F stepped)
        shown_a = _rows(self.pools["a"].query(_gather_rows(made.fake_a.detach())))
        shown_b = _rows(self.pools["b"].query(_gather_rows(made.fake_b.detach())))
        o_a = model(torch.cat([real_a, shown_a.to(real_a.dtype)]), mode="discriminate_a").float()
        o_b = model(torch.cat([real_b, shown_b.to(real_b.dtype)]), mode="discriminate_b").float()
        n_a, n_b = len(real_a), len(real_b)
        loss_d_a = discriminator_loss(c, o_a[:n_a], o_a[n_a:])
        loss_d_b = discriminator_loss(c, o_b[:n_b], o_b[n_b:])
        precision.optimize(loss_d_a + loss_d_b, [inner.d_a, inner.d_b], [optimizers["d_a"], optimizers["d_b"]],
                           cfg.grad_clip)
        probability = torch.sigmoid if logits else (lambda t: t)
        with torch.no_grad():
            d_real = 0.5 * (probability(o_a[:n_a]).mean() + probability(o_b[:n_b]).mean())
            d_fake = 0.5 * (probability(o_a[n_a:]).mean() + probability(o_b[n_b:]).mean())
        loss_d = (loss_d_a + loss_d_b).detach()
        return {"loss": torch.where(torch.isfinite(loss_g), loss_d, loss_g.detach()), "loss_g": loss_g.detach(),
                "loss_d_a": loss_d_a.detach(), "loss_d_b": loss_d_b.detach(), "cycle": cycle.detach(),
                "identity": same.detach(), "d_real": d_real, "d_fake": d_fake}

    # the pools travel with the checkpoint, so that a resumed run shows its discriminators the same images
    def state_tensors(self) -> dict[str, Tensor]:
        return {f"pool_{name}": stored for name, pool in self.pools.items() if (stored := pool.state()) is not None}

    def load_state_tensors(self, tensors: dict[str, Tensor], device: torch.device) -> None:
        for name, pool in self.pools.items():
            pool.load(tensors.get(f"pool_{name}"), device)

    def _targets(self) -> tuple[int, int]:
        """The base dataset's classes of B and of A: what a translation A -> B, and B -> A, should be taken for."""
        return self.base_classes[1], self.base_classes[0]

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]]) -> dict[str, Any]:
        model = unwrap_model(model)
        _, logits = criterion(self.loss_name)
        probability = torch.sigmoid if logits else (lambda t: t)
        counts, cycles, hits = [0, 0], [0.0, 0.0], [0, 0]
        d_real = d_fake = 0.0
        for batch in batches:
            for domain, real in enumerate(batch):
                if not len(real):
                    continue
                there, back, own, other = DIRECTIONS[domain]
                fake = model(real, mode=there)
                rec = model(fake, mode=back)
                counts[domain] += len(real)
                cycles[domain] += (rec.float() - real.float()).abs().mean((1, 2, 3)).sum().item() / 2  # [0, 1] units
                d_real += probability(model(real, mode=own).float()).mean((1, 2)).sum().item()
                d_fake += probability(model(fake, mode=other).float()).mean((1, 2)).sum().item()
                if self.judge is not None:
                    judge = self.judge.to(real.device)
                    hits[domain] += int((judge.predict(to_unit(fake)) == self._targets()[domain]).sum())
        n = sum(counts)
        if not n:
            return {self.best_metric: float("nan"), "samples": 0}
        a, b = (cycles[d] / max(counts[d], 1) for d in (0, 1))
        metrics: dict[str, Any] = {"cycle_a": a, "cycle_b": b, "cycle": (a + b) / 2, "d_real": d_real / n,
                                   "d_fake": d_fake / n, "gan_loss": self.loss_name, "samples": n}
        if self.judge is not None:
            shares = [hits[d] / max(counts[d], 1) for d in (0, 1)]
            metrics.update(a2b_target_share=shares[0], b2a_target_share=shares[1], target_share=sum(shares) / 2)
        return metrics

    def final_metrics(self, model: nn.Module, cfg: TrainConfig) -> dict[str, dict[str, Any]]:
        """At the end of a run: the translations of the test split, judged (see the module's docstring), as
        ``metrics.samples``."""
        if cfg.eval_samples == 0 or self.test is None:
            return {}
        model = unwrap_model(model)
        device = next(model.parameters()).device
        x, y = self.test.x, self.test.y
        out: dict[str, Any] = {"a": self.domains[0], "b": self.domains[1]}
        for domain, name in enumerate("ab"):
            images = x[y == domain][:cfg.eval_samples].float().div(255)  # [0, 1]
            fake, rec = translations(model, images, "a2b" if domain == 0 else "b2a", cfg.eval_batch_size, device)
            out[f"n_{name}"] = len(images)
            out[f"cycle_{name}"] = float((rec - images).abs().mean())
            if self.judge is not None:
                judge = self.judge.cpu()
                target, own = self._targets()[domain], self.base_classes[domain]
                out[f"{'a2b' if domain == 0 else 'b2a'}_target_share"] = float((judge.predict(fake) == target)
                                                                              .double().mean())
                out[f"real_{name}_share"] = float((judge.predict(images) == own).double().mean())
        if self.judge is not None:
            out["classifier"] = self.judge.identity
        return {"samples": out}


def to_unit(images: Tensor) -> Tensor:
    """Images in [-1, 1] (the generators' tanh) mapped to [0, 1]."""
    return (images.float() + 1) / 2


@torch.no_grad()
def translations(model: nn.Module, images: Tensor, direction: str, batch_size: int = 1000,
                 device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """Images (N, C, H, W) in [0, 1] translated one way (``direction`` "a2b" or "b2a") and back: (translations,
    reconstructions), in [0, 1], on the CPU. The model is unwrapped and run in eval mode, then put back."""
    model = unwrap_model(model)
    back = {"a2b": "b2a", "b2a": "a2b"}[direction]
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        fakes, recs = [], []
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(device) * 2 - 1  # [-1, 1]
            fake = model(x, mode=direction)
            fakes.append(to_unit(fake).cpu())
            recs.append(to_unit(model(fake, mode=back)).cpu())
    finally:
        model.train(was_training)
    empty = images.new_zeros((0, *images.shape[1:]))
    return (torch.cat(fakes), torch.cat(recs)) if fakes else (empty, empty)


# ---- the command: translate images of a run ---------------------------------------------------------------

def read_images(paths: Sequence[str | Path], channels: int, size: tuple[int, int]) -> Tensor:
    """Image files (PNG, JPEG, ...) as (N, channels, H, W) in [0, 1], converted to grey or RGB and resized
    (bilinear) to ``size``."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ConfigError("reading images needs Pillow: pip install pillow") from None
    import numpy as np

    out = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image = image.convert("L" if channels == 1 else "RGB").resize(size[::-1], Image.Resampling.BILINEAR)
                array = np.asarray(image, dtype=np.float32) / 255
        except (OSError, UnidentifiedImageError) as exc:
            raise ConfigError(f"cannot read image {path}: {str(exc).splitlines()[0]}") from None
        t = torch.from_numpy(array.copy())
        out.append(t[None] if t.ndim == 2 else t.permute(2, 0, 1))  # (C, H, W)
    return torch.stack(out)


@torch.no_grad()
def translate_run(run_dir: Path, *, inputs: Sequence[str | Path] = (), split: str = "test", n: int = 8,
                  out: str | Path | None = None, checkpoint: str = "best", device: str = "auto"
                  ) -> tuple[Path, Tensor]:
    """A CycleGAN run's translations both ways: the first ``n`` images of each domain in ``split`` (or the image
    files ``inputs``, taken as either domain's), drawn as rows A, A -> B, A -> B -> A, B, B -> A, B -> A -> B into
    ``out`` (default RUN/figures/sample.png). Returns (figure, the (6 n, C, H, W) grid in [0, 1])."""
    from archzoo.analysis.latent import load_run, save_grid

    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    run = load_run(run_dir, "sample", (CycleGANTask.name,), checkpoint=checkpoint, device=device)
    x, y, names = run.images(split)  # the data's domains and image size
    if inputs:  # each file taken as domain A's and as domain B's
        a = b = read_images(inputs, run.record["model_config"]["in_channels"], (x.shape[-2], x.shape[-1]))
        what = f"{len(a)} image{'s' if len(a) > 1 else ''}"
    else:
        a, b = x[y == 0][:n], x[y == 1][:n]
        what = f"the first {min(len(a), len(b))} of {split}"
    a2b, a2b2a = translations(run.model, a, "a2b", device=run.device)
    b2a, b2a2b = translations(run.model, b, "b2a", device=run.device)
    k = min(len(a), len(b))
    grid = torch.cat([t[:k] for t in (a, a2b, a2b2a, b, b2a, b2a2b)])
    labels = ["A", "A->B", "A->B->A", "B", "B->A", "B->A->B"]
    path = save_grid(grid, Path(out) if out else run.run_dir / "figures" / "sample.png", nrow=k, row_labels=labels,
                     title=f"{run.cfg.model} on {run.cfg.data} (A: {names[0]}, B: {names[1]}): {what}")
    return path, grid
