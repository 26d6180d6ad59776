"""Sample metrics: the class histogram, fid_clf and kid_clf on the cached feature classifier, and
metrics.samples at the end of a VAE run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from archzoo.analysis.generated import class_histogram, classifier_command, feature_classifier, sample_metrics
from archzoo.engine import TrainConfig, train
from archzoo.engine.config import ConfigError

pytest.importorskip("torchmetrics")


def test_class_histogram() -> None:
    even = class_histogram(torch.arange(1000) % 10, 10)
    assert even["classes_covered"] == 10 and even["class_tv"] == pytest.approx(0.0)
    one = class_histogram(torch.full((1000,), 3), 10)
    assert one["classes_covered"] == 1 and one["class_tv"] == pytest.approx(0.9)
    # a class with less than a tenth of its fair share (100 of 1,000) is not covered
    skewed = class_histogram(torch.cat([torch.arange(900) % 9, torch.full((9,), 9)]), 10)
    assert skewed["classes_covered"] == 9 and skewed["class_histogram"][9] == 9


def test_unknown_dataset_and_missing_classifier_say_what_to_do(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ConfigError, match="no feature classifier is defined for iris"):
        feature_classifier("iris")
    monkeypatch.setenv("ARCHZOO_CACHE", str(tmp_path))
    with pytest.raises(ConfigError, match="train it with: archzoo train lenet5_modern --data fashion-mnist"):
        feature_classifier("fashion-mnist", train_if_missing=False)
    assert classifier_command("fashion-mnist").endswith(str(tmp_path / "classifiers" / "fashion-mnist"))
    monkeypatch.setenv("ARCHZOO_CACHE", str(Path.home() / ".cache" / "archzoo"))
    assert classifier_command("fashion-mnist").endswith("--out ~/.cache/archzoo/classifiers/fashion-mnist")


@pytest.fixture(scope="module")
def real_images(real_data_root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    import archzoo

    ds = archzoo.load_dataset("fashion-mnist")
    return ds.splits["test"].x.float().div(255), ds.splits["test"].y


@pytest.mark.slow
def test_real_images_score_near_the_floor_and_noise_far_from_it(real_images) -> None:
    x, y = real_images

    def real(k: int, g: torch.Generator):
        idx = torch.randint(0, len(x), (k,), generator=g)
        return x[idx], y[idx]

    def noise(k: int, g: torch.Generator):
        return torch.rand((k, 1, 28, 28), generator=g), None

    good = sample_metrics(real, "fashion-mnist", n=2000)
    bad = sample_metrics(noise, "fashion-mnist", n=2000, floor=False)
    classifier = good["classifier"]
    assert classifier["model"] == "lenet5_modern" and classifier["test_accuracy"] > 0.88
    assert len(classifier["weights_sha256"]) == 16 and bad["classifier"] == classifier  # trained once, reused
    assert good["fid_clf"] < 3 * good["fid_clf_floor"] + 1.0 < bad["fid_clf"]
    assert bad["kid_clf"] > 10 * max(good["kid_clf"], 1e-3)
    assert good["classes_covered"] == 10 and good["class_tv"] < 0.1 and good["class_match"] > 0.85
    assert bad["classes_covered"] < 10 and bad["class_tv"] > 0.3 and "class_match" not in bad


@pytest.mark.slow
def test_a_vae_run_ends_with_its_samples_judged(tmp_path: Path, real_data_root: Path) -> None:
    cfg = TrainConfig(model="cvae", data="fashion-mnist", data_root=str(real_data_root), out=str(tmp_path / "r"),
                      subset=2000, epochs=1, batch_size=32, optimizer="adam", lr=2e-3, val_size=200, iw_samples=0,
                      eval_samples=500)
    summary = train(cfg, progress=False)
    samples = summary["metrics"]["samples"]
    assert samples["n"] == 500 and samples["fid_clf"] > samples["fid_clf_floor"] > 0
    assert 0 <= samples["class_match"] <= 1 and sum(samples["class_histogram"]) == 500
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["split"] == "samples" and rows[-1]["classifier"]["model"] == "lenet5_modern"
