"""GANs measured on what the survey claims for them: does each remedy cover more modes, and do the samples
match the data. Every run is `archzoo train` with the model's recipe unless said.

    python benchmarks/gans.py                          # every part
    python benchmarks/gans.py --parts mixtures         # some parts

Parts:
  mixtures  every loss and model on gaussians25 and gaussians8 with one budget (the mixture recipes' 20 passes
            over the 100,000 points, the losses on gan_mlp's networks and recipe): modes covered and the
            high-quality share of 2,500 samples (metrics.samples), training wall time.
  fashion   gan_mlp, dcgan, wgan, wgan_gp and gman on Fashion-MNIST with their recipes: fid_clf, kid_clf,
            classes covered and class TV of 10,000 samples, beside the real-data floor and the VAEs vae_mlp and
            vae_conv trained in the same part with their recipes (the same evaluation by the same cached
            classifier: figures from another machine's classifier would not compare).
  long      the grid at longer budgets (--long NAME... picks the runs; the others' figures are kept): wgan_gp for
            Gulrajani et al.'s 100,000 generator steps (1,282 passes; about 110 minutes of one thread), the recipe
            otherwise; wgan_gp with Gulrajani et al.'s toy setup for 200 and 400 passes, and the minimax game on
            the same networks and points for 200: modes covered and high-quality share at the end and after every pass
            (docs/figures/gan_long_*_gaussians25.png). A run cut short is resumed.
  fashion-ema  wgan_gp and dcgan (--ema MODEL... picks them) on Fashion-MNIST by their recipes and with a moving
            average of G's weights for sampling (--set ema=0.999), judged by the same classifier: fid_clf, kid_clf,
            classes covered and class TV of 10,000 samples.
  stylegan  stylegan with its recipes on fashion-mnist-32 and orl-faces (64x64): a sample grid and a style-mixing
            grid of each (docs/figures/stylegan_*.png), and on Fashion-MNIST the truncation curve: fid_clf, kid_clf,
            classes covered and class TV of 10,000 samples at each psi of TRUNCATIONS.
  faces-diffaugment  stylegan on orl-faces with its recipe and DiffAugment (--set diffaugment=color,translation,
            cutout): the sample grid (docs/figures/stylegan_samples_orl-faces-diffaugment.png), how often D tells
            real from generated at each evaluation, and why the run ended. About 75 minutes of one thread.
  faces-progressive  stylegan on orl-faces by its recipe (grown progressively from 4x4 to 64x64 in nine equal
            phases, DiffAugment), keeping a moving average of G as well (--set ema=0.998) and the health check off:
            sample grids of G at psi 1 and 0.7 and of the average, G's style-mixing grid
            (docs/figures/stylegan_*_orl-faces-progressive.png) and D's accuracy at each evaluation. About 50
            minutes of two threads.

Writes docs/results/gans.{md,json} (the parts measured, merged with those already there).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from _common import RESULTS, machine, measured, run_parts, stamp

FIGURES = RESULTS.parent / "figures"

PARTS = ("mixtures", "long", "fashion", "fashion-ema", "stylegan", "faces-diffaugment", "faces-progressive")
MIXTURES = ("gaussians25", "gaussians8")
# name -> (model, options): the game's losses on gan_mlp's networks and recipe, then the remedies' own recipes
MIXTURE_RUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gan_mlp, minimax": ("gan_mlp", ("--set", "gan_loss=minimax")),
    "gan_mlp, non-saturating": ("gan_mlp", ()),
    "gan_mlp, least squares": ("gan_mlp", ("--set", "gan_loss=least_squares")),
    "gan_mlp, hinge": ("gan_mlp", ("--set", "gan_loss=hinge")),
    "gman (K = 2, mean)": ("gman", ()),
    "gman (K = 5, softmax)": ("gman", ("--set", "model.discriminators=5", "--set", "model.combine=softmax")),
    "wgan": ("wgan", ()),
    "wgan_gp": ("wgan_gp", ()),
}
# the grid at Gulrajani et al.'s own length: 100,000 generator steps (1,282 passes of 78 steps over the 100,000
# points), the recipe's networks and rates otherwise; then Gulrajani et al.'s toy setup (their gan_toy.py: a code z
# of 2 rather than Metz et al.'s 256, the points divided by 2.828, a penalty of 0.1, Adam betas (0.5, 0.9)) at 5e-4
# for 200 and 400 passes, and beside it the survey's minimax game on the same networks and points (gan_mlp's mixture
# recipe otherwise: one D step of 256 per G step at 1e-3), the same 200 passes
_TOY = ("--set", "model.latent_dim=2", "--set", "model.point_scale=2.828")
_TOY_WGAN_GP = (*_TOY, "--set", "gp_lambda=0.1", "--set", "beta1=0.5", "--set", "lr=5e-4")
# name -> (run directory, also the figure's name; model, data, options). The 400-pass run was the 200-pass run
# continued (`archzoo train --resume RUN --epochs 400`; at a constant rate that is what a run of 400 does).
LONG_RUNS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "wgan_gp, 100,000 generator steps": ("wgan_gp", "wgan_gp", "gaussians25", ("--epochs", "1282")),
    "wgan_gp, toy setup of Gulrajani et al.": ("wgan_gp_toy", "wgan_gp", "gaussians25",
                                               ("--epochs", "200", *_TOY_WGAN_GP)),
    "wgan_gp, toy setup of Gulrajani et al., 400 passes": ("wgan_gp_toy400", "wgan_gp", "gaussians25",
                                                           ("--epochs", "400", *_TOY_WGAN_GP)),
    "gan_mlp, minimax, the same networks and points": ("gan_mlp_minimax_toy", "gan_mlp", "gaussians25",
                                                       ("--epochs", "200", *_TOY, "--set", "gan_loss=minimax")),
}
FASHION_MODELS = ("gan_mlp", "dcgan", "wgan", "wgan_gp", "gman")
EMA_MODELS = ("wgan_gp", "dcgan")  # the Fashion-MNIST GANs whose recipes sample from G itself
FASHION_VAES = ("vae_mlp", "vae_conv")  # the autoencoder issue's generators, judged beside the GANs
STYLEGAN_DATA = ("fashion-mnist-32", "orl-faces")
TRUNCATIONS = (0.2, 0.4, 0.6, 0.8, 1.0)


def archzoo_train(model: str, data: str, out: Path, *args: str) -> dict:
    """`archzoo train MODEL --data DATA ARGS` into ``out`` (reused when already finished)."""
    if not (out / "summary.json").is_file():
        command = (["train", "--resume", str(out)] if (out / "config.json").is_file() else  # cut short: go on
                   ["train", model, "--data", data, "--out", str(out), *args])
        subprocess.run([sys.executable, "-m", "archzoo.cli", *command, "--quiet"], check=True)
    return json.loads((out / "summary.json").read_text())


def kept(part: str) -> dict:
    """A part's figures already in docs/results/gans.json (those of earlier invocations, kept beside new ones)."""
    previous = RESULTS / "gans.json"
    return json.loads(previous.read_text())["results"].get(part, {}) if previous.is_file() else {}


def training_seconds(run: Path) -> float:
    """Wall seconds to the end of the last evaluation of a split (the final sample judging, split "samples",
    not included)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return max(r["elapsed_s"] for r in rows if r["split"] in ("val", "test"))


def part_mixtures(runs: Path) -> dict:
    out: dict = {}
    for data in MIXTURES:
        out[data] = {}
        for name, (model, options) in MIXTURE_RUNS.items():
            run = runs / data / run_name(name)
            summary = archzoo_train(model, data, run, *options)
            s = summary["metrics"]["samples"]
            out[data][name] = {"model": model, "options": list(options), "modes_covered": s["modes_covered"],
                               "modes": s["modes"], "high_quality": s["high_quality"],
                               "train_s": training_seconds(run), "epochs": summary["epochs_done"],
                               "params": summary["params"]}
    mixture_figure(runs)
    return out


def part_long(runs: Path, names: list[str]) -> dict:
    """The long runs ``names`` (each with its own machine and date); the others' figures measured earlier are
    kept (the 100,000-step run takes hours)."""
    from archzoo.data import load_dataset

    out = kept("long")
    for name in names:
        short, model, data, options = LONG_RUNS[name]
        run = runs / data / f"{short}-long"
        summary = archzoo_train(model, data, run, *options)
        s = summary["metrics"]["samples"]
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        curve = [(r["epoch"], r["modes_covered"], r["high_quality"]) for r in rows if r["split"] == "val"]
        points = len(load_dataset(data).splits["train"])
        per_pass = points // json.loads((run / "config.json").read_text())["batch_size"]  # G steps (full batches)
        out[name] = {"model": model, "data": data, "options": list(options), "modes_covered": s["modes_covered"],
                     "modes": s["modes"], "high_quality": s["high_quality"], "train_s": training_seconds(run),
                     "epochs": summary["epochs_done"], "generator_steps": summary["epochs_done"] * per_pass,
                     "params": summary["params"], "machine": machine(), "date": stamp(), "curve": curve}
        long_figure(name, curve, s["modes"], f"passes over the {points:,} points ({per_pass} generator steps each)",
                    FIGURES / f"gan_long_{short}_{data}.png")
        shutil.copyfile(run / "figures" / "samples.png", FIGURES / f"gan_long_{short}_{data}_samples.png")
    return {name: out[name] for name in LONG_RUNS if name in out}


def long_figure(name: str, curve: list, modes_total: int, xlabel: str, path: Path) -> Path:
    """Modes covered and the high-quality share of the samples against the passes over the data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs, modes, quality = zip(*curve, strict=True)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    (modes_line,) = ax.plot(epochs, modes, color="C3", label=f"modes covered (of {modes_total})")
    ax.set(xlabel=xlabel, ylabel="modes covered", ylim=(0, modes_total + 1), title=name)
    twin = ax.twinx()
    (quality_line,) = twin.plot(epochs, [100 * q for q in quality], color="C0", label="high-quality samples (%)")
    twin.set(ylabel="high-quality samples (%)", ylim=(0, 100))
    ax.legend(handles=[modes_line, quality_line], loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def mixture_figure(runs: Path, path: Path = FIGURES / "gan_mixtures.png") -> Path:
    """The runs' scatters of their samples over the data (figures/samples.png of each), one row per mixture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(MIXTURES), len(MIXTURE_RUNS), figsize=(2.2 * len(MIXTURE_RUNS), 2.4 * len(MIXTURES)))
    for row, data in zip(axes, MIXTURES, strict=True):
        for ax, name in zip(row, MIXTURE_RUNS, strict=True):
            ax.imshow(plt.imread(runs / data / run_name(name) / "figures" / "samples.png"))
            ax.set_title(name, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_name(name: str) -> str:
    return name.replace(", ", "_").replace(" ", "_").replace("(", "").replace(")", "")


def part_fashion(runs: Path) -> dict:
    out: dict = {}
    for model in (*FASHION_MODELS, *FASHION_VAES):
        run = runs / "fashion-mnist" / model
        summary = archzoo_train(model, "fashion-mnist", run)
        out[model] = {**summary["metrics"]["samples"], "train_s": training_seconds(run),
                      "epochs": summary["epochs_done"], "params": summary["params"]}
    return out


def part_fashion_ema(runs: Path, models: list[str]) -> dict:
    """Each of ``models`` on Fashion-MNIST by its recipe and with a moving average of G's weights for sampling
    (``ema`` 0.999, the rest the recipe's), judged by the same classifier in the same part; the models measured
    by earlier invocations are kept."""
    out = kept("fashion-ema")
    for model in models:
        out[model] = {}
        for name, options in (("recipe", ()), ("ema 0.999", ("--set", "ema=0.999"))):
            run = runs / "fashion-mnist" / (f"{model}-ema" if options else model)
            summary = archzoo_train(model, "fashion-mnist", run, *options)
            out[model][name] = {**summary["metrics"]["samples"], "train_s": training_seconds(run),
                                "epochs": summary["epochs_done"], "machine": machine(), "date": stamp()}
    return out


def archzoo_command(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "archzoo.cli", *args], check=True, stdout=subprocess.DEVNULL)


def truncation_curve(run: Path, data: str) -> dict[str, dict]:
    """fid_clf, kid_clf, classes covered and class TV of 10,000 samples of ``run`` at each psi of TRUNCATIONS."""
    from archzoo.analysis import latent
    from archzoo.analysis.generated import sample_metrics
    from archzoo.tasks.adversarial import to_unit

    model = latent.load_run(run, "sample", ("adversarial",), device="cpu").model
    curve = {}
    for psi in TRUNCATIONS:
        curve[f"{psi:.1f}"] = sample_metrics(lambda k, g, psi=psi: (to_unit(model, model.sample(k, g, truncation=psi)),
                                                                    None), data, floor=psi == 1.0)
    return curve


def part_stylegan(runs: Path) -> dict:
    out: dict = {}
    for data in STYLEGAN_DATA:
        run = runs / data / "stylegan"
        summary = archzoo_train("stylegan", data, run)
        figures = {kind: FIGURES / f"stylegan_{kind}_{data}.png" for kind in ("samples", "mixing")}
        archzoo_command("sample", str(run), "--n", "64", "--out", str(figures["samples"]))
        archzoo_command("mix", str(run), "--out", str(figures["mixing"]))
        out[data] = {"train_s": training_seconds(run), "epochs": summary["epochs_done"], "params": summary["params"],
                     "figures": {k: str(v.relative_to(RESULTS.parent)) for k, v in figures.items()}}
        if data == "fashion-mnist-32":
            out[data]["truncation"] = truncation_curve(run, data)
    return out


DIFFAUGMENT = "color,translation,cutout"


def part_faces_diffaugment(runs: Path) -> dict:
    run = runs / "orl-faces" / "stylegan-diffaugment"
    # every pass run, however D does (the recipe's run without DiffAugment was stopped by the health check)
    summary = archzoo_train("stylegan", "orl-faces", run, "--set", f"diffaugment={DIFFAUGMENT}", "--set",
                            "unhealthy_patience=0")
    figure = FIGURES / "stylegan_samples_orl-faces-diffaugment.png"
    archzoo_command("sample", str(run), "--n", "64", "--out", str(figure))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    accuracy = [(r["epoch"], r["d_accuracy"]) for r in rows if r["split"] == "test" and "d_accuracy" in r]
    return {"diffaugment": DIFFAUGMENT, "train_s": training_seconds(run), "epochs": summary["epochs_done"],
            "stop_reason": summary["stop_reason"], "params": summary["params"], "d_accuracy": accuracy,
            "figure": str(figure.relative_to(RESULTS.parent))}


# the recipe (progressive growing from 4x4 to 64x64 in nine phases of 27 passes, DiffAugment), with the moving
# average of G kept as well, to show what sampling from it gives, and the health check off (it never fired)
FACES_PROGRESSIVE = ("--set", "ema=0.998", "--set", "unhealthy_patience=0")


def part_faces_progressive(runs: Path) -> dict:
    run = runs / "orl-faces" / "stylegan-progressive"
    summary = archzoo_train("stylegan", "orl-faces", run, *FACES_PROGRESSIVE)
    # from G itself (--no-ema) and from the moving average the recipe kept, whose half-life (346 steps at 0.998)
    # is longer than a phase (270 steps), so that it blends the stages of growing
    kinds = {"samples": ("sample", "--no-ema"), "samples-psi0.7": ("sample", "--no-ema", "--truncation", "0.7"),
             "samples-ema": ("sample",), "mixing": ("mix", "--no-ema")}
    figures = {name: FIGURES / f"stylegan_{name}_orl-faces-progressive.png" for name in kinds}
    for name, (command, *options) in kinds.items():
        n = ("--n", "64") if command == "sample" else ()
        # the run's end (a run trained before best meant the latest evaluation kept D's choice as best)
        archzoo_command(command, str(run), "--checkpoint", "last", *n, *options, "--out", str(figures[name]))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    accuracy = [(r["epoch"], r["d_accuracy"]) for r in rows if r["split"] == "test" and "d_accuracy" in r]
    return {"options": list(FACES_PROGRESSIVE), "train_s": training_seconds(run), "epochs": summary["epochs_done"],
            "stop_reason": summary["stop_reason"], "params": summary["params"], "d_accuracy": accuracy,
            "figures": {k: str(v.relative_to(RESULTS.parent)) for k, v in figures.items()}}


def markdown(results: dict, metas: dict) -> str:
    lines = ["# GANs", "", "Each part trains archzoo's models through `archzoo train` with their recipes (unless "
             "said); under each heading, the run that measured it.", ""]

    if "mixtures" in results:
        lines += ["## Mode collapse on the 2-D mixtures", "", *measured(metas, "mixtures"),
                  "| model | gaussians25: modes covered | high quality | time | gaussians8: modes covered | "
                  "high quality | time |", "|---|---:|---:|---:|---:|---:|---:|"]
        grid, ring = results["mixtures"]["gaussians25"], results["mixtures"]["gaussians8"]
        for name in grid:
            a, b = grid[name], ring[name]
            lines.append(f"| {name} | {a['modes_covered']} of {a['modes']} | {a['high_quality']:.1%} | "
                         f"{a['train_s']:.0f} s | {b['modes_covered']} of {b['modes']} | {b['high_quality']:.1%} | "
                         f"{b['train_s']:.0f} s |")
        lines += ["", "2,500 samples each; a sample is of high quality within 3 standard deviations of its nearest "
                  "mode, and a mode is covered by at least 20 of them. The samples over the data: "
                  "[figures/gan_mixtures.png](../figures/gan_mixtures.png).", ""]
    if "faces-diffaugment" in results:
        r = results["faces-diffaugment"]
        accuracy = ", ".join(f"{a:.2f}" for _, a in r["d_accuracy"])
        lines += ["## StyleGAN on the ORL faces with DiffAugment", "", *measured(metas, "faces-diffaugment"),
                  f"`archzoo train stylegan --data orl-faces --set diffaugment={r['diffaugment']} --set "
                  f"unhealthy_patience=0`: {r['epochs']} passes in {r['train_s']:.0f} s (ended: "
                  f"{r['stop_reason'] or 'every pass run'}); D's accuracy at telling real from generated faces, one "
                  f"evaluation a pass: {accuracy}. Samples: [{r['figure']}](../{r['figure']}).",
                  ""]
    if "faces-progressive" in results:
        r = results["faces-progressive"]
        accuracy = [a for _, a in r["d_accuracy"]]
        k = len(accuracy) // 9  # evaluations a phase
        per_phase = [sum(accuracy[i * k:(i + 1) * k]) / k for i in range(9)]
        f = r["figures"]
        lines += ["## StyleGAN on the ORL faces, grown progressively, with DiffAugment", "",
                  *measured(metas, "faces-progressive"),
                  f"`archzoo train stylegan --data orl-faces {shlex.join(r['options'])}`: {r['epochs']} passes in "
                  f"{r['train_s']:.0f} s (ended: {r['stop_reason'] or 'every pass run'}); D's mean accuracy at telling "
                  "real from generated faces in each of the nine phases (4, 8 fading in, 8, ..., 64): "
                  f"{', '.join(f'{a:.2f}' for a in per_phase)}. Samples of G: [psi 1](../{f['samples']}), "
                  f"[psi 0.7](../{f['samples-psi0.7']}); of the moving average: [psi 1](../{f['samples-ema']}); "
                  f"G's [style mixing](../{f['mixing']}).", ""]
    if "long" in results:
        lines += ["## The grid at longer budgets", "", *measured(metas, "long"),
                  "Each row's options are in docs/results/gans.json; the line above names only the invocation that "
                  "wrote this part last.", "",
                  "| run | data | passes | generator steps | modes covered | high quality | time | measured on |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for name, r in results["long"].items():
            lines.append(f"| {name} | {r['data']} | {r['epochs']:,} | {r['generator_steps']:,} | "
                         f"{r['modes_covered']} of {r['modes']} | {r['high_quality']:.1%} | {r['train_s']:.0f} s | "
                         f"{r['date'][:10]}, {r['machine'].split(',')[0]} |")
        lines.append("")
    if "fashion-ema" in results:
        lines += ["## Fashion-MNIST: a moving average of G for sampling", "", *measured(metas, "fashion-ema"),
                  "Each model by its recipe and with `--set ema=0.999`, the two judged by the same classifier; each "
                  "model's machine and date are in its rows.", "",
                  "| model | sampling from | epochs | training time | fid_clf | kid_clf | classes covered | class TV | "
                  "measured on |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for model, pair in results["fashion-ema"].items():
            for name, r in pair.items():
                lines.append(f"| `{model}` | {'G' if name == 'recipe' else 'G, averaged (ema 0.999)'} | "
                             f"{r['epochs']} | {r['train_s']:.0f} s | {r['fid_clf']:.2f} | {r['kid_clf']:.3f} | "
                             f"{r['classes_covered']} | {r['class_tv']:.3f} | {r['date'][:10]}, "
                             f"{r['machine'].split(',')[0]} |")
        lines += classifier_line(next(iter(next(iter(results["fashion-ema"].values())).values())))
    if "fashion" in results:
        rows = results["fashion"]
        first = next(iter(rows.values()))
        lines += ["## Fashion-MNIST: 10,000 samples judged by the feature classifier", "", *measured(metas, "fashion"),
                  "| model | parameters | epochs | training time | fid_clf | kid_clf | classes covered | class TV |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for model, r in rows.items():
            lines.append(f"| `{model}` | {r['params']:,} | {r['epochs']} | {r['train_s']:.0f} s | {r['fid_clf']:.2f} | "
                         f"{r['kid_clf']:.3f} | {r['classes_covered']} | {r['class_tv']:.3f} |")
        lines.append(f"| real test images against real training images (the floor) | | | | "
                     f"{first['fid_clf_floor']:.2f} | {first['kid_clf_floor']:.3f} | | |")
        lines += classifier_line(first)
    if "stylegan" in results:
        lines += ["## StyleGAN", "", *measured(metas, "stylegan"),
                  "| data | parameters | epochs | training time | samples | style mixing |",
                  "|---|---:|---:|---:|---|---|"]
        for data, r in results["stylegan"].items():
            f = r["figures"]
            lines.append(f"| `{data}` | {r['params']:,} | {r['epochs']} | {r['train_s']:.0f} s | "
                         f"[grid](../{f['samples']}) | [grid](../{f['mixing']}) |")
        curve = results["stylegan"].get("fashion-mnist-32", {}).get("truncation")
        if curve:
            lines += ["", "The truncation curve on Fashion-MNIST (10,000 samples at each psi, judged at 28x28):", "",
                      "| psi | fid_clf | kid_clf | classes covered | class TV |", "|---:|---:|---:|---:|---:|"]
            for psi, r in curve.items():
                lines.append(f"| {psi} | {r['fid_clf']:.2f} | {r['kid_clf']:.3f} | {r['classes_covered']} | "
                             f"{r['class_tv']:.3f} |")
            lines += classifier_line(curve["1.0"])
    return "\n".join(lines)


def classifier_line(r: dict) -> list[str]:
    c = r["classifier"]
    return ["", f"Classifier: `{c['command']}` ({c['model']}, weights {c['weights_sha256']}, test accuracy "
            f"{c['test_accuracy']:.4f}).", ""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--runs", default="runs/gans", help="where the runs are kept (reused when finished)")
    p.add_argument("--long", nargs="+", choices=list(LONG_RUNS), default=list(LONG_RUNS), metavar="NAME",
                   help="the long part's runs to make now (default all; the others' earlier figures are kept): "
                        + "; ".join(LONG_RUNS))
    p.add_argument("--ema", nargs="+", choices=EMA_MODELS, default=list(EMA_MODELS), metavar="MODEL",
                   help="the fashion-ema part's models to measure now (default: " + ", ".join(EMA_MODELS) + ")")
    args = p.parse_args()
    runs = Path(args.runs)
    # the feature classifier of metrics.samples, trained once, first
    if {"fashion", "fashion-ema", "stylegan"} & set(args.parts):
        from archzoo.analysis.generated import feature_classifier

        feature_classifier("fashion-mnist", progress=False)
    special = {"long": lambda: part_long(runs, args.long), "fashion-ema": lambda: part_fashion_ema(runs, args.ema)}
    run_parts("gans", args.parts, lambda part: special[part]() if part in special else
              globals()[f"part_{part.replace('-', '_')}"](runs), markdown)


if __name__ == "__main__":
    main()
