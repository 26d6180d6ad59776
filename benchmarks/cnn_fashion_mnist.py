"""Each CNN family's small variant on Fashion-MNIST under a fixed CPU budget.

    python benchmarks/cnn_fashion_mnist.py --budget 600 [--models resnet18 mobilenet_v2 ...] [--recipe long]

For each model: a 20-second probe measures the time of one training step with its default
Fashion-MNIST recipe; the model then trains for the largest number of whole epochs that fits the
budget (`archzoo train MODEL --data fashion-mnist [--recipe R] --epochs N`), or, when not even one epoch fits,
for one epoch over the random subset of the training images that does (`--set subset=K`), so that
every schedule runs to its end. All 60,000 training images are used (no validation carve-out);
the test set is evaluated after each epoch. Reports test accuracy, parameters, MACs at 1x28x28,
images seen, wall time; writes docs/results/NAME.{md,json} (NAME: --out, cnn_fashion_mnist by
default) and an accuracy-vs-parameters plot NAME.png (matplotlib, if installed).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import archzoo
from _common import RESULTS, git_commit, load_average, machine, stamp, write_result
from archzoo.registry import model_macs

DEFAULT_MODELS = ["resnet20", "resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "densenet121",
                  "squeezenet1_1", "vgg11_bn", "alexnet", "convnext_tiny", "vit_ti_16", "swin_t"]


def train(model: str, recipe: str, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "archzoo.cli", "train", model, "--data", "fashion-mnist", "--recipe", recipe,
           "--out", str(out), "--quiet", "--set", "val_size=0", *extra]
    subprocess.run(cmd, check=True)
    return {"summary": json.loads((out / "summary.json").read_text()),
            "config": json.loads((out / "config.json").read_text())}


def plot(rows: list[dict], budget: float, out: str) -> list[str]:
    """Accuracy against parameters as docs/results/OUT.png; the markdown lines that show it (none without
    matplotlib)."""
    try:
        import matplotlib
    except ImportError:
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        ax.scatter(r["params"], 100 * r["test_accuracy"])
        ax.annotate(r["model"], (r["params"], 100 * r["test_accuracy"]), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("Fashion-MNIST test accuracy (%)")
    ax.set_title(f"{budget:.0f} s of CPU training per model")
    fig.tight_layout()
    fig.savefig(RESULTS / f"{out}.png", dpi=120)
    return [f"\n![accuracy vs parameters]({out}.png)"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--budget", type=float, default=600.0, help="seconds of training per model")
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--recipe", default="default", help="the named recipe every model trains with")
    p.add_argument("--out", default="cnn_fashion_mnist", help="result name under docs/results")
    p.add_argument("--update", action="store_true",
                   help="re-measure only --models and keep the other rows of the last run (same budget)")
    args = p.parse_args()
    rows = []
    commit = git_commit()  # the code the subprocesses import: do not commit while this runs
    previous = RESULTS / f"{args.out}.json"
    if args.update and previous.exists():
        rows = [r for r in json.loads(previous.read_text()) if r["model"] not in args.models]
        if any(r.get("budget_s") != args.budget or r.get("recipe", "default") != args.recipe for r in rows):
            raise SystemExit(f"--update: the last run used another budget or recipe than {args.budget:.0f} s, "
                             f"{args.recipe!r}; rerun all models")
    for name in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            probe = train(name, args.recipe, Path(tmp) / "probe", ["--epochs", "1", "--max-time", "20"])
            state = json.loads((Path(tmp) / "probe" / "checkpoints" / "last.json").read_text())["trainer"]
            steps = state["global_step"]
            per_step = probe["summary"]["wall_time_s"] / max(steps, 1)
            batch = probe["config"]["batch_size"]
            n_train = probe["config"]["dataset"]["splits"]["train"]
            epoch_s = per_step * (n_train // batch)
            epochs = math.floor(args.budget / max(epoch_s, 1e-9))
            if epochs >= 1:
                run = train(name, args.recipe, Path(tmp) / "run", ["--epochs", str(epochs)])
                seen = epochs * (n_train // batch) * batch
            else:  # one epoch over as many images as the budget allows
                subset = max(batch, math.floor(args.budget / per_step) * batch)
                run = train(name, args.recipe, Path(tmp) / "run", ["--epochs", "1", "--set", f"subset={subset}"])
                seen = subset // batch * batch
        s, c = run["summary"], run["config"]
        scalars = {k: v for k, v in c["model_config"].items() if isinstance(v, (int, float, str, bool))}
        macs = model_macs(name, (1, 28, 28), **scalars)  # the trained configuration (tuples stay default)
        rows.append({"model": name, "family": archzoo.model_card(name).family, "params": s["params"], "macs": macs,
                     "epochs": s["epochs_done"], "images_seen": seen,
                     "test_accuracy": s["metrics"]["test"]["accuracy"],
                     "wall_time_s": s["wall_time_s"], "overrides": c["model_overrides"], "augment": c["augment"],
                     "budget_s": args.budget, "recipe": args.recipe, "measured": stamp(), "commit": commit})
        print(json.dumps(rows[-1]), flush=True)
    commits = sorted({r["commit"] for r in rows})
    when = (f"Measured {stamp()} at commit {commits[0]}" if len(commits) == 1 else
            f"Measured at commits {', '.join(commits)} (the JSON file gives each row's date and commit; rows were "
            "re-measured with --update)")
    command = f"python benchmarks/cnn_fashion_mnist.py --budget {args.budget:.0f}"
    if args.recipe != "default":
        command += f" --recipe {args.recipe} --out {args.out}"
    if sorted(r["model"] for r in rows) != sorted(DEFAULT_MODELS):
        command += " --models " + " ".join(r["model"] for r in rows)
    recipe = "default" if args.recipe == "default" else f"`{args.recipe}`"
    augment = sorted({r.get("augment") or "none" for r in rows})
    lines = [f"# Fashion-MNIST: each family's small variant under a {args.budget:.0f} s budget"
             + ("" if args.recipe == "default" else f", recipe {args.recipe}") + "\n",
             f"{when} on {machine()} (load average {load_average():.1f}) by",
             f"`{command}`. Each model uses its {recipe} Fashion-MNIST recipe (augmentation: "
             f"{', '.join(augment)}) on all 60,000 training images, with as many epochs as fit the budget (one epoch "
             "over a random subset when a whole epoch does not fit); wall time includes the test evaluations.\n",
             "| model | family | params | MACs (1x28x28) | epochs | training images seen | test accuracy | wall time |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: -r["test_accuracy"]):
        lines.append(f"| {r['model']} | {r['family']} | {r['params']:,} | {r['macs'] / 1e6:,.1f}M | {r['epochs']} | "
                     f"{r['images_seen']:,} | {100 * r['test_accuracy']:.2f}% | {r['wall_time_s']:.0f} s |")
    if len(rows) >= 3:  # no plot of one or two points
        lines += plot(rows, args.budget, args.out)
    print(write_result(args.out, "\n".join(lines) + "\n", rows))


if __name__ == "__main__":
    main()
