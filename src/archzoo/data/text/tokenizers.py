"""Tokenizers: text to 1-D tensors of token ids and back, saved as JSON next to a run.

Three kinds, one small interface (:class:`Tokenizer`):

- ``char`` (:class:`CharTokenizer`): one id per character; the vocabulary is the sorted distinct
  characters of the corpus it is built from (char-rnn, nanoGPT's shakespeare_char), so it has no
  special tokens and no unknown token: a character outside it is an error that names it.
- ``word`` (:class:`WordTokenizer`): whitespace-split words, ``<pad> <unk> <bos> <eos>`` first (ids
  0-3), then the words seen at least ``min_freq`` times, most frequent first, ties alphabetical.
- ``bpe`` (:class:`BPETokenizer`): byte-level byte-pair encoding (Sennrich et al., "Neural Machine
  Translation of Rare Words with Subword Units", 2016; byte level as in GPT-2), trained by Hugging
  Face's ``tokenizers`` (an optional dependency: ``pip install 'archzoo[text]'``). Byte level means
  every text has an encoding and ``decode(encode(text)) == text`` exactly.

``build_tokenizer(kind, texts)`` trains one on the training texts only (never on validation or test
text); ``save_tokenizer``/``load_tokenizer`` write and read it as JSON so that evaluation and
sampling rebuild exactly what training saw.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from archzoo.data.core import DataError

__all__ = [
    "SPECIAL_TOKENS",
    "TOKENIZERS",
    "BPETokenizer",
    "CharTokenizer",
    "Tokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "load_tokenizer",
    "save_tokenizer",
    "tokenizer_from_json",
]

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")
"""The special tokens of the word and BPE tokenizers, in id order (0-3)."""

Ids = Tensor | Sequence[int]


def _as_numpy_ids(ids: Ids, vocab_size: int) -> np.ndarray:
    """``ids`` as a 1-D int64 array, checked against the vocabulary (DataError for an id outside it)."""
    array = ids.detach().cpu().numpy() if isinstance(ids, Tensor) else np.asarray(ids)
    array = array.astype(np.int64, copy=False).reshape(-1)
    if array.size and (array.min() < 0 or array.max() >= vocab_size):
        bad = array[(array < 0) | (array >= vocab_size)]
        raise DataError(f"token id {int(bad[0])} is outside the vocabulary (ids 0..{vocab_size - 1})")
    return array


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise DataError("a tokenizer is built from a list of texts, got one string; pass [text]")
    if not any(text.strip() for text in texts):
        raise DataError("no training text to build a tokenizer from; pass the training split's texts")


class Tokenizer:
    """What every tokenizer offers. ``encode`` gives a 1-D long tensor (T,); ``decode`` takes a
    tensor or a list of ints. ``pad_id, unk_id, bos_id, eos_id`` are the special ids, None where the
    tokenizer has none. ``to_json()`` is a plain dict that :func:`tokenizer_from_json` turns back
    into an equal tokenizer."""

    kind: ClassVar[str]
    pad_id: int | None = None
    unk_id: int | None = None
    bos_id: int | None = None
    eos_id: int | None = None

    @classmethod
    def build(cls, texts: Sequence[str], *, min_freq: int, vocab_size: int, lowercase: bool) -> Tokenizer:
        """Train on ``texts``; each kind uses the options that apply to it and ignores the others."""
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> Tensor:
        raise NotImplementedError

    def encode_batch(self, texts: Sequence[str]) -> list[Tensor]:
        return [self.encode(text) for text in texts]

    def decode(self, ids: Ids) -> str:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Tokenizer:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


class CharTokenizer(Tokenizer):
    """One id per character: id ``i`` is the ``i``-th of the sorted distinct characters ``chars``.

    Encoding is vectorised: the text's code points (its UTF-32 bytes viewed as uint32) are looked up
    in the sorted vocabulary code points with ``np.searchsorted``, so a million characters take
    milliseconds. A character outside the vocabulary raises DataError naming it.
    """

    kind = "char"

    def __init__(self, chars: str) -> None:
        points = self._code_points(chars)
        if len(points) == 0:
            raise DataError("a character tokenizer needs at least one character")
        if np.any(np.diff(points) <= 0):
            raise DataError("a character vocabulary must be sorted distinct characters; build it with from_texts")
        self.chars = chars
        self._points = points  # (V,) uint32, sorted

    @staticmethod
    def _code_points(text: str) -> np.ndarray:
        # surrogatepass: a str may hold lone surrogates; they are characters like any other here
        return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> CharTokenizer:
        """The tokenizer of every character that occurs in ``texts``."""
        _check_texts(texts)
        points = np.unique(np.concatenate([cls._code_points(t) for t in texts]))  # sorted, distinct
        return cls(points.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass"))

    @classmethod
    def build(cls, texts: Sequence[str], *, min_freq: int = 1, vocab_size: int = 0,
              lowercase: bool = False) -> CharTokenizer:
        return cls.from_texts(texts)

    @property
    def vocab_size(self) -> int:
        return len(self._points)

    def encode(self, text: str) -> Tensor:
        points = self._code_points(text)  # (T,)
        idx = np.searchsorted(self._points, points)
        idx = np.minimum(idx, len(self._points) - 1)  # past the end: a miss, caught below
        unknown = self._points[idx] != points
        if unknown.any():
            missing = np.unique(points[unknown])
            shown = ", ".join(repr(chr(p)) for p in missing[:10]) + (", ..." if len(missing) > 10 else "")
            raise DataError(
                f"{len(missing)} character(s) not in the tokenizer's {self.vocab_size}-character vocabulary "
                f"({int(unknown.sum())} occurrence(s)): {shown}; use only characters of the training text"
            )
        return torch.from_numpy(idx.astype(np.int64))

    def decode(self, ids: Ids) -> str:
        idx = _as_numpy_ids(ids, self.vocab_size)
        return self._points[idx].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "chars": self.chars}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CharTokenizer:
        return cls(d["chars"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and other.chars == self.chars


class WordTokenizer(Tokenizer):
    """Whitespace-split words (``str.split()``), lower-cased first if ``lowercase``.

    ``vocab`` lists the tokens in id order: :data:`SPECIAL_TOKENS` (``<pad>``=0, ``<unk>``=1,
    ``<bos>``=2, ``<eos>``=3), then the words. A word not in it encodes as ``<unk>``; a word that is
    spelled like a special token (Penn Treebank's text holds ``<unk>``) encodes as that token.
    ``decode`` joins the tokens with single spaces.
    """

    kind = "word"
    pad_id, unk_id, bos_id, eos_id = range(4)

    def __init__(self, vocab: Sequence[str], *, lowercase: bool = False) -> None:
        if tuple(vocab[:len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise DataError(f"a word vocabulary must start with {', '.join(SPECIAL_TOKENS)}")
        if len(set(vocab)) != len(vocab):
            raise DataError("a word vocabulary must not repeat a word")
        self.vocab = list(vocab)
        self.lowercase = lowercase
        self._index = {word: i for i, word in enumerate(self.vocab)}

    @classmethod
    def from_texts(cls, texts: Sequence[str], *, min_freq: int = 1, lowercase: bool = False) -> WordTokenizer:
        """Specials, then the words of ``texts`` seen at least ``min_freq`` times, by descending count
        then alphabetically (so the same texts always give the same ids)."""
        _check_texts(texts)
        if min_freq < 1:
            raise DataError(f"min_freq must be at least 1, got {min_freq}")
        counts = Counter(word for text in texts for word in cls._split(text, lowercase))
        for special in SPECIAL_TOKENS:
            counts.pop(special, None)
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        return cls([*SPECIAL_TOKENS, *words], lowercase=lowercase)

    @classmethod
    def build(cls, texts: Sequence[str], *, min_freq: int = 1, vocab_size: int = 0,
              lowercase: bool = False) -> WordTokenizer:
        return cls.from_texts(texts, min_freq=min_freq, lowercase=lowercase)

    @staticmethod
    def _split(text: str, lowercase: bool) -> list[str]:
        return (text.lower() if lowercase else text).split()

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> Tensor:
        index, unk = self._index, self.unk_id
        return torch.tensor([index.get(w, unk) for w in self._split(text, self.lowercase)], dtype=torch.long)

    def decode(self, ids: Ids) -> str:
        return " ".join(self.vocab[i] for i in _as_numpy_ids(ids, self.vocab_size).tolist())

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase, "vocab": self.vocab}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> WordTokenizer:
        return cls(d["vocab"], lowercase=d["lowercase"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordTokenizer) and (other.vocab, other.lowercase) == (self.vocab, self.lowercase)


def _hf_tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as e:
        raise DataError("BPE needs the tokenizers package: pip install tokenizers (or pip install 'archzoo[text]')"
                        ) from e
    return tokenizers


class BPETokenizer(Tokenizer):
    """Byte-level BPE, a thin wrapper over a ``tokenizers.Tokenizer`` (kept as ``.backend``).

    :data:`SPECIAL_TOKENS` take ids 0-3, the 256 byte symbols follow, then the merges. The
    pre-tokenizer is ByteLevel without an added prefix space, with its decoder: it splits prose and
    already tokenised sentences alike, and ``decode(encode(text)) == text`` for every text. Special
    tokens written literally in a text encode as those tokens.
    """

    kind = "bpe"

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        ids = [backend.token_to_id(t) for t in SPECIAL_TOKENS]
        if ids != list(range(len(SPECIAL_TOKENS))):
            raise DataError(f"a BPE tokenizer must have {', '.join(SPECIAL_TOKENS)} as ids 0-3, has ids {ids}")
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = ids

    @classmethod
    def train(cls, texts: Sequence[str], *, vocab_size: int = 1000) -> BPETokenizer:
        """Learn merges from ``texts`` until the vocabulary has ``vocab_size`` tokens (or no pair
        is left to merge: a small corpus may give fewer)."""
        hf = _hf_tokenizers()
        _check_texts(texts)
        least = len(SPECIAL_TOKENS) + 256
        if vocab_size < least:
            raise DataError(f"BPE vocab_size must be at least {least} (4 specials + 256 bytes), got {vocab_size}")
        backend = hf.Tokenizer(hf.models.BPE(unk_token="<unk>"))
        backend.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = hf.decoders.ByteLevel()
        trainer = hf.trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: nothing is unknown
            show_progress=False,
        )
        backend.train_from_iterator(list(texts), trainer=trainer)
        return cls(backend)

    @classmethod
    def build(cls, texts: Sequence[str], *, min_freq: int = 1, vocab_size: int = 1000,
              lowercase: bool = False) -> BPETokenizer:
        return cls.train(texts, vocab_size=vocab_size)

    @property
    def vocab_size(self) -> int:
        return int(self.backend.get_vocab_size())

    def encode(self, text: str) -> Tensor:
        return torch.tensor(self.backend.encode(text).ids, dtype=torch.long)

    def encode_batch(self, texts: Sequence[str]) -> list[Tensor]:
        return [torch.tensor(e.ids, dtype=torch.long) for e in self.backend.encode_batch(list(texts))]

    def decode(self, ids: Ids) -> str:
        # keep special tokens: decoding must invert encoding, which keeps them too
        return str(self.backend.decode(_as_numpy_ids(ids, self.vocab_size).tolist(), skip_special_tokens=False))

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokenizer": self.backend.to_str()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BPETokenizer:
        return cls(_hf_tokenizers().Tokenizer.from_str(d["tokenizer"]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BPETokenizer) and other.backend.to_str() == self.backend.to_str()


TOKENIZERS: dict[str, type[Tokenizer]] = {
    "char": CharTokenizer,
    "word": WordTokenizer,
    "bpe": BPETokenizer,
}
"""Tokenizer kinds: each class's ``build(texts, ...)`` trains one, ``from_json`` restores one."""


def _tokenizer_class(kind: object) -> type[Tokenizer]:
    if kind not in TOKENIZERS:
        raise DataError(f"unknown tokenizer kind {kind!r}; choose one of: {', '.join(TOKENIZERS)}")
    return TOKENIZERS[kind]  # type: ignore[index]


def build_tokenizer(kind: str, texts: Sequence[str], *, min_freq: int = 1, vocab_size: int = 1000,
                    lowercase: bool = False) -> Tokenizer:
    """Train a tokenizer of ``kind`` on ``texts`` (the training split only). ``min_freq`` and
    ``lowercase`` apply to ``word``, ``vocab_size`` to ``bpe``; ``char`` takes none."""
    return _tokenizer_class(kind).build(texts, min_freq=min_freq, vocab_size=vocab_size, lowercase=lowercase)


def tokenizer_from_json(d: dict[str, Any]) -> Tokenizer:
    """The tokenizer that ``tok.to_json()`` described."""
    if not isinstance(d, dict) or "kind" not in d:
        raise DataError("a saved tokenizer is a JSON object with a 'kind'; this one has none")
    try:
        return _tokenizer_class(d["kind"]).from_json(d)
    except (KeyError, TypeError) as e:
        raise DataError(f"saved {d['kind']} tokenizer is incomplete or malformed ({e!r}); save it again") from e


def save_tokenizer(tok: Tokenizer, path: str | os.PathLike[str]) -> Path:
    """Write ``tok`` as JSON to ``path`` atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(tok.to_json(), f)  # ASCII escapes: any str survives, lone surrogates too
        os.replace(tmp, path)  # a reader sees the old file or the new one, never half of one
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
    """The tokenizer that :func:`save_tokenizer` wrote to ``path``."""
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise DataError(f"tokenizer file {path} not found; it is saved in the run directory by training") from e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"cannot read tokenizer file {path} ({e}); it is not a saved tokenizer") from e
    return tokenizer_from_json(d)
