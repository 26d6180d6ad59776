"""The small image sets for generative models: ORL faces at 64x64 (shapes, range, the 320/80 split, checksums,
the missing-file message) and Fashion-MNIST padded to 32x32 (zeros around, Fashion-MNIST in the centre), and how
sample metrics judge the padded set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archzoo.analysis.generated import FeatureClassifier, classifier_command, feature_classifier
from archzoo.data import DataError, data_root, load_dataset
from archzoo.data.files import ChecksumError
from archzoo.data.sources.faces import ORL_DIR, ORL_FILE
from archzoo.engine.config import ConfigError


@pytest.fixture(scope="module")
def orl_path() -> Path:
    path = data_root() / ORL_DIR / ORL_FILE
    if not path.is_file():
        pytest.skip(f"ORL faces not found at {path}: put {ORL_FILE} in <data root>/{ORL_DIR}/ (see "
                    "archzoo.data.sources.faces) or set ARCHZOO_DATA to the shared data")
    return path


def test_orl_faces_are_64_pixel_grey_faces_of_40_people(orl_path: Path) -> None:
    ds = load_dataset("orl-faces")
    assert ds.is_image and ds.task == "classification" and ds.input_shape == (1, 64, 64)
    assert ds.num_classes == 40 and len(ds.classes) == 40 and ds.classes[0] == "s1"
    train, test = ds.splits["train"], ds.splits["test"]
    assert train.x.shape == (320, 1, 64, 64) and test.x.shape == (80, 1, 64, 64)
    assert train.x.dtype == torch.uint8  # pixels in [0, 1] once batched
    assert torch.equal(torch.bincount(train.y), torch.full((40,), 8))  # images 1-8 of each person
    assert torch.equal(torch.bincount(test.y), torch.full((40,), 2))  # images 9 and 10
    unit = train.x.float() / 255
    assert 0 <= unit.min() < 0.1 and 0.9 < unit.max() <= 1
    assert unit.mean().item() == pytest.approx(ds.mean[0], abs=1e-4)
    assert unit.std().item() == pytest.approx(ds.std[0], abs=1e-4)
    with np.load(orl_path) as npz:  # each face is the original 112x92, resized with antialiasing
        original = torch.from_numpy(npz["x_test"][5]).float()[None, None]
    resized = F.interpolate(original, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
    assert torch.equal(test.x[5:6], resized.round().clamp(0, 255).to(torch.uint8))


def test_a_missing_orl_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_dataset("orl-faces", root=tmp_path)
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert "orl-faces not found" in message and str(tmp_path / ORL_DIR / ORL_FILE) in message
    assert "ARCHZOO_DATA" in message


def test_orl_checksums(orl_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / ORL_DIR
    folder.mkdir()
    (folder / ORL_FILE).write_bytes(b"not an archive")
    with pytest.raises(DataError, match="not a readable ORL faces archive"):
        load_dataset("orl-faces", root=tmp_path)
    with np.load(orl_path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    np.savez(folder / ORL_FILE, **arrays)  # the same arrays, written again: other bytes, accepted
    assert torch.equal(load_dataset("orl-faces", root=tmp_path).splits["test"].x,
                       load_dataset("orl-faces").splits["test"].x)
    arrays["x_train"] = arrays["x_train"].copy()
    arrays["x_train"][0, 0, 0] ^= 1
    np.savez(folder / ORL_FILE, **arrays)
    with pytest.raises(ChecksumError, match="x_train"):
        load_dataset("orl-faces", root=tmp_path)


def test_fashion_mnist_32_is_fashion_mnist_padded_with_zeros(real_data_root: Path) -> None:
    padded, plain = load_dataset("fashion-mnist-32"), load_dataset("fashion-mnist")
    assert padded.is_image and padded.task == "classification" and padded.input_shape == (1, 32, 32)
    assert padded.classes == plain.classes and padded.num_classes == 10
    for name in ("train", "test"):
        x, y = padded.splits[name].x, padded.splits[name].y
        assert x.shape == (len(plain.splits[name]), 1, 32, 32) and x.dtype == torch.uint8
        assert torch.equal(x[..., 2:30, 2:30], plain.splits[name].x)  # the centre is Fashion-MNIST
        border = x.clone()
        border[..., 2:30, 2:30] = 0
        assert not border.any()  # two rows and columns of zeros on each side
        assert torch.equal(y, plain.splits[name].y)
    assert {len(s) for s in padded.splits.values()} == {60_000, 10_000}
    unit = padded.splits["train"].x.float() / 255
    assert unit.mean().item() == pytest.approx(padded.mean[0], abs=1e-4)
    assert unit.std().item() == pytest.approx(padded.std[0], abs=1e-4)


class _Pixels(nn.Module):
    """A stand-in classifier of 28x28 images: its features are the pixels, its logits their first ten."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[:, :10]


def test_fashion_mnist_32_is_judged_on_its_centre_by_fashion_mnists_classifier(tmp_path: Path, monkeypatch) -> None:
    classifier = FeatureClassifier(_Pixels(), (0.5,), (0.25,), {"input_shape": [1, 28, 28]})
    images = torch.rand(3, 1, 32, 32)
    classifier.border = 2
    assert classifier(images).shape == (3, 784)
    torch.testing.assert_close(classifier(images), (images[..., 2:30, 2:30].flatten(1) - 0.5) / 0.25)
    assert classifier.predict(images).shape == (3,)
    monkeypatch.setenv("ARCHZOO_CACHE", str(tmp_path))
    with pytest.raises(ConfigError, match=f"{tmp_path / 'classifiers' / 'fashion-mnist'};"):
        feature_classifier("fashion-mnist-32", train_if_missing=False)  # fashion-mnist's own classifier
    assert " --data fashion-mnist " in classifier_command("fashion-mnist-32")
