"""What an autoencoder or VAE run can show: reconstructions, samples from the prior, paths between codes,
the codes themselves, and (conditional VAEs) one image's style under every class.

Each function takes a run directory and is what an `archzoo` command calls (``reconstruct``, ``sample``,
``interpolate``, ``embed``, ``style``); each returns the tensors it drew as well as writing its figure, so
a test can check them. A command that does not apply to a run says which commands do.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from archzoo.engine.config import ConfigError, TrainConfig

# the commands that apply to each task's runs, for the errors of those that do not
COMMANDS_BY_TASK = {
    "reconstruction": ("reconstruct", "interpolate", "embed"),
    "vae": ("reconstruct", "sample", "interpolate", "embed", "style (conditional VAEs)"),
    "language_model": ("sample",),
    "translation": ("translate",),
    "adversarial": ("sample", "interpolate", "mix (StyleGAN)"),
    "cycle_adversarial": ("sample (translations: --input PNG... or --split)",),
    "forecasting": ("forecast",),
    "anomaly": ("detect",),
}
STYLE_RANGES = ("coarse", "middle", "fine")  # StyleGAN's named ranges of style layers, by the sides they draw


def check_truncation(psi: float) -> None:
    """psi of the truncation trick must be in (0, 1]: 1 draws untruncated, and psi 0 would draw one image n times."""
    if not 0 < psi <= 1:
        raise ConfigError(f"--truncation must be in (0, 1] (1: none; smaller: samples nearer the mean, less varied), "
                          f"got {psi}")


def _applies(task: str) -> str:
    commands = COMMANDS_BY_TASK.get(task, ())
    return f"commands for it: {', '.join(commands)}, eval" if commands else "use `archzoo eval` on it"


@dataclass
class LoadedRun:
    """A run's configuration, its model (weights loaded, eval mode, on ``device``) and its task's name."""

    run_dir: Path
    cfg: TrainConfig
    record: dict[str, Any]
    model: nn.Module
    task: str
    device: torch.device

    def images(self, split: str) -> tuple[Tensor, Tensor, tuple[str, ...]]:
        """The split's images as floats in [0, 1] (N, C, H, W), their labels (N,) and the class names, cut
        exactly as training cut them (the same subset and validation carve-out)."""
        from archzoo.engine.trainer import load_data
        from archzoo.tasks.base import subset_and_carve

        ds = subset_and_carve(load_data(self.cfg), self.cfg)
        if split not in ds.splits:
            raise ConfigError(f"{self.cfg.data} has no split {split!r}; choose one of: {', '.join(ds.splits)}")
        x = ds.splits[split].x
        x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
        names = ds.classes or tuple(str(i) for i in range(ds.num_classes or 0))
        return x, ds.splits[split].y, names


def run_task(run_dir: Path) -> str:
    """The task a run trained (config.json's ``task``), which decides what the inference commands do."""
    from archzoo.engine.trainer import RunDirError

    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise RunDirError(f"{run_dir} is not an archzoo run directory (no config.json)")
    try:
        return str(json.loads(config_path.read_text()).get("task", ""))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise ConfigError(f"{config_path} is not a JSON object of settings; restore it from a copy") from None


def load_run(run_dir: Path, command: str, tasks: tuple[str, ...], *, checkpoint: str = "best",
             device: str = "auto", ema: bool = True) -> LoadedRun:
    """Load ``run_dir`` for ``command``, which applies to runs of ``tasks``; any other run is a ConfigError
    that names the commands that apply to it. ``ema=False`` (a GAN run that kept a moving average of G's
    weights): drop the average, so that the model draws from G itself."""
    from archzoo.engine.checkpoint import load_checkpoint
    from archzoo.engine.device import resolve_device
    from archzoo.engine.trainer import RunDirError
    from archzoo.registry import create_model

    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise RunDirError(f"{run_dir} is not an archzoo run directory (no config.json)")
    cfg = TrainConfig.load(config_path)
    record = json.loads(config_path.read_text())
    task = record.get("task", "")
    if task not in tasks:
        listed = " and ".join(tasks) if len(tasks) < 3 else f"{', '.join(tasks[:-1])} and {tasks[-1]}"
        raise ConfigError(f"`archzoo {command}` applies to {listed} runs; {run_dir} is a {task} run "
                          f"of {cfg.model} ({_applies(task)})")
    model = create_model(cfg.model, **record["model_config"])
    state, _, _ = load_checkpoint(run_dir / "checkpoints", checkpoint)
    model.load_state_dict(state)
    if not ema:
        if getattr(model, "generator_ema", None) is None:
            raise ConfigError(f"--no-ema applies to GAN runs that kept a moving average of G (--set ema=...); "
                              f"{run_dir} draws from {'G' if task == 'adversarial' else 'its model'} already")
        model.generator_ema = None
    target = resolve_device(device)
    model.to(target).eval()
    return LoadedRun(run_dir, cfg, record, model, task, target)


def save_grid(images: Tensor, path: Path, *, nrow: int, row_labels: list[str] | None = None,
              col_labels: list[str] | None = None, title: str = "") -> Path:
    """Draw (N, C, H, W) images in [0, 1] as a grid of ``nrow`` per row into ``path`` (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("drawing images needs matplotlib: pip install matplotlib") from None
    images = images.detach().float().clamp(0, 1).cpu()
    n, c, h, w = images.shape
    rows = math.ceil(n / nrow)
    canvas = torch.ones(c, rows * (h + 2), nrow * (w + 2))
    for i in range(n):
        r, k = divmod(i, nrow)
        canvas[:, r * (h + 2) + 1: r * (h + 2) + 1 + h, k * (w + 2) + 1: k * (w + 2) + 1 + w] = images[i]
    left = 1.2 if row_labels else 0.2
    top = 0.5 if (col_labels or title) else 0.1
    fig, ax = plt.subplots(figsize=(left + nrow * (w + 2) / 28 * 0.6, top + rows * (h + 2) / 28 * 0.6))
    if c == 1:
        ax.imshow(canvas[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(canvas.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_xticks([k * (w + 2) + w / 2 for k in range(nrow)] if col_labels else [],
                  col_labels[:nrow] if col_labels else [], fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks([r * (h + 2) + h / 2 for r in range(rows)] if row_labels else [],
                  row_labels[:rows] if row_labels else [], fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9, pad=14 if col_labels else 4)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _out(run: LoadedRun, out: str | Path | None, name: str) -> Path:
    return Path(out) if out else run.run_dir / "figures" / f"{name}.png"


def _labels_arg(run: LoadedRun, y: Tensor) -> Tensor | None:
    return y.to(run.device) if getattr(run.model, "conditional", False) else None


def _check_index(index: int, n: int, flag: str, split: str) -> None:
    if not 0 <= index < n:
        raise ConfigError(f"{flag} {index} is outside the {split} split, which has {n} images (0..{n - 1})")


@torch.no_grad()
def reconstruct(run_dir: Path, *, n: int = 16, noise: str | None = None, noise_level: float | None = None,
                split: str = "test", out: str | Path | None = None, checkpoint: str = "best",
                device: str = "auto") -> tuple[Path, Tensor]:
    """The first ``n`` images of ``split``, (corrupted by ``noise``, default: the noise the run trained
    with), and their reconstructions: rows of inputs, (noisy inputs), outputs. Returns (figure, the
    (rows * n, C, H, W) grid)."""
    from archzoo.tasks.reconstruction import corrupt

    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    run = load_run(run_dir, "reconstruct", ("reconstruction", "vae"), checkpoint=checkpoint, device=device)
    kind = run.cfg.noise if noise is None else noise
    level = run.cfg.noise_level if noise_level is None else noise_level
    x, y, _ = run.images(split)
    x, y = x[:n].to(run.device), y[:n]
    noisy = corrupt(x, kind, level, torch.Generator().manual_seed(0))
    model = run.model
    out_images = model.reconstruct(noisy, _labels_arg(run, y)) if run.task == "vae" else model.reconstruct(noisy)
    rows = [x, noisy.clamp(0, 1), out_images] if kind != "none" else [x, out_images]
    labels = ["input", f"{kind} {level:g}", "output"] if kind != "none" else ["input", "output"]
    grid = torch.cat(rows)
    path = save_grid(grid, _out(run, out, "reconstruct"), nrow=len(x), row_labels=labels,
                     title=f"{run.cfg.model} on {run.cfg.data} ({split})")
    return path, grid.cpu()


def _class_index(run: LoadedRun, cls: str | int, names: tuple[str, ...]) -> int:
    if not getattr(run.model, "conditional", False):
        raise ConfigError(f"--class applies to conditional models (cvae); {run.cfg.model} is not conditional")
    text = str(cls)
    if text.isdigit() and int(text) < len(names):
        return int(text)
    lowered = [name.lower() for name in names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    listed = ", ".join(f"{i} ({name})" for i, name in enumerate(names))
    raise ConfigError(f"{run.cfg.data} has no class {text!r}; choose one of: {listed}")


@torch.no_grad()
def sample(run_dir: Path, *, n: int = 64, cls: str | int | None = None, seed: int = 0,
           out: str | Path | None = None, checkpoint: str = "best", device: str = "auto",
           truncation: float = 1.0, ema: bool = True) -> tuple[Path, Tensor]:
    """``n`` images decoded from codes drawn from the prior (a conditional VAE: of class ``cls``, or of
    every class in turn); for a GAN run, ``n`` samples of its generator (images, or 2-D points drawn over
    the data's), truncated by ``truncation`` psi (see archzoo.models.gan.GAN.sample)."""
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    check_truncation(truncation)
    run = load_run(run_dir, "sample", ("vae", "adversarial", "language_model"), checkpoint=checkpoint, device=device,
                   ema=ema)
    if run.task == "adversarial":
        return _sample_gan(run, n, cls, seed, out, truncation)
    if truncation != 1:
        raise ConfigError(f"--truncation applies to GAN runs; {run_dir} is a {run.task} run")
    if run.task != "vae":
        raise ConfigError("text runs are sampled by `archzoo sample RUN --prompt ...`")  # the CLI routes them
    model = run.model
    names = run.images("test")[2] if cls is not None or model.conditional else ()
    y = None
    if cls is not None:
        y = torch.full((n,), _class_index(run, cls, names), device=run.device)
    elif model.conditional:
        y = torch.arange(n, device=run.device) % model.num_classes
    images = model.sample(n, y, torch.Generator().manual_seed(seed))
    what = f"class {names[int(y[0])]}" if cls is not None else "every class in turn" if y is not None else "the prior"
    path = save_grid(images, _out(run, out, "sample"), nrow=min(n, 10 if y is not None and cls is None else 8),
                     title=f"{run.cfg.model}: {n} samples, {what} (seed {seed})")
    return path, images.cpu()


def _sample_gan(run: LoadedRun, n: int, cls: str | int | None, seed: int, out: str | Path | None,
                truncation: float = 1.0) -> tuple[Path, Tensor]:
    """A GAN's samples (from its generator's moving average where it keeps one): an image grid, or a scatter of
    2-D points over the data's own."""
    if cls is not None:
        raise ConfigError(f"--class applies to conditional models (cvae); {run.cfg.model} is unconditional")
    drawn = run.model.sample(n, torch.Generator().manual_seed(seed), truncation=truncation)
    title = f"{run.cfg.model}: {n} samples (seed {seed}" + (f", truncation {truncation})" if truncation != 1 else ")")
    return _draw_gan(run, drawn, _out(run, out, "sample"), title, nrow=min(n, 8))


def _draw_gan(run: LoadedRun, drawn: Tensor, path: Path, title: str, nrow: int,
              col_labels: list[str] | None = None) -> tuple[Path, Tensor]:
    """A GAN's samples drawn: images as a grid (in [0, 1]), 2-D points as a scatter over the data's own."""
    from archzoo.tasks.adversarial import load_real_points, scatter, to_unit

    if drawn.ndim == 4:  # images
        images = to_unit(run.model, drawn)
        return save_grid(images, path, nrow=nrow, title=title, col_labels=col_labels), images.cpu()
    if drawn.ndim != 2 or drawn.shape[1] != 2:
        raise ConfigError(f"{run.cfg.model} draws samples of shape {tuple(drawn.shape[1:])}: only images and "
                          "2-D points can be drawn")
    return scatter(load_real_points(run.cfg, 2500), drawn, path, title=title), drawn.cpu()


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between codes ``a`` and ``b`` (D,) at fractions ``t`` (S,): (S, D) (White 2016)."""
    omega = torch.arccos(torch.clamp(torch.dot(a / a.norm(), b / b.norm()), -1.0, 1.0))
    if omega.abs() < 1e-6:
        return torch.lerp(a, b, t[:, None])
    return (torch.sin((1 - t) * omega)[:, None] * a + torch.sin(t * omega)[:, None] * b) / torch.sin(omega)


@torch.no_grad()
def interpolate(run_dir: Path, *, start: int, end: int, steps: int = 10, spherical: bool = False,
                split: str = "test", out: str | Path | None = None, checkpoint: str = "best",
                device: str = "auto", ema: bool = True) -> tuple[Path, Tensor]:
    """The decoded path from image ``start``'s code to image ``end``'s (the mean code for a VAE), in ``steps``
    points, linear or spherical (``spherical``); a conditional VAE keeps the first image's class. A GAN
    run walks from the code drawn with seed ``start`` to the code drawn with seed ``end``."""
    if steps < 2:
        raise ConfigError(f"--steps must be at least 2 (the two ends), got {steps}")
    run = load_run(run_dir, "interpolate", ("reconstruction", "vae", "adversarial"), checkpoint=checkpoint,
                   device=device, ema=ema)
    if run.task == "adversarial":
        return _interpolate_gan(run, start, end, steps, spherical, out)
    x, y, _ = run.images(split)
    _check_index(start, len(x), "--from", split)
    _check_index(end, len(x), "--to", split)
    pair, labels = x[[start, end]].to(run.device), y[[start, end]]
    cond = _labels_arg(run, labels)
    codes = run.model.encode(pair, cond)[0] if run.task == "vae" else run.model.encode(pair)  # (2, D)
    t = torch.linspace(0, 1, steps, device=run.device)
    a, b = codes[0].float(), codes[1].float()
    path_codes = slerp(a, b, t) if spherical else torch.lerp(a, b, t[:, None])  # (steps, D)
    if run.task == "vae":
        decoded = torch.sigmoid(run.model.decode(path_codes, None if cond is None else cond[:1].expand(steps)).float())
    else:
        decoded = torch.sigmoid(run.model.decode(path_codes).float())
    grid = torch.cat([pair[:1], decoded, pair[1:]])
    title = f"{run.cfg.model}: {split} image {start} -> {end}, {'spherical' if spherical else 'linear'}"
    path = save_grid(grid, _out(run, out, "interpolate"), nrow=len(grid), title=title,
                     col_labels=["from", *[f"{v:.2f}" for v in t.tolist()], "to"])
    return path, decoded.cpu()


def _interpolate_gan(run: LoadedRun, start: int, end: int, steps: int, spherical: bool, out: str | Path | None
                     ) -> tuple[Path, Tensor]:
    """A GAN's samples along the path between the codes z ~ N(0, I) drawn with seeds ``start`` and ``end``."""
    if min(start, end) < 0:
        raise ConfigError(f"--from and --to are the seeds of a GAN's two codes: integers >= 0, got {start}, {end}")
    dim = run.model.latent_dim
    a, b = (torch.randn(dim, generator=torch.Generator().manual_seed(seed)) for seed in (start, end))
    t = torch.linspace(0, 1, steps)
    codes = slerp(a, b, t) if spherical else torch.lerp(a, b, t[:, None])  # (steps, latent_dim)
    drawn = run.model.decode_codes(codes.to(run.device))
    title = f"{run.cfg.model}: code of seed {start} -> seed {end}, {'spherical' if spherical else 'linear'}"
    return _draw_gan(run, drawn, _out(run, out, "interpolate"), title, nrow=steps,
                     col_labels=[f"{v:.2f}" for v in t.tolist()])


@torch.no_grad()
def mix(run_dir: Path, *, rows: int = 4, cols: int = 4, styles: tuple[str, ...] = STYLE_RANGES, seed: int = 0,
        truncation: float = 1.0, out: str | Path | None = None, checkpoint: str = "best", device: str = "auto",
        ema: bool = True) -> tuple[Path, Tensor]:
    """StyleGAN's style-mixing grid (Karras et al. 2019, Figure 3): ``cols`` sources B across the top,
    ``rows`` sources A down the side, and for each range of ``styles`` a block whose cell (a, b) is A's
    image with that range's styles taken from B (coarse: pose and shape; middle: features; fine: colour
    and texture). Codes from ``seed``; fixed noise, so only the styles differ; ``truncation`` psi on both."""
    if rows < 1 or cols < 1:
        raise ConfigError(f"--rows and --cols must be at least 1, got {rows} and {cols}")
    check_truncation(truncation)
    unknown = [name for name in styles if name not in STYLE_RANGES]
    if unknown or not styles:
        raise ConfigError(f"unknown style range(s) {', '.join(unknown) or '(none given)'}; choose from: "
                          f"{', '.join(STYLE_RANGES)}")
    run = load_run(run_dir, "mix", ("adversarial",), checkpoint=checkpoint, device=device, ema=ema)
    model = run.model
    if not hasattr(model, "mix"):
        raise ConfigError(f"`archzoo mix` draws a StyleGAN's style mixing; {run_dir} is a {run.cfg.model} run, "
                          "whose generator has no styles to mix (sample and interpolate apply to it)")
    empty = [name for name in styles if not model.layer_ranges()[name]]
    if empty:
        raise ConfigError(f"this {run.cfg.model}'s images have no {' or '.join(empty)} style layers; "
                          f"its ranges: {', '.join(k for k, v in model.layer_ranges().items() if v)}")
    g = torch.Generator().manual_seed(seed)
    z_a, z_b = torch.randn(rows, model.latent_dim, generator=g), torch.randn(cols, model.latent_dim, generator=g)
    z_a, z_b = z_a.to(run.device), z_b.to(run.device)
    a_images, b_images = model.mix(z_a, z_a, (), truncation), model.mix(z_b, z_b, (), truncation)
    blocks = [torch.cat([torch.ones_like(b_images[:1]), b_images])]  # the top row: a blank, then the Bs
    row_labels = [""]
    for name in styles:
        for i in range(rows):
            mixed = model.mix(z_a[i:i + 1].expand(cols, -1), z_b, name, truncation)
            blocks.append(torch.cat([a_images[i:i + 1], mixed]))
            row_labels.append(f"A{i + 1}, {name} of B")
    grid = torch.cat(blocks)
    from archzoo.tasks.adversarial import to_unit

    images = torch.cat([grid[:1], to_unit(model, grid[1:])])  # the blank stays white
    title = f"{run.cfg.model}: style mixing (seed {seed}" + (f", truncation {truncation})" if truncation != 1 else ")")
    path = save_grid(images, _out(run, out, "mix"), nrow=cols + 1, row_labels=row_labels,
                     col_labels=["A", *[f"B{j + 1}" for j in range(cols)]], title=title)
    return path, images.cpu()


@torch.no_grad()
def encode_split(run: LoadedRun, split: str, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    """The codes (N, D) of a split's images (a VAE's posterior means) and their labels (N,)."""
    x, y, _ = run.images(split)
    codes = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(run.device)
        if run.task == "vae":
            codes.append(run.model.encode(xb, _labels_arg(run, y[i:i + batch_size]))[0].float().cpu())
        else:
            codes.append(run.model.encode(xb).float().cpu())
    return torch.cat(codes), y


ANOMALY_SCORES = ("error", "code", "error+code")


@torch.no_grad()
def image_scores(run: LoadedRun, split: str, batch_size: int = 1000, score: str = "error") -> tuple[Tensor, Tensor]:
    """How badly the run's model explains each image of ``split`` (N,), with the labels (N,). High scores flag
    anomalies. ``score``:

    * ``error``: an autoencoder's reconstruction error (mean squared, per pixel), a VAE's negative ELBO (one
      code per image from a seeded generator);
    * ``code``: the squared Mahalanobis distance of the image's code (a VAE's posterior mean) from a Gaussian
      fitted to the codes of the images the run trained on (its training split, as it was cut): how unlikely
      the code is, where ``error`` says how badly it decodes;
    * ``error+code``: both, each standardised by its mean and standard deviation over the training images, and
      summed (the novelty score of Abati et al., "Latent Space Autoregression for Novelty Detection", CVPR 2019:
      reconstruction error plus the code's negative log-likelihood, each normalised; here the code's density is
      one Gaussian).
    """
    if score not in ANOMALY_SCORES:
        raise ConfigError(f"the anomaly score is one of {', '.join(ANOMALY_SCORES)}; got {score!r}")
    if score == "error":
        return _errors(run, split, batch_size)
    codes, y = encode_split(run, split, batch_size)
    train_codes = encode_split(run, "train", batch_size)[0]
    mean = train_codes.mean(0)
    precision = torch.linalg.inv(torch.cov(train_codes.T.double()).reshape(len(mean), len(mean))
                                 + 1e-4 * torch.eye(len(mean), dtype=torch.float64))

    def mahalanobis(z: Tensor) -> Tensor:
        d = (z - mean).double()
        return ((d @ precision) * d).sum(1).float()

    code = mahalanobis(codes)
    if score == "code":
        return code, y
    train_code, train_error = mahalanobis(train_codes), _errors(run, "train", batch_size)[0]
    error = _errors(run, split, batch_size)[0]
    return ((error - train_error.mean()) / train_error.std() + (code - train_code.mean()) / train_code.std()), y


def _errors(run: LoadedRun, split: str, batch_size: int) -> tuple[Tensor, Tensor]:
    """image_scores' ``error``."""
    from archzoo.models.autoencoder import kl_divergence

    x, y, _ = run.images(split)
    scores = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(run.device)
        if run.task == "vae":
            cond = _labels_arg(run, y[i:i + batch_size])
            mu, logvar = run.model.encode(xb, cond)
            eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(i)).to(mu)
            logits = run.model.decode(run.model.reparameterize(mu, logvar, eps), cond)
            scores.append((kl_divergence(mu, logvar) - run.model.log_prob(logits, xb)).cpu())
        else:
            scores.append((run.model.reconstruct(xb) - xb).square().flatten(1).mean(1).cpu())
    return torch.cat(scores), y


def pca_2d(codes: Tensor) -> Tensor:
    """The first two principal components of (N, D) codes (N, 2); codes of two dimensions as they are."""
    if codes.shape[1] <= 2:
        return codes
    centred = codes - codes.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return centred @ v[:2].T


def embed(run_dir: Path, *, split: str = "test", out: str | Path | None = None, plot: str | Path | None = None,
          checkpoint: str = "best", device: str = "auto") -> tuple[Path, Path | None, Tensor, Tensor]:
    """The codes of a split's images into ``out`` (npz: ``codes`` (N, D), ``labels`` (N,)) and, with
    ``plot``, a 2-D scatter coloured by class (the first two principal components when D > 2)."""
    run = load_run(run_dir, "embed", ("reconstruction", "vae"), checkpoint=checkpoint, device=device)
    codes, labels = encode_split(run, split)
    npz = Path(out) if out else run.run_dir / f"codes_{split}.npz"
    npz.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(npz, codes=codes.numpy(), labels=labels.numpy())
    figure = None
    if plot:
        names = run.images(split)[2]
        figure = scatter_codes(pca_2d(codes), labels, names, Path(plot),
                               title=f"{run.cfg.model} codes of {run.cfg.data} {split}"
                                     + (f" (PCA of {codes.shape[1]} dimensions)" if codes.shape[1] > 2 else ""))
    return npz, figure, codes, labels


def scatter_codes(points: Tensor, labels: Tensor, names: tuple[str, ...], path: Path, title: str = "") -> Path:
    """A 2-D scatter of ``points`` (N, 2) coloured by ``labels``, with a legend of class ``names``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("drawing codes needs matplotlib: pip install matplotlib") from None
    fig, ax = plt.subplots(figsize=(6.5, 5))
    cmap = plt.get_cmap("tab10")
    for k in range(int(labels.max()) + 1 if len(labels) else 0):
        mask = labels == k
        ax.scatter(points[mask, 0].numpy(), points[mask, 1].numpy(), s=2, color=cmap(k % 10),
                   label=names[k] if k < len(names) else str(k))
    ax.legend(markerscale=5, fontsize=7, loc="best")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


@torch.no_grad()
def style(run_dir: Path, *, index: int, split: str = "test", out: str | Path | None = None,
          checkpoint: str = "best", device: str = "auto") -> tuple[Path, Tensor]:
    """Style transfer by a conditional VAE: image ``index``'s code (its posterior mean given its own class)
    decoded under every class, so that what the code holds (thickness, slant, shade) stays and the class
    changes."""
    run = load_run(run_dir, "style", ("vae",), checkpoint=checkpoint, device=device)
    if not run.model.conditional:
        raise ConfigError(f"`archzoo style` needs a conditional VAE (cvae); {run.cfg.model} is not conditional "
                          f"({_applies('vae').replace(', style (conditional VAEs)', '')})")
    x, y, names = run.images(split)
    _check_index(index, len(x), "--from", split)
    image, label = x[index:index + 1].to(run.device), y[index:index + 1].to(run.device)
    mu, _ = run.model.encode(image, label)
    k = run.model.num_classes
    decoded = torch.sigmoid(run.model.decode(mu.expand(k, -1), torch.arange(k, device=run.device)).float())
    grid = torch.cat([image, decoded])
    cols = [f"input ({names[int(label)]})", *names[:k]]
    path = save_grid(grid, _out(run, out, "style"), nrow=k + 1, col_labels=[c[:9] for c in cols],
                     title=f"{run.cfg.model}: {split} image {index}'s code under every class")
    return path, decoded.cpu()
