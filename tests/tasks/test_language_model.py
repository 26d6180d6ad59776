"""Language modelling: batching of token streams, GPT and the char-RNNs, the task, sampling, the CLI."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import archzoo
from archzoo.cli import main
from archzoo.data.text.batching import RandomWindows, Streams, Windows
from archzoo.engine import TrainConfig, resume, train
from archzoo.tasks.language_model import generate, sample_run

IDS = torch.arange(1000) % 97  # a token stream whose every position is recognisable


def _corpus(tmp_path: Path, n: int = 6000) -> Path:
    """A small text with structure a model can learn quickly."""
    words = ["the cat sat on the mat. ", "a dog ran in the fog. ", "to be or not to be. "]
    g = torch.Generator().manual_seed(0)
    text = "".join(words[int(i)] for i in torch.randint(0, 3, (n // 20,), generator=g))
    path = tmp_path / "corpus.txt"
    path.write_text(text)
    return path


def _lm_cfg(tmp_path: Path, out: str, model: str = "gpt_micro", **kw) -> TrainConfig:
    cfg = TrainConfig(model=model, data=f"text:{_corpus(tmp_path)}", epochs=2, batch_size=8, lr=3e-3,
                      optimizer="adamw", schedule="cosine", seq_len=32, epoch_steps=10, eval_batch_size=16,
                      out=str(tmp_path / out), model_overrides={"n_layer": 2, "n_embd": 32, "n_head": 2}
                      if model.startswith("gpt") else {"hidden_size": 32, "num_layers": 1})
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


# ---- batching -------------------------------------------------------------------------------------

def test_random_windows_are_shifted_pairs_drawn_from_seed_epoch_and_step() -> None:
    b = RandomWindows(IDS, batch_size=4, seq_len=10, seed=3, steps=5)
    assert len(b) == 5
    first = list(b.epoch(0))
    x, y = first[1]
    assert x.shape == y.shape == (4, 10)
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal((x + 1) % 97, y)  # targets are the next tokens
    assert all(torch.equal(a, c) for a, c in zip(first[3], next(b.epoch(0, start_step=3)), strict=True))
    assert not torch.equal(first[0][0], next(b.epoch(1))[0])  # another epoch, other windows
    shards = [next(RandomWindows(IDS, 4, 10, seed=3, rank=r, world_size=2).epoch(0))[0] for r in (0, 1)]
    assert torch.equal(torch.stack(shards, 1).view(4, 10), first[0][0])  # rank r keeps rows r::2


def test_streams_continue_row_by_row_and_mark_the_start() -> None:
    b = Streams(IDS, batch_size=4, seq_len=10)
    batches = list(b.epoch(0))
    assert [s for _, _, s in batches] == [True] + [False] * (len(batches) - 1)
    x0, _, _ = batches[0]
    x1, _, _ = batches[1]
    assert torch.equal(x1[:, 0], x0[:, -1] + 1)  # each row goes on where it stopped
    covered = torch.cat([x for x, _, _ in batches], 1)  # (4, L)
    assert covered.shape == (4, 249) and torch.equal(covered.flatten(), IDS[:996])
    one = Streams(IDS, batch_size=1, seq_len=64)
    assert sum(x.numel() for x, _, _ in one.epoch(0)) == len(IDS) - 1  # a single stream: every token


def test_evaluation_windows_predict_every_token_once() -> None:
    w = Windows(IDS, batch_size=7, seq_len=30)
    ys = torch.cat([y.flatten() for _, y in w.epoch(0)])
    assert torch.equal(ys, IDS[1:])
    assert len(list(w.epoch(0))) == len(w)


# ---- models ---------------------------------------------------------------------------------------

def test_gpt_is_causal_and_its_cache_gives_the_same_logits() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("gpt_micro", n_layer=2).eval()
    x = torch.randint(0, 65, (2, 12))
    full = model(x)
    changed = x.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % 65
    torch.testing.assert_close(model(changed)[:, :8], full[:, :8])  # positions before 8 never see the future
    cache = model.new_cache()
    pieces = [model(x[:, :5], cache)] + [model(x[:, t:t + 1], cache) for t in range(5, 12)]
    torch.testing.assert_close(torch.cat(pieces, 1), full, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="at most block_size=64"):
        model(torch.zeros(1, 65, dtype=torch.long))


def test_gpt2_has_gpt2s_parameter_count_and_ties_its_embedding() -> None:
    assert archzoo.model_card("gpt2").num_params == 124_439_808
    model = archzoo.create_model("gpt_micro")
    assert model.lm_head.weight is model.transformer.wte.weight
    assert archzoo.count_params(archzoo.create_model("gpt_micro", tie_weights=False)) == (
        archzoo.count_params(model) + 65 * 128)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_char_rnn_reference_cells_match_the_fused_ones_and_carry_state(mode: str) -> None:
    torch.manual_seed(0)
    fused = archzoo.create_model(f"char_{mode}", hidden_size=24, num_layers=2).eval()
    reference = archzoo.create_model(f"char_{mode}", hidden_size=24, num_layers=2, cell="reference").eval()
    reference.load_state_dict(fused.state_dict())  # the same parameter names and shapes
    x = torch.randint(0, 65, (3, 9))
    (a, _), (b, _) = fused(x), reference(x)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    first, state = fused(x[:, :4])
    rest, _ = fused(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, rest], 1), a, atol=1e-5, rtol=1e-5)  # carrying = one long run


def test_char_rnn_options_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown mode 'transformer'"):
        archzoo.create_model("char_rnn", mode="transformer")
    with pytest.raises(ValueError, match="tie_weights needs embedding_dim == hidden_size"):
        archzoo.create_model("char_lstm", tie_weights=True, embedding_dim=64)
    tied = archzoo.create_model("char_lstm", tie_weights=True, embedding_dim=512)
    assert tied.decoder.weight is tied.embed.weight


# ---- generation -----------------------------------------------------------------------------------

def test_cached_and_uncached_gpt_sampling_give_the_same_tokens() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("gpt_micro", n_layer=2, block_size=16).eval()
    prompt = torch.randint(0, 65, (1, 5))
    kw = dict(temperature=0.9, top_k=20, top_p=0.95, seed=7)
    cached = list(generate(model, prompt, 30, use_cache=True, **kw))  # past the 16-token block too
    plain = list(generate(model, prompt, 30, use_cache=False, **kw))
    assert cached == plain and len(cached) == 30
    assert cached != list(generate(model, prompt, 30, use_cache=True, **{**kw, "seed": 8}))


def test_top_k_one_is_greedy() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("char_gru", hidden_size=16, num_layers=1).eval()
    prompt = torch.randint(0, 65, (1, 4))
    tokens = list(generate(model, prompt, 5, top_k=1, seed=1))
    logits, state = model(prompt)
    expected = []
    for _ in range(5):
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        expected.append(int(nxt))
        logits, state = model(nxt, state)
    assert tokens == expected


# ---- the task through the engine -----------------------------------------------------------------

def test_gpt_learns_a_small_corpus_and_records_its_tokenizer(tmp_path: Path) -> None:
    summary = train(_lm_cfg(tmp_path, "gpt", epochs=3, epoch_steps=40), progress=False)
    val = summary["metrics"]["val"]
    vocab = len(set(_corpus(tmp_path).read_text()))
    assert val["loss"] < 0.6 * math.log(vocab)  # chance is ln(vocabulary) nats
    assert val["bpc"] == pytest.approx(val["loss"] / math.log(2))
    assert val["tokens"] == summary_tokens(tmp_path / "gpt") - 1  # every validation token, once
    run = tmp_path / "gpt"
    assert json.loads((run / "tokenizer.json").read_text())["kind"] == "char"
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "language_model" and config["model_config"]["vocab_size"] == vocab
    assert config["model_config"]["block_size"] == 32  # the window the data plan cuts
    tensors = load_file(str(run / "checkpoints" / "last.safetensors"))
    assert "model.lm_head.weight" not in tensors  # stored once, as the tied embedding


def summary_tokens(run: Path) -> int:
    return json.loads((run / "config.json").read_text())["dataset"]["splits"]["val"]


def test_truncated_bptt_resumes_exactly_with_its_carried_state(tmp_path: Path) -> None:
    kw = dict(model="char_lstm", bptt=16, epochs=2, optimizer="adam")
    full = train(_lm_cfg(tmp_path, "full", **kw), progress=False)
    cut = train(_lm_cfg(tmp_path, "cut", max_time=1e-9, **kw), progress=False)
    assert not cut["completed"]
    state = load_file(str(tmp_path / "cut" / "checkpoints" / "last.safetensors"))
    assert {k for k in state if k.startswith("task.")} == {"task.state.0", "task.state.1"}  # h and c
    resumed = resume(tmp_path / "cut", progress=False, overrides={"max_time": 0.0})
    a = load_file(str(tmp_path / "full" / "checkpoints" / "last.safetensors"))
    b = load_file(str(tmp_path / "cut" / "checkpoints" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("model."))
    assert resumed["metrics"] == full["metrics"]


def test_sample_streams_text_and_checks_its_input(tmp_path: Path, capsys) -> None:
    train(_lm_cfg(tmp_path, "run", model="char_gru", bptt=16, epochs=1), progress=False)
    run = tmp_path / "run"
    out = io.StringIO()
    text = sample_run(run, "the ", 40, seed=3, out=out)
    assert out.getvalue() == "the " + text and len(text) == 40
    assert sample_run(run, "the ", 40, seed=3, out=io.StringIO()) == text  # the seed decides

    def fails(argv: list[str], needle: str) -> None:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err

    fails(["sample", str(run), "--prompt", "the ~Zq"], "not in the tokenizer's")
    fails(["sample", str(run), "--tokens", "0"], "--tokens must be positive")
    fails(["sample", str(run), "--temperature", "0"], "--temperature must be positive")
    train(TrainConfig(model="mlp", data="xor", epochs=1, out=str(tmp_path / "mlp")), progress=False)
    fails(["sample", str(tmp_path / "mlp")], "applies to language-model runs")


def test_bad_text_files_are_one_line_errors(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty.txt").write_text("  \n\n")
    (tmp_path / "latin.txt").write_bytes("café au lait ".encode("latin-1") * 40)
    for name, needle in (("empty.txt", "empty"), ("latin.txt", "offset 3")):
        assert main(["train", "gpt_micro", "--data", f"text:{tmp_path / name}", "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
    assert main(["train", "gpt_micro", "--data", "xor", "--out", str(tmp_path / "r")]) == 2
    assert "needs a text corpus" in capsys.readouterr().err


@pytest.mark.slow
def test_gpt_on_tiny_shakespeare_moves_far_past_chance(tmp_path: Path, text_data_root: Path) -> None:
    summary = train(TrainConfig(model="gpt_micro", data="tinyshakespeare", data_root=str(text_data_root), epochs=1,
                                epoch_steps=150, batch_size=12, seq_len=64, lr=1e-3, schedule="cosine",
                                eval_batch_size=128, out=str(tmp_path / "r")), progress=False)
    val = summary["metrics"]["val"]
    assert val["tokens"] == 111_539  # the whole validation text: 111,540 characters, every one but the first
    assert val["loss"] < 2.8  # chance is ln 65 = 4.17 nats


@pytest.mark.slow
def test_two_processes_match_one_for_a_language_model(tmp_path: Path, one_and_two_processes) -> None:
    args = ["gpt_micro", "--data", f"text:{_corpus(tmp_path)}", "--epochs", "1", "--batch-size", "8", "--quiet",
            "--set", "epoch_steps=6", "--set", "seq_len=32", "--set", "n_layer=2", "--set", "n_embd=32",
            "--optimizer", "momentum", "--lr", "0.05"]
    one, two = one_and_two_processes(tmp_path, args)
    for k in one:
        torch.testing.assert_close(two[k], one[k], atol=1e-5, rtol=0)


def test_info_builds_token_inputs_for_text_models(capsys) -> None:
    assert main(["info", "gpt_micro", "--input", "16", "--no-memory"]) == 0
    out = capsys.readouterr().out
    assert "input 1x16  ->  output 1x16x65" in out and "809,856" in out
