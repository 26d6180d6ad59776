"""Text datasets in memory: a corpus for language modelling, labelled texts for classification.

- :class:`TextCorpus`: one string; ``splits()`` cuts it into a first part for training and the rest
  for validation (char-rnn and nanoGPT: the first 90% of the characters train, the last 10% validate).
- :class:`TextClassificationSet`: texts and their labels per split. Sets without a test split (MR)
  are evaluated by stratified k-fold cross-validation (:meth:`TextClassificationSet.folds`, fixed
  folds as in Kim 2014) or a fixed stratified holdout (:meth:`TextClassificationSet.holdout`).

Texts stay ``str`` here; a tokenizer (``archzoo.data.text.tokenizers``) turns them into ids.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from archzoo.data.core import DataError

__all__ = ["FOLD_SEED", "TextClassificationSet", "TextCorpus", "decode_text", "read_text", "split_lines"]

FOLD_SEED = 0
"""The default seed of folds and holdouts: every run of every model sees the same evaluation splits."""


def read_bytes(path: Path) -> bytes:
    """The bytes of the file ``path``; DataError (one line, what to give instead) when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise DataError(f"{path} not found; give the path of an existing text file") from e
    except IsADirectoryError as e:
        raise DataError(f"{path} is a directory; give the path of a text file") from e
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror or e})") from e


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """The whole text of ``path`` decoded with ``encoding``, exactly as stored (line endings kept).

    Raises DataError for a missing file, an unknown encoding, bytes that are not valid in the
    encoding (naming the byte offset of the first bad byte), and a file with no text in it.
    """
    path = Path(path)
    data = read_bytes(path)
    text = decode_text(data, path, encoding)
    if not text.strip():
        raise DataError(f"{path} is {'empty' if not text else 'only whitespace'}; give a file that holds text")
    return text


def decode_text(data: bytes, name: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """``data`` decoded with ``encoding``; ``name`` (the file it came from) is what errors name.

    Raises DataError for an unknown encoding and for bytes that are not valid in it, naming the
    byte offset of the first bad byte and how to pass another encoding.
    """
    try:
        return data.decode(encoding)
    except LookupError as e:
        raise DataError(f"unknown encoding {encoding!r}; use a Python codec name such as utf-8, cp1252 or latin-1"
                        ) from e
    except UnicodeDecodeError as e:
        raise DataError(
            f"{name} is not valid {encoding}: byte 0x{data[e.start]:02x} at offset {e.start} cannot be decoded; "
            "pass its encoding with --set encoding=... (e.g. cp1252, latin-1)"
        ) from e


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, without their endings (``\\n`` or ``\\r\\n``).

    Only ``\\n`` ends a line: ``str.splitlines`` would also split at characters such as U+0085 and
    U+2028, which can occur inside a line of text decoded as latin-1 or UTF-8.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start an empty one
    return [line.removesuffix("\r") for line in lines]


@dataclass
class TextCorpus:
    """A language-modelling corpus: ``text`` whole, and the fraction ``split`` of it that trains."""

    name: str
    text: str
    split: float = 0.9
    task: str = "language_model"
    source: str = ""
    notes: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check_fraction(self.split)

    @staticmethod
    def _check_fraction(fraction: float) -> None:
        if not 0 < fraction < 1:
            raise DataError(f"the training fraction of a corpus must be between 0 and 1 (exclusive), got {fraction}")

    def splits(self, fraction: float | None = None) -> dict[str, str]:
        """``{"train": the first int(n * fraction) characters, "val": the rest}``.

        ``fraction`` defaults to ``self.split``. The cut is nanoGPT's ``int(n * 0.9)`` (rounded down):
        Tiny Shakespeare's 1,115,394 characters give 1,003,854 for training and 111,540 for validation.
        """
        fraction = self.split if fraction is None else fraction
        self._check_fraction(fraction)
        n = len(self.text)
        cut = int(n * fraction)
        if not 0 < cut < n:
            raise DataError(f"a training fraction of {fraction} leaves no training or no validation text "
                            f"in {self.name}'s {n} characters; choose another fraction or a longer text")
        return {"train": self.text[:cut], "val": self.text[cut:]}

    def __repr__(self) -> str:
        return f"TextCorpus({self.name!r}, task={self.task!r}, chars={len(self.text)}, split={self.split})"


def _grouped_by_class(y: Tensor, seed: int) -> Tensor:
    """A permutation of ``range(len(y))`` (seeded) in which each class is contiguous, classes in
    order, and the samples of a class are shuffled."""
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    return perm[torch.sort(y[perm], stable=True).indices]


@dataclass
class TextClassificationSet:
    """Labelled texts: ``texts[split]`` (N strings) and ``labels[split]`` ((N,) long indices into
    ``classes``) for ``"train"`` and, where the set has them, ``"dev"`` and ``"test"``."""

    name: str
    texts: dict[str, list[str]]
    labels: dict[str, Tensor]
    classes: tuple[str, ...]
    task: str = "text_classification"
    source: str = ""
    notes: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "train" not in self.texts:
            raise DataError(f"{self.name} has no train split (it has: {', '.join(self.texts) or 'none'})")
        if set(self.texts) != set(self.labels):
            raise DataError(f"{self.name}: texts have splits {sorted(self.texts)} but labels {sorted(self.labels)}")
        for split, texts in self.texts.items():
            y = self.labels[split]
            if y.dtype != torch.long or y.ndim != 1 or len(y) != len(texts):
                raise DataError(f"{self.name}/{split}: labels must be a (N,) long tensor for its {len(texts)} texts, "
                                f"got {tuple(y.shape)} {y.dtype}")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(self.classes)):
                raise DataError(f"{self.name}/{split}: a label is outside 0..{len(self.classes) - 1}")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def folds(self, k: int, seed: int = FOLD_SEED) -> list[tuple[Tensor, Tensor]]:
        """``k`` stratified folds of the train split: ``(train_idx, test_idx)`` pairs of sorted index
        tensors. Every sample is in exactly one test fold; in each class the folds' counts differ
        by at most 1, and so do the folds' sizes. The same ``seed`` gives the same folds everywhere.
        """
        y = self.labels["train"]
        counts = torch.bincount(y, minlength=self.num_classes)
        smallest = int(counts[counts > 0].min())
        if not 2 <= k <= smallest:
            raise DataError(f"k must be between 2 and {smallest} (the smallest class's count in "
                            f"{self.name}'s train split), got {k}")
        # deal the class-grouped order round-robin: each class is a contiguous run, so it is spread
        # evenly over the folds, and the run of one class continues where the last one stopped
        order = _grouped_by_class(y, seed)
        fold_of = torch.empty(len(y), dtype=torch.long)
        fold_of[order] = torch.arange(len(y)) % k
        index = torch.arange(len(y))
        return [(index[fold_of != f], index[fold_of == f]) for f in range(k)]

    def holdout(self, fraction: float = 0.1, seed: int = FOLD_SEED) -> TextClassificationSet:
        """A copy whose train split is cut (stratified, seeded) into ``"train"`` and ``"test"``:
        ``round(fraction * count)`` samples of each class go to test. For sets without a test split."""
        if "test" in self.texts:
            raise DataError(f"{self.name} already has a test split; evaluate on it instead of a holdout")
        if not 0 < fraction < 1:
            raise DataError(f"the holdout fraction must be between 0 and 1 (exclusive), got {fraction}")
        y, texts = self.labels["train"], self.texts["train"]
        order = _grouped_by_class(y, seed)
        counts = torch.bincount(y, minlength=self.num_classes)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.arange(len(y)) - starts[y[order]]  # position of each sample inside its class
        is_test = torch.zeros(len(y), dtype=torch.bool)
        is_test[order] = rank < torch.round(counts.double() * fraction).long()[y[order]]
        if is_test.all() or not is_test.any():
            raise DataError(f"a holdout fraction of {fraction} leaves no training or no test texts "
                            f"in {self.name}'s {len(y)}; choose another fraction")
        picks = {"train": (~is_test).nonzero().flatten(), "test": is_test.nonzero().flatten()}
        new_texts, new_labels = dict(self.texts), dict(self.labels)
        for split, idx in picks.items():
            new_texts[split] = [texts[i] for i in idx.tolist()]
            new_labels[split] = y[idx]
        notes = {**self.notes, "holdout": {"fraction": fraction, "seed": seed}}
        return TextClassificationSet(self.name, new_texts, new_labels, self.classes, self.task, self.source, notes)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.texts.items())
        return f"TextClassificationSet({self.name!r}, classes={len(self.classes)}, {sizes})"
