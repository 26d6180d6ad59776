"""Parallel text: Multi30k, parallel:DIR, pair tokenizers, encoded pairs and their batches."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
import torch
from torch import Tensor

from archzoo.data import DataError, dataset_info, list_datasets, load_dataset
from archzoo.data.fetch import fetch
from archzoo.data.text import (
    BPETokenizer,
    PairBatches,
    ParallelCorpus,
    WordTokenizer,
    build_pair_tokenizers,
    encode_pairs,
    load_pair_tokenizers,
    read_parallel_dir,
    save_pair_tokenizers,
)

MULTI30K_SIZES = {"train": 29_000, "val": 1_014, "test_2016_flickr": 1_000, "test_2017_flickr": 1_000,
                  "test_2017_mscoco": 461, "test_2018_flickr": 1_071}
FIRST_DE = "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."  # line 1 of train.de.gz
FIRST_EN = "Two young, White males are outside near many bushes."  # line 1 of train.en.gz
LAST_TEST_DE = "Ein Mädchen an einer Küste mit einem Berg im Hintergrund."  # last line of test_2016_flickr.de.gz
LAST_TEST_EN = "A girl at the shore of a beach with a mountain in the distance."


@pytest.fixture(scope="session")
def multi30k_root() -> Path:
    """The data root under which the loaders find Multi30k (verified); skips with instructions if not."""
    from archzoo.data import data_root
    from archzoo.data.files import SOURCES, locate, not_found_message

    list_datasets()  # the sources register on first use of the registry
    root, source = data_root(), SOURCES["multi30k"]
    found = locate(source, root)  # a corrupt file is an error, not a skip: the loaders would fail on it
    missing = [spec.name for spec in source.files if spec.name not in found]
    if missing:
        pytest.skip(f"real datasets not found (`make data` fetches them): {not_found_message(source, root, missing)}")
    return root


@pytest.fixture(scope="session")
def multi30k(multi30k_root: Path) -> ParallelCorpus:
    corpus = load_dataset("multi30k-de-en", root=multi30k_root, download=False)
    assert isinstance(corpus, ParallelCorpus)
    return corpus


@pytest.fixture(scope="session")
def multi30k_train_ids(multi30k: ParallelCorpus) -> dict[str, Tensor]:
    src_tok, tgt_tok = build_pair_tokenizers(multi30k, "word", joint=False)
    return encode_pairs(src_tok, tgt_tok, *multi30k.splits["train"], max_len=100)


def write_lines(path: Path, lines: list[str], newline: str = "\n") -> Path:
    data = "".join(line + newline for line in lines).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


# ---------------------------------------------------------------------------------------------
# Multi30k

def test_multi30k_loads_every_split_aligned(multi30k: ParallelCorpus) -> None:
    assert multi30k.name == "multi30k-de-en" and (multi30k.src_lang, multi30k.tgt_lang) == ("de", "en")
    assert multi30k.sizes == MULTI30K_SIZES and list(multi30k.splits) == list(MULTI30K_SIZES)
    assert multi30k.test_split == "test_2016_flickr" and multi30k.task == "translation" and multi30k.dropped == 0
    sources, targets = multi30k.splits["train"]
    assert (sources[0], targets[0]) == (FIRST_DE, FIRST_EN)
    sources, targets = multi30k.splits["test_2016_flickr"]
    assert (sources[-1], targets[-1]) == (LAST_TEST_DE, LAST_TEST_EN)
    assert not any("\n" in s or "\r" in s for side in multi30k.splits["val"] for s in side)
    assert "train=29000" in repr(multi30k) and "de->en" in repr(multi30k)
    info = dataset_info("multi30k-de-en")
    assert info.task == "translation" and info.source == "multi30k"


def test_multi30k_en_de_is_the_reverse(multi30k: ParallelCorpus, multi30k_root: Path) -> None:
    en_de = load_dataset("multi30k-en-de", root=multi30k_root, download=False)
    assert isinstance(en_de, ParallelCorpus)
    assert (en_de.name, en_de.src_lang, en_de.tgt_lang) == ("multi30k-en-de", "en", "de")
    assert en_de.splits["train"][0][0] == FIRST_EN and en_de.splits["train"][1][0] == FIRST_DE
    assert all(en_de.splits[k] == (t, s) for k, (s, t) in multi30k.splits.items())
    flipped = multi30k.reversed()
    assert (flipped.name, flipped.src_lang, flipped.splits, flipped.test_split) == (
        en_de.name, "en", en_de.splits, "test_2016_flickr")
    assert flipped.reversed().splits == multi30k.splits


def test_multi30k_is_fetched_through_its_source(multi30k_root: Path) -> None:
    line = fetch("multi30k-de-en", multi30k_root)
    assert line.startswith("multi30k-de-en: ") and line.endswith("(12 files, checksums verified)")


# ---------------------------------------------------------------------------------------------
# parallel:DIR

def test_parallel_dir_with_src_and_tgt_suffixes(tmp_path: Path) -> None:
    write_lines(tmp_path / "train.src", ["ein  Haus ", "", "zwei Hunde", "drei"], newline="\r\n")
    write_lines(tmp_path / "train.tgt", ["a  house ", "nothing", "two dogs", "   "], newline="\r\n")
    write_lines(tmp_path / "dev.src", ["ein Hund"])
    write_lines(tmp_path / "dev.tgt", ["a dog"])
    write_lines(tmp_path / "test.src.gz", ["", "eine Katze"])
    write_lines(tmp_path / "test.tgt.gz", ["empty source", "a cat"])
    (tmp_path / "README.md").write_text("notes\n")
    corpus = load_dataset(f"parallel:{tmp_path}")
    assert isinstance(corpus, ParallelCorpus) and corpus.name == f"parallel:{tmp_path}"
    assert (corpus.src_lang, corpus.tgt_lang, corpus.test_split, corpus.task) == ("src", "tgt", "test", "translation")
    # line endings gone, spacing kept; pairs with an empty side dropped from train only
    assert corpus.splits == {"train": (["ein  Haus ", "zwei Hunde"], ["a  house ", "two dogs"]),
                             "val": (["ein Hund"], ["a dog"]),
                             "test": (["", "eine Katze"], ["empty source", "a cat"])}
    assert corpus.dropped == 2 and "dropped=2" in repr(corpus) and corpus.notes["validation"] == "dev"
    assert dataset_info(f"parallel:{tmp_path}").task == "translation"


def test_parallel_dir_with_languages_given(tmp_path: Path) -> None:
    for lang, words in (("de", ["Haus", "Hund"]), ("en", ["house", "dog"]), ("fr", ["maison", "chien"])):
        write_lines(tmp_path / f"train.{lang}", words)
    write_lines(tmp_path / "test_2017.en.gz", ["cat"])
    write_lines(tmp_path / "test_2017.de.gz", ["Katze"])
    write_lines(tmp_path / "test_2016.en", ["mouse"])
    write_lines(tmp_path / "test_2016.de", ["Maus"])
    write_lines(tmp_path / "test_2016.fr", ["souris"])
    corpus = load_dataset(f"parallel:{tmp_path}", src_lang="en", tgt_lang="de")
    assert isinstance(corpus, ParallelCorpus) and (corpus.src_lang, corpus.tgt_lang) == ("en", "de")
    assert corpus.splits == {"train": (["house", "dog"], ["Haus", "Hund"]), "test_2016": (["mouse"], ["Maus"]),
                             "test_2017": (["cat"], ["Katze"])}
    assert corpus.test_split == "test_2016"  # no split named test: the first in sorted order
    fr_de = read_parallel_dir(tmp_path, "fr", "de")  # test_2017 has de and en, no fr: a split of another pair
    assert list(fr_de.splits) == ["train", "test_2016"] and fr_de.splits["test_2016"] == (["souris"], ["Maus"])
    (tmp_path / "train.fr").unlink()
    assert read_parallel_dir(tmp_path, tgt_lang="en").src_lang == "de"  # the only other language of train


def test_parallel_dir_test_split_without_test_files(tmp_path: Path) -> None:
    write_lines(tmp_path / "train.de", ["Haus"])
    write_lines(tmp_path / "train.en", ["house"])
    alone = read_parallel_dir(tmp_path, "de", "en")
    assert list(alone.splits) == ["train"] and alone.test_split == ""
    write_lines(tmp_path / "valid.de", ["Hund"])
    write_lines(tmp_path / "valid.en", ["dog"])
    validated = read_parallel_dir(tmp_path, "de", "en")
    assert validated.test_split == "val" and validated.splits["val"] == (["Hund"], ["dog"])
    assert "validation split is reported" in str(validated.notes["test_split"])


def test_parallel_dir_errors_say_what_and_how(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere not found; parallel:DIR needs a directory holding train\.SRC"):
        load_dataset(f"parallel:{tmp_path / 'nowhere'}")
    with pytest.raises(DataError, match=r"has no train files; parallel:DIR needs train\.SRC and train\.TGT"):
        load_dataset(f"parallel:{tmp_path}")
    write_lines(tmp_path / "train.de", ["a", "b", "c"])
    write_lines(tmp_path / "train.en.gz", ["a", "b"])
    write_lines(tmp_path / "train.fr", ["a", "b", "c"])
    with pytest.raises(DataError, match=r"its train files are in: de, en, fr; pass --set src_lang=XX --set tgt_lan"):
        load_dataset(f"parallel:{tmp_path}")
    with pytest.raises(DataError, match=r"cannot tell the other language from src_lang=de: .* in: de, en, fr"):
        load_dataset(f"parallel:{tmp_path}", src_lang="de")
    with pytest.raises(DataError, match=r"train\.de has 3 lines but .*train\.en\.gz has 2; .* must be line-aligned"):
        load_dataset(f"parallel:{tmp_path}", src_lang="de", tgt_lang="en")
    with pytest.raises(DataError, match=r"train\.xx and .*train\.yy not found; the train files there are in: de, en"):
        load_dataset(f"parallel:{tmp_path}", src_lang="xx", tgt_lang="yy")
    with pytest.raises(DataError, match="src_lang and tgt_lang are both 'de'"):
        load_dataset(f"parallel:{tmp_path}", src_lang="de", tgt_lang="de")
    with pytest.raises(DataError, match="has no option 'lowercase'; it accepts: src_lang, tgt_lang, encoding"):
        load_dataset(f"parallel:{tmp_path}", lowercase=True)
    missing = re.escape(str(tmp_path / "test.fr"))
    write_lines(tmp_path / "test.de", ["x"])
    with pytest.raises(DataError, match=rf"{missing} \(or test\.fr\.gz\) not found, but .*test\.de is there"):
        load_dataset(f"parallel:{tmp_path}", src_lang="de", tgt_lang="fr")


def test_parallel_dir_bad_bytes_and_files(tmp_path: Path) -> None:
    write_lines(tmp_path / "train.de", ["Haus"])
    (tmp_path / "train.en.gz").write_bytes(gzip.compress(b"house\ncaf\xe9\n"))
    write_lines(tmp_path / "train.de", ["Haus", "Kaffee"])
    with pytest.raises(DataError, match=r"train\.en\.gz \(decompressed\) is not valid utf-8: byte 0xe9 at offset 9 "
                                        r"cannot be decoded; pass its encoding with --set encoding="):
        load_dataset(f"parallel:{tmp_path}", src_lang="de", tgt_lang="en")
    corpus = load_dataset(f"parallel:{tmp_path}", src_lang="de", tgt_lang="en", encoding="latin-1")
    assert isinstance(corpus, ParallelCorpus) and corpus.splits["train"][1] == ["house", "café"]
    (tmp_path / "train.en.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"train\.en\.gz is not a readable gzip file"):
        read_parallel_dir(tmp_path, "de", "en")
    (tmp_path / "train.en.gz").unlink()
    write_lines(tmp_path / "train.en", [" ", "\t"])
    with pytest.raises(DataError, match=r"have no pair with text on both sides; the train split is empty"):
        read_parallel_dir(tmp_path, "de", "en")
    write_lines(tmp_path / "train.en.gz", ["house", "coffee"])
    with pytest.raises(DataError, match=r"train\.en and .*train\.en\.gz are the same side of the same split"):
        read_parallel_dir(tmp_path, "de", "en")
    (tmp_path / "train.en").unlink()
    for name in ("val", "dev"):
        write_lines(tmp_path / f"{name}.de", ["Hund"])
        write_lines(tmp_path / f"{name}.en", ["dog"])
    with pytest.raises(DataError, match="has val and dev files: which one validates"):
        read_parallel_dir(tmp_path, "de", "en")
    (tmp_path / "dev.de").unlink()
    (tmp_path / "dev.en").unlink()
    write_lines(tmp_path / "test.de", [])
    write_lines(tmp_path / "test.en", [])
    with pytest.raises(DataError, match=r"test\.de and .*test\.en hold no lines"):
        read_parallel_dir(tmp_path, "de", "en")


def test_parallel_corpus_checks_itself() -> None:
    with pytest.raises(DataError, match="toy has no train split"):
        ParallelCorpus("toy", "", "de", "en", {"test": (["a"], ["b"])}, "test")
    with pytest.raises(DataError, match="toy/train: 2 source sentences but 1 target sentences"):
        ParallelCorpus("toy", "", "de", "en", {"train": (["a", "b"], ["c"])}, "")
    with pytest.raises(DataError, match="toy/test is empty"):
        ParallelCorpus("toy", "", "de", "en", {"train": (["a"], ["b"]), "test": ([], [])}, "test")
    with pytest.raises(DataError, match=r"test split 'train' must be a held-out split \(it has: val\)"):
        ParallelCorpus("toy", "", "de", "en", {"train": (["a"], ["b"]), "val": (["c"], ["d"])}, "train")
    toy = ParallelCorpus("toy", "", "de", "en", {"train": (["a"], ["b"])}, "")
    assert toy.reversed().name == "toy" and toy.reversed().splits == {"train": (["b"], ["a"])}


# ---------------------------------------------------------------------------------------------
# Tokenizers

TOY = ParallelCorpus("toy-de-en", "", "de", "en", {
    "train": (["ein Haus", "ein Hund", "zwei Hunde"], ["a house", "a dog", "two dogs"]),
    "test": (["ein Zebra"], ["a zebra"]),
}, "test")


def test_joint_tokenizer_is_one_vocabulary_from_train_only() -> None:
    src, tgt = build_pair_tokenizers(TOY, "word")
    assert src is tgt and isinstance(src, WordTokenizer)
    assert {"Haus", "house", "Hunde", "dogs"} <= set(src.vocab) and not {"Zebra", "zebra"} & set(src.vocab)
    assert src.encode("ein Zebra").tolist() == [src.vocab.index("ein"), src.unk_id]


def test_separate_tokenizers_have_their_own_side() -> None:
    src, tgt = build_pair_tokenizers(TOY, "word", joint=False)
    assert src is not tgt and src != tgt
    assert "Haus" in src.vocab and "house" not in src.vocab and "house" in tgt.vocab and "Haus" not in tgt.vocab
    assert src.vocab[:4] == tgt.vocab[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]


def test_bpe_pair_tokenizers_and_their_files(tmp_path: Path) -> None:
    src, tgt = build_pair_tokenizers(TOY, "bpe", vocab_size=300)
    assert src is tgt and isinstance(src, BPETokenizer) and (src.pad_id, src.bos_id, src.eos_id) == (0, 2, 3)
    assert src.decode(src.encode("zwei Hunde")) == "zwei Hunde"
    paths = save_pair_tokenizers(src, tgt, tmp_path / "run")
    assert [p.name for p in paths] == ["tokenizer_src.json", "tokenizer_tgt.json"]
    loaded_src, loaded_tgt = load_pair_tokenizers(tmp_path / "run")
    assert loaded_src is loaded_tgt and loaded_src == src  # a joint pair comes back joint
    separate = build_pair_tokenizers(TOY, "word", joint=False)
    save_pair_tokenizers(*separate, tmp_path / "run2")
    loaded = load_pair_tokenizers(tmp_path / "run2")
    assert loaded[0] is not loaded[1] and loaded == separate
    with pytest.raises(DataError, match=r"tokenizer file .*tokenizer_src\.json not found"):
        load_pair_tokenizers(tmp_path / "nothing")


def test_pair_tokenizer_kinds() -> None:
    with pytest.raises(DataError, match="a char tokenizer has no <pad> <unk> <bos> <eos> tokens, which translation "
                                        "needs; use word or bpe"):
        build_pair_tokenizers(TOY, "char")
    with pytest.raises(DataError, match="unknown tokenizer kind 'spm' for translation; choose one of: word, bpe"):
        build_pair_tokenizers(TOY, "spm")


# ---------------------------------------------------------------------------------------------
# Encoded pairs

def test_encode_pairs_layout() -> None:
    src_tok = WordTokenizer(["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c"])
    tgt_tok = WordTokenizer(["<pad>", "<unk>", "<bos>", "<eos>", "x", "y"])
    out = encode_pairs(src_tok, tgt_tok, ["a b c a", "b", ""], ["x", "", "y x y z"], max_len=3)
    assert set(out) == {"src", "src_lengths", "tgt", "tgt_lengths"}
    assert out["src"].tolist() == [[4, 5, 6, 3], [5, 3, 0, 0], [3, 0, 0, 0]]  # ids cut to 3, then <eos>
    assert out["src_lengths"].tolist() == [4, 2, 1]
    assert out["tgt"].tolist() == [[2, 4, 3, 0, 0], [2, 3, 0, 0, 0], [2, 5, 4, 5, 3]]  # <bos> ids <eos>
    assert out["tgt_lengths"].tolist() == [3, 2, 5]
    assert all(v.dtype == torch.long for v in out.values())
    short = encode_pairs(src_tok, tgt_tok, ["a", "b"], ["x", "y"], max_len=10)
    assert short["src"].shape == (2, 2) and short["tgt"].shape == (2, 3)
    with pytest.raises(DataError, match="2 source sentences but 1 targets"):
        encode_pairs(src_tok, tgt_tok, ["a", "b"], ["x"], max_len=3)
    with pytest.raises(DataError, match="max_len must be positive"):
        encode_pairs(src_tok, tgt_tok, ["a"], ["x"], max_len=0)


# ---------------------------------------------------------------------------------------------
# Batches

def toy_pairs(n: int, seed: int = 0) -> dict[str, Tensor]:
    """Pairs whose first source id is 10 + the row number (to tell rows apart), of random lengths."""
    g = torch.Generator().manual_seed(seed)
    src_lengths = torch.randint(2, 30, (n,), generator=g)
    tgt_lengths = torch.randint(2, 30, (n,), generator=g)
    src = torch.where(torch.arange(30) < src_lengths[:, None], torch.randint(4, 50, (n, 30), generator=g), 0)
    tgt = torch.where(torch.arange(30) < tgt_lengths[:, None], torch.randint(4, 50, (n, 30), generator=g), 0)
    src[:, 0] = 10 + torch.arange(n)
    return {"src": src, "src_lengths": src_lengths, "tgt": tgt, "tgt_lengths": tgt_lengths}


def rows(batch: tuple[Tensor, ...]) -> list[int]:
    return (batch[0][:, 0] - 10).tolist()


def test_training_epoch_sees_every_row_once_in_whole_batches() -> None:
    data = toy_pairs(103)
    batches = PairBatches(**data, batch_size=10, shuffle=True, seed=3, bucket=3)
    assert len(batches) == 10 and batches.drop_last
    seen: list[int] = []
    for src, src_lengths, tgt, tgt_lengths in batches.epoch(2):
        idx = (src[:, 0] - 10).tolist()
        assert len(idx) == 10 and src.shape[1] == int(src_lengths.max()) and tgt.shape[1] == int(tgt_lengths.max())
        assert torch.equal(src, data["src"][idx, :src.shape[1]]) and torch.equal(tgt, data["tgt"][idx, :tgt.shape[1]])
        assert torch.equal(tgt_lengths, data["tgt_lengths"][idx])
        seen += idx
    assert len(set(seen)) == 100  # three rows dropped with the partial batch
    keep_all = PairBatches(**data, batch_size=10, shuffle=True, seed=3, bucket=3, drop_last=False)
    assert len(keep_all) == 11 and sorted(r for b in keep_all.epoch(2) for r in rows(b)) == list(range(103))
    other = [rows(b) for b in batches.epoch(3)]
    assert other != [rows(b) for b in batches.epoch(2)]


def test_resuming_inside_an_epoch_gives_the_same_batches() -> None:
    data = toy_pairs(64)
    whole = list(PairBatches(**data, batch_size=8, shuffle=True, seed=5).epoch(4))
    resumed = list(PairBatches(**data, batch_size=8, shuffle=True, seed=5).epoch(4, start_step=5))
    assert len(resumed) == 3
    for x, y in zip(whole[5:], resumed, strict=True):
        assert all(torch.equal(a, b) for a, b in zip(x, y, strict=True))


@pytest.mark.parametrize("bucket", [0, 4])
def test_two_ranks_together_are_the_one_rank_batch(bucket: int) -> None:
    data = toy_pairs(90)
    one = PairBatches(**data, batch_size=12, shuffle=True, seed=1, bucket=bucket)
    ranks = [PairBatches(**data, batch_size=12, shuffle=True, seed=1, bucket=bucket, rank=r, world_size=2)
             for r in range(2)]
    for full, first, second in zip(one.epoch(1), *(r.epoch(1) for r in ranks), strict=True):
        assert rows(first) == rows(full)[0::2] and rows(second) == rows(full)[1::2]
        assert first[0].shape[1] == int(first[1].max())  # each rank cut to its own longest row
    with pytest.raises(DataError, match="batch size 12 is not divisible by the 5 processes"):
        PairBatches(**data, batch_size=12, rank=0, world_size=5)


def test_evaluation_keeps_the_corpus_order() -> None:
    data = toy_pairs(25)
    batches = PairBatches(**data, batch_size=10)
    assert len(batches) == 3 and not batches.drop_last
    out = list(batches)
    assert [len(b[0]) for b in out] == [10, 10, 5] and [r for b in out for r in rows(b)] == list(range(25))


def test_pair_batches_check_their_input() -> None:
    data = toy_pairs(4)
    with pytest.raises(DataError, match=r"need src \(N, S\), src_lengths \(N,\), tgt \(N, T\) and tgt_lengths"):
        PairBatches(data["src"], data["src_lengths"][:3], data["tgt"], data["tgt_lengths"], 2)
    with pytest.raises(DataError, match="bucket must be 0"):
        PairBatches(**data, batch_size=2, bucket=-1)
    with pytest.raises(DataError, match="no sentence pairs to batch"):
        PairBatches(data["src"][:0], data["src_lengths"][:0], data["tgt"][:0], data["tgt_lengths"][:0], 2)


def test_bucketing_cuts_padding_on_multi30k(multi30k_train_ids: dict[str, Tensor]) -> None:
    def padding(batches: PairBatches) -> int:
        return sum(int(src.numel() - src_lengths.sum() + tgt.numel() - tgt_lengths.sum())
                   for src, src_lengths, tgt, tgt_lengths in batches.epoch(0))

    bucketed = PairBatches(**multi30k_train_ids, batch_size=128, shuffle=True)
    plain = PairBatches(**multi30k_train_ids, batch_size=128, shuffle=True, bucket=0)
    assert len(bucketed) == len(plain) == 29_000 // 128
    assert padding(bucketed) < 0.2 * padding(plain)
