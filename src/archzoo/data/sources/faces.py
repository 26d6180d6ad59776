"""Small image sets for generative models: ORL faces at 64x64, and Fashion-MNIST padded to 32x32.

- ``orl-faces``: the AT&T (Olivetti Research Laboratory) "Database of Faces" of Samaria & Harter,
  "Parameterisation of a stochastic model for human face identification", IEEE Workshop on Applications of
  Computer Vision 1994 (https://www.cl.cam.ac.uk/research/dtg/attarchive/facedatabase.html): ten grey 112x92
  photographs of each of 40 people (the source of scikit-learn's Olivetti faces). Read from
  ``<data root>/orl-faces/orl_faces.npz``, the 400 PGM files decoded into uint8 arrays ``x_train``
  (320, 112, 92) and ``y_train`` (320,) (images 1-8 of each person) and ``x_test`` (80, 112, 92) and
  ``y_test`` (80,) (images 9 and 10); ``y`` is the person, 0..39 (directories s1..s40). The 320/80 split is a
  convention, not the publisher's. Each image is resized to 64x64 (bilinear, antialiased; the aspect ratio is
  not kept: the faces are squeezed to 70% of their width and 57% of their height) and kept as uint8, so that
  pixels are in [0, 1] once batched. The file is checked against its SHA-256; a file written again from the
  same arrays (``np.savez_compressed`` is not byte-reproducible) is accepted when the SHA-256 of each array's
  bytes is the published one. Normalisation over the training split: mean 0.4415, std 0.1899. Augmentation:
  left-right flips (a mirrored face is the same person).
- ``fashion-mnist-32``: Fashion-MNIST (archzoo.data.sources.mnist) with 2 zero pixels on each side, 32x32, as
  LeCun et al. 1998 padded MNIST for LeNet-5: the same files, splits and classes; its 28x28 centre is
  Fashion-MNIST exactly. Normalisation over the training split: mean 0.2190, std 0.3318.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from archzoo.data import dataset_info, register_dataset
from archzoo.data.core import DataError, Dataset, Split
from archzoo.data.files import ChecksumError, verify

ORL_DIR, ORL_FILE = "orl-faces", "orl_faces.npz"
ORL_SHA256 = "9bd3ea8c660d7bdad41877cbcb89d95a98e3d7c4770b67da8925f63b15120480"
ORL_ARRAY_SHA256 = {  # of each array's bytes (C order)
    "x_train": "ce74bc15c7f7e3d94711d246b79acd2b0d7fd4574aa3f94f97ed6d6bd615ee9e",
    "y_train": "0e4349e774efb72cc61a353a67673d12a7efd2bb557968af723645da73dea245",
    "x_test": "f3c9f1f277f2abe0a2ab1c67831830ab1d8b9818b3fa0c06205fe50b1ec32627",
    "y_test": "6f8a34d8bd055b2946cf280d6b3be6597cc7293a7ada0cae1bd779fbbb1f3d93",
}
ORL_SIDE = 64
ORL_PEOPLE = 40
PAD = 2  # fashion-mnist-32: zero pixels added on each side of the 28x28 images


def _orl_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in ORL_ARRAY_SHA256}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} is not a readable ORL faces archive ({exc}); it must hold the uint8 arrays "
                        f"{', '.join(ORL_ARRAY_SHA256)}: replace it") from None


def _verified_orl_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``path``, whose SHA-256 (or, failing that, each array's) must be the published one."""
    try:
        verify(path, ORL_SHA256, dataset=ORL_DIR)
    except ChecksumError:
        arrays = _orl_arrays(path)
        bad = [key for key, sha in ORL_ARRAY_SHA256.items()
               if hashlib.sha256(np.ascontiguousarray(arrays[key]).tobytes()).hexdigest() != sha]
        if bad:
            raise ChecksumError(f"{path} is corrupt: neither its SHA-256 nor that of its arrays {', '.join(bad)} "
                                f"is the published one; replace it with the ORL faces archive") from None
        return arrays
    return _orl_arrays(path)


def _resize(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) -> uint8 (N, 1, 64, 64), bilinear with antialiasing."""
    x = torch.from_numpy(images).float()[:, None]  # (N, 1, H, W)
    x = F.interpolate(x, size=(ORL_SIDE, ORL_SIDE), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


def _orl_faces(root: Path, download: bool) -> Dataset:
    path = root / ORL_DIR / ORL_FILE
    if not path.is_file():
        raise DataError(f"orl-faces not found: looked for {path}; it is not downloaded (its publisher gives no "
                        f"stable file): put the ORL faces archive {ORL_FILE} (uint8 arrays x_train, y_train, x_test, "
                        f"y_test; see archzoo.data.sources.faces) there, or set ARCHZOO_DATA (or --data-root) to a "
                        f"directory that holds {ORL_DIR}/{ORL_FILE}")
    arrays = _verified_orl_arrays(path)
    splits = {}
    for split in ("train", "test"):
        y = torch.from_numpy(arrays[f"y_{split}"].astype(np.int64))
        splits[split] = Split(_resize(arrays[f"x_{split}"]), y)
    return Dataset(
        name="orl-faces", task="classification", splits=splits, input_shape=(1, ORL_SIDE, ORL_SIDE),
        num_classes=ORL_PEOPLE, classes=tuple(f"s{i}" for i in range(1, ORL_PEOPLE + 1)), mean=(0.4415,),
        std=(0.1899,), augment="flip", source=str(path.parent),
        notes={"files": {ORL_FILE: str(path)}, "original_size": [112, 92]},
    )


def _fashion_mnist_32(root: Path, download: bool) -> Dataset:
    base = dataset_info("fashion-mnist").loader(root, download)
    splits = {name: Split(F.pad(split.x, (PAD,) * 4), split.y) for name, split in base.splits.items()}  # (N, 1, 32, 32)
    return replace(base, name="fashion-mnist-32", splits=splits, input_shape=(1, 28 + 2 * PAD, 28 + 2 * PAD),
                   mean=(0.2190,), std=(0.3318,), notes={**base.notes, "padded_from": "fashion-mnist", "padding": PAD})


register_dataset(
    "orl-faces", _orl_faces, task="classification",
    description="AT&T (ORL) faces of 40 people: 320 train / 80 test, resized to 64x64 grey, 40 classes",
)
register_dataset(
    "fashion-mnist-32", _fashion_mnist_32, task="classification", source="fashion-mnist",
    description="Fashion-MNIST zero-padded to 32x32: 60k train / 10k test, grey, 10 classes",
)
