"""CycleGAN: its networks' layout, the image pool, the losses against a hand computation, the unpaired domains,
training, exact resume, the judged translations, the sample command, torchrun, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

import archzoo
from archzoo.cli import main
from archzoo.data import DataError, Split, load_dataset
from archzoo.engine import TrainConfig, Trainer, resume, train
from archzoo.engine.config import ConfigError
from archzoo.engine.precision import Precision
from archzoo.engine.recipes import recipe
from archzoo.models.cyclegan import CycleGAN, CycleGANConfig
from archzoo.tasks import CycleGANTask, make_task
from archzoo.tasks.adversarial_cycle import CRITERIA, ImagePool, UnpairedBatches, translate_run

TINY = {"width": 4, "blocks": 1, "d_width": 8}
CPU = torch.device("cpu")


def _cfg(out: Path, **kw) -> TrainConfig:
    settings = dict(epochs=2, batch_size=8, subset=96, optimizer="adam", lr=2e-3, beta1=0.5, schedule="linear",
                    gan_loss="least_squares", pool_size=4, eval_samples=0, device="cpu", model_overrides=dict(TINY))
    settings.update(kw)
    return TrainConfig(model="cyclegan", data="sneakers2boots", out=str(out), **settings)


def _conv_shapes(module: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(m.weight.shape) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


# ---- the networks ---------------------------------------------------------------------------------------

def test_generator_and_discriminator_follow_the_appendix() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("cyclegan")  # width 32, 6 blocks, d_width 64, 2 stride-2 layers in D
    k = 32
    # c7s1-k, d2k, d4k, R4k x 6 (two 3x3 convolutions each), u2k, uk (transposed: (in, out, 3, 3)), c7s1-1
    assert _conv_shapes(model.g_ab) == [(k, 1, 7, 7), (2 * k, k, 3, 3), (4 * k, 2 * k, 3, 3),
                                        *[(4 * k, 4 * k, 3, 3)] * 12, (4 * k, 2 * k, 3, 3), (2 * k, k, 3, 3),
                                        (1, k, 7, 7)]
    # C64 (stride 2, no norm) - C128 (stride 2) - C256 (stride 1) - a 4x4 convolution to one score per patch
    assert _conv_shapes(model.d_a) == [(64, 1, 4, 4), (128, 64, 4, 4), (256, 128, 4, 4), (1, 256, 4, 4)]
    d_convs = [m for m in model.d_a.modules() if isinstance(m, nn.Conv2d)]
    assert [c.stride[0] for c in d_convs] == [2, 2, 1, 1]
    assert [c.bias is not None for c in d_convs] == [True, False, False, True]  # instance norm cancels a bias
    norms = [m for m in model.d_a.net if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 2 and not any(n.affine for n in norms)  # no norm after the first convolution
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in model.g_ab.modules()) == 2 + 2 * 6
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in model.g_ab.modules()) == 5 + 2 * 6  # c7s1, d, d, u, u
    # parameters by hand: G = 49k + 9 (2k k + 8k^2) + 6 x 2 x 9 (4k)^2 + 9 (8k^2 + 2k^2) + 49k + 1 per generator
    g = 49 * k + 9 * (2 * k * k + 8 * k * k) + 6 * 2 * 9 * (4 * k) ** 2 + 9 * (8 * k * k + 2 * k * k) + 49 * k + 1
    d = (16 * 64 + 64) + 16 * 64 * 128 + 16 * 128 * 256 + (16 * 256 + 1)
    assert archzoo.count_params(model.g_ab) == g == 1_956_929 and archzoo.count_params(model.d_b) == d == 660_545
    assert archzoo.model_card("cyclegan").num_params == 2 * g + 2 * d
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        made = model(x, mode="a2b")
        assert made.shape == x.shape and made.abs().max() < 1  # tanh
        assert model(x, mode="discriminate_b").shape == (3, 5, 5)  # a 5x5 grid of patch scores
        assert model(x).shape == (2, 3, 5, 5)  # D_B(G(x)) and D_A(F(x))
    weights = torch.cat([p.flatten() for n, p in model.named_parameters() if n.endswith("weight")])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05) and abs(weights.mean().item()) < 1e-3  # N(0, 0.02)


def test_patches_and_sizes() -> None:
    # receptive field r = r s + k - s from the top: 34 for two stride-2 layers, the paper's 70 for three; measured
    # as the pixels one score's gradient reaches, without the instance norms (whose statistics span the image)
    for layers, field in ((2, 34), (3, 70)):
        model = CycleGAN(CycleGANConfig(d_layers=layers, **TINY)).eval()
        side = model.cfg.min_side
        local = nn.Sequential(*[nn.Identity() if isinstance(m, nn.InstanceNorm2d) else m for m in model.d_a.net])
        x = torch.randn(1, 1, 2 * field, 2 * field, requires_grad=True)
        score = local(x)[:, 0]
        score[0, score.shape[1] // 2, score.shape[2] // 2].backward()
        rows = x.grad[0, 0].abs().sum(1).nonzero()
        assert rows.max() - rows.min() + 1 == field
        assert model(torch.zeros(1, 1, side, side), mode="discriminate_a").shape == (1, 1, 1)
    assert CycleGANConfig(d_layers=3).min_side == 24
    model = CycleGAN(CycleGANConfig(**TINY))
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.zeros(1, 1, 30, 30), mode="a2b")
    with pytest.raises(ValueError, match="at least 12x12"):
        model(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="both domains"):
        model(torch.zeros(1, 1, 28, 28), mode="cycle")


def test_the_cycle_pass_batches_both_domains_exactly() -> None:
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(**TINY))
    a, b = torch.rand(3, 1, 28, 28), torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        made = model(a, b, mode="cycle")
        plain = model(a, b, mode="cycle", identity=False)
        g, f = model.g_ab, model.g_ba
        torch.testing.assert_close(made.fake_b, g(a))  # instance norm: each image on its own
        torch.testing.assert_close(made.same_b, g(b))
        torch.testing.assert_close(made.rec_a, f(g(a)))
        torch.testing.assert_close(made.rec_b, g(f(b)))
        torch.testing.assert_close(made.same_a, f(a))
    assert plain.same_a is None and torch.allclose(plain.fake_a, made.fake_a, atol=1e-6)


# ---- the image pool ---------------------------------------------------------------------------------------

def test_the_pool_fills_then_swaps_half_the_time() -> None:
    pool = ImagePool(3)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    shown = pool.query(first, torch.Generator().manual_seed(0))
    assert torch.equal(shown, first) and pool.count == 3  # filling: every image passes; the 4th is not kept
    assert torch.equal(pool.state().flatten(), torch.tensor([0.0, 1.0, 2.0]))
    new = torch.arange(10.0, 30.0).view(20, 1, 1, 1)
    g = torch.Generator().manual_seed(1)
    coins, slots = torch.rand(20, generator=g).tolist(), torch.randint(3, (20,), generator=g).tolist()
    stored, expected = [0.0, 1.0, 2.0], []
    for value, coin, slot in zip(new.flatten().tolist(), coins, slots, strict=True):  # the semantics, one by one
        if coin > 0.5:
            expected.append(stored[slot])
            stored[slot] = value
        else:
            expected.append(value)
    shown = pool.query(new, torch.Generator().manual_seed(1))
    assert shown.flatten().tolist() == expected
    assert pool.state().flatten().tolist() == stored
    swapped = sum(e != v for e, v in zip(expected, new.flatten().tolist(), strict=True))
    assert 4 <= swapped <= 16  # about half
    assert any(e >= 10 for e, v in zip(expected, new.flatten().tolist(), strict=True) if e != v)  # a batch's own
    # the state goes to a checkpoint and back
    clone = ImagePool(3)
    clone.load(pool.state(), CPU)
    assert torch.equal(clone.query(new, torch.Generator().manual_seed(5)), pool.query(new, torch.Generator()
                                                                                       .manual_seed(5)))
    with pytest.raises(ConfigError, match="pool_size"):
        ImagePool(2).load(pool.state(), CPU)
    off = ImagePool(0)
    assert off.query(new) is new and off.state() is None


# ---- the losses -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gan_loss", list(CRITERIA))
def test_the_losses_are_the_papers(gan_loss: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(**TINY))
    cfg = _cfg(tmp_path, gan_loss=gan_loss, cycle_lambda=7.0, identity_weight=0.3, optimizer="sgd", lr=0.1)
    task = CycleGANTask()
    task.pools = {"a": ImagePool(cfg.pool_size), "b": ImagePool(cfg.pool_size)}  # filling: they pass every image
    task.loss_name = gan_loss
    optimizers = task.build_optimizers(model, cfg)
    a, b = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(3, 1, 28, 28) * 2 - 1
    g, f, d_a, d_b = model.g_ab, model.g_ba, model.d_a, model.d_b
    with torch.no_grad():  # the paper's equations, written out
        if gan_loss == "least_squares":
            def c(o, t):
                return ((o - t) ** 2).mean()
        else:
            def c(o, t):
                p = torch.sigmoid(o)
                return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
        cycle = (f(g(a)) - a).abs().mean() + (g(f(b)) - b).abs().mean()
        same = (g(b) - b).abs().mean() + (f(a) - a).abs().mean()
        loss_g = c(d_b(g(a)), 1) + c(d_a(f(b)), 1) + 7.0 * cycle + 7.0 * 0.3 * same
        loss_d_a = (c(d_a(a), 1) + c(d_a(f(b)), 0)) / 2  # D's loss halved
        loss_d_b = (c(d_b(b), 1) + c(d_b(g(a)), 0)) / 2
        p = torch.sigmoid if gan_loss == "non_saturating" else (lambda t: t)
        d_real = (p(d_a(a)).mean() + p(d_b(b)).mean()) / 2
        d_fake = (p(d_a(f(b))).mean() + p(d_b(g(a))).mean()) / 2
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = task.train_step(model, (a, b), optimizers, cfg, Precision("fp32", CPU))
    expected = dict(loss_g=loss_g, loss_d_a=loss_d_a, loss_d_b=loss_d_b, cycle=cycle, identity=same, d_real=d_real,
                    d_fake=d_fake, loss=loss_d_a + loss_d_b)
    for key, value in expected.items():
        assert out[key].item() == pytest.approx(value.item(), rel=1e-5, abs=1e-6), key
    assert all(not torch.equal(before[k], v) for k, v in model.state_dict().items() if v.ndim > 1)  # all four stepped
    assert set(optimizers) == {"generators", "d_a", "d_b"}
    assert {id(p) for p in optimizers["generators"].param_groups[0]["params"]} >= {id(p) for p in g.parameters()
                                                                                  if p.ndim > 1}


def test_discriminators_learn_only_from_their_own_loss(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(**TINY))
    cfg = _cfg(tmp_path, optimizer="sgd", lr=0.0, pool_size=0)
    task = CycleGANTask()
    optimizers = task.build_optimizers(model, cfg)
    a, b = torch.rand(2, 1, 28, 28) * 2 - 1, torch.rand(2, 1, 28, 28) * 2 - 1
    task.train_step(model, (a, b), optimizers, cfg, Precision("fp32", CPU))
    with torch.no_grad():
        fake_a = model.g_ba(b)
    probe = CycleGAN(CycleGANConfig(**TINY))
    probe.load_state_dict(model.state_dict())
    loss = 0.5 * (((probe.d_a(a) - 1) ** 2).mean() + (probe.d_a(fake_a) ** 2).mean())
    loss.backward()
    for mine, expected in zip(model.d_a.parameters(), probe.d_a.parameters(), strict=True):
        torch.testing.assert_close(mine.grad, expected.grad)  # not G's adversarial gradient on top


# ---- the data ---------------------------------------------------------------------------------------------

def test_the_domains_are_disjoint_classes(real_data_root: Path) -> None:
    ds, base = load_dataset("sneakers2boots"), load_dataset("fashion-mnist")
    assert ds.task == "unpaired" and ds.classes == ("Sneaker", "Ankle boot") and ds.notes["base_classes"] == [7, 9]
    for name in ("train", "test"):
        split, full = ds.splits[name], base.splits[name]
        n = 6000 if name == "train" else 1000
        assert split.y.tolist() == [0] * n + [1] * n  # A's images, then B's
        assert torch.equal(split.x[:n], full.x[full.y == 7]) and torch.equal(split.x[n:], full.x[full.y == 9])
        digests = [{hashlib.sha256(img.numpy().tobytes()).hexdigest() for img in split.x[split.y == d]} for d in (0, 1)]
        assert not digests[0] & digests[1]  # no image in both domains
    named = load_dataset("unpaired:fashion-mnist:sneaker,Ankle boot")
    assert torch.equal(named.splits["test"].x, ds.splits["test"].x)
    swapped = load_dataset("unpaired:fashion-mnist:9,7")
    assert torch.equal(swapped.splits["test"].x[:1000], ds.splits["test"].x[1000:])


@pytest.mark.parametrize(("name", "needle"), [
    ("unpaired:fashion-mnist:7", "unpaired:DATA:A,B"),
    ("unpaired:7,9", "unpaired:DATA:A,B"),
    ("unpaired:fashion-mnist:7,7", "two different classes"),
    ("unpaired:fashion-mnist:7,10", "no class '10'; choose two of: 0 (T-shirt/top)"),
    ("unpaired:gaussians8:0,1", "labelled image dataset"),
])
def test_bad_domains_are_clear(name: str, needle: str, real_data_root: Path) -> None:
    with pytest.raises(DataError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_dataset(name)


def test_batches_draw_each_domain_in_its_own_order() -> None:
    x = torch.arange(30, dtype=torch.uint8).view(30, 1, 1, 1).expand(30, 1, 4, 4).contiguous()
    y = torch.tensor([0] * 12 + [1] * 18)
    batches = UnpairedBatches(Split(x, y), 4, shuffle=True, seed=3)
    assert len(batches) == 3  # the smaller domain's 12 images
    epoch = list(batches.epoch(0))
    ids = [(a[:, 0, 0, 0] * 255).round().long() for a, _ in epoch], [(b[:, 0, 0, 0] * 255).round().long()
                                                                     for _, b in epoch]
    seen_a, seen_b = torch.cat(ids[0]), torch.cat(ids[1])
    assert sorted(seen_a.tolist()) == list(range(12)) and set(seen_b.tolist()) <= set(range(12, 30))
    assert len(set(seen_b.tolist())) == 12
    assert not torch.equal(seen_a.argsort(), (seen_b - 12).argsort())  # not the same permutation
    again = list(batches.epoch(0, start_step=1))
    assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(epoch[1:], again, strict=True))
    assert not torch.equal(next(batches.epoch(1))[0], epoch[0][0])
    evals = list(UnpairedBatches(Split(x, y), 8).epoch(0))  # evaluation: every image, the shorter domain empty
    assert [(len(a), len(b)) for a, b in evals] == [(8, 8), (4, 8), (0, 2)]


# ---- training ---------------------------------------------------------------------------------------------

class _FakeJudge(nn.Module):
    """A feature classifier that calls every image an ankle boot (class 9)."""

    identity: ClassVar[dict[str, str]] = {"model": "fake"}

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return torch.full((len(images),), 9, dtype=torch.long)


@pytest.fixture(scope="module")
def cycle_run(tmp_path_factory, real_data_root: Path) -> tuple[Path, dict, float]:
    """A tiny CycleGAN trained for two epochs on 96 images, its translations judged by a fake classifier; the
    run directory, its summary and the untrained model's test cycle error."""
    import archzoo.analysis.generated as generated

    patch = pytest.MonkeyPatch()
    patch.setattr(generated, "feature_classifier", lambda data, **kw: _FakeJudge())
    try:
        out = tmp_path_factory.mktemp("cycle") / "run"
        cfg = _cfg(out, eval_samples=64)
        trainer = Trainer(cfg, out, progress=False)
        untrained = trainer.evaluate("test")["cycle"]
        summary = trainer.fit()
    finally:
        patch.undo()
    return out, summary, untrained


def test_training_logs_evaluates_and_judges(cycle_run) -> None:
    out, summary, untrained = cycle_run
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["split"] for r in rows] == ["train", "test", "train", "test", "samples"]
    assert set(rows[0]) - {"epoch", "split", "elapsed_s"} == {"loss_g", "loss_d_a", "loss_d_b", "cycle", "identity",
                                                              "d_real", "d_fake"}
    test = summary["metrics"]["test"]
    assert test["samples"] == 2000 and test["cycle"] == pytest.approx((test["cycle_a"] + test["cycle_b"]) / 2)
    assert test["cycle"] < 0.6 * untrained, (test["cycle"], untrained)  # the generators learnt to come back
    # the fake judge calls everything class 9: every A -> B translation hits its target, no B -> A one
    assert test["a2b_target_share"] == 1.0 and test["b2a_target_share"] == 0.0 and test["target_share"] == 0.5
    samples = summary["metrics"]["samples"]
    assert samples["n_a"] == samples["n_b"] == 64 and samples["a2b_target_share"] == 1.0
    assert samples["b2a_target_share"] == 0.0 and samples["real_a_share"] == 0.0 and samples["real_b_share"] == 1.0
    assert 0 < samples["cycle_a"] < 1 and samples["classifier"] == {"model": "fake"}
    assert summary["best"]["metric"] == "target_share"
    assert load_file(str(out / "checkpoints" / "last.safetensors"))["task.pool_a"].shape == (4, 1, 28, 28)


@pytest.mark.slow
def test_a_cut_run_resumes_exactly(tmp_path: Path, real_data_root: Path) -> None:
    full = train(_cfg(tmp_path / "full"), progress=False)
    cut = train(_cfg(tmp_path / "cut", max_time=1e-9), progress=False)  # stops after its first step
    assert not cut["completed"]
    state = load_file(str(tmp_path / "cut" / "checkpoints" / "last.safetensors"))
    assert state["task.pool_a"].shape == (4, 1, 28, 28)  # a full pool at the cut: its swaps decide what D sees
    resumed = resume(tmp_path / "cut", progress=False, overrides={"max_time": 0.0})
    a = load_file(str(tmp_path / "full" / "checkpoints" / "last.safetensors"))
    b = load_file(str(tmp_path / "cut" / "checkpoints" / "last.safetensors"))
    assert set(a) == set(b) and {"task.pool_a", "task.pool_b"} <= set(a)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:5]
    assert resumed["metrics"] == full["metrics"]
    rows = [(tmp_path / run / "metrics.jsonl").read_text().splitlines() for run in ("full", "cut")]
    strip = [[{k: v for k, v in json.loads(r).items() if k != "elapsed_s"} for r in run] for run in rows]
    assert strip[0] == strip[1]


@pytest.mark.slow
def test_a_run_killed_after_an_epoch_resumes_exactly(tmp_path: Path, real_data_root: Path) -> None:
    args = ["cyclegan", "--data", "sneakers2boots", "--subset", "96", "--epochs", "2", "--batch-size", "8",
            "--device", "cpu", "--quiet", "--set", "pool_size=6", "--set", "eval_samples=0", "--set", "model.width=4",
            "--set", "model.blocks=1", "--set", "model.d_width=8"]
    env = {**os.environ, "ARCHZOO_DATA": str(real_data_root), "OMP_NUM_THREADS": "1"}
    cli = [sys.executable, "-m", "archzoo.cli", "train"]
    subprocess.run([*cli, *args, "--out", str(tmp_path / "full")], check=True, env=env, capture_output=True)
    proc = subprocess.Popen([*cli, *args, "--out", str(tmp_path / "killed")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = tmp_path / "killed" / "checkpoints" / "last.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(last.read_text())["trainer"]["epoch"] >= 1:
                break
        except (OSError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "summary.json").exists(), "the run finished before it could be killed"
    kept = load_file(str(tmp_path / "killed" / "checkpoints" / "last.safetensors"))
    assert kept["task.pool_a"].shape == (6, 1, 28, 28)  # the pools at the end of the first epoch
    subprocess.run([*cli, "--resume", str(tmp_path / "killed"), "--quiet"], check=True, env=env, capture_output=True)
    a = load_file(str(tmp_path / "full" / "checkpoints" / "last.safetensors"))
    b = load_file(str(tmp_path / "killed" / "checkpoints" / "last.safetensors"))
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    summaries = [json.loads((tmp_path / run / "summary.json").read_text())["metrics"] for run in ("full", "killed")]
    assert summaries[0] == summaries[1]


def test_the_sample_command_translates_both_ways(cycle_run, tmp_path: Path, capsys, cli_fails) -> None:
    out, _, _ = cycle_run
    figure = tmp_path / "t.png"
    assert main(["sample", str(out), "--n", "3", "--out", str(figure), "--device", "cpu"]) == 0
    assert figure.is_file() and "translations:" in capsys.readouterr().out
    _, grid = translate_run(out, n=3, device="cpu", out=tmp_path / "u.png")
    test = load_dataset("sneakers2boots").splits["test"]
    assert grid.shape == (18, 1, 28, 28)  # rows: A, A->B, A->B->A, B, B->A, B->A->B
    torch.testing.assert_close(grid[:3], test.x[:3].float() / 255)
    torch.testing.assert_close(grid[9:12], test.x[1000:1003].float() / 255)
    assert not torch.allclose(grid[3:6], grid[:3], atol=0.05)  # translated, not copied
    from PIL import Image

    pngs = []
    for i in range(2):
        pngs.append(tmp_path / f"in{i}.png")
        Image.fromarray(test.x[i, 0].numpy()).resize((56, 56)).save(pngs[-1])  # resized back to 28x28
    _, given = translate_run(out, inputs=pngs, device="cpu", out=tmp_path / "v.png")
    assert given.shape == (12, 1, 28, 28) and torch.equal(given[:2], given[6:8])  # each image as A and as B
    assert (given[:2] - grid[:2]).abs().mean() < 0.05
    cli_fails(["sample", str(out), "--input", str(tmp_path / "missing.png")], "cannot read image")
    cli_fails(["sample", str(out), "--split", "val"], "no split 'val'")
    gan = tmp_path / "gan"
    gan.mkdir()
    (gan / "config.json").write_text(json.dumps({"task": "adversarial"}))
    cli_fails(["sample", str(gan), "--input", str(pngs[0])], "--input and --split apply to CycleGAN runs")


@pytest.mark.slow
def test_two_processes_match_one_for_a_cyclegan(tmp_path: Path, one_and_two_processes, real_data_root: Path) -> None:
    # two steps of 8 images a domain, the pools of 4 full after the first: without the pools' gathering, D's
    # weights differ by about 1e-3. A small learning rate: instance norm makes each generator's weights
    # scale-free, so its gradients grow as 1 / |w|, and at 0.05 the rounding of one process against two (or of
    # one thread against two) grows to 1e-3 within two steps
    args = ["cyclegan", "--data", "sneakers2boots", "--subset", "40", "--epochs", "1", "--batch-size", "8",
            "--optimizer", "sgd", "--lr", "0.005", "--set", "pool_size=4", "--set", "eval_samples=0",
            "--set", "model.width=4", "--set", "model.blocks=1", "--set", "model.d_width=8", "--quiet"]
    one, two = one_and_two_processes(tmp_path, args)
    assert json.loads((tmp_path / "two" / "checkpoints" / "last.json").read_text())["trainer"]["global_step"] == 2
    assert any(k.startswith("model.generators.ba.") for k in one)
    for k in one:
        torch.testing.assert_close(two[k], one[k], atol=1e-5, rtol=0)
    pools = [load_file(str(tmp_path / run / "checkpoints" / "last.safetensors"))["task.pool_b"]
             for run in ("one", "two")]
    torch.testing.assert_close(pools[1], pools[0], atol=1e-5, rtol=0)  # the pools saw every process's images


# ---- the wiring -------------------------------------------------------------------------------------------

def test_task_choice_and_recipe(real_data_root: Path, tmp_path: Path) -> None:
    ds = load_dataset("sneakers2boots")
    task = make_task("cycle_adversarial", ds)
    assert isinstance(task, CycleGANTask)
    cfg = _cfg(tmp_path)
    plan = task.plan(ds, cfg)
    assert plan.record["domains"] == {"A": "Sneaker", "B": "Ankle boot"} and task.best_metric == "cycle"
    assert sum(plan.record["domain_sizes"]["train"]) == 96 and plan.record["domain_sizes"]["test"] == [1000, 1000]
    with pytest.raises(ConfigError, match="multiple of 3"):
        plan.batches(cfg, CPU, rank=0, world_size=3)
    assert archzoo.model_card("cyclegan").task == "cycle_adversarial"
    settings = recipe("cyclegan", "gan", "unpaired:fashion-mnist:7,9")
    assert settings == recipe("cyclegan", "gan", "sneakers2boots")
    assert (settings["gan_loss"], settings["cycle_lambda"], settings["identity_weight"], settings["pool_size"]) == \
        ("least_squares", 10.0, 0.5, 50)
    assert (settings["optimizer"], settings["lr"], settings["beta1"], settings["beta2"]) == ("adam", 2e-4, 0.5, 0.999)
    defaults = TrainConfig(model="cyclegan", data="sneakers2boots")
    assert (defaults.cycle_lambda, defaults.identity_weight, defaults.pool_size) == (10.0, 0.5, 50)


@pytest.mark.parametrize(("argv", "needles"), [
    (["cyclegan", "--data", "fashion-mnist"], ("a CycleGAN translates between two unpaired image domains",)),
    (["dcgan", "--data", "sneakers2boots"], ("sneakers2boots is two unpaired image domains", "cycle_adversarial")),
    (["cyclegan", "--data", "sneakers2boots", "--set", "gan_loss=hinge"], ("least_squares", "'hinge'")),
    (["cyclegan", "--data", "sneakers2boots", "--set", "critic_steps=2"], ("critic_steps=2 does not apply",)),
    (["cyclegan", "--data", "sneakers2boots", "--set", "pool_size=-1"], ("pool_size must be >= 0",)),
    (["cyclegan", "--data", "sneakers2boots", "--set", "cycle_lambda=-10"], ("cycle_lambda must be >= 0",)),
    (["cyclegan", "--data", "sneakers2boots", "--set", "augment=crop"], ("augment='crop'", "flip or none")),
    (["cyclegan", "--data", "unpaired:fashion-mnist:7"], ("unpaired:DATA:A,B",)),
    (["cyclegan", "--data", "sneakers2boots", "--set", "model.width=0"], ("width",)),
])
def test_bad_settings_are_one_line(argv: list[str], needles: tuple[str, ...], cli_fails, tmp_path: Path,
                                   real_data_root: Path) -> None:
    cli_fails(["train", *argv, "--out", str(tmp_path / "run"), "--device", "cpu", "--quiet"], *needles)


def test_the_least_squares_criteria() -> None:
    c, logits = CRITERIA["least_squares"]
    o = torch.tensor([[0.5, 2.0], [1.0, -1.0]])
    assert not logits and c(o, 1.0).item() == pytest.approx((0.25 + 1 + 0 + 4) / 4)
    c, logits = CRITERIA["non_saturating"]
    assert logits and c(o, 1.0).item() == pytest.approx(F.softplus(-o).mean().item())
