"""Text classification: padded batching, Kim's CNN and its siblings, the task, cross-validation, the CLI."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import Tensor

import archzoo
from archzoo.cli import main
from archzoo.data import load_dataset
from archzoo.data.text.batching import PaddedBatches
from archzoo.engine import TrainConfig, evaluate_run, train
from archzoo.engine.config import ConfigError
from archzoo.engine.cv import cross_validate
from archzoo.engine.precision import Precision
from archzoo.engine.recipes import recipe
from archzoo.tasks import make_task
from archzoo.tasks.text_classification import TextClassificationTask, TextClsPlan, macro_f1

MODELS = ("kim_cnn", "lstm_classifier", "transformer_classifier")
TINY = {"kim_cnn": {"embedding_dim": 16, "num_filters": 8},
        "lstm_classifier": {"embedding_dim": 16, "hidden_size": 16},
        "transformer_classifier": {"dim": 16, "num_heads": 2, "depth": 1}}
GOOD = ("good", "great", "superb", "lovely", "fine")
BAD = ("bad", "awful", "dull", "poor", "ugly")
FILLER = ("the", "film", "was", "a", "plot", "and", "its", "acting", "very", "quite", "story", "ending")


def _sentences(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (label, text) pairs, half of each class: filler words with one word that gives the label."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i in range(n):
        label, keywords = ("pos", GOOD) if i % 2 == 0 else ("neg", BAD)
        size = int(torch.randint(2, 12, (1,), generator=g))
        words = [FILLER[int(j)] for j in torch.randint(0, len(FILLER), (size,), generator=g)]
        keyword = keywords[int(torch.randint(0, len(keywords), (1,), generator=g))]
        words.insert(int(torch.randint(0, size + 1, (1,), generator=g)), keyword)
        rows.append((label, " ".join(words)))
    return rows


def _textcls(directory: Path, **splits: int) -> str:
    """A textcls:DIR data name for ``directory``, with ``split=count`` TSV files written into it."""
    directory.mkdir(parents=True, exist_ok=True)
    for seed, (split, n) in enumerate(splits.items()):
        (directory / f"{split}.tsv").write_text("".join(f"{label}\t{text}\n" for label, text in _sentences(n, seed)))
    return f"textcls:{directory}"


def _cfg(tmp_path: Path, data: str, out: str, model: str = "kim_cnn", **kw) -> TrainConfig:
    cfg = TrainConfig(model=model, data=data, tokenizer="word", epochs=4, batch_size=16, lr=1e-2, optimizer="adam",
                      schedule="constant", eval_batch_size=64, out=str(tmp_path / out),
                      model_overrides=dict(TINY[model]))
    for key, value in kw.items():
        setattr(cfg, key, value)
    return cfg


# ---- batching -------------------------------------------------------------------------------------

def _padded(n: int = 23, longest: int = 9) -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(0)
    sizes = torch.randint(1, longest + 1, (n,), generator=g).tolist()
    ids, lengths = PaddedBatches.pad([torch.arange(1, k + 1) + 100 * i for i, k in enumerate(sizes)], max_len=longest)
    return ids, lengths, torch.arange(n)  # each row's label is its index, so a batch says which rows it took


def test_pad_truncates_and_pads_with_zeros() -> None:
    empty = torch.tensor([], dtype=torch.long)
    ids, lengths = PaddedBatches.pad([torch.tensor([5, 6, 7, 8]), torch.tensor([9]), empty], max_len=3)
    assert ids.tolist() == [[5, 6, 7], [9, 0, 0], [0, 0, 0]]
    assert lengths.tolist() == [3, 1, 1]  # cut to max_len; an empty text is one padding token
    assert PaddedBatches.pad([torch.tensor([], dtype=torch.long)], 4)[0].shape == (1, 1)


def test_padded_batches_cut_each_batch_to_its_longest_row_and_are_a_function_of_seed_epoch_step() -> None:
    ids, lengths, labels = _padded()
    b = PaddedBatches(ids, lengths, labels, 5, shuffle=True, seed=3)
    assert len(b) == 4  # the last partial batch is dropped in training
    first = list(b.epoch(0))
    seen = torch.cat([y for _, _, y in first])
    assert len(seen.unique()) == 20 and len(seen) == 20  # a permutation: no text twice
    for x, n, y in first:
        assert x.shape == (5, int(n.max())) and n.shape == y.shape == (5,)
        assert torch.equal(x, ids[y, :x.shape[1]])  # ids, lengths and labels of the same rows
        assert torch.equal(lengths[y], n)
        assert (x[torch.arange(x.shape[1]) >= n[:, None]] == 0).all()  # zeros past every length
    again = list(PaddedBatches(ids, lengths, labels, 5, shuffle=True, seed=3).epoch(0, start_step=2))
    assert all(torch.equal(a, c) for a, c in zip(first[2], again[0], strict=True))  # resume mid-epoch
    assert not torch.equal(first[0][2], next(b.epoch(1))[2])  # another epoch, another order
    evals = list(PaddedBatches(ids, lengths, labels, 5).epoch(0))
    assert len(evals) == 5 and torch.equal(torch.cat([y for _, _, y in evals]), labels)  # all of them, in order


def test_ranks_keep_interleaved_rows_of_the_global_batch() -> None:
    ids, lengths, labels = _padded()
    whole = next(PaddedBatches(ids, lengths, labels, 6, shuffle=True, seed=1).epoch(2))
    parts = [next(PaddedBatches(ids, lengths, labels, 6, shuffle=True, seed=1, rank=r, world_size=2).epoch(2))
             for r in (0, 1)]
    for r, (x, n, y) in enumerate(parts):
        assert torch.equal(y, whole[2][r::2]) and torch.equal(n, whole[1][r::2])
        assert torch.equal(x, whole[0][r::2, :x.shape[1]]) and x.shape[1] == int(n.max())


# ---- models ---------------------------------------------------------------------------------------

def _model(name: str, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    model = archzoo.create_model(name, vocab_size=40, num_classes=3, **{**TINY[name], **kw})
    if name == "kim_cnn":
        torch.nn.init.normal_(model.fc.weight)  # Kim's output layer starts at zero: every logit would be 0
    return model.eval()


@pytest.mark.parametrize("name, options", [
    ("kim_cnn", {}), ("kim_cnn", {"filter_sizes": (2, 7)}), ("lstm_classifier", {}),
    ("lstm_classifier", {"pooling": "max"}),
    ("lstm_classifier", {"mode": "gru", "bidirectional": False, "num_layers": 2}), ("transformer_classifier", {}),
    ("transformer_classifier", {"pooling": "cls", "positions": "learned", "max_len": 16}),
    ("transformer_classifier", {"layer": "reference"}),
])
def test_padding_never_changes_the_logits(name: str, options: dict) -> None:
    model = _model(name, **options)
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([6, 2, 1, 4])
    tight = torch.randint(1, 40, (4, 6), generator=g)
    loose = torch.randint(0, 40, (4, 11), generator=g)  # other padding: longer, and not even zeros
    loose[:, :6] = tight
    for i, n in enumerate(lengths.tolist()):
        tight[i, n:] = 0
    with torch.no_grad():
        a, b = model(tight, lengths), model(loose, lengths)
        alone = torch.cat([model(tight[i:i + 1, :n]) for i, n in enumerate(lengths.tolist())])  # no padding at all
    assert a.shape == (4, 3)
    torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone, a, atol=1e-5, rtol=1e-5)
    assert a.std(0).min() > 1e-4  # the rows differ: the comparison is not between constants


@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_learns_and_bad_input_is_a_clear_error(name: str) -> None:
    model = _model(name).train()
    ids, lengths = torch.randint(0, 40, (5, 8)), torch.tensor([8, 3, 1, 5, 8])
    torch.nn.functional.cross_entropy(model(ids, lengths), torch.tensor([0, 1, 2, 0, 1])).backward()
    idle = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not idle, idle
    with pytest.raises(ValueError, match=r"expects token ids \(B, L\) of integers"):
        model(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"expects lengths \(B,\) = \(5,\)"):
        model(ids, lengths[:2])


def test_kim_cnn_keeps_its_output_rows_within_the_max_norm() -> None:
    model = archzoo.create_model("kim_cnn", vocab_size=40, **TINY["kim_cnn"])
    task, precision = TextClassificationTask(2), Precision("fp32", torch.device("cpu"))
    cfg = TrainConfig(model="kim_cnn", data="mr", optimizer="sgd", lr=50.0)  # steps large enough to leave the ball
    optimizers = task.build_optimizers(model, cfg)
    g = torch.Generator().manual_seed(0)
    at_limit = 0
    for _ in range(5):
        batch = (torch.randint(0, 40, (8, 6), generator=g), torch.full((8,), 6), torch.randint(0, 2, (8,), generator=g))
        task.train_step(model, batch, optimizers, cfg, precision)
        norms = model.fc.weight.norm(dim=1)
        assert (norms <= 3.0 + 1e-5).all(), norms
        at_limit += int(torch.allclose(norms, torch.full_like(norms, 3.0)))
    assert at_limit > 0  # the constraint was active, not idle
    free = archzoo.create_model("kim_cnn", vocab_size=40, max_norm=0.0, **TINY["kim_cnn"])
    free.load_state_dict(model.state_dict())
    with torch.no_grad():
        free.fc.weight.mul_(10)
    free.constrain()  # max_norm=0: no constraint
    assert free.fc.weight.norm(dim=1).min() > 29


def test_macro_f1_matches_scikit_learn() -> None:
    from sklearn.metrics import f1_score

    g = torch.Generator().manual_seed(0)
    y, pred = torch.randint(0, 4, (200,), generator=g), torch.randint(0, 4, (200,), generator=g)
    pred[pred == 3] = 2  # class 3 is never predicted: F1 0, still counted
    confusion = torch.bincount(y * 5 + pred, minlength=25).view(5, 5)  # class 4 never occurs: left out
    assert macro_f1(confusion) == pytest.approx(f1_score(y.numpy(), pred.numpy(), average="macro", zero_division=0))


# ---- the data plan --------------------------------------------------------------------------------

def test_plan_splits_tokenizes_on_train_and_reloads_its_tokenizer(tmp_path: Path) -> None:
    ds = load_dataset(_textcls(tmp_path / "d", train=200))
    cfg = TrainConfig(model="kim_cnn", data="d", tokenizer="word", val_size=0.2, seq_len=5, seed=1)
    plan = TextClsPlan(ds, cfg)
    # no test split: the fixed 10% holdout (per class) is the test, then a fifth of the rest validates
    assert plan.record["splits"] == {"train": 144, "test": 20, "val": 36}
    assert plan.record["evaluation"].startswith("a fixed stratified 10% holdout")
    for name in ("test", "val"):
        assert torch.bincount(plan.data[name][2]).tolist() == [plan.record["splits"][name] // 2] * 2  # stratified
    ids, lengths, _ = plan.data["train"]
    assert ids.shape[1] == 5 and lengths.max() == 5 and plan.record["truncated"]["train"] > 0  # cut to seq_len
    assert plan.model_overrides({"vocab_size", "num_classes", "max_len"}) == {
        "vocab_size": plan.tokenizer.vocab_size, "num_classes": 2, "max_len": 5}
    plan.save(tmp_path)
    other = TrainConfig(model="kim_cnn", data="d", tokenizer="word", min_freq=3)  # would build another vocabulary
    assert TextClsPlan(ds, other, tmp_path).tokenizer == plan.tokenizer
    fold = TextClsPlan(ds, TrainConfig(model="kim_cnn", data="d", tokenizer="word", fold=1, folds=4))
    assert fold.record["splits"] == {"train": 150, "test": 50}
    with pytest.raises(ConfigError, match="without a fold is a cross-validation"):
        TextClsPlan(ds, TrainConfig(model="kim_cnn", data="d", folds=4))


def test_fold_settings_are_checked() -> None:
    for kw, needle in (({"folds": 1}, "--folds must be at least 2"), ({"fold": 0}, "set only with folds"),
                       ({"fold": 3, "folds": 3}, r"0\.\.2 \(a fold of folds=3\)")):
        with pytest.raises(ConfigError, match=needle):
            TrainConfig(model="kim_cnn", data="mr", **kw).validate()


# ---- the task through the engine -----------------------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_each_classifier_learns_a_keyword_rule(tmp_path: Path, name: str) -> None:
    data = _textcls(tmp_path / "d", train=320, dev=64, test=128)
    summary = train(_cfg(tmp_path, data, "run", name, epochs=4), progress=False)
    test = summary["metrics"]["test"]
    assert test["samples"] == 128 and test["accuracy"] > 0.9 and test["macro_f1"] > 0.9, test
    assert sum(map(sum, test["confusion_matrix"])) == 128
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["task"] == "text_classification" and config["dataset"]["validation"] == "dev"
    assert config["dataset"]["splits"] == {"train": 320, "test": 128, "val": 64}
    assert config["model_config"]["vocab_size"] == 4 + len(GOOD + BAD + FILLER)  # specials, then the words


def test_cli_trains_with_the_recipe_and_eval_reads_the_run(tmp_path: Path, capsys) -> None:
    data = _textcls(tmp_path / "d", train=200, test=60)
    run = tmp_path / "run"
    assert main(["train", "kim_cnn", "--data", data, "--epochs", "2", "--set", "embedding_dim=16",
                 "--set", "num_filters=8", "--out", str(run), "--quiet"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["tokenizer"], config["optimizer"], config["batch_size"]) == ("word", "adam", 50)  # Kim's batch size
    assert json.loads((run / "tokenizer.json").read_text())["kind"] == "word"
    assert config["dataset"]["splits"] == {"train": 180, "test": 60, "val": 20}  # the recipe's 10% validation
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    summary = json.loads((run / "summary.json").read_text())
    assert result["samples"] == 60
    assert result["accuracy"] == summary["metrics"]["test"]["accuracy"] and "macro_f1" in result
    best = evaluate_run(run, checkpoint="best", split="val")
    assert best["accuracy"] == summary["best"]["value"]  # best.safetensors: the best validation epoch
    for name in MODELS:  # the recipes' rule: text classifiers read words, on MR and on any textcls:DIR
        family = archzoo.model_card(name).family
        assert recipe(name, family, "mr")["tokenizer"] == recipe(name, family, data)["tokenizer"] == "word"


def test_cross_validation_writes_each_fold_and_their_mean_and_std(tmp_path: Path) -> None:
    data = _textcls(tmp_path / "d", train=60)
    summary = cross_validate(_cfg(tmp_path, data, "cv", epochs=2, folds=3), progress=False)
    run = tmp_path / "cv"
    folds = [json.loads((run / "folds" / str(k) / "summary.json").read_text()) for k in range(3)]
    for k in range(3):
        config = json.loads((run / "folds" / str(k) / "config.json").read_text())
        assert (config["fold"], config["folds"]) == (k, 3)
        assert config["dataset"]["evaluation"].startswith(f"fold {k} of 3")
    tests = [f["metrics"]["test"] for f in folds]
    assert sum(t["samples"] for t in tests) == 60  # every text tested once
    cv = summary["metrics"]["cv"]
    for key in ("accuracy", "macro_f1"):
        values = [t[key] for t in tests]
        assert cv[f"{key}_mean"] == pytest.approx(statistics.fmean(values))
        assert cv[f"{key}_std"] == pytest.approx(statistics.stdev(values))
    assert cv["folds_done"] == 3 and summary["completed"]
    assert summary["fold_time_s"] == [f["wall_time_s"] for f in folds]
    assert json.loads((run / "summary.json").read_text()) == summary
    assert json.loads((run / "config.json").read_text())["cross_validation"] == {"folds": 3, "seed": 0}

    # stopped after the first step of fold 0, then resumed from the command line: the same figures
    stopped = cross_validate(_cfg(tmp_path, data, "cut", epochs=2, folds=3, max_time=1e-9), progress=False)
    assert not stopped["completed"] and stopped["metrics"]["cv"]["folds_done"] == 0
    assert main(["train", "--resume", str(tmp_path / "cut"), "--quiet"]) == 0
    resumed = json.loads((tmp_path / "cut" / "summary.json").read_text())
    assert resumed["completed"] and [f["metrics"] for f in resumed["folds"]] == [f["metrics"] for f in folds]
    a = load_file(str(run / "folds" / "0" / "checkpoints" / "last.safetensors"))
    b = load_file(str(tmp_path / "cut" / "folds" / "0" / "checkpoints" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("model."))


def test_bad_folds_and_mismatched_data_are_one_line_errors(tmp_path: Path, capsys) -> None:
    data = _textcls(tmp_path / "d", train=20)  # 10 texts per class

    def fails(argv: list[str], needle: str) -> None:
        assert main(["train", *argv, "--out", str(tmp_path / "r"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err

    fails(["kim_cnn", "--data", data, "--folds", "1"], "--folds must be at least 2")
    fails(["kim_cnn", "--data", data, "--folds", "0"], "--folds must be at least 2")
    fails(["kim_cnn", "--data", data, "--set", "folds=1"], "--folds must be at least 2")
    fails(["kim_cnn", "--data", data, "--folds", "11"], "k must be between 2 and 10")
    fails(["kim_cnn", "--data", "xor", "--folds", "3"], "cross-validates text classification")
    fails(["kim_cnn", "--data", "xor"], "a text classifier needs labelled text")
    fails(["mlp", "--data", data], "is labelled text for text classifiers")
    fails(["gpt_micro", "--data", data], "a language model needs a text corpus")
    assert not (tmp_path / "r").exists()
    ds = load_dataset(data)
    assert isinstance(make_task("text_classification", ds), TextClassificationTask)


@pytest.mark.slow
def test_kim_cnn_on_mr_moves_well_past_chance(tmp_path: Path, text_data_root: Path) -> None:
    summary = train(TrainConfig(model="kim_cnn", data="mr", data_root=str(text_data_root), tokenizer="word", epochs=1,
                                batch_size=50, optimizer="adam", lr=1e-2, schedule="constant", subset=4000,
                                out=str(tmp_path / "r"), model_overrides={"embedding_dim": 64}), progress=False)
    test = summary["metrics"]["test"]
    assert test["samples"] == 1066  # MR's fixed holdout: 533 of each class
    assert test["accuracy"] > 0.6, test  # chance is 0.5


@pytest.mark.slow
def test_two_processes_match_one_for_a_text_classifier(tmp_path: Path, one_and_two_processes) -> None:
    data = _textcls(tmp_path / "d", train=96, test=32)
    args = ["kim_cnn", "--data", data, "--epochs", "1", "--batch-size", "16", "--quiet", "--optimizer", "adam",
            "--lr", "0.01", "--set", "embedding_dim=16", "--set", "num_filters=8", "--set", "dropout=0.0"]
    one, two = one_and_two_processes(tmp_path, args)
    for k in one:
        torch.testing.assert_close(two[k], one[k], atol=1e-5, rtol=0)
