"""MNIST and Fashion-MNIST: four IDX files each, 60,000 training and 10,000 test images of 28x28.

- MNIST: LeCun, Cortes, Burges, "The MNIST database of handwritten digits" (1998),
  http://yann.lecun.com/exdb/mnist/. Files from the mirror torchvision uses first, then the
  original site.
- Fashion-MNIST: Xiao, Rasul, Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking
  Machine Learning Algorithms" (2017), https://arxiv.org/abs/1708.07747. Files from Zalando
  Research's own bucket; Debian's ``dataset-fashion-mnist`` installs the same bytes in
  /usr/share/datasets/fashion-mnist.

Checksums: the SHA-256 of each published ``.gz`` and of its decompressed content. Fashion-MNIST's
are those of the files the publisher and Debian distribute (byte for byte the same). MNIST's
publisher states no checksum; its SHA-256s here (of the ``.gz`` files, 9,912,422 / 28,881 /
1,648,877 / 4,542 bytes, and of their decompressed content) are the ones many independent projects
pin for the files of both mirrors.

Normalisation (0..1 scale, over all pixels of the training split): Fashion-MNIST mean 0.2860,
std 0.3530 (computed from the files); MNIST mean 0.1307, std 0.3081 (the values used throughout
the literature and torchvision's examples).

Augmentation: Fashion-MNIST crops and flips left-right (a mirrored shoe is still a shoe); MNIST
only crops, since a mirrored digit is not the same digit.
"""

from __future__ import annotations

import functools
from pathlib import Path

from torch import Tensor

from archzoo.data import register_dataset
from archzoo.data.core import DataError, Dataset, Split
from archzoo.data.files import SOURCES, FileSpec, Source, ensure, register_source
from archzoo.data.idx import read_images, read_labels

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

register_source(Source(
    name="fashion-mnist",
    files=(
        FileSpec(TRAIN_IMAGES, "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
                 "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        FileSpec(TRAIN_LABELS, "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
                 "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        FileSpec(TEST_IMAGES, "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                 "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        FileSpec(TEST_LABELS, "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
                 "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ),
    urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    debian_package="dataset-fashion-mnist",
))

register_source(Source(
    name="mnist",
    files=(
        FileSpec(TRAIN_IMAGES, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                 "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        FileSpec(TRAIN_LABELS, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                 "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        FileSpec(TEST_IMAGES, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                 "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        FileSpec(TEST_LABELS, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                 "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ),
    urls=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
))


@functools.lru_cache(maxsize=8)
def _decoded(path: Path, size: int, mtime_ns: int, images: bool) -> Tensor:
    return read_images(path) if images else read_labels(path)


def _read(path: Path, *, images: bool) -> Tensor:
    """The tensor in IDX file ``path``, decoded once per process (gunzip dominates a load), keyed
    by the file's size and mtime so a changed file is read again; every caller gets its own copy."""
    st = path.stat()
    return _decoded(path.absolute(), st.st_size, st.st_mtime_ns, images).clone()


def load_idx_dataset(
    name: str,
    root: Path,
    download: bool,
    *,
    classes: tuple[str, ...],
    mean: float,
    std: float,
    augment: str,
) -> Dataset:
    """Load the four IDX files of source ``name`` (verified) into a Dataset with train and test."""
    source = SOURCES[name]
    paths = ensure(source, root, download_missing=download)
    splits = {}
    for split, images, labels in (("train", TRAIN_IMAGES, TRAIN_LABELS), ("test", TEST_IMAGES, TEST_LABELS)):
        x, y = _read(paths[images], images=True), _read(paths[labels], images=False)
        if len(x) != len(y):
            raise DataError(
                f"{name}: {paths[images]} holds {len(x)} images but {paths[labels]} holds {len(y)} labels; "
                "the files do not belong together: delete them and fetch them again"
            )
        if len(y) and int(y.max()) >= len(classes):
            raise DataError(f"{paths[labels]}: label {int(y.max())} is out of range 0..{len(classes) - 1}")
        splits[split] = Split(x, y)
    h, w = splits["train"].x.shape[-2:]
    return Dataset(
        name=name,
        task="classification",
        splits=splits,
        input_shape=(1, h, w),
        num_classes=len(classes),
        classes=classes,
        mean=(mean,),
        std=(std,),
        augment=augment,
        source=str(paths[TRAIN_IMAGES].parent),
        notes={"files": {key: str(path) for key, path in paths.items()}},
    )


def _fashion_mnist(root: Path, download: bool) -> Dataset:
    return load_idx_dataset(
        "fashion-mnist", root, download,
        classes=FASHION_MNIST_CLASSES, mean=0.2860, std=0.3530, augment="crop_flip",
    )


def _mnist(root: Path, download: bool) -> Dataset:
    digits = tuple(str(d) for d in range(10))
    return load_idx_dataset("mnist", root, download, classes=digits, mean=0.1307, std=0.3081, augment="crop")


register_dataset(
    "fashion-mnist", _fashion_mnist, task="classification",
    description="Zalando's clothing images: 60k train / 10k test, 28x28 grey, 10 classes",
)
register_dataset(
    "mnist", _mnist, task="classification",
    description="handwritten digits: 60k train / 10k test, 28x28 grey, 10 classes",
)
