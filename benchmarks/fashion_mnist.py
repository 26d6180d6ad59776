"""Fashion-MNIST with each model's default recipe: test accuracy, wall time, training images/s.

    python benchmarks/fashion_mnist.py [--models lenet5 lenet5_modern mlp] [--data fashion-mnist]

Each model trains exactly as `archzoo train MODEL --data fashion-mnist` does (its default recipe),
in a fresh process. Results go to docs/results/fashion_mnist.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import git_commit, load_average, machine, stamp, write_result


def run(model: str, data: str, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "archzoo.cli", "train", model, "--data", data, "--out", str(out), "--quiet",
               *extra]
        subprocess.run(cmd, check=True)
        summary = json.loads((out / "summary.json").read_text())
        config = json.loads((out / "config.json").read_text())
    test = summary["metrics"]["test"]
    return {"model": model, "data": data, "params": summary["params"], "epochs": summary["epochs_done"],
            "test_accuracy": test["accuracy"], "wall_time_s": summary["wall_time_s"],
            "train_images_per_s": summary["train_samples_per_s"],
            "recipe": {k: config[k] for k in ("epochs", "batch_size", "optimizer", "lr", "schedule", "weight_decay")},
            "command": f"archzoo train {model} --data {data} {' '.join(extra)}".strip()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="+", default=["lenet5", "lenet5_modern", "mlp"])
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="flags passed to archzoo train")
    args = p.parse_args()
    rows = []
    for m in args.models:
        rows.append(run(m, args.data, args.extra))
        print(json.dumps(rows[-1]), flush=True)
    lines = [f"# {args.data}: default recipes\n",
             f"Measured {stamp()} at commit {git_commit()} on {machine()} (load average {load_average():.1f}) by",
             "`python benchmarks/fashion_mnist.py`; each row is one `archzoo train MODEL --data "
             f"{args.data}` run with the model's default recipe.\n",
             "| model | params | epochs | recipe | test accuracy | wall time "
             "| training images per wall second (evaluation included) |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        rc = r["recipe"]
        recipe = f"{rc['optimizer']} lr {rc['lr']} {rc['schedule']}, batch {rc['batch_size']}"
        lines.append(f"| {r['model']} | {r['params']:,} | {r['epochs']} | {recipe} | {100 * r['test_accuracy']:.2f}% "
                     f"| {r['wall_time_s']:.1f} s | {r['train_images_per_s']:,.0f} |")
    name = "fashion_mnist" if args.data == "fashion-mnist" else args.data.replace("-", "_")
    print(write_result(name, "\n".join(lines) + "\n", rows))


if __name__ == "__main__":
    main()
