"""Text datasets: Tiny Shakespeare, MR, and any text file or labelled TSV directory a user brings.

- ``tinyshakespeare``: the 1,115,394 characters (65 distinct) of Shakespeare that char-rnn
  (Karpathy, "The Unreasonable Effectiveness of Recurrent Neural Networks", 2015) and nanoGPT train
  on, from char-rnn's repository. A :class:`TextCorpus`: first 90% train, last 10% validation.
- ``mr``: movie-review sentence polarity v1.0 (Pang & Lee, "Seeing stars: Exploiting class
  relationships for sentiment categorization with respect to rating scales", ACL 2005),
  http://www.cs.cornell.edu/people/pabo/movie-review-data/, the copy Kim ("Convolutional Neural
  Networks for Sentence Classification", 2014) used, from his repository: 5,331 positive and 5,331
  negative lower-cased, tokenised snippets, one per line, in Windows-1252. It has no official split:
  a :class:`TextClassificationSet` with only ``train``; its ``folds(10)`` give Kim's 10-fold
  cross-validation and ``holdout()`` a quick fixed test split. Lines keep their text exactly (each
  ends with a space as published); only the line endings are removed.
- ``text:PATH``: the text file PATH (relative to the working directory) as a language-model corpus,
  split like Tiny Shakespeare.
- ``textcls:DIR``: ``DIR/train.tsv`` and, if present, ``DIR/dev.tsv`` and ``DIR/test.tsv``, one
  ``LABEL<TAB>TEXT`` per line (blank lines skipped); the classes are the sorted distinct labels of
  train.

The user-file datasets take an ``encoding`` option (``--set encoding=cp1252``; default utf-8).
Checksums: Tiny Shakespeare's is the one many independent projects pin for char-rnn's file; MR's are
those of the files in Kim's repository (byte for byte those of harvardnlp/sent-conv-torch's copy).
"""

from __future__ import annotations

from pathlib import Path

import torch

from archzoo.data import Loader, register_dataset, register_dataset_prefix
from archzoo.data.core import DataError
from archzoo.data.files import SOURCES, FileSpec, Source, ensure, register_source
from archzoo.data.text.corpus import TextClassificationSet, TextCorpus, read_text, split_lines

CORPUS_SPLIT = 0.9
MR_ENCODING = "cp1252"
MR_CLASSES = ("negative", "positive")
MR_FILES = {"negative": "rt-polarity.neg", "positive": "rt-polarity.pos"}
TSV_SPLITS = ("train", "dev", "test")

register_source(Source(
    name="tinyshakespeare",
    files=(FileSpec("input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),),
    urls=("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/",),
))

register_source(Source(
    name="mr-polarity",
    files=(
        FileSpec(MR_FILES["positive"], "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0"),
        FileSpec(MR_FILES["negative"], "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"),
    ),
    urls=("https://raw.githubusercontent.com/yoonkim/CNN_sentence/master/",),
))


def _tinyshakespeare(root: Path, download: bool) -> TextCorpus:
    path = ensure(SOURCES["tinyshakespeare"], root, download_missing=download)["input.txt"]
    return TextCorpus("tinyshakespeare", read_text(path), CORPUS_SPLIT, source=str(path.parent),
                      notes={"files": {"input.txt": str(path)}})


def _mr(root: Path, download: bool) -> TextClassificationSet:
    paths = ensure(SOURCES["mr-polarity"], root, download_missing=download)
    texts: list[str] = []
    labels: list[int] = []
    for label, cls in enumerate(MR_CLASSES):
        lines = [line for line in split_lines(read_text(paths[MR_FILES[cls]], MR_ENCODING)) if line]
        texts += lines
        labels += [label] * len(lines)
    return TextClassificationSet(
        "mr", {"train": texts}, {"train": torch.tensor(labels, dtype=torch.long)}, MR_CLASSES,
        source=str(paths[MR_FILES["positive"]].parent),
        notes={"files": {name: str(path) for name, path in paths.items()}, "encoding": MR_ENCODING},
    )


def _text_file(argument: str) -> Loader:
    path = Path(argument).expanduser()

    def load(root: Path, download: bool, *, encoding: str = "utf-8") -> TextCorpus:
        return TextCorpus(f"text:{argument}", read_text(path, encoding), CORPUS_SPLIT, source=str(path),
                          notes={"encoding": encoding})

    return load


def _read_tsv(path: Path, encoding: str) -> list[tuple[str, str, int]]:
    """``(label, text, line number)`` of each non-blank line of ``path``."""
    rows = []
    for number, line in enumerate(split_lines(read_text(path, encoding)), start=1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab or not label.strip():
            what = "has no tab" if not tab else "has an empty label"
            raise DataError(f"{path}:{number}: the line {what}; each line must be LABEL<TAB>TEXT")
        rows.append((label.strip(), text, number))
    return rows


def _text_classification_dir(argument: str) -> Loader:
    directory = Path(argument).expanduser()

    def load(root: Path, download: bool, *, encoding: str = "utf-8") -> TextClassificationSet:
        if not (directory / "train.tsv").is_file():
            raise DataError(f"{directory / 'train.tsv'} not found; textcls:DIR needs DIR/train.tsv "
                            "(and optionally dev.tsv, test.tsv) with one LABEL<TAB>TEXT per line")
        rows = {split: _read_tsv(directory / f"{split}.tsv", encoding)
                for split in TSV_SPLITS if (directory / f"{split}.tsv").is_file()}
        classes = tuple(sorted({label for label, _, _ in rows["train"]}))
        index = {label: i for i, label in enumerate(classes)}
        texts, labels = {}, {}
        for split, split_rows in rows.items():
            for label, _, number in split_rows:
                if label not in index:
                    raise DataError(f"{directory / f'{split}.tsv'}:{number}: label {label!r} never occurs in "
                                    f"train.tsv (its labels: {', '.join(classes)}); fix the label or add it to train")
            texts[split] = [text for _, text, _ in split_rows]
            labels[split] = torch.tensor([index[label] for label, _, _ in split_rows], dtype=torch.long)
        return TextClassificationSet(f"textcls:{argument}", texts, labels, classes, source=str(directory),
                                     notes={"encoding": encoding})

    return load


register_dataset(
    "tinyshakespeare", _tinyshakespeare, task="language_model",
    description="Tiny Shakespeare (char-rnn): 1,115,394 characters, 65 distinct; first 90% train, last 10% val",
)
register_dataset(
    "mr", _mr, task="text_classification", source="mr-polarity",
    description="MR movie-review polarity (Pang & Lee 2005): 10,662 sentences, 2 classes, no split: 10-fold CV",
)
register_dataset_prefix(
    "text", _text_file, task="language_model", metavar="PATH",
    description="any text file as a language-model corpus: first 90% train, last 10% val (--set encoding=...)",
)
register_dataset_prefix(
    "textcls", _text_classification_dir, task="text_classification", metavar="DIR",
    description="DIR/train.tsv (+ dev.tsv, test.tsv): one LABEL<TAB>TEXT per line (--set encoding=...)",
)
