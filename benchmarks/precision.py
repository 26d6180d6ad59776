"""Mixed precision on this machine: training-step throughput fp32 vs bf16, and what bf16 does to accuracy.

    python benchmarks/precision.py                       # throughput of the seven rows below
    python benchmarks/precision.py --rows resnet20:1x28x28:128 mlp:1x28x28:128
    python benchmarks/precision.py --accuracy            # also train lenet5_modern and resnet20 in fp32 and bf16

Throughput: forward + loss under the engine's autocast, backward and optimizer step through
archzoo.engine.precision.Precision exactly as `archzoo train` runs them, channels_last on, fp32 and
bf16 repeats alternating (median images/s). 28x28 rows build the model as the Fashion-MNIST recipe
does (one channel, the family's small-input option); 64x64 rows take three channels. Each row also
says what `--precision auto` picks for that model on this machine, by the engine's own measurement
(archzoo.engine.precision.time_steps: single training steps in each precision, alternating), taken
before the long measurement.

Accuracy (--accuracy): `archzoo train MODEL --data fashion-mnist --precision P` with the default
recipe, fp32 and bf16 one after the other; test accuracy and wall time.

Writes docs/results/precision.{md,json} (and precision_accuracy.{md,json}).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import archzoo
from _common import git_commit, load_average, machine, stamp, write_result
from archzoo.engine.device import NATIVE_BF16_CPU_FLAGS, cpu_flags, cpu_name
from archzoo.engine.precision import Precision, resolve_precision, time_steps
from archzoo.engine.recipes import recipe
from archzoo.registry import model_macs
from throughput import size_overrides, step_rates, stepper

# the six rows of the issue that asked for mixed precision, and mobilenet_v3_small, which bf16 slows down
DEFAULT_ROWS = ("lenet5_modern:1x28x28:128", "resnet20:1x28x28:128", "mobilenet_v2:1x28x28:128",
                "resnet18:3x64x64:32", "vit_ti_16:3x64x64:32", "convnext_tiny:3x64x64:32",
                "mobilenet_v3_small:1x28x28:128")


def parse_row(text: str) -> tuple[str, tuple[int, ...], int]:
    name, shape, batch = text.split(":")
    return name, tuple(int(v) for v in shape.split("x")), int(batch)


def overrides_for(name: str, shape: tuple[int, ...]) -> dict:
    """The model settings training would use: the Fashion-MNIST recipe's at 28x28, else the input's."""
    card = archzoo.model_card(name)
    out: dict = {}
    if shape[-1] == 28:
        out.update(recipe(name, card.family, "fashion-mnist").get("model_overrides", {}))
    out.update(size_overrides(name, shape))
    if hasattr(card.config, "in_channels"):
        out["in_channels"] = shape[0]
    return out


def throughput_row(name: str, shape: tuple[int, ...], batch: int, steps: int, repeats: int) -> dict:
    overrides = overrides_for(name, shape)
    cpu = torch.device("cpu")
    torch.manual_seed(0)
    x = torch.randn(batch, *shape)
    cl = x.ndim == 4
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    runners = {}
    for p in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = archzoo.create_model(name, num_classes=10, **overrides)
        if cl:
            model = model.to(memory_format=torch.channels_last)
        runners[p] = stepper(model, x, y, precision=Precision(p, cpu))
    # what `--precision auto` picks, measured as the engine measures it: single steps of each, alternating
    auto, reason = resolve_precision("auto", cpu, lambda: time_steps({k: lambda r=r: r(1) for k, r in runners.items()},
                                                                     cpu))
    rates = step_rates(runners, batch, steps, repeats)
    macs = model_macs(name, shape, num_classes=10, **overrides)
    return {"model": name, "input": "x".join(map(str, shape)), "batch": batch, "macs_per_sample": macs,
            "fp32": rates["fp32"], "bf16": rates["bf16"], "speedup": rates["bf16"] / rates["fp32"],
            "auto": auto, "auto_reason": reason, "auto_vs_fp32": rates[auto] / rates["fp32"]}


def accuracy_run(model: str, precision: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "archzoo.cli", "train", model, "--data", "fashion-mnist", "--precision",
               precision, "--out", str(out), "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t0
        summary = json.loads((out / "summary.json").read_text())
        config = json.loads((out / "config.json").read_text())
    return {"model": model, "precision": config["precision"], "epochs": summary["epochs_done"],
            "test_accuracy": summary["metrics"]["test"]["accuracy"], "wall_time_s": summary["wall_time_s"],
            "process_wall_s": round(wall, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", nargs="+", default=list(DEFAULT_ROWS), help="MODEL:CxHxW:BATCH")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--accuracy", action="store_true", help="also train lenet5_modern and resnet20, fp32 and bf16")
    p.add_argument("--accuracy-only", action="store_true", help="only the accuracy runs")
    p.add_argument("--out", default="precision")
    args = p.parse_args()
    flags = sorted(f for f in cpu_flags() if "bf16" in f or f.startswith("amx"))
    where = (f"{machine()}; CPU {cpu_name()!r}, bf16 flags: {', '.join(flags) or 'none'} "
             f"(native bf16 needs one of {', '.join(NATIVE_BF16_CPU_FLAGS)})")
    command = f"`python benchmarks/precision.py {' '.join(sys.argv[1:])}`".replace(" `", "`")
    if not args.accuracy_only:
        rows = []
        for text in args.rows:
            row = throughput_row(*parse_row(text), args.steps, args.repeats)
            rows.append(row)
            print(json.dumps(row), flush=True)
        lines = ["# Training-step throughput, fp32 and bf16 autocast\n",
                 f"Measured {stamp()} at commit {git_commit()} on {where} (load average {load_average():.1f}) by",
                 f"{command}. Images/s of forward + loss (under autocast) + backward + SGD step, channels_last, "
                 f"median of {args.repeats} repeats of {args.steps} steps, fp32 and bf16 repeats alternating.\n",
                 "| model | input | batch | MACs/sample | fp32 | bf16 | bf16 / fp32 | `auto` picks | auto / fp32 |",
                 "|---|---|---:|---:|---:|---:|---:|---|---:|"]
        for r in rows:
            lines.append(f"| `{r['model']}` | {r['input']} | {r['batch']} | {r['macs_per_sample'] / 1e6:,.2f}M | "
                         f"{r['fp32']:,.0f} | {r['bf16']:,.0f} | {r['speedup']:.2f}x | {r['auto']} | "
                         f"{r['auto_vs_fp32']:.2f}x |")
        print(write_result(args.out, "\n".join(lines) + "\n", {"machine": where, "rows": rows}))
    if args.accuracy or args.accuracy_only:
        runs = []
        for model in ("lenet5_modern", "resnet20"):
            for precision in ("fp32", "bf16"):
                run = accuracy_run(model, precision)
                runs.append(run)
                print(json.dumps(run), flush=True)
        lines = ["# Fashion-MNIST test accuracy, fp32 and bf16\n",
                 f"Measured {stamp()} at commit {git_commit()} on {where} (load average {load_average():.1f}) by "
                 f"{command}: `archzoo train MODEL --data fashion-mnist --precision P`, the default recipe.\n",
                 "| model | precision | epochs | test accuracy | wall time |", "|---|---|---:|---:|---:|"]
        for r in runs:
            lines.append(f"| `{r['model']}` | {r['precision']} | {r['epochs']} | {100 * r['test_accuracy']:.2f}% | "
                         f"{r['wall_time_s']:.1f} s |")
        for model in ("lenet5_modern", "resnet20"):
            a = {r["precision"]: r for r in runs if r["model"] == model}
            diff = 100 * (a["bf16"]["test_accuracy"] - a["fp32"]["test_accuracy"])
            speed = a["fp32"]["wall_time_s"] / a["bf16"]["wall_time_s"]
            lines.append(f"\n`{model}`: bf16 - fp32 = {diff:+.2f} points; wall time fp32 / bf16 = {speed:.2f}x.")
        print(write_result(f"{args.out}_accuracy", "\n".join(lines) + "\n", {"machine": where, "runs": runs}))


if __name__ == "__main__":
    main()
