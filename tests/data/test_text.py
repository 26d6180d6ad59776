"""Text data: tokenizers, corpus reading, text containers, the text datasets and parameterised names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

import archzoo.data
from archzoo.data import DataError, dataset_info, list_datasets, load_dataset, register_dataset_prefix
from archzoo.data.text import (
    SPECIAL_TOKENS,
    TOKENIZERS,
    BPETokenizer,
    CharTokenizer,
    TextClassificationSet,
    TextCorpus,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
    read_text,
    save_tokenizer,
    tokenizer_from_json,
)

SHAKESPEARE_CHARS = 1_115_394
MR_PER_CLASS = 5_331
PROSE = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


@pytest.fixture(scope="session")
def shakespeare(text_data_root: Path) -> TextCorpus:
    corpus = load_dataset("tinyshakespeare", root=text_data_root, download=False)
    assert isinstance(corpus, TextCorpus)
    return corpus


@pytest.fixture(scope="session")
def mr(text_data_root: Path) -> TextClassificationSet:
    ds = load_dataset("mr", root=text_data_root, download=False)
    assert isinstance(ds, TextClassificationSet)
    return ds


def labelled(counts: list[int]) -> TextClassificationSet:
    """A set whose class ``c`` has ``counts[c]`` texts ``"c i"``."""
    texts = [f"{c} {i}" for c, n in enumerate(counts) for i in range(n)]
    labels = torch.tensor([c for c, n in enumerate(counts) for _ in range(n)])
    return TextClassificationSet("toy", {"train": texts}, {"train": labels}, tuple(f"c{c}" for c in range(len(counts))))


# ---------------------------------------------------------------------------------------------
# Tokenizers

def test_char_tokenizer_round_trip_and_vocabulary() -> None:
    tok = build_tokenizer("char", [PROSE])
    assert tok.kind == "char" and tok.chars == "".join(sorted(set(PROSE)))
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (None, None, None, None)
    ids = tok.encode(PROSE)
    assert ids.dtype == torch.long and ids.shape == (len(PROSE),)
    assert tok.decode(ids) == PROSE and tok.decode(ids.tolist()) == PROSE
    assert tok.encode("").shape == (0,) and tok.decode([]) == ""
    assert [len(t) for t in tok.encode_batch(["Speak", "me"])] == [5, 2]


def test_char_tokenizer_handles_characters_beyond_the_basic_plane() -> None:
    text = "héllo wörld 😀 ∑"
    tok = CharTokenizer.from_texts([text])
    assert tok.decode(tok.encode(text)) == text and tok.vocab_size == len(set(text))


def test_char_tokenizer_names_unknown_characters() -> None:
    tok = build_tokenizer("char", ["abc "])
    with pytest.raises(DataError, match=r"2 character\(s\) not in .*4-character vocabulary \(3 occurrence\(s\)\): "
                                        r"'é', '😀'"):
        tok.encode("a é b é 😀")
    with pytest.raises(DataError, match=r"26 character\(s\).*'A', 'B', .*'J', \.\.\.;"):
        tok.encode("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def test_char_tokenizer_decode_rejects_ids_outside_the_vocabulary() -> None:
    tok = build_tokenizer("char", ["abc"])
    with pytest.raises(DataError, match=r"token id 3 is outside the vocabulary \(ids 0\.\.2\)"):
        tok.decode([0, 3])


def test_char_encoding_matches_a_per_character_lookup(shakespeare: TextCorpus) -> None:
    tok = build_tokenizer("char", [shakespeare.text])
    assert tok.vocab_size == 65
    text = shakespeare.text[:100_000]
    index = {c: i for i, c in enumerate(tok.chars)}
    assert tok.encode(text).tolist() == [index[c] for c in text]


def test_word_tokenizer_specials_order_and_unknown_words() -> None:
    texts = ["the cat sat", "the dog sat", "the end", "a zebra"]
    tok = build_tokenizer("word", texts)
    assert isinstance(tok, WordTokenizer)
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
    # by descending count, ties alphabetical
    assert tok.vocab == [*SPECIAL_TOKENS, "the", "sat", "a", "cat", "dog", "end", "zebra"]
    assert tok.encode("the  unicorn sat\n").tolist() == [4, 1, 5]
    assert tok.decode(tok.encode("the cat sat")) == "the cat sat"


def test_word_tokenizer_min_freq_lowercase_and_determinism() -> None:
    texts = ["The cat", "the Cat", "the dog"]
    tok = build_tokenizer("word", texts, min_freq=2, lowercase=True)
    assert tok.vocab == [*SPECIAL_TOKENS, "the", "cat"]
    assert tok.encode("THE DOG").tolist() == [4, tok.unk_id]
    assert build_tokenizer("word", texts[::-1], min_freq=2, lowercase=True).vocab == tok.vocab
    assert build_tokenizer("word", texts).vocab == [*SPECIAL_TOKENS, "the", "Cat", "The", "cat", "dog"]
    with pytest.raises(DataError, match="min_freq must be at least 1, got 0"):
        build_tokenizer("word", texts, min_freq=0)


def test_bpe_round_trips_any_text_exactly() -> None:
    tok = build_tokenizer("bpe", [PROSE * 20, "the cat sat on the mat ."], vocab_size=300)
    assert isinstance(tok, BPETokenizer) and tok.vocab_size <= 300
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
    for text in (PROSE, "  leading spaces,\ttabs\r\nand unseen characters: é ∑ 😀 ", "it 's a pre-tokenised line . "):
        ids = tok.encode(text)
        assert ids.dtype == torch.long and tok.decode(ids) == text
    batch = tok.encode_batch(["Speak, speak.", "hear me"])
    assert [t.tolist() for t in batch] == [tok.encode("Speak, speak.").tolist(), tok.encode("hear me").tolist()]
    assert tok.unk_id not in tok.encode("é ∑ 😀").tolist()  # byte level: nothing is unknown


def test_bpe_learns_only_from_the_training_texts() -> None:
    train, held_out = ["zebra " * 50, "giraffe " * 50], ["quokka " * 500]
    tok = build_tokenizer("bpe", train, vocab_size=400)
    vocab = tok.backend.get_vocab()
    assert "zebra" in vocab and "Ġzebra" in vocab
    assert not any("qu" in token or "ok" in token for token in vocab)
    assert len(tok.encode(held_out[0][:7])) > 1  # "quokka " is spelled from smaller pieces


def test_bpe_vocab_size_too_small() -> None:
    with pytest.raises(DataError, match=r"BPE vocab_size must be at least 260 \(4 specials \+ 256 bytes\), got 100"):
        build_tokenizer("bpe", [PROSE], vocab_size=100)


def test_bpe_without_the_tokenizers_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tokenizers", None)  # import tokenizers now raises ImportError
    with pytest.raises(DataError, match=re.escape("BPE needs the tokenizers package: pip install tokenizers "
                                                  "(or pip install 'archzoo[text]')")):
        build_tokenizer("bpe", [PROSE])
    assert build_tokenizer("char", [PROSE]).vocab_size > 0  # the rest works without it


@pytest.mark.parametrize("kind", list(TOKENIZERS))
def test_save_and_load_round_trip(kind: str, tmp_path: Path) -> None:
    tok = build_tokenizer(kind, [PROSE * 5, "é 😀"], vocab_size=280, min_freq=1, lowercase=True)
    path = save_tokenizer(tok, tmp_path / "run" / "tokenizer.json")
    assert [p.name for p in path.parent.iterdir()] == ["tokenizer.json"]  # no temporary file left behind
    loaded = load_tokenizer(path)
    assert type(loaded) is type(tok) and loaded == tok and loaded.vocab_size == tok.vocab_size
    text = "Speak, speak."
    assert loaded.encode(text).tolist() == tok.encode(text).tolist()
    assert loaded.decode(loaded.encode(text)) == tok.decode(tok.encode(text))
    assert tokenizer_from_json(json.loads(json.dumps(tok.to_json()))) == tok


def test_tokenizer_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown tokenizer kind 'sentencepiece'; choose one of: char, word, bpe"):
        build_tokenizer("sentencepiece", [PROSE])
    with pytest.raises(DataError, match="no training text"):
        build_tokenizer("word", ["", "  \n"])
    with pytest.raises(DataError, match=r"got one string; pass \[text\]"):
        build_tokenizer("char", PROSE)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="unknown tokenizer kind 'bytes'"):
        tokenizer_from_json({"kind": "bytes"})
    with pytest.raises(DataError, match="saved word tokenizer is incomplete"):
        tokenizer_from_json({"kind": "word"})
    with pytest.raises(DataError, match=r"tokenizer file .*missing\.json not found"):
        load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match=r"cannot read tokenizer file .*bad\.json"):
        load_tokenizer(tmp_path / "bad.json")


# ---------------------------------------------------------------------------------------------
# Reading text files

def test_read_text_names_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "review.txt"
    path.write_bytes(b"caf\xe9 au lait\n")
    with pytest.raises(DataError, match=r"review\.txt is not valid utf-8: byte 0xe9 at offset 3 cannot be decoded; "
                                        r"pass its encoding with --set encoding=\.\.\. \(e\.g\. cp1252, latin-1\)"):
        read_text(path)
    assert read_text(path, "cp1252") == "café au lait\n"
    with pytest.raises(DataError, match="unknown encoding 'klingon'"):
        read_text(path, "klingon")


@pytest.mark.parametrize(("content", "what"), [(b"", "empty"), (b" \n\t\r\n", "only whitespace")])
def test_read_text_rejects_files_without_text(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"blank\.txt is {what}; give a file that holds text"):
        read_text(path)


def test_read_text_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing\.txt not found"):
        read_text(tmp_path / "nothing.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_text(tmp_path)


# ---------------------------------------------------------------------------------------------
# Containers

def test_corpus_splits_first_fraction_and_the_rest() -> None:
    corpus = TextCorpus("toy", "abcdefghij" * 3 + "x")  # 31 characters: int(31 * 0.9) = 27
    parts = corpus.splits()
    assert parts == {"train": corpus.text[:27], "val": corpus.text[27:]}
    assert corpus.splits(0.5)["train"] == corpus.text[:15]
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(DataError, match=f"between 0 and 1 \\(exclusive\\), got {bad}"):
            corpus.splits(bad)
    with pytest.raises(DataError, match="leaves no training or no validation text"):
        TextCorpus("tiny", "ab").splits(0.4)
    assert "chars=31" in repr(corpus)


def test_tinyshakespeare_is_cut_like_nanogpt(shakespeare: TextCorpus) -> None:
    assert len(shakespeare.text) == SHAKESPEARE_CHARS and shakespeare.task == "language_model"
    parts = shakespeare.splits()
    # nanoGPT: n = len(data); train = data[:int(n * 0.9)]; 1,115,394 * 0.9 = 1,003,854.6, rounded down
    assert len(parts["train"]) == 1_003_854 and len(parts["val"]) == 111_540
    assert parts["train"].startswith("First Citizen:") and parts["train"] + parts["val"] == shakespeare.text


def test_folds_are_stratified_disjoint_complete_and_fixed() -> None:
    ds = labelled([23, 17, 9])
    folds = ds.folds(5)
    y = ds.labels["train"]
    assert len(folds) == 5
    tests = torch.cat([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(49))  # every sample in exactly one test fold
    for train, test in folds:
        assert sorted(torch.cat([train, test]).tolist()) == list(range(49))
        assert not set(train.tolist()) & set(test.tolist())
    per_fold = torch.stack([torch.bincount(y[test], minlength=3) for _, test in folds])  # (folds, classes)
    assert (per_fold.max(0).values - per_fold.min(0).values <= 1).all()
    sizes = torch.tensor([len(test) for _, test in folds])
    assert int(sizes.max() - sizes.min()) <= 1
    again = ds.folds(5)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    assert not all(torch.equal(a[1], b[1]) for a, b in zip(folds, ds.folds(5, seed=1), strict=True))


@pytest.mark.parametrize("k", [0, 1, 10])
def test_folds_reject_k_outside_the_valid_range(k: int) -> None:
    with pytest.raises(DataError, match=f"k must be between 2 and 9 .*got {k}"):
        labelled([23, 17, 9]).folds(k)


def test_holdout_is_a_fixed_stratified_split() -> None:
    ds = labelled([40, 20])
    held = ds.holdout(0.25)
    assert [len(held.texts[s]) for s in ("train", "test")] == [45, 15]
    assert torch.bincount(held.labels["test"]).tolist() == [10, 5]
    assert sorted(held.texts["train"] + held.texts["test"]) == sorted(ds.texts["train"])
    assert all(text.startswith(str(int(label))) for text, label in zip(held.texts["test"], held.labels["test"],
                                                                       strict=True))
    assert held.texts["test"] == ds.holdout(0.25).texts["test"]
    assert held.notes["holdout"] == {"fraction": 0.25, "seed": 0} and len(ds.texts) == 1  # the original is unchanged
    with pytest.raises(DataError, match="already has a test split"):
        held.holdout()
    with pytest.raises(DataError, match="between 0 and 1 \\(exclusive\\), got 1.0"):
        ds.holdout(1.0)


def test_classification_set_checks_its_labels() -> None:
    with pytest.raises(DataError, match=r"toy/train: labels must be a \(N,\) long tensor for its 2 texts"):
        TextClassificationSet("toy", {"train": ["a", "b"]}, {"train": torch.tensor([0])}, ("x",))
    with pytest.raises(DataError, match=r"toy/train: a label is outside 0\.\.0"):
        TextClassificationSet("toy", {"train": ["a"]}, {"train": torch.tensor([1])}, ("x",))
    with pytest.raises(DataError, match="toy has no train split"):
        TextClassificationSet("toy", {"test": ["a"]}, {"test": torch.tensor([0])}, ("x",))


# ---------------------------------------------------------------------------------------------
# Datasets

def test_mr_loads_both_classes_decoded_as_cp1252(mr: TextClassificationSet) -> None:
    assert mr.classes == ("negative", "positive") and list(mr.texts) == ["train"]
    assert len(mr.texts["train"]) == 2 * MR_PER_CLASS
    assert torch.bincount(mr.labels["train"]).tolist() == [MR_PER_CLASS, MR_PER_CLASS]
    texts = mr.texts["train"]
    assert any("é" in t for t in texts) and not any("\n" in t or "\r" in t or not t for t in texts)
    assert texts[0] == "simplistic , silly and tedious . "  # the first line of rt-polarity.neg
    folds = mr.folds(10)
    assert all(torch.bincount(mr.labels["train"][test]).tolist() in ([533, 533], [533, 534], [534, 533], [534, 534])
               for _, test in folds)


def test_text_file_dataset(tmp_path: Path) -> None:
    path = tmp_path / "poem.txt"
    path.write_text("line one\nline two\n" * 10)
    corpus = load_dataset(f"text:{path}")
    assert isinstance(corpus, TextCorpus) and corpus.name == f"text:{path}" and corpus.text == path.read_text()
    assert len(corpus.splits()["train"]) == int(len(corpus.text) * 0.9)
    assert dataset_info(f"text:{path}").task == "language_model"
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"na\xefve caf\xe9\n")
    with pytest.raises(DataError, match=r"byte 0xef at offset 2 .*--set encoding="):
        load_dataset(f"text:{latin}")
    assert load_dataset(f"text:{latin}", encoding="latin-1").text == "naïve café\n"
    with pytest.raises(DataError, match=rf"dataset 'text:{re.escape(str(latin))}' has no option 'lowercase'; "
                                        "it accepts: encoding"):
        load_dataset(f"text:{latin}", lowercase=True)


def test_textcls_directory(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("pos\tgood film\n\nneg\tbad film\r\nneu\tfine\tfilm\npos\tgreat\n")
    (tmp_path / "test.tsv").write_text("neg\tawful\npos\tlovely\n")
    ds = load_dataset(f"textcls:{tmp_path}")
    assert isinstance(ds, TextClassificationSet) and ds.classes == ("neg", "neu", "pos")
    assert ds.texts == {"train": ["good film", "bad film", "fine\tfilm", "great"], "test": ["awful", "lovely"]}
    assert ds.labels["train"].tolist() == [2, 0, 1, 2] and ds.labels["test"].tolist() == [0, 2]


def test_textcls_errors_name_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("pos\tgood\n\nneg bad\n")
    with pytest.raises(DataError, match=r"train\.tsv:3: the line has no tab; each line must be LABEL<TAB>TEXT"):
        load_dataset(f"textcls:{tmp_path}")
    (tmp_path / "train.tsv").write_text("pos\tgood\nneg\tbad\n")
    (tmp_path / "dev.tsv").write_text("pos\tfine\nmixed\tso-so\n")
    with pytest.raises(DataError, match=r"dev\.tsv:2: label 'mixed' never occurs in train\.tsv "
                                        r"\(its labels: neg, pos\)"):
        load_dataset(f"textcls:{tmp_path}")
    with pytest.raises(DataError, match=r"train\.tsv not found; textcls:DIR needs DIR/train\.tsv"):
        load_dataset(f"textcls:{tmp_path / 'nowhere'}")


def test_prefixes_are_listed_and_checked(capsys: pytest.CaptureFixture[str]) -> None:
    names = list_datasets()
    assert {"text:PATH", "textcls:DIR", "tinyshakespeare", "mr"} <= set(names) and names == sorted(names)
    for name in names:  # what `archzoo datasets` prints: a placeholder must not touch any file
        assert dataset_info(name).description
    with pytest.raises(DataError, match=r"dataset 'text:' needs a PATH after the colon: text:PATH"):
        dataset_info("text:")
    with pytest.raises(DataError, match=r"unknown dataset 'txt:poem\.txt'"):
        dataset_info("txt:poem.txt")
    with pytest.raises(ValueError, match="dataset prefix 'text' is already registered"):
        register_dataset_prefix("text", lambda argument: lambda root, download: None, task="x", description="x")
    with pytest.raises(ValueError, match="without ':'"):
        register_dataset_prefix("a:b", lambda argument: lambda root, download: None, task="x", description="x")


def test_loaders_without_options_reject_them() -> None:
    with pytest.raises(DataError, match="dataset 'xor' has no option 'encoding'; it takes no options"):
        load_dataset("xor", encoding="utf-8")
    assert len(archzoo.data.load_dataset("xor").splits["train"]) == 400
