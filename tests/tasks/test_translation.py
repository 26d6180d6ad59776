"""The translation task: beam search against brute force, training and scoring on a small parallel
corpus, `archzoo translate`, bad input, torchrun."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.cli import main
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.optim import Schedule, build_optimizer
from archzoo.tasks.translation import BOS, EOS, PAD, beam_search, greedy_decode, sacrebleu_scores

pytest.importorskip("tokenizers")
pytest.importorskip("sacrebleu")


class TableModel(nn.Module):
    """A decoder whose next-token log-probabilities depend only on the previous token (a fixed table per
    source row), with the encode/decode_step contract of the translation models."""

    def __init__(self, table: Tensor) -> None:  # (B, V, V): row b, previous token -> next-token logits
        super().__init__()
        self.table = table

    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> dict[str, Tensor]:
        return {"table": self.table[: len(src)]}

    def decode_step(self, memory: dict[str, Tensor], tokens: Tensor, state: dict[str, Tensor] | None, step: int
                    ) -> tuple[Tensor, dict[str, Tensor]]:
        logits = memory["table"][torch.arange(len(tokens)), tokens]
        return logits, {"steps": torch.full((len(tokens),), step)}


def _brute_force(log_p: Tensor, max_len: int, alpha: float) -> list[int]:
    """The best sequence ending in <eos> within max_len tokens (or cut at max_len), by log P / lp."""
    V = log_p.shape[0]
    best, best_score = None, -math.inf
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=n):
            if EOS in seq[:-1]:
                continue
            if seq[-1] != EOS and n < max_len:
                continue
            prev, total = BOS, 0.0
            for t in seq:
                total += float(log_p[prev, t])
                prev = t
            score = total / ((5 + n) / 6) ** alpha
            if score > best_score:
                best, best_score = list(seq), score
    assert best is not None
    return [t for t in best if t != EOS]


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_a_wide_beam_finds_the_best_sequence(alpha: float) -> None:
    g = torch.Generator().manual_seed(3)
    V, max_len, B = 5, 4, 6
    logits = torch.randn(B, V, V, generator=g) * 2
    logits[..., PAD] = -1e9  # the decoder never emits padding
    model = TableModel(logits)
    src = torch.zeros(B, 3, dtype=torch.long)
    found = beam_search(model, src, torch.full((B,), 3), beam=V ** max_len, length_penalty=alpha, max_len=max_len)
    log_p = F.log_softmax(logits, -1)
    assert found == [_brute_force(log_p[b], max_len, alpha) for b in range(B)]


def test_beam_beats_greedy_where_the_first_step_misleads() -> None:
    # from <bos>: A (4) 0.5, B (5) 0.4; after A everything is flat; after B <eos> is almost sure
    V = 6
    probs = torch.full((V, V), 1e-6)
    probs[BOS, 4], probs[BOS, 5] = 0.5, 0.4
    probs[4, 1:] = 1.0 / (V - 1)
    probs[4, EOS] = 1.0 / (V - 1)
    probs[5, EOS] = 0.95
    probs[1:, PAD] = 1e-9
    model = TableModel(probs.log()[None])
    src = torch.zeros(1, 2, dtype=torch.long)
    lengths = torch.tensor([2])
    assert greedy_decode(model, src, lengths, max_len=3)[0][0] == 4  # greedy commits to A
    assert beam_search(model, src, lengths, beam=2, length_penalty=0.0, max_len=3) == [[5]]  # P(B <eos>) = 0.38
    assert beam_search(model, src, lengths, beam=1, max_len=3) == greedy_decode(model, src, lengths, max_len=3)


def test_sacrebleu_scores_are_sacrebleus() -> None:
    import sacrebleu

    hyps, refs = ["A man rides a bike .", "Two dogs play"], ["A man is riding a bike .", "two dogs play ."]
    scores = sacrebleu_scores(hyps, refs)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert scores["bleu_lc"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs], lowercase=True).score)
    assert scores["bleu_lc"] > scores["bleu"]  # "Two" / "two" match only lowercased
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert "tok:13a" in scores["signature"]["bleu"] and "case:lc" in scores["signature"]["bleu_lc"]


def test_inverse_sqrt_warms_up_then_decays() -> None:
    cfg = TrainConfig(model="m", data="d", epochs=10, lr=1.0, warmup_epochs=2, schedule="inverse_sqrt")
    sched = Schedule([build_optimizer(nn.Linear(2, 2), cfg)], cfg, steps_per_epoch=50)
    lrs = [sched.set(s) for s in range(500)]
    assert lrs[0] == pytest.approx(1 / 100) and max(lrs) == pytest.approx(1.0) and lrs.index(1.0) == 99
    assert lrs[399] == pytest.approx(math.sqrt(100 / 400))


# ---- a small parallel corpus: numbers spelled out in two made-up languages ----------------------------

SRC_WORDS = ["ein", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht"]
TGT_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight"]


def _corpus(root: Path, n_train: int = 400, n_test: int = 40, seed: int = 0) -> str:
    """Sentences of 2-5 number words; the target is the source word by word."""
    g = torch.Generator().manual_seed(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_test), ("test", n_test)):
        src, tgt = [], []
        for _ in range(n):
            k = int(torch.randint(2, 6, (1,), generator=g))
            words = torch.randint(0, len(SRC_WORDS), (k,), generator=g).tolist()
            src.append(" ".join(SRC_WORDS[w] for w in words))
            tgt.append(" ".join(TGT_WORDS[w] for w in words))
        (root / f"{split}.src").write_text("\n".join(src) + "\n")
        (root / f"{split}.tgt").write_text("\n".join(tgt) + "\n")
    return f"parallel:{root}"


SMALL = ["--set", "d_model=32", "--set", "num_heads=2", "--set", "dim_feedforward=64", "--set", "num_encoder_layers=1",
         "--set", "num_decoder_layers=1", "--set", "dropout=0.0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mt")
    data = _corpus(root / "data")
    run = root / "run"
    assert main(["train", "transformer_small", "--data", data, "--epochs", "20", "--batch-size", "32",
                 "--lr", "1e-2", "--set", "warmup_epochs=1", "--set", "tokenizer=word", "--set", "beam=3",
                 "--precision", "fp32", *SMALL, "--out", str(run), "--quiet"]) == 0
    return run


def test_training_learns_to_translate_and_reports_sacrebleu(trained: Path) -> None:
    summary = json.loads((trained / "summary.json").read_text())
    test = summary["metrics"]["test"]
    assert test["bleu"] > 60 and test["bleu_lc"] >= test["bleu"] and test["chrf"] > 60
    assert test["decoding"] == "beam 3, length penalty 0.6" and "bleu_greedy" in test
    assert test["signature"]["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert test["sentences"] == 40 and test["perplexity"] < 3
    val = summary["metrics"]["val"]
    assert val["decoding"] == "greedy" and "bleu_greedy" not in val
    assert summary["best"]["metric"] == "bleu"
    config = json.loads((trained / "config.json").read_text())
    assert config["task"] == "translation" and config["dataset"]["joint_vocab"]
    assert config["dataset"]["splits"] == {"train": 400, "val": 40, "test": 40}
    assert (trained / "tokenizer_src.json").is_file() and (trained / "tokenizer_tgt.json").is_file()


def test_translate_command(trained: Path, tmp_path: Path, capsys) -> None:
    assert main(["translate", str(trained), "ein zwei drei"]) == 0
    assert capsys.readouterr().out.strip() == "one two three"
    lines = tmp_path / "in.txt"
    lines.write_text("vier fuenf\nsechs sieben acht\n")
    assert main(["translate", str(trained), "--file", str(lines), "--beam", "1"]) == 0
    assert capsys.readouterr().out.split("\n")[:2] == ["four five", "six seven eight"]
    png = tmp_path / "attention.png"
    assert main(["translate", str(trained), "ein zwei", "--attention", str(png)]) == 0
    assert png.stat().st_size > 1000
    assert main(["translate", str(trained), "ein zwei", "--attention", str(png), "--head", "1"]) == 0


def test_eval_scores_a_split_as_training_did(trained: Path, capsys) -> None:
    summary = json.loads((trained / "summary.json").read_text())["metrics"]
    for split in ("test", "val"):  # val: the per-epoch decoding (greedy); test: the final one (beam 3)
        assert main(["eval", str(trained), "--split", split, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["decoding"] == summary[split]["decoding"]
        assert result["bleu"] == pytest.approx(summary[split]["bleu"]) and result["chrf"] > 60


@pytest.mark.parametrize("args, message", [
    (["ein", "--beam", "0"], "--beam must be at least 1, got 0"),
    (["   "], "sentence 1 is empty"),
    (["ein " * 200], "tokens long; this model takes at most 100 (pass --truncate"),
    (["ein", "--attention", "x.png", "--head", "7"], "--head must be in 0..1"),
])
def test_translate_bad_input(trained: Path, args: list[str], message: str, capsys, tmp_path: Path,
                             monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["translate", str(trained), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_truncate_translates_the_first_tokens(trained: Path, capsys) -> None:
    assert main(["translate", str(trained), "ein " * 200, "--truncate", "--beam", "1"]) == 0
    assert capsys.readouterr().out.strip()


def test_translate_refuses_other_runs(tmp_path: Path, capsys) -> None:
    run = tmp_path / "lm"
    text = tmp_path / "t.txt"
    text.write_text("abc " * 500)
    assert main(["train", "gpt_micro", "--data", f"text:{text}", "--epochs", "1", "--set", "epoch_steps=2",
                 "--set", "n_layer=1", "--set", "n_embd=16", "--set", "n_head=2", "--set", "seq_len=16",
                 "--batch-size", "4", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["translate", str(run), "abc"]) == 2
    assert "`archzoo translate` applies to translation runs" in capsys.readouterr().err


def test_translation_models_need_parallel_data(tmp_path: Path, capsys) -> None:
    assert main(["train", "transformer_small", "--data", "digits", "--quiet", "--out", str(tmp_path / "r")]) == 2
    assert "a translation model needs a parallel corpus" in capsys.readouterr().err
    data = _corpus(tmp_path / "d", n_train=20, n_test=4)
    assert main(["train", "mlp", "--data", data, "--quiet", "--out", str(tmp_path / "k")]) == 2
    assert "is a parallel corpus for translation models" in capsys.readouterr().err


def test_mismatched_line_counts_are_one_line(tmp_path: Path, capsys) -> None:
    data = _corpus(tmp_path / "d", n_train=20, n_test=4)
    (tmp_path / "d" / "train.tgt").write_text("one\n" * 19)
    assert main(["train", "transformer_small", "--data", data, "--quiet", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "20" in err and "19" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("model, options", [
    ("seq2seq_gru", ["--set", "embedding_dim=16", "--set", "hidden_size=32"]),
    ("seq2seq_attention", ["--set", "embedding_dim=16", "--set", "encoder_hidden_size=16",
                           "--set", "decoder_hidden_size=32", "--set", "attention_dim=16"]),
])
def test_recurrent_translators_train_and_decode(model: str, options: list[str], tmp_path: Path) -> None:
    data = _corpus(tmp_path / "d", n_train=64, n_test=8)
    run = tmp_path / "run"
    assert main(["train", model, "--data", data, "--epochs", "2", "--batch-size", "16", "--set", "tokenizer=word",
                 "--set", "beam=2", *options, "--out", str(run), "--quiet"]) == 0
    test = json.loads((run / "summary.json").read_text())["metrics"]["test"]
    assert test["sentences"] == 8 and math.isfinite(test["loss"]) and 0 <= test["bleu"] <= 100


def test_two_processes_match_one_for_a_translator(tmp_path: Path, one_and_two_processes) -> None:
    data = _corpus(tmp_path / "d", n_train=64, n_test=8)
    # SGD: the attention's key bias has a gradient of exactly zero in theory (softmax ignores a constant
    # added to every score) and of rounding noise in practice, which Adam would scale up to whole steps
    args = ["transformer_small", "--data", data, "--epochs", "2", "--batch-size", "16", "--quiet",
            "--optimizer", "sgd", "--lr", "0.5", "--set", "tokenizer=word", "--set", "beam=1",
            "--precision", "fp32", *SMALL]
    one, two = one_and_two_processes(tmp_path, args)
    for k in one:
        torch.testing.assert_close(two[k], one[k], atol=1e-5, rtol=0)


def test_config_checks_beam_and_length_penalty() -> None:
    for field, value in (("beam", 0), ("val_beam", 0), ("length_penalty", -1.0)):
        cfg = TrainConfig(model="m", data="d", **{field: value})
        with pytest.raises(ConfigError, match=field):
            cfg.validate()
