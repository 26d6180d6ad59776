"""How good are generated images? Distances between the features of samples and of real images, and the
classes the samples fall in, judged by an archzoo classifier trained on the same dataset.

* ``fid_clf``: the Fréchet distance between Gaussians fitted to the penultimate features (the input of the
  last layer, ``forward_features``) of real training images and of samples; ``kid_clf``: the kernel
  (polynomial, degree 3) maximum mean discrepancy of the same features, unbiased, mean and standard
  deviation over 100 subsets of 1,000 (Bińkowski et al. 2018). torchmetrics computes both, with the
  classifier as its feature extractor. They are *not* Inception FID and KID (Heusel et al. 2017 use
  ImageNet's Inception v3, meaningless on 28x28 grey garments), hence the names; a figure is comparable
  only with figures measured by the same classifier, whose identity (model, recipe, SHA-256 of its weights,
  test accuracy) is recorded beside it.
* The floor: the same distances between the real test images and the training images (``fid_clf_floor``,
  ``kid_clf_floor``) — what a generator that drew fresh images from the data's own distribution would score.
* ``classes_covered``: classes that receive at least a tenth of their fair share (n / K) of the samples'
  predicted labels; ``class_tv``: the total-variation distance of that histogram from uniform,
  1/2 sum_k |p_k - 1/K| (0: every class equally often; 1 - 1/K: one class only). For class-conditional
  samples, ``class_match`` is the fraction the classifier puts in the class they were asked for.

The classifier is trained once per dataset by the command in :data:`FEATURE_CLASSIFIERS` (about 40 s on
two cores) into ``$ARCHZOO_CACHE/classifiers/<data>`` (default ``~/.cache/archzoo``) and reused. A padded
variant of a dataset (:data:`CROPPED_VIEWS`: ``fashion-mnist-32``, Fashion-MNIST with 2 zero pixels on each
side) is judged by the classifier of the dataset it pads, which sees the centre of every image (real and
generated alike), so that its figures compare with those of runs on the original.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from archzoo.engine.config import ConfigError

# dataset -> (model, recipe) of the feature classifier: `archzoo train MODEL --data DATA --recipe RECIPE`
FEATURE_CLASSIFIERS: dict[str, tuple[str, str]] = {
    "fashion-mnist": ("lenet5_modern", "fast"),
    "mnist": ("lenet5_modern", "fast"),
    "fashion-mnist-32": ("lenet5_modern", "fast"),  # judged by fashion-mnist's (CROPPED_VIEWS)
}
# dataset -> (the dataset whose classifier judges it, pixels cut from each side of its images first)
CROPPED_VIEWS: dict[str, tuple[str, int]] = {"fashion-mnist-32": ("fashion-mnist", 2)}
COVERED_SHARE = 0.1  # a class is covered when it gets at least this fraction of n / K samples


def cache_root() -> Path:
    """Where archzoo keeps what it computes once: $ARCHZOO_CACHE, else ~/.cache/archzoo."""
    env = os.environ.get("ARCHZOO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "archzoo"


def classifier_command(data: str) -> str:
    """The command that trains ``data``'s feature classifier into the cache (the home directory shown as ~)."""
    data = CROPPED_VIEWS.get(data, (data, 0))[0]
    model, recipe = _classifier_for(data)
    out = cache_root() / "classifiers" / data
    shown = f"~/{out.relative_to(Path.home())}" if out.is_relative_to(Path.home()) else str(out)
    return f"archzoo train {model} --data {data} --recipe {recipe} --out {shown}"


def _classifier_for(data: str) -> tuple[str, str]:
    if data not in FEATURE_CLASSIFIERS:
        raise ConfigError(f"no feature classifier is defined for {data}; sample metrics are computed for: "
                          f"{', '.join(FEATURE_CLASSIFIERS)}")
    return FEATURE_CLASSIFIERS[data]


def centre_crop(images: Tensor, border: int) -> Tensor:
    """``images`` (..., H, W) without ``border`` pixels on each side (unchanged for 0)."""
    return images[..., border:images.shape[-2] - border, border:images.shape[-1] - border] if border else images


class FeatureClassifier(nn.Module):
    """A trained classifier of a dataset's images: ``forward`` maps images in [0, 1] (B, C, H, W) to its
    penultimate features (B, F) (normalised as the classifier was trained); ``predict`` to classes. With
    ``border``, both first cut that many pixels off each side (a padded dataset judged on its centre)."""

    border = 0

    def __init__(self, model: nn.Module, mean: tuple[float, ...], std: tuple[float, ...],
                 identity: dict[str, Any]) -> None:
        super().__init__()
        self.model = model.eval()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
        self.identity = identity
        with torch.no_grad():
            self.num_features = int(model.forward_features(torch.zeros(1, *identity["input_shape"])).shape[1])

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        images = centre_crop(images, self.border)
        return self.model.forward_features((images.float() - self.mean) / self.std).float()

    @torch.no_grad()
    def predict(self, images: Tensor, batch_size: int = 2000) -> Tensor:
        images = centre_crop(images, self.border)
        out = [self.model((images[i:i + batch_size].float() - self.mean) / self.std).argmax(1)
               for i in range(0, len(images), batch_size)]
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def feature_classifier(data: str, *, data_root: str | None = None, train_if_missing: bool = True,
                       progress: bool = False, ds: Any = None) -> FeatureClassifier:
    """The cached feature classifier of ``data``, trained first (once) when it is not there; ``ds`` is the
    dataset already loaded, if the caller has it (its normalisation is the classifier's). For data in
    :data:`CROPPED_VIEWS`, the classifier of the dataset it pads, cropping every image to its centre."""
    if data in CROPPED_VIEWS:
        judge, border = CROPPED_VIEWS[data]
        classifier = feature_classifier(judge, data_root=data_root, train_if_missing=train_if_missing,
                                        progress=progress)
        classifier.border = border
        classifier.identity = {**classifier.identity, "judges": f"{data}, {border} pixels cut off each side"}
        return classifier
    from archzoo.data import load_dataset
    from archzoo.engine import TrainConfig, train
    from archzoo.engine.checkpoint import load_checkpoint
    from archzoo.engine.recipes import recipe
    from archzoo.engine.trainer import is_run_dir
    from archzoo.registry import create_model, model_card

    model_name, recipe_name = _classifier_for(data)
    run_dir = cache_root() / "classifiers" / data
    summary_path = run_dir / "summary.json"
    if not (summary_path.is_file() and is_run_dir(run_dir)):
        if not train_if_missing:
            raise ConfigError(f"no feature classifier for {data} in {run_dir}; train it with: "
                              f"{classifier_command(data)}")
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ConfigError(f"{run_dir} holds an unfinished feature classifier; delete it, or finish it with "
                              f"`archzoo train --resume {run_dir}`")
        settings = recipe(model_name, model_card(model_name).family, data, recipe_name)
        overrides = settings.pop("model_overrides", {})
        cfg = TrainConfig(model=model_name, data=data, recipe=recipe_name, data_root=data_root, out=str(run_dir),
                          model_overrides=overrides, **settings)
        cfg.device = "cpu"  # a small network: the same weights wherever it is trained
        train(cfg, progress=progress)
    record = json.loads((run_dir / "config.json").read_text())
    summary = json.loads(summary_path.read_text())
    model = create_model(model_name, **record["model_config"])
    state, _, _ = load_checkpoint(run_dir / "checkpoints", "last")
    model.load_state_dict(state)
    ds = ds if ds is not None else load_dataset(data, root=data_root)
    weights = (run_dir / "checkpoints" / "last.safetensors").read_bytes()
    identity = {"model": model_name, "recipe": recipe_name, "command": classifier_command(data),
                "weights_sha256": hashlib.sha256(weights).hexdigest()[:16],
                "test_accuracy": summary["metrics"]["test"]["accuracy"], "input_shape": list(ds.input_shape)}
    return FeatureClassifier(model, ds.mean or (0.0,), ds.std or (1.0,), identity)


def _distances(classifier: FeatureClassifier, real: Tensor, fake: Tensor, seed: int) -> tuple[float, float, float]:
    """(FID, KID mean, KID std) of two image sets in [0, 1] on the classifier's features."""
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance
    except ImportError:
        raise ConfigError("sample metrics need torchmetrics: pip install 'archzoo[generative]'") from None
    fid = FrechetInceptionDistance(feature=classifier, normalize=True)
    with warnings.catch_warnings():  # that KID keeps every feature: 70,000 x 84 here, a few megabytes
        warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer")
        kid = KernelInceptionDistance(feature=classifier, normalize=True, subsets=100,
                                      subset_size=min(1000, len(real), len(fake)))
    for metric in (fid, kid):
        for images, is_real in ((real, True), (fake, False)):
            for i in range(0, len(images), 2000):
                metric.update(images[i:i + 2000], real=is_real)
    with torch.random.fork_rng():  # KID draws its subsets from the global generator
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return float(fid.compute()), float(kid_mean), float(kid_std)


def class_histogram(predicted: Tensor, num_classes: int) -> dict[str, Any]:
    """``classes_covered`` and ``class_tv`` of predicted labels (see the module's docstring)."""
    counts = torch.bincount(predicted.cpu(), minlength=num_classes).double()
    p = counts / max(len(predicted), 1)
    covered = int((counts >= COVERED_SHARE * len(predicted) / num_classes).sum())
    return {"classes_covered": covered, "class_tv": float(0.5 * (p - 1 / num_classes).abs().sum()),
            "class_histogram": counts.long().tolist()}


def sample_metrics(generate: Callable[[int, torch.Generator], tuple[Tensor, Tensor | None]], data: str, *,
                   n: int = 10_000, data_root: str | None = None, seed: int = 0, floor: bool = True,
                   progress: bool = False) -> dict[str, Any]:
    """The figures of ``n`` generated images: ``generate(k, generator)`` returns k images in [0, 1] on any
    device and the classes they were asked for (None when unconditional)."""
    from archzoo.data import load_dataset

    ds = load_dataset(data, root=data_root)
    classifier = feature_classifier(data, data_root=data_root, progress=progress, ds=ds)
    train_x = ds.splits["train"].x.float().div(255)
    test_x = ds.splits["test"].x.float().div(255)
    g = torch.Generator().manual_seed(seed)
    images, asked = [], []
    for start in range(0, n, 1000):
        batch, classes = generate(min(1000, n - start), g)
        images.append(batch.detach().float().cpu().clamp(0, 1))
        if classes is not None:
            asked.append(classes.cpu())
    fake = torch.cat(images)
    fid, kid, kid_std = _distances(classifier, train_x, fake, seed)
    predicted = classifier.predict(fake)
    out: dict[str, Any] = {"n": n, "fid_clf": fid, "kid_clf": kid, "kid_clf_std": kid_std,
                           **class_histogram(predicted, ds.num_classes or int(predicted.max()) + 1)}
    if asked:
        out["class_match"] = float((predicted == torch.cat(asked)).double().mean())
    if floor:
        floor_fid, floor_kid, _ = _distances(classifier, train_x, test_x, seed)
        out.update(fid_clf_floor=floor_fid, kid_clf_floor=floor_kid, floor="train images against test images")
    out["classifier"] = classifier.identity
    return out
