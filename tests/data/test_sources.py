"""The registered datasets: real Fashion-MNIST, the IDX loader on small files, scikit-learn's sets
and the synthetic ones."""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import pytest
import torch

from archzoo.data import Batcher, DataError, files, list_datasets, load_dataset
from archzoo.data.sources.mnist import FASHION_MNIST_CLASSES

ALL = ["breast-cancer", "digits", "fashion-mnist", "iris", "mnist", "sine", "spirals", "xor"]


def test_registry_lists_every_dataset():
    assert set(ALL) <= set(list_datasets())


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST, the real files

@pytest.fixture(scope="module")
def fashion(real_data_root):
    return load_dataset("fashion-mnist", root=real_data_root, download=False)


def test_fashion_mnist_shapes_and_labels(fashion):
    train, test = fashion.splits["train"], fashion.splits["test"]
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert train.x.dtype == torch.uint8 and train.y.dtype == torch.int64
    assert torch.bincount(train.y).tolist() == [6000] * 10
    assert torch.bincount(test.y).tolist() == [1000] * 10
    assert fashion.task == "classification" and fashion.input_shape == (1, 28, 28)
    assert fashion.num_classes == 10 and fashion.classes == FASHION_MNIST_CLASSES
    assert fashion.classes[0] == "T-shirt/top" and fashion.classes[9] == "Ankle boot"
    assert fashion.augment == "crop_flip"


def test_fashion_mnist_statistics_are_those_of_the_train_split(fashion):
    counts = torch.bincount(fashion.splits["train"].x.flatten(), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64) / 255
    mean = (counts * values).sum() / counts.sum()
    std = ((counts * (values - mean) ** 2).sum() / counts.sum()).sqrt()
    assert fashion.mean == pytest.approx((mean.item(),), abs=5e-5)
    assert fashion.std == pytest.approx((std.item(),), abs=5e-5)


def test_fashion_mnist_was_read_from_verified_official_files(fashion, real_fashion_dir):
    sums = {}
    sums_file = real_fashion_dir / "SHA256SUMS"  # the shared data's list; a system copy has none
    if sums_file.is_file():
        sums = dict(reversed(line.split()) for line in sums_file.read_text().splitlines() if line.strip())
    source = files.SOURCES["fashion-mnist"]
    read = fashion.notes["files"]
    assert sorted(read) == sorted(f.name for f in source.files)
    for spec in source.files:
        path = Path(read[spec.name])
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == (spec.sha256 if path.name == spec.name else spec.raw_sha256)
        if path.name in sums:
            assert sums[path.name] == spec.sha256  # our table is the official list


# ---------------------------------------------------------------------------------------------
# The IDX loader on small files

def test_mnist_loader_on_small_files(tmp_path, make_idx_set, monkeypatch):
    fake = make_idx_set("mnist", n_train=40, n_test=10, seed=3)
    monkeypatch.setitem(files.SOURCES, "mnist", fake.source(debian_package=None))
    fake.write(tmp_path / "mnist", compressed=False)  # decompressed files are fine too
    ds = load_dataset("mnist", root=tmp_path, download=False)
    assert ds.classes == tuple("0123456789") and ds.augment == "crop"
    assert ds.mean == (0.1307,) and ds.std == (0.3081,)
    assert ds.splits["train"].x.shape == (40, 1, 28, 28)
    expected = torch.from_numpy(fake.arrays["train-images-idx3-ubyte.gz"])
    assert torch.equal(ds.splits["train"].x[:, 0], expected)
    assert ds.splits["test"].y.tolist() == list(range(10))


def test_reloading_gives_equal_but_independent_tensors(tmp_path, make_idx_set, monkeypatch):
    fake = make_idx_set("mnist", n_train=12, n_test=10)
    monkeypatch.setitem(files.SOURCES, "mnist", fake.source(debian_package=None))
    fake.write(tmp_path / "mnist")
    first = load_dataset("mnist", root=tmp_path, download=False)
    first.splits["train"].x.zero_()  # a caller that modifies its tensors in place
    second = load_dataset("mnist", root=tmp_path, download=False)
    expected = torch.from_numpy(fake.arrays["train-images-idx3-ubyte.gz"])
    assert torch.equal(second.splits["train"].x[:, 0], expected)


def test_images_and_labels_that_do_not_belong_together(tmp_path, make_idx_set, monkeypatch):
    fake = make_idx_set("mnist", n_train=40, n_test=10)
    other = make_idx_set("mnist", n_train=30, n_test=10)
    fake.published["train-labels-idx1-ubyte.gz"] = other.published["train-labels-idx1-ubyte.gz"]
    fake.raw["train-labels-idx1-ubyte.gz"] = other.raw["train-labels-idx1-ubyte.gz"]
    monkeypatch.setitem(files.SOURCES, "mnist", fake.source(debian_package=None))
    fake.write(tmp_path / "mnist")
    with pytest.raises(DataError, match=r"40 images but .* 30 labels; the files do not belong together"):
        load_dataset("mnist", root=tmp_path, download=False)


# ---------------------------------------------------------------------------------------------
# scikit-learn's sets

def test_iris_has_the_perceptron_classes_and_a_stratified_split():
    ds = load_dataset("iris")
    assert ds.classes == ("setosa", "versicolor", "virginica")
    train, test = ds.splits["train"], ds.splits["test"]
    assert train.x.shape == (120, 4) and test.x.shape == (30, 4) and train.x.dtype == torch.float32
    assert torch.bincount(train.y).tolist() == [40, 40, 40]
    assert torch.bincount(test.y).tolist() == [10, 10, 10]
    assert ds.input_shape == (4,) and ds.task == "classification" and ds.num_classes == 3
    # setosa vs versicolor, the perceptron's problem, is linearly separable on petal length (cm)
    petal = ds.notes["features"].index("petal length (cm)")
    both = torch.cat([train.x, test.x]), torch.cat([train.y, test.y])
    assert both[0][both[1] == 0, petal].max() < both[0][both[1] == 1, petal].min()


def test_tabular_statistics_normalise_the_train_split():
    ds = load_dataset("breast-cancer")
    assert ds.classes == ("malignant", "benign") and ds.input_shape == (30,)
    assert len(ds.splits["train"]) + len(ds.splits["test"]) == 569
    assert torch.bincount(ds.splits["test"].y).tolist() == [42, 71]  # 20% of 212 and 357, rounded
    batcher = Batcher(ds.splits["train"], batch_size=1000, mean=ds.mean, std=ds.std)
    x, _ = next(iter(batcher))
    assert x.mean(0).abs().max() < 1e-4 and (x.std(0, unbiased=False) - 1).abs().max() < 1e-3


def test_digits_are_uint8_images():
    ds = load_dataset("digits")
    train, test = ds.splits["train"], ds.splits["test"]
    assert train.x.dtype == torch.uint8 and train.x.shape[1:] == (1, 8, 8) and ds.input_shape == (1, 8, 8)
    assert len(train) + len(test) == 1797 and len(test) == 359
    assert int(train.x.max()) == 255 and int(train.x.min()) == 0  # 16 -> 255, 0 -> 0
    assert ds.augment == "none" and ds.num_classes == 10
    assert 0 < ds.mean[0] < 1 and 0 < ds.std[0] < 1


@pytest.mark.parametrize("name", ["iris", "breast-cancer", "digits"])
def test_sklearn_sets_are_deterministic(name):
    a, b = load_dataset(name), load_dataset(name)
    for split in ("train", "test"):
        assert torch.equal(a.splits[split].x, b.splits[split].x)
        assert torch.equal(a.splits[split].y, b.splits[split].y)


def test_missing_scikit_learn_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn...` fail
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(DataError) as info:
        load_dataset("iris")
    message = str(info.value)
    assert "pip install scikit-learn" in message and "iris" in message and "\n" not in message


# ---------------------------------------------------------------------------------------------
# Synthetic sets

@pytest.mark.parametrize("name", ["xor", "spirals", "sine"])
def test_synthetic_sets_are_deterministic(name):
    a, b = load_dataset(name), load_dataset(name)
    for split in ("train", "test"):
        assert torch.equal(a.splits[split].x, b.splits[split].x)
        assert torch.equal(a.splits[split].y, b.splits[split].y)
    assert not torch.equal(a.splits["train"].x[:10], a.splits["test"].x[:10])


def test_xor():
    ds = load_dataset("xor")
    x, y = ds.splits["train"].x, ds.splits["train"].y
    assert x.shape == (400, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert len(ds.splits["test"]) == 200 and ds.num_classes == 2 and ds.input_shape == (2,)
    assert torch.bincount(torch.cat([y, ds.splits["test"].y])).tolist() == [300, 300]
    xor_of_signs = ((x[:, 0] > 0) != (x[:, 1] > 0)).long()
    assert (xor_of_signs == y).float().mean() > 0.97  # the noise seldom carries a point across an axis


def test_spirals():
    ds = load_dataset("spirals")
    x, y = ds.splits["train"].x, ds.splits["train"].y
    assert x.shape == (400, 2) and ds.num_classes == 2 and ds.task == "classification"
    assert torch.bincount(torch.cat([y, ds.splits["test"].y])).tolist() == [300, 300]
    # the two spirals are each other turned by 180 degrees: their centroids sit near the origin
    assert x[y == 0].mean(0).norm() < 0.2 and x[y == 1].mean(0).norm() < 0.2
    assert x.norm(dim=1).max() < 1.2


def test_sine():
    ds = load_dataset("sine")
    assert ds.task == "regression" and ds.input_shape == (1,) and ds.num_classes is None
    for split, n in (("train", 256), ("test", 128)):
        x, y = ds.splits[split].x, ds.splits[split].y
        assert x.shape == (n, 1) and y.shape == (n, 1)
        assert x.abs().max() <= math.pi
        assert torch.allclose(y, torch.sin(x))
