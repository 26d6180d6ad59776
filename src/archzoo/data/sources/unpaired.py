"""Unpaired image domains cut from a labelled image dataset, for image-to-image translation (CycleGAN).

``unpaired:DATA:A,B`` takes the images of class A of DATA as domain A and those of class B as domain B, in every
split (train and test: the test split's images evaluate the translations). Classes are given by index or by name
(``unpaired:fashion-mnist:7,9`` = ``unpaired:fashion-mnist:Sneaker,Ankle boot``). An image has one label, so
no image is in both domains; nothing pairs an image of A with one of B (the batches draw each domain in its own
order: archzoo.tasks.adversarial_cycle). ``sneakers2boots`` is ``unpaired:fashion-mnist:7,9``: Fashion-MNIST's
6,000 training sneakers as A and 6,000 ankle boots as B (1,000 and 1,000 for testing).

Each split holds the images of A, then those of B (uint8, as DATA's), and as targets their domain: 0 for A, 1 for
B. The dataset's ``task`` is "unpaired"; its classes name the domains; its notes say where they come from
(``base``, ``base_classes``: DATA and the class indices of A and B) for the judge of the translations (a
classifier of DATA, archzoo.analysis.generated). Pixels are batched in [-1, 1], which is what the generators'
tanh makes, so the dataset states mean 0.5 and std 0.5.
"""

from __future__ import annotations

from pathlib import Path

import torch

from archzoo.data import Loader, dataset_info, register_dataset, register_dataset_prefix
from archzoo.data.core import DataError, Dataset, Split

DOMAINS = ("A", "B")
SPEC = "DATA:A,B"
ALIASES = {"sneakers2boots": "fashion-mnist:7,9"}


def parse_spec(argument: str) -> tuple[str, tuple[str, str]]:
    """``DATA:A,B`` -> (DATA, (A, B)), the classes as written (an index or a name each)."""
    base, colon, classes = argument.rpartition(":")
    parts = tuple(c.strip() for c in classes.split(","))
    if not colon or not base or len(parts) != 2 or not all(parts):
        raise DataError(f"unpaired data is named unpaired:{SPEC} (a labelled image dataset and the classes of domains "
                        f"A and B, by index or name: unpaired:fashion-mnist:7,9); got unpaired:{argument}")
    return base, (parts[0], parts[1])


def _class_index(token: str, classes: tuple[str, ...], num_classes: int, base: str) -> int:
    lowered = [c.lower() for c in classes]
    if token.isdigit() and int(token) < num_classes:
        return int(token)
    if token.lower() in lowered:
        return lowered.index(token.lower())
    listed = ", ".join(f"{i} ({c})" for i, c in enumerate(classes)) if classes else f"0..{num_classes - 1}"
    raise DataError(f"{base} has no class {token!r}; choose two of: {listed}")


def unpaired_domains(ds: Dataset, classes: tuple[str, str], name: str) -> Dataset:
    """The domains of ``classes`` (A's, B's) of the labelled image dataset ``ds``, as the module's docstring says."""
    if ds.task != "classification" or not ds.is_image or not ds.num_classes:
        raise DataError(f"unpaired domains are cut from a labelled image dataset (fashion-mnist, mnist); {ds.name} "
                        f"is not one")
    a, b = (_class_index(c, ds.classes, ds.num_classes, ds.name) for c in classes)
    if a == b:
        raise DataError(f"domains A and B must be two different classes of {ds.name}, got {a} twice")
    splits = {}
    for split_name, split in ds.splits.items():
        in_a, in_b = split.y == a, split.y == b
        x = torch.cat([split.x[in_a], split.x[in_b]])
        y = torch.cat([torch.zeros(int(in_a.sum()), dtype=torch.long), torch.ones(int(in_b.sum()), dtype=torch.long)])
        splits[split_name] = Split(x, y)
    names = tuple(ds.classes[i] if ds.classes else str(i) for i in (a, b))
    return Dataset(name=name, task="unpaired", splits=splits, input_shape=ds.input_shape, num_classes=2,
                   classes=names, mean=(0.5,) * ds.input_shape[0], std=(0.5,) * ds.input_shape[0], augment="none",
                   source=ds.source, notes={"base": ds.name, "base_classes": [a, b], "domains": list(names)})


def _unpaired(argument: str, name: str | None = None) -> Loader:
    def load(root: Path, download: bool) -> Dataset:
        base, classes = parse_spec(argument)  # here, not in the factory: listing datasets builds a placeholder
        return unpaired_domains(dataset_info(base).loader(root, download), classes, name or f"unpaired:{argument}")

    return load


register_dataset_prefix(
    "unpaired", _unpaired, task="unpaired", metavar=SPEC,
    description="two classes of a labelled image dataset as unpaired domains A and B for CycleGAN "
                "(unpaired:fashion-mnist:7,9: sneakers and ankle boots)",
)
for _alias, _spec in ALIASES.items():
    register_dataset(_alias, _unpaired(_spec, _alias), task="unpaired", source=_spec.partition(":")[0],
                     description=f"unpaired:{_spec}: Fashion-MNIST's sneakers (A) and ankle boots (B), 6k / 1k each "
                                 "train / test")
