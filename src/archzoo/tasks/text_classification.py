"""Text classification: cross-entropy over labelled sentences; accuracy, macro-F1, the confusion matrix.

The plan (:class:`TextClsPlan`) takes a :class:`~archzoo.data.text.TextClassificationSet` (MR,
``textcls:DIR``) and decides the splits, in this order:

- a fold run (``fold=k`` of ``folds=K``, written by :func:`archzoo.engine.cv.cross_validate`): train
  on the other K-1 folds of the set's train split, test on fold k (``TextClassificationSet.folds``:
  stratified, the same folds for every model); a test split of the set itself is not used;
- else the set's own ``test`` split;
- else the fixed stratified 90/10 holdout of the train split (``TextClassificationSet.holdout``),
  for quick runs on sets without one (MR).

Validation is the set's ``dev`` split where it has one, else ``val_size`` carved from the training
texts (stratified, seeded by the run's seed) when ``val_size > 0``. ``--subset N`` keeps N training
texts (before the carve-out).

The tokenizer (``--set tokenizer=char|word|bpe``; the recipes of the text classifiers say ``word``)
is built from the training texts only (a character tokenizer, which has no <unk>, from every split's
characters) and saved as ``tokenizer.json`` in the run directory; `eval`
and ``--resume`` reload it. Every text is encoded once, cut to ``seq_len`` tokens and kept in one
padded tensor; batches are :class:`~archzoo.data.text.batching.PaddedBatches`:
``(ids (B, L), lengths (B,), labels (B,))``, and models are called ``model(ids, lengths)``.

Constraints: a model may define ``constrain()``; the task calls it, without gradients, after every
optimizer step, to project the weights back onto their constraint set (Kim's max-norm on the output
rows). The model knows which weights are constrained; the task knows when a step has been taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data.core import DataError
from archzoo.data.text import (
    FOLD_SEED,
    TextClassificationSet,
    Tokenizer,
    build_tokenizer,
    load_tokenizer,
    save_tokenizer,
)
from archzoo.data.text.batching import PaddedBatches
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.tasks.base import unwrap_model

TOKENIZER_FILE = "tokenizer.json"
HOLDOUT = 0.1  # the test fraction of the fixed holdout, for sets without a test split

TextBatch = tuple[Tensor, Tensor, Tensor]


def _take(texts: list[str], labels: Tensor, idx: Tensor) -> tuple[list[str], Tensor]:
    return [texts[i] for i in idx.tolist()], labels[idx]


def _carve(texts: list[str], labels: Tensor, size: float, seed: int, classes: tuple[str, ...]
           ) -> tuple[tuple[list[str], Tensor], tuple[list[str], Tensor]]:
    """(train, val): ``size`` texts (>= 1) or that fraction (< 1) set aside, stratified and seeded."""
    fraction = size / len(labels) if size >= 1 else size
    train_only = TextClassificationSet("train", {"train": texts}, {"train": labels}, classes)
    try:
        cut = train_only.holdout(fraction, seed=seed)
    except DataError:
        raise ConfigError(f"val_size={size} leaves no training or no validation texts in {len(labels)}; "
                          "choose a smaller val_size (or 0)") from None
    return (cut.texts["train"], cut.labels["train"]), (cut.texts["test"], cut.labels["test"])


def resolve_splits(ds: TextClassificationSet, cfg: TrainConfig) -> tuple[dict[str, tuple[list[str], Tensor]], str]:
    """The run's splits ``{name: (texts, labels)}`` (train, test and, where there is one, val) and a
    few words on where the test split comes from."""
    if cfg.folds and cfg.fold < 0:
        raise ConfigError(f"folds={cfg.folds} without a fold is a cross-validation: train it with `archzoo train "
                          f"{cfg.model} --data {cfg.data} --folds {cfg.folds}`, evaluate a fold's run in RUN/folds/k")
    texts, labels = ds.texts["train"], ds.labels["train"]
    if cfg.fold >= 0:
        train_idx, test_idx = ds.folds(cfg.folds)[cfg.fold]
        splits = {"train": _take(texts, labels, train_idx), "test": _take(texts, labels, test_idx)}
        evaluation = f"fold {cfg.fold} of {cfg.folds} (stratified, seed {FOLD_SEED})"
    elif "test" in ds.texts:
        splits = {"train": (texts, labels), "test": (ds.texts["test"], ds.labels["test"])}
        evaluation = "the test split"
    else:
        cut = ds.holdout(HOLDOUT)
        splits = {name: (cut.texts[name], cut.labels[name]) for name in ("train", "test")}
        evaluation = f"a fixed stratified {HOLDOUT:.0%} holdout of train (seed {FOLD_SEED})"
    if cfg.subset and cfg.subset < len(splits["train"][1]):
        g = torch.Generator().manual_seed(cfg.seed)
        idx = torch.randperm(len(splits["train"][1]), generator=g)[: cfg.subset].sort().values
        splits["train"] = _take(*splits["train"], idx)
    if "dev" in ds.texts:
        splits["val"] = (ds.texts["dev"], ds.labels["dev"])
    elif cfg.val_size > 0:
        splits["train"], splits["val"] = _carve(*splits["train"], cfg.val_size, cfg.seed, ds.classes)
    return splits, evaluation


class TextClsPlan:
    """Labelled texts as padded token ids, and their :class:`PaddedBatches`."""

    channels_last = False

    def __init__(self, ds: TextClassificationSet, cfg: TrainConfig, run_dir: Path | None = None) -> None:
        splits, evaluation = resolve_splits(ds, cfg)
        saved = run_dir / TOKENIZER_FILE if run_dir is not None else None
        if saved is not None and saved.is_file():
            self.tokenizer: Tokenizer = load_tokenizer(saved)
        elif cfg.tokenizer == "char":  # every character of every split, as language models do: a character
            # tokenizer has no <unk>, and an alphabet says nothing about the labels
            self.tokenizer = build_tokenizer("char", [text for texts, _ in splits.values() for text in texts])
        else:  # words and subwords are learnt from the training texts only: unseen test words are <unk>
            self.tokenizer = build_tokenizer(cfg.tokenizer, splits["train"][0], min_freq=cfg.min_freq,
                                             vocab_size=cfg.bpe_vocab_size)
        self.classes = ds.classes
        self.data: dict[str, tuple[Tensor, Tensor, Tensor]] = {}  # split -> (ids (N, L), lengths (N,), labels (N,))
        truncated = {}
        for name, (texts, labels) in splits.items():
            encoded = self.tokenizer.encode_batch(texts)
            ids, lengths = PaddedBatches.pad(encoded, cfg.seq_len)
            self.data[name] = (ids, lengths, labels)
            truncated[name] = sum(len(e) > cfg.seq_len for e in encoded)
        self.seq_len = cfg.seq_len
        self.record = {"name": ds.name, "source": ds.source, "classes": list(ds.classes),
                       "tokenizer": self.tokenizer.kind, "vocab_size": self.tokenizer.vocab_size,
                       "splits": {k: len(v[2]) for k, v in self.data.items()}, "evaluation": evaluation,
                       "validation": "dev" if "dev" in ds.texts else "carved from train" if "val" in splits else None,
                       "seq_len": cfg.seq_len, "truncated": truncated}

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "vocab_size" in fields:
            out["vocab_size"] = self.tokenizer.vocab_size
        if "num_classes" in fields:
            out["num_classes"] = len(self.classes)
        if "max_len" in fields:  # learned positions: one per token a text can keep (the same for any data)
            out["max_len"] = self.seq_len
        return out

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[PaddedBatches, dict[str, PaddedBatches]]:
        train = PaddedBatches(*self.data["train"], cfg.batch_size, shuffle=True, seed=cfg.seed, rank=rank,
                              world_size=world_size, device=device)
        evals = {name: PaddedBatches(*data, cfg.eval_batch_size, device=device)
                 for name, data in self.data.items() if name != "train"}
        return train, evals

    def check_fits(self, model: nn.Module, batch: TextBatch) -> None:
        model(batch[0][:2], batch[1][:2])

    def save(self, run_dir: Path) -> None:
        save_tokenizer(self.tokenizer, run_dir / TOKENIZER_FILE)


def macro_f1(confusion: Tensor) -> float:
    """The mean over classes of F1 = 2 TP / (2 TP + FP + FN), from a (K, K) confusion matrix (rows:
    true class, columns: predicted). Classes that never occur and are never predicted are left out
    (scikit-learn's ``f1_score(average="macro")`` does the same)."""
    tp = confusion.diag().double()
    denominator = confusion.sum(0).double() + confusion.sum(1).double()  # 2 TP + FP + FN
    seen = denominator > 0
    return float((2 * tp[seen] / denominator[seen]).mean()) if seen.any() else 0.0


class TextClassificationTask:
    name = "text_classification"
    best_metric = "accuracy"
    higher_is_better = True

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def plan(self, ds: TextClassificationSet, cfg: TrainConfig, run_dir: Path | None = None) -> TextClsPlan:
        if not isinstance(ds, TextClassificationSet):
            raise ConfigError(f"{cfg.model} is a text classifier and needs labelled text (mr, textcls:DIR), "
                              f"not {cfg.data}")
        return TextClsPlan(ds, cfg, run_dir)

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model, cfg)}

    def train_step(self, model: nn.Module, batch: TextBatch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        ids, lengths, y = batch
        logits = model(ids, lengths)
        loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        constrain = getattr(unwrap_model(model), "constrain", None)
        if constrain is not None:
            constrain()
        return {"loss": loss.detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[TextBatch]) -> dict[str, Any]:
        k = self.num_classes
        confusion = torch.zeros(k, k, dtype=torch.long)
        loss_sum, n = 0.0, 0
        for ids, lengths, y in batches:
            logits = model(ids, lengths).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            confusion += torch.bincount((y * k + logits.argmax(1)).cpu(), minlength=k * k).view(k, k)
            n += len(y)
        return {
            "loss": loss_sum / max(n, 1),
            "accuracy": confusion.diag().sum().item() / max(n, 1),
            "macro_f1": macro_f1(confusion),
            "confusion_matrix": confusion.tolist(),
            "samples": n,
        }
