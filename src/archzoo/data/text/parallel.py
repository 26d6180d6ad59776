"""Parallel text for translation: sentence pairs in memory, their tokenizers, ids and batches.

:class:`ParallelCorpus` holds line-aligned source and target sentences per split. Datasets give one
(``multi30k-de-en``; ``parallel:DIR`` reads :func:`read_parallel_dir`); a translation task then

1. builds its tokenizers from the train split only (:func:`build_pair_tokenizers`: one joint
   tokenizer for both sides, or one per side) and keeps them with the run
   (:func:`save_pair_tokenizers`, :func:`load_pair_tokenizers`);
2. encodes every split once into padded id tensors (:func:`encode_pairs`);
3. cuts them into batches (:class:`PairBatches`).

A directory of parallel text (``parallel:DIR``, :func:`read_parallel_dir`):

- ``DIR/{split}.{lang}`` or ``DIR/{split}.{lang}.gz`` (read in memory, never unpacked to disk), one
  sentence per line, the two languages' files of a split line-aligned, UTF-8 unless told otherwise
  (``--set encoding=...``). Only the line endings (``\\n``, ``\\r\\n``) are removed; the text is
  kept as it is, spaces included.
- ``train`` is required. Validation is ``val`` (``valid`` or ``dev`` are accepted too, and called
  ``val`` in the corpus; only one of them may be present). Every other split with files in the two
  languages is a test split (``test``, ``test_2016``, ...). A split with a file in one of the two
  languages but not the other is an error naming the missing file, except where the split also has
  files in a third language (a directory of several languages): it then belongs to another pair and
  is left out.
- The split reported as the test set (``test_split``) is ``test`` where there is one, else the first
  other test split in sorted order. A directory with no test split reports its validation split
  (``test_split == "val"``: then the same text chooses the best checkpoint and is reported, which the
  corpus's ``notes["test_split"]`` says); with neither, ``test_split`` is ``""`` and nothing held out
  can be reported.
- Languages: ``src_lang``/``tgt_lang`` (``--set src_lang=de --set tgt_lang=en``) are the file
  suffixes. Given one, the other is the only other language of the train files. Given neither, a
  directory whose train files are exactly ``train.src`` and ``train.tgt`` uses those; any other is an
  error that lists the languages found.
- Pairs in ``train`` where either side is empty or only whitespace are dropped (a model learns
  nothing from them); their number is the corpus's ``dropped``. Evaluation splits keep every line,
  so that translations line up with the references.

Encoded layout (:func:`encode_pairs`), with the word and BPE tokenizers' ``<pad>=0 <unk>=1 <bos>=2
<eos>=3``: a source row is ``ids <eos>`` and a target row ``<bos> ids <eos>``, both padded with 0,
each sentence first cut to ``max_len`` tokens. The source ends with ``<eos>`` as in fairseq, so an
encoder sees where the sentence stops even when batched with longer ones.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from archzoo.data.core import DataError, _mix, batch_indices, num_batches
from archzoo.data.text.batching import _check_shards
from archzoo.data.text.corpus import decode_text, read_bytes, split_lines
from archzoo.data.text.tokenizers import (
    SPECIAL_TOKENS,
    TOKENIZERS,
    Tokenizer,
    build_tokenizer,
    load_tokenizer,
    save_tokenizer,
)

__all__ = [
    "PAIR_TOKENIZER_FILES",
    "PAIR_TOKENIZER_KINDS",
    "VALIDATION_NAMES",
    "PairBatches",
    "ParallelCorpus",
    "build_pair_tokenizers",
    "encode_pairs",
    "load_pair_tokenizers",
    "read_lines",
    "read_parallel_dir",
    "read_parallel_files",
    "save_pair_tokenizers",
]

VALIDATION_NAMES = ("val", "valid", "dev")
"""File names of a validation split in a parallel directory; the corpus calls it ``val``."""

PAIR_TOKENIZER_FILES = ("tokenizer_src.json", "tokenizer_tgt.json")
"""Where a run keeps its source and target tokenizers."""

PAIR_TOKENIZER_KINDS = ("word", "bpe")
"""Tokenizer kinds with ``<pad> <unk> <bos> <eos>`` (ids 0-3), which translation needs."""

Pairs = tuple[list[str], list[str]]


@dataclass
class ParallelCorpus:
    """Sentence pairs: ``splits[split] = (sources, targets)``, two line-aligned lists of equal length.

    ``train`` is required and no split is empty. ``test_split`` names the split reported as the test
    set (a split other than train, or ``""`` when there is none). ``dropped`` counts the training
    pairs left out because a side was empty.
    """

    name: str
    source: str
    src_lang: str
    tgt_lang: str
    splits: dict[str, Pairs]
    test_split: str
    task: str = "translation"
    dropped: int = 0
    notes: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "train" not in self.splits:
            raise DataError(f"{self.name} has no train split (it has: {', '.join(self.splits) or 'none'})")
        for split, (sources, targets) in self.splits.items():
            if len(sources) != len(targets):
                raise DataError(f"{self.name}/{split}: {len(sources)} source sentences but {len(targets)} target "
                                "sentences; the two sides must be line-aligned")
            if not sources:
                raise DataError(f"{self.name}/{split} is empty; every split needs at least one sentence pair")
        if self.test_split == "train" or (self.test_split and self.test_split not in self.splits):
            held_out = ", ".join(s for s in self.splits if s != "train") or "none"
            raise DataError(f"{self.name}: test split {self.test_split!r} must be a held-out split "
                            f"(it has: {held_out}), or '' for none")

    @property
    def sizes(self) -> dict[str, int]:
        """Pairs per split."""
        return {split: len(sources) for split, (sources, _) in self.splits.items()}

    def reversed(self) -> ParallelCorpus:
        """The opposite direction: the same pairs with source and target swapped. A name ending in
        ``-{src}-{tgt}`` (``multi30k-de-en``) becomes ``...-{tgt}-{src}``; any other is kept."""
        name, suffix = self.name, f"-{self.src_lang}-{self.tgt_lang}"
        if name.endswith(suffix):
            name = f"{name.removesuffix(suffix)}-{self.tgt_lang}-{self.src_lang}"
        splits = {split: (targets, sources) for split, (sources, targets) in self.splits.items()}
        return ParallelCorpus(name, self.source, self.tgt_lang, self.src_lang, splits, self.test_split, self.task,
                              self.dropped, dict(self.notes))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        dropped = f", dropped={self.dropped}" if self.dropped else ""
        return (f"ParallelCorpus({self.name!r}, {self.src_lang}->{self.tgt_lang}, {sizes}, "
                f"test_split={self.test_split!r}{dropped})")


# ---------------------------------------------------------------------------------------------
# Reading

def read_lines(path: str | os.PathLike[str], encoding: str = "utf-8") -> list[str]:
    """The lines of ``path`` without their endings (see :func:`split_lines`), decoded with
    ``encoding``; a name ending in ``.gz`` is decompressed in memory.

    Raises DataError for a missing or unreadable file, a damaged gzip file, and bytes not valid in
    ``encoding`` (naming the byte offset, in the decompressed content for ``.gz``).
    """
    path = Path(path)
    data = read_bytes(path)
    name = str(path)
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:  # not gzip (BadGzipFile is an OSError), cut short, damaged
            raise DataError(f"{path} is not a readable gzip file ({e}); replace it, or store it uncompressed "
                            "without the .gz") from e
        name = f"{path} (decompressed)"
    return split_lines(decode_text(data, name, encoding))


def _read_pair(src_path: Path, tgt_path: Path, encoding: str) -> Pairs:
    sources, targets = read_lines(src_path, encoding), read_lines(tgt_path, encoding)
    if len(sources) != len(targets):
        raise DataError(f"{src_path} has {len(sources)} lines but {tgt_path} has {len(targets)}; the two sides of "
                        "a parallel corpus must be line-aligned, one sentence per line in the same order")
    if not sources:
        raise DataError(f"{src_path} and {tgt_path} hold no lines; fill them with sentence pairs or remove them")
    return sources, targets


def read_parallel_files(name: str, files: dict[str, tuple[Path, Path]], src_lang: str, tgt_lang: str,
                        test_split: str, *, encoding: str = "utf-8", source: str = "",
                        notes: dict[str, object] | None = None) -> ParallelCorpus:
    """The corpus of ``files[split] = (source file, target file)`` (``.gz`` read in memory).

    Training pairs with an empty (or whitespace-only) side are dropped and counted; the other splits
    keep every line. Raises DataError for misaligned files and for a train split left empty.
    """
    splits: dict[str, Pairs] = {}
    dropped = 0
    for split, (src_path, tgt_path) in files.items():
        sources, targets = _read_pair(src_path, tgt_path, encoding)
        if split == "train":
            keep = [i for i, (s, t) in enumerate(zip(sources, targets, strict=True)) if s.strip() and t.strip()]
            if not keep:
                raise DataError(f"{src_path} and {tgt_path} have no pair with text on both sides; the train split "
                                "is empty: give sentence pairs, one per line")
            dropped = len(sources) - len(keep)
            if dropped:
                sources, targets = [sources[i] for i in keep], [targets[i] for i in keep]
        splits[split] = (sources, targets)
    return ParallelCorpus(name, source, src_lang, tgt_lang, splits, test_split, dropped=dropped,
                          notes={"encoding": encoding, **(notes or {})})


def _scan(directory: Path) -> dict[str, dict[str, Path]]:
    """``{split: {lang: path}}`` of the files ``{split}.{lang}`` and ``{split}.{lang}.gz`` in ``directory``."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(directory.iterdir()):
        split, dot, lang = path.name.removesuffix(".gz").rpartition(".")
        if not (dot and split and lang) or path.name.startswith(".") or not path.is_file():
            continue
        langs = found.setdefault(split, {})
        if lang in langs:
            raise DataError(f"{langs[lang]} and {path} are the same side of the same split (one compressed); "
                            "keep only one of them")
        langs[lang] = path
    return found


def _languages(directory: Path, train_langs: list[str], src_lang: str, tgt_lang: str) -> tuple[str, str]:
    found = ", ".join(train_langs)
    if not src_lang and not tgt_lang:
        if set(train_langs) == {"src", "tgt"}:
            return "src", "tgt"
        raise DataError(f"which languages of {directory} to translate? its train files are in: {found}; "
                        "pass --set src_lang=XX --set tgt_lang=YY")
    if not src_lang or not tgt_lang:
        given = src_lang or tgt_lang
        others = [lang for lang in train_langs if lang != given]
        if given not in train_langs or len(others) != 1:
            raise DataError(f"cannot tell the other language from {'src' if src_lang else 'tgt'}_lang={given}: "
                            f"the train files of {directory} are in: {found}; "
                            "pass both --set src_lang=XX --set tgt_lang=YY")
        return (given, others[0]) if src_lang else (others[0], given)
    if src_lang == tgt_lang:
        raise DataError(f"src_lang and tgt_lang are both {src_lang!r}; translation needs two different file "
                        f"suffixes (the train files of {directory} are in: {found})")
    return src_lang, tgt_lang


def _has_both_sides(directory: Path, split: str, langs: dict[str, Path], src_lang: str, tgt_lang: str) -> bool:
    """Whether ``split`` has both sides; False for a split of other languages. A split with one side
    alone is an error naming the missing file, unless it is not train and also has files in another
    language (a directory of several languages: it is a split of another pair)."""
    sides = [lang for lang in (src_lang, tgt_lang) if lang in langs]
    if len(sides) == 2 or not sides:
        return len(sides) == 2
    if split != "train" and set(langs) - {src_lang, tgt_lang}:
        return False
    have = langs[sides[0]]
    missing = directory / f"{split}.{tgt_lang if sides[0] == src_lang else src_lang}"
    raise DataError(f"{missing} (or {missing.name}.gz) not found, but {have} is there; each split needs both "
                    f"sides: add {missing.name}, or remove {have.name}")


def read_parallel_dir(path: str | os.PathLike[str], src_lang: str = "", tgt_lang: str = "",
                      encoding: str = "utf-8", *, name: str | None = None) -> ParallelCorpus:
    """The parallel corpus in directory ``path``, laid out as the module docstring says; ``name``
    defaults to ``parallel:PATH``.

    Raises DataError (one line: what is wrong and how to fix it) for a missing directory, missing
    train files, languages not given or not found, a split with only one side, files of different
    line counts, bytes not valid in ``encoding``, and a train split with no pair left.
    """
    directory = Path(path).expanduser()
    name = name or f"parallel:{path}"
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "not found"
        raise DataError(f"{directory} {what}; parallel:DIR needs a directory holding train.SRC and train.TGT "
                        "(e.g. train.de and train.en, .gz accepted), one sentence per line")
    found = _scan(directory)
    train_langs = sorted(found.get("train", {}))
    if not train_langs:
        raise DataError(f"{directory} has no train files; parallel:DIR needs train.SRC and train.TGT "
                        "(e.g. train.de and train.en, .gz accepted), one sentence per line")
    src_lang, tgt_lang = _languages(directory, train_langs, src_lang, tgt_lang)
    if src_lang not in found["train"] and tgt_lang not in found["train"]:
        raise DataError(f"{directory / f'train.{src_lang}'} and {directory / f'train.{tgt_lang}'} not found; "
                        f"the train files there are in: {', '.join(train_langs)}; pass those as src_lang/tgt_lang")
    splits = {split: langs for split, langs in found.items()
              if _has_both_sides(directory, split, langs, src_lang, tgt_lang)}
    validation = [split for split in VALIDATION_NAMES if split in splits]
    if len(validation) > 1:
        raise DataError(f"{directory} has {' and '.join(validation)} files: which one validates? keep one "
                        "(or rename the other to a test split name)")
    tests = sorted(split for split in splits if split != "train" and split not in VALIDATION_NAMES)
    files = {"train": splits["train"]}
    if validation:
        files["val"] = splits[validation[0]]
    files.update((split, splits[split]) for split in tests)
    test_split = "test" if "test" in tests else tests[0] if tests else "val" if validation else ""
    notes: dict[str, object] = {
        "files": {split: [str(langs[src_lang]), str(langs[tgt_lang])] for split, langs in files.items()},
        "test_split": ("the test split" if tests else
                       "no test split: the validation split is reported" if validation else
                       "no held-out split"),
    }
    if validation:
        notes["validation"] = validation[0]
    return read_parallel_files(name, {split: (langs[src_lang], langs[tgt_lang]) for split, langs in files.items()},
                               src_lang, tgt_lang, test_split, encoding=encoding, source=str(directory), notes=notes)


# ---------------------------------------------------------------------------------------------
# Tokenizers

def _check_pair_kind(kind: str) -> None:
    if kind in PAIR_TOKENIZER_KINDS:
        return
    if kind in TOKENIZERS:
        raise DataError(f"a {kind} tokenizer has no {' '.join(SPECIAL_TOKENS)} tokens, which translation needs; "
                        "use word or bpe (--set tokenizer=word or --set tokenizer=bpe)")
    raise DataError(f"unknown tokenizer kind {kind!r} for translation; "
                    f"choose one of: {', '.join(PAIR_TOKENIZER_KINDS)}")


def _check_specials(tok: Tokenizer, side: str) -> tuple[int, int, int, int]:
    """``tok``'s ``(pad, unk, bos, eos)`` ids, which must be 0-3."""
    ids = (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id)
    if ids != (0, 1, 2, 3):
        raise DataError(f"the {side} tokenizer ({tok.kind}) must have {' '.join(SPECIAL_TOKENS)} as ids 0-3, has "
                        f"{ids}; translation needs a word or bpe tokenizer")
    return 0, 1, 2, 3


def build_pair_tokenizers(corpus: ParallelCorpus, kind: str = "bpe", vocab_size: int = 8000, joint: bool = True,
                          min_freq: int = 1, lowercase: bool = False) -> tuple[Tokenizer, Tokenizer]:
    """``(source tokenizer, target tokenizer)`` trained on the train split only.

    ``joint``: one tokenizer trained on the train sources and targets together, returned twice (the
    same object, so ``src is tgt`` tells a model it may share embeddings); else one per side.
    ``kind`` is ``word`` (``min_freq``, ``lowercase``) or ``bpe`` (``vocab_size``); ``char`` has no
    special tokens and is refused.
    """
    _check_pair_kind(kind)
    sources, targets = corpus.splits["train"]
    options = {"min_freq": min_freq, "vocab_size": vocab_size, "lowercase": lowercase}
    if joint:
        tok = build_tokenizer(kind, [*sources, *targets], **options)
        _check_specials(tok, "joint")
        return tok, tok
    src, tgt = build_tokenizer(kind, sources, **options), build_tokenizer(kind, targets, **options)
    _check_specials(src, "source")
    _check_specials(tgt, "target")
    return src, tgt


def save_pair_tokenizers(src: Tokenizer, tgt: Tokenizer, run_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``run_dir/tokenizer_src.json`` and ``run_dir/tokenizer_tgt.json`` (a joint tokenizer is
    written to both, so each side's file is whole on its own); returns the two paths."""
    run_dir = Path(run_dir)
    return (save_tokenizer(src, run_dir / PAIR_TOKENIZER_FILES[0]),
            save_tokenizer(tgt, run_dir / PAIR_TOKENIZER_FILES[1]))


def load_pair_tokenizers(run_dir: str | os.PathLike[str]) -> tuple[Tokenizer, Tokenizer]:
    """The pair that :func:`save_pair_tokenizers` wrote to ``run_dir``; two equal tokenizers (a
    joint one) come back as one object returned twice, as :func:`build_pair_tokenizers` gave them."""
    run_dir = Path(run_dir)
    src, tgt = (load_tokenizer(run_dir / name) for name in PAIR_TOKENIZER_FILES)
    _check_specials(src, "source")
    _check_specials(tgt, "target")
    return (src, src) if src == tgt else (src, tgt)


# ---------------------------------------------------------------------------------------------
# Ids

def _pad_side(encoded: list[Tensor], max_len: int, bos: int | None, eos: int) -> tuple[Tensor, Tensor]:
    """``(ids (N, L), lengths (N,))``: row i is ``[bos] encoded[i][:max_len] eos`` padded with 0."""
    n = len(encoded)
    lengths = torch.tensor(list(map(len, encoded)), dtype=torch.long)  # (N,)
    kept = lengths.clamp(max=max_len)  # (N,)
    flat = torch.cat(encoded).long()  # (total,) every token of every sentence
    row = torch.repeat_interleave(torch.arange(n), lengths)  # (total,) the sentence of each token
    pos = torch.arange(len(flat)) - (torch.cumsum(lengths, 0) - lengths)[row]  # (total,) its place in it
    keep = pos < max_len
    first = 0 if bos is None else 1
    out_lengths = kept + first + 1  # (N,) [bos] + kept tokens + eos
    out = torch.zeros(n, int(out_lengths.max()), dtype=torch.long)  # (N, L) 0 is <pad>
    if bos is not None:
        out[:, 0] = bos
    out[row[keep], pos[keep] + first] = flat[keep]
    out[torch.arange(n), kept + first] = eos
    return out, out_lengths


def encode_pairs(src_tok: Tokenizer, tgt_tok: Tokenizer, sources: Sequence[str], targets: Sequence[str],
                 max_len: int) -> dict[str, Tensor]:
    """Sentence pairs as padded ids: ``src`` (N, S) rows ``ids <eos>``, ``src_lengths`` (N,), ``tgt``
    (N, T) rows ``<bos> ids <eos>``, ``tgt_lengths`` (N,) (counting ``<bos>`` and ``<eos>``); 0 pads.

    Each sentence is cut to its first ``max_len`` tokens before ``<bos>``/``<eos>`` are added, so
    ``S <= max_len + 1`` and ``T <= max_len + 2``; a row at that cap may have been cut. An empty
    sentence is ``<eos>`` alone (``<bos> <eos>`` as a target). The keys are :class:`PairBatches`'s
    arguments: ``PairBatches(**encode_pairs(...), batch_size=64)``.
    """
    if isinstance(sources, str) or isinstance(targets, str):
        raise DataError("encode_pairs takes lists of sentences, got one string; pass [sentence]")
    if len(sources) != len(targets):
        raise DataError(f"{len(sources)} source sentences but {len(targets)} targets; pairs must be aligned")
    if not sources:
        raise DataError("no sentence pairs to encode")
    if max_len < 1:
        raise DataError(f"max_len must be positive, got {max_len}")
    *_, src_eos = _check_specials(src_tok, "source")
    *_, tgt_bos, tgt_eos = _check_specials(tgt_tok, "target")
    src, src_lengths = _pad_side(src_tok.encode_batch(list(sources)), max_len, None, src_eos)
    tgt, tgt_lengths = _pad_side(tgt_tok.encode_batch(list(targets)), max_len, tgt_bos, tgt_eos)
    return {"src": src, "src_lengths": src_lengths, "tgt": tgt, "tgt_lengths": tgt_lengths}


# ---------------------------------------------------------------------------------------------
# Batches

PairBatch = tuple[Tensor, Tensor, Tensor, Tensor]


class PairBatches:
    """Sentence pairs in batches ``(src (B, S), src_lengths (B,), tgt (B, T), tgt_lengths (B,))``, each
    side cut to the longest row of its batch.

    The contract of :class:`~archzoo.data.text.batching.PaddedBatches`: step s of epoch e is a pure
    function of (seed, e, s), so a resumed run sees the same batches; ``batch_size`` is global;
    training (``shuffle``) drops the last partial batch, evaluation keeps it; distributed, every rank
    cuts the same global batch and keeps rows ``rank::world_size``.

    Training order, with ``bucket`` > 0: a permutation seeded by (seed, epoch) (its tail beyond the
    last whole batch dropped, so the rows left out are random ones), then within each run of
    ``bucket`` consecutive batches' rows a stable sort by source length (target length breaking ties),
    cut into batches, whose order is shuffled (same generator). Sentences of like length share a
    batch, so there is little padding, and every batch is still drawn from a random part of the
    corpus. ``bucket=0`` gives plain shuffled batches. Evaluation (no ``shuffle``) keeps the corpus
    order and never sorts, so outputs line up with the references.
    """

    def __init__(self, src: Tensor, src_lengths: Tensor, tgt: Tensor, tgt_lengths: Tensor, batch_size: int, *,
                 shuffle: bool = False, seed: int = 0, drop_last: bool | None = None, rank: int = 0,
                 world_size: int = 1, device: torch.device | str = "cpu", bucket: int = 100) -> None:
        n = len(src)
        if src.ndim != 2 or tgt.ndim != 2 or len(tgt) != n or src_lengths.shape != (n,) or tgt_lengths.shape != (n,):
            raise DataError(f"pair batches need src (N, S), src_lengths (N,), tgt (N, T) and tgt_lengths (N,), got "
                            f"{tuple(src.shape)}, {tuple(src_lengths.shape)}, {tuple(tgt.shape)} and "
                            f"{tuple(tgt_lengths.shape)}")
        if n == 0:
            raise DataError("no sentence pairs to batch: the split is empty")
        if bucket < 0:
            raise DataError(f"bucket must be 0 (no length bucketing) or a positive number of batches, got {bucket}")
        _check_shards(batch_size, 1)
        self.batch_size = min(batch_size, n)
        _check_shards(self.batch_size, world_size)
        self.src, self.src_lengths, self.tgt, self.tgt_lengths, self.n = src, src_lengths, tgt, tgt_lengths, n
        self.shuffle, self.seed, self.bucket = shuffle, seed, bucket
        self.drop_last = shuffle if drop_last is None else drop_last
        self.rank, self.world_size, self.device = rank, world_size, torch.device(device)

    def __len__(self) -> int:
        return num_batches(self.n, self.batch_size, self.drop_last)

    def _bucketed(self, epoch: int, start_step: int) -> Iterator[Tensor]:
        g = torch.Generator().manual_seed(_mix(self.seed, epoch))
        b, steps = self.batch_size, len(self)
        order = torch.randperm(self.n, generator=g)[:steps * b]  # (M,) beyond the last whole batch: dropped
        chunk = torch.arange(len(order)) // (self.bucket * b)  # (M,) the bucket of each place
        width = int(self.tgt_lengths.max()) + 1
        length = self.src_lengths[order] * width + self.tgt_lengths[order]  # (M,) by source, then target
        key = chunk * (int(self.src_lengths.max()) + 1) * width + length  # (M,) by bucket, then length
        order = order[torch.sort(key, stable=True).indices]
        batch_order = torch.randperm(steps, generator=g)
        for step in range(start_step, steps):
            i = int(batch_order[step])
            yield order[i * b:(i + 1) * b]

    def indices(self, epoch: int, start_step: int = 0) -> Iterator[Tensor]:
        """The global row indices of each step of ``epoch`` from ``start_step`` on (before the
        rank's share is taken)."""
        if self.shuffle and self.bucket:
            return self._bucketed(epoch, start_step)
        return batch_indices(self.n, self.batch_size, shuffle=self.shuffle, seed=self.seed, epoch=epoch,
                             start_step=start_step, drop_last=self.drop_last)

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[PairBatch]:
        """The batches of ``epoch``, from ``start_step`` on (to resume inside an epoch)."""
        for idx in self.indices(epoch, start_step):
            if self.world_size > 1:
                idx = idx[self.rank::self.world_size]
            src_lengths, tgt_lengths = self.src_lengths[idx], self.tgt_lengths[idx]
            src = self.src[idx, :int(src_lengths.max())]  # (B, S): S the longest source of these rows
            tgt = self.tgt[idx, :int(tgt_lengths.max())]  # (B, T): T the longest target of these rows
            yield (src.to(self.device, non_blocking=True), src_lengths.to(self.device, non_blocking=True),
                   tgt.to(self.device, non_blocking=True), tgt_lengths.to(self.device, non_blocking=True))

    def __iter__(self) -> Iterator[PairBatch]:
        return self.epoch(0)
