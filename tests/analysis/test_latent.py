"""`archzoo reconstruct / sample / interpolate / embed / style` over autoencoder and VAE runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from archzoo.analysis import latent
from archzoo.cli import main
from archzoo.engine import TrainConfig, train

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, real_data_root: Path) -> dict[str, Path]:
    """Briefly trained runs: an autoencoder with a 2-D code (trained on noisy inputs), a VAE, a conditional VAE."""
    base = tmp_path_factory.mktemp("latent")
    out = {}
    for name, model, kw in (("ae", "ae_mlp", dict(latent_dim=2)), ("vae", "vae_mlp", {}), ("cvae", "cvae", {})):
        cfg = TrainConfig(model=model, data="fashion-mnist", data_root=str(real_data_root), out=str(base / name),
                          subset=1200, epochs=1, batch_size=32, lr=2e-3, optimizer="adam", val_size=200,
                          eval_batch_size=1000, iw_samples=0, eval_samples=0, model_overrides=kw,
                          **(dict(noise="masking", noise_level=0.25) if name == "ae" else {}))
        train(cfg, progress=False)
        out[name] = base / name
    return out


def _ok(capsys, argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _png(path: Path) -> None:
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reconstruct_shows_inputs_noisy_inputs_and_outputs(runs, capsys, tmp_path: Path) -> None:
    path, grid = latent.reconstruct(runs["ae"], n=5, out=tmp_path / "r.png")
    _png(path)
    assert grid.shape == (15, 1, 28, 28)  # inputs, inputs with the run's masking noise, outputs
    assert (grid[5:10] == 0).float().mean() > (grid[:5] == 0).float().mean()  # the masked row has more zeros
    assert grid.min() >= 0 and grid.max() <= 1
    out = _ok(capsys, ["reconstruct", str(runs["vae"]), "--n", "4"])
    _png(Path(out.split(": ", 1)[1].strip()))


def test_sample_draws_from_the_prior_and_by_class(runs, capsys, tmp_path: Path) -> None:
    _, a = latent.sample(runs["vae"], n=6, seed=1, out=tmp_path / "a.png")
    _, b = latent.sample(runs["vae"], n=6, seed=1, out=tmp_path / "b.png")
    _, c = latent.sample(runs["vae"], n=6, seed=2, out=tmp_path / "c.png")
    assert a.shape == (6, 1, 28, 28) and torch.equal(a, b) and not torch.equal(a, c)  # the seed decides
    _, by_name = latent.sample(runs["cvae"], n=4, cls="Sneaker", out=tmp_path / "d.png")
    _, by_index = latent.sample(runs["cvae"], n=4, cls=7, out=tmp_path / "e.png")
    assert torch.equal(by_name, by_index)  # class 7 of Fashion-MNIST is Sneaker
    _ok(capsys, ["sample", str(runs["cvae"]), "--n", "20", "--out", str(tmp_path / "f.png")])
    _png(tmp_path / "f.png")


def test_interpolate_goes_from_one_code_to_the_other(runs, tmp_path: Path) -> None:
    run = latent.load_run(runs["vae"], "interpolate", ("vae",), device="cpu")
    x, _, _ = run.images("test")
    _, path = latent.interpolate(runs["vae"], start=3, end=8, steps=5, device="cpu", out=tmp_path / "i.png")
    ends = run.model.reconstruct(x[[3, 8]])
    torch.testing.assert_close(path[[0, -1]], ends)  # the ends decode the two images' mean codes
    _, curved = latent.interpolate(runs["vae"], start=3, end=8, steps=5, spherical=True, device="cpu",
                                   out=tmp_path / "j.png")
    torch.testing.assert_close(curved[[0, -1]], ends, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(curved[2], path[2])


def test_slerp_keeps_the_norm_of_equal_norm_codes() -> None:
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    path = latent.slerp(a, b, torch.linspace(0, 1, 7))
    torch.testing.assert_close(path.norm(dim=1), torch.ones(7))
    torch.testing.assert_close(path[[0, -1]], torch.stack([a, b]))


def test_embed_writes_codes_and_a_scatter(runs, capsys, tmp_path: Path) -> None:
    out = _ok(capsys, ["embed", str(runs["ae"]), "--out", str(tmp_path / "c.npz"), "--plot", str(tmp_path / "c.png")])
    assert "10000 x 2" in out
    saved = np.load(tmp_path / "c.npz")
    assert saved["codes"].shape == (10000, 2) and saved["labels"].shape == (10000,)
    _png(tmp_path / "c.png")
    _, _, codes, _ = latent.embed(runs["vae"], split="val", out=tmp_path / "v.npz")
    assert codes.shape == (200, 20)
    points = latent.pca_2d(codes)
    assert points.shape == (200, 2) and points[:, 0].var() >= points[:, 1].var()


def test_style_keeps_the_code_and_changes_the_class(runs, tmp_path: Path) -> None:
    path, decoded = latent.style(runs["cvae"], index=0, device="cpu", out=tmp_path / "s.png")
    _png(path)
    assert decoded.shape == (10, 1, 28, 28)
    run = latent.load_run(runs["cvae"], "style", ("vae",), device="cpu")
    x, y, _ = run.images("test")
    mu, _ = run.model.encode(x[:1], y[:1])  # the code given the image's own class, decoded as class 3
    torch.testing.assert_close(decoded[3], torch.sigmoid(run.model.decode(mu, torch.tensor([3])))[0])
    assert (decoded[0] - decoded[1]).abs().max() > 1e-3  # the class changes the image


@pytest.mark.parametrize(("argv", "needles"), [
    (["sample", "{ae}"], ("no prior to sample from", "reconstruct, interpolate, embed")),
    (["sample", "{vae}", "--class", "3"], ("--class applies to conditional models",)),
    (["sample", "{cvae}", "--class", "Boot"], ("has no class 'Boot'", "9 (Ankle boot)")),
    (["interpolate", "{vae}", "--from", "0", "--to", "10000"], ("--to 10000 is outside the test split", "0..9999")),
    (["interpolate", "{vae}", "--from", "-1", "--to", "3"], ("--from -1 is outside",)),
    (["style", "{vae}", "--from", "0"], ("needs a conditional VAE",)),
    (["reconstruct", "{ae}", "--noise", "gaussian", "--noise-level", "3"], ("noise_level 3", "in (0, 1]")),
    (["reconstruct", "{vae}", "--split", "dev"], ("no split 'dev'",)),
    (["interpolate", "{vae}", "--from", "0", "--to", "1", "--steps", "1"], ("at least 2",)),
])
def test_bad_input(argv: list[str], needles: tuple[str, ...], runs, cli_fails) -> None:
    cli_fails([a.format(**{k: str(v) for k, v in runs.items()}) for a in argv], *needles)


def test_commands_on_runs_they_do_not_apply_to(tmp_path: Path, cli_fails) -> None:
    train(TrainConfig(model="mlp", data="digits", out=str(tmp_path / "clf"), epochs=1), progress=False)
    cli_fails(["interpolate", str(tmp_path / "clf"), "--from", "0", "--to", "1"],
           "applies to reconstruction, vae and adversarial runs", "classification run")
    cli_fails(["embed", str(tmp_path / "clf")], "use `archzoo eval` on it")
    cli_fails(["sample", str(tmp_path / "clf")], "language-model runs")


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_anomaly_scores_by_the_code_and_by_both(runs, name: str) -> None:
    run = latent.load_run(runs[name], "score", ("reconstruction", "vae"), device="cpu")
    train_codes, _ = latent.encode_split(run, "train")
    test_codes, labels = latent.encode_split(run, "test")
    z = train_codes.double().numpy()
    precision = np.linalg.inv(np.cov(z.T) + 1e-4 * np.eye(z.shape[1]))

    def mahalanobis(codes: torch.Tensor) -> np.ndarray:
        d = codes.double().numpy() - z.mean(0)
        return np.einsum("ni,ij,nj->n", d, precision, d)

    code, y = latent.image_scores(run, "test", score="code")
    assert torch.equal(y, labels)
    np.testing.assert_allclose(code.numpy(), mahalanobis(test_codes), rtol=1e-4)
    error, _ = latent.image_scores(run, "test")
    train_error, _ = latent.image_scores(run, "train")
    train_code = mahalanobis(train_codes)
    both, _ = latent.image_scores(run, "test", score="error+code")
    expected = ((error.numpy() - train_error.numpy().mean()) / train_error.numpy().std(ddof=1)
                + (code.numpy() - train_code.mean()) / train_code.std(ddof=1))
    np.testing.assert_allclose(both.numpy(), expected, rtol=1e-3, atol=1e-4)
    with pytest.raises(latent.ConfigError, match="error, code, error\\+code"):
        latent.image_scores(run, "test", score="likelihood")
